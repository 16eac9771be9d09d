"""Benchmark: a fleet of generated orgs in a Parquet lake (docs/lake.md, "Scale").

For 50, 100 and 200 orgs (small generated orgs, one unit each): time to export each org's
database to the lake, the lake's size and file count, and the fleet audit's time with DuckDB (this
process) and with Spark local (``--master``, default local[2]), as orgs per second. ``--distinct``
orgs are generated with different seeds, imported and audited (not timed: that is
``gwaudit run``'s work on each org's own machine); org ``i`` of the fleet is distinct org
``i % distinct`` exported under its own org id (``export --org``), so every org has its own
partitions and its own audit at the same per-org cost. Growth is printed as a ratio against the
smallest fleet of the same run. ``--audit-orgs`` runs the fleet audits on other fleet sizes (by
default the same).

    python bench/bench_fleet.py                                  # 50 / 100 / 200 orgs
    python bench/bench_fleet.py --orgs 20 40 --no-spark          # quicker
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

T0 = datetime(2026, 10, 1, 6, tzinfo=timezone.utc)


def _make_org(args: tuple[str, int]) -> str:
    root, seed = args
    from gwaudit.db.ingest import import_folder
    from gwaudit.rules import audit
    from gwaudit.simulator.generate import write_generated

    db = Path(root) / f"org{seed}.duckdb"
    folder = write_generated(1, Path(root) / f"snap{seed}", seed=seed, taken_at=T0)
    import_folder(db, folder)
    audit(db, "latest")
    shutil.rmtree(folder)
    return str(db)


def _size(path: Path) -> tuple[int, int]:
    files = [p for p in path.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files), sum(1 for p in files if p.suffix == ".parquet")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--orgs", type=int, nargs="+", default=[50, 100, 200])
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--no-spark", action="store_true")
    ap.add_argument("--audit-orgs", type=int, nargs="+", help="fleet sizes for the audits [--orgs]")
    ap.add_argument("--distinct", type=int, default=10, help="distinct generated orgs [10]")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="processes preparing the orgs")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()

    from gwaudit.lake import export
    from gwaudit.lake.audit import fleet_audit
    from gwaudit.lake.spark import session, unavailable_reason

    work = Path(tempfile.mkdtemp(prefix="gwaudit-bench-fleet-"))
    print(f"preparing {args.distinct} distinct generated orgs (1 unit, ~1,900 resources each) ...", flush=True)
    t = time.perf_counter()
    with ProcessPoolExecutor(args.workers) as pool:
        dbs = list(pool.map(_make_org, [(str(work), 1000 + i) for i in range(args.distinct)]))
    print(f"  prepared in {time.perf_counter() - t:.0f}s (not part of the figures)", flush=True)

    spark = None
    reason = unavailable_reason()
    if not args.no_spark and reason is None:
        t = time.perf_counter()
        spark = session(args.master, app="gwaudit bench")
        spark.sparkContext.setLogLevel("ERROR")
        print(f"spark session ({args.master}) started in {time.perf_counter() - t:.1f}s", flush=True)
    elif not args.no_spark:
        print(f"spark skipped: {reason}")

    def org(i: int) -> tuple[str, str]:
        return dbs[i % len(dbs)], f"bench-org-{i:05d}"

    rows = []
    for n in sorted(args.orgs):
        lake = work / f"lake{n}"
        t = time.perf_counter()
        for i in range(n):
            export(org(i)[0], lake, org_id=org(i)[1])
        export_s = time.perf_counter() - t
        t = time.perf_counter()
        again = sum(export(org(i)[0], lake, org_id=org(i)[1]).written for i in range(n))
        reexport_s = time.perf_counter() - t
        size, files = _size(lake)
        row = {"orgs": n, "export_s": export_s, "reexport_s": reexport_s, "rewritten": again,
               "lake_bytes": size, "parquet_files": files}
        print(json.dumps({k: round(v, 2) if isinstance(v, float) else v for k, v in row.items()}), flush=True)
        rows.append(row)
    audits = []
    for n in sorted(args.audit_orgs or args.orgs):
        lake = work / f"audit{n}"
        for i in range(n):
            export(org(i)[0], lake, org_id=org(i)[1])
        t = time.perf_counter()
        duck = fleet_audit(lake)
        duck_s = time.perf_counter() - t
        assert not duck.errors, duck.errors
        row = {"orgs": n, "duckdb_s": duck_s, "findings": duck.findings}
        if spark is not None:
            from gwaudit.lake.spark import spark_fleet_audit
            from gwaudit.lake.store import Lake

            t = time.perf_counter()
            res = spark_fleet_audit(Lake.open(lake), Lake.open(lake).orgs(), [], spark=spark)
            row["spark_s"] = time.perf_counter() - t
            assert not res.errors and res.findings == duck.findings
        audits.append(row)
        print(json.dumps({k: round(v, 2) if isinstance(v, float) else v for k, v in row.items()}), flush=True)

    base = rows[0]
    print(f"\n{'orgs':>5} {'export s':>9} {'x':>5} {'lake MB':>8} {'x':>5} {'files':>6} {'re-export s':>11}")
    for r in rows:
        print(f"{r['orgs']:>5} {r['export_s']:>9.1f} {r['export_s'] / base['export_s']:>5.2f} "
              f"{r['lake_bytes'] / 1e6:>8.1f} {r['lake_bytes'] / base['lake_bytes']:>5.2f} {r['parquet_files']:>6} "
              f"{r['reexport_s']:>11.1f}")
    abase = audits[0]
    print(f"\n{'orgs':>5} {'duckdb s':>9} {'org/s':>6} {'x':>5}" + (f" {'spark s':>8} {'org/s':>6} {'x':>5}"
                                                                    if spark else ""))
    for r in audits:
        line = f"{r['orgs']:>5} {r['duckdb_s']:>9.1f} {r['orgs'] / r['duckdb_s']:>6.2f} {r['duckdb_s'] / abase['duckdb_s']:>5.2f}"
        if spark:
            line += f" {r['spark_s']:>8.1f} {r['orgs'] / r['spark_s']:>6.2f} {r['spark_s'] / abase['spark_s']:>5.2f}"
        print(line)
    last, alast = rows[-1], audits[-1]
    print(f"\nper org: export {last['export_s'] / last['orgs'] * 1000:.0f} ms, "
          f"lake {last['lake_bytes'] / last['orgs'] / 1e3:.0f} kB, "
          f"fleet audit {alast['duckdb_s'] / alast['orgs'] * 1000:.0f} ms (DuckDB, one process)"
          + (f", {alast['spark_s'] / alast['orgs'] * 1000:.0f} ms (Spark {args.master})" if spark else ""))
    print(f"re-export of an unchanged lake: {last['reexport_s'] / last['orgs'] * 1000:.0f} ms per org, "
          f"{last['rewritten']} partition(s) rewritten")
    if args.json:
        args.json.write_text(json.dumps({"export": rows, "audit": audits}, indent=2))
    if spark is not None:
        spark.stop()
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
