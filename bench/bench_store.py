"""Store throughput: gwaudit storing a 100,000-resource snapshot versus DuckDB alone.

gwaudit's path = verify the manifest's SHA-256s, parse every item, validate it against the
models (types, enums, required fields, compiled to SQL), hash each item, and write versions and
membership in one transaction. The baseline = DuckDB loading the same JSON files with
``read_json`` into tables, in the same run, on the same machine. Each side runs in a fresh
subprocess (best of --repeat), which also gives its peak memory.

    python bench/bench_store.py [--resources 100000] [--repeat 3]

Target (issue 2): gwaudit's rate >= 1/3 of DuckDB's, i.e. time ratio <= 3.0.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

OURS = textwrap.dedent("""
    import json, resource, sys, time
    from gwaudit.db.ingest import import_folder
    t = time.perf_counter()
    r = import_folder(sys.argv[1], sys.argv[2])
    dt = time.perf_counter() - t
    print(json.dumps({"seconds": dt, "resources": r.resource_count,
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
""")
BASE = textwrap.dedent("""
    import json, resource, sys, time, duckdb
    from pathlib import Path
    from gwaudit import families as fam
    folder = Path(sys.argv[2])
    manifest = json.loads((folder / "manifest.json").read_text())
    t = time.perf_counter()
    con = duckdb.connect(sys.argv[1])
    n = 0
    by_family = {}
    for f in manifest["files"]:
        if f.get("item_count"):
            by_family.setdefault(f["family"], []).append(str(folder / f["path"]))
    for i, (name, paths) in enumerate(sorted(by_family.items())):
        family = fam.get(name)  # one read_json per family over all its files, as gwaudit reads them
        if family.shape == "array":
            sql = f"CREATE TABLE t{i} AS SELECT * FROM read_json(?, format='array')"
        elif family.shape == "envelope":
            sql = f"CREATE TABLE t{i} AS SELECT unnest({family.items_key}, max_depth := 2) FROM read_json(?)"
        else:
            sql = f"CREATE TABLE t{i} AS SELECT * FROM read_json(?)"
        con.execute(sql, [paths])
        n += con.execute(f"SELECT count(*) FROM t{i}").fetchone()[0]
    con.close()
    dt = time.perf_counter() - t
    print(json.dumps({"seconds": dt, "resources": n,
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
""")


def run(script: str, db: Path, folder: Path) -> dict:
    for p in db.parent.glob(db.name + "*"):
        p.unlink()
    out = subprocess.run([sys.executable, "-c", script, str(db), str(folder)], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--resources", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--folder", type=Path, help="use this snapshot folder instead of a synthetic one")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="gwaudit-bench-") as tmp:
        tmp = Path(tmp)
        if args.folder:
            folder = args.folder
        else:
            import _synthetic
            t = time.perf_counter()
            folder = _synthetic.build(tmp / "snap", args.resources)
            print(f"built synthetic snapshot: {_synthetic.count(folder):,} resources in {time.perf_counter() - t:.1f}s")
        size = sum(p.stat().st_size for p in folder.rglob("*.json"))
        print(f"snapshot folder: {size / 1e6:.1f} MB of JSON")
        ours, base = [], []
        for _ in range(args.repeat):  # interleaved, so both sides see the same machine load
            base.append(run(BASE, tmp / "base.duckdb", folder))
            ours.append(run(OURS, tmp / "ours.duckdb", folder))
        b = min(base, key=lambda r: r["seconds"])
        o = min(ours, key=lambda r: r["seconds"])
        print(f"DuckDB read_json alone : {b['seconds']:.2f}s  {b['resources'] / b['seconds']:>10,.0f} resources/s  "
              f"peak {b['peak_mb']:.0f} MB")
        print(f"gwaudit store          : {o['seconds']:.2f}s  {o['resources'] / o['seconds']:>10,.0f} resources/s  "
              f"peak {o['peak_mb']:.0f} MB  ({o['resources']:,} resources)")
        ratio = o["seconds"] / b["seconds"]
        print(f"time ratio gwaudit/DuckDB = {ratio:.2f}  (target <= 3.00: {'met' if ratio <= 3 else 'NOT met'})")


if __name__ == "__main__":
    main()
