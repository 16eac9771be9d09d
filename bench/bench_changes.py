"""What storing the changes costs: storing a snapshot now also stores its changes since the one
before (``snapshot_changes``, :mod:`gwaudit.changes`). Measured in the same run:

* storing the second of two generated snapshots (--changed of its resources with a configuration
  change), the changes included;
* recomputing those changes alone (``changes.sync`` after dropping them), as a share of that;
* ``gwaudit diff`` of the same pair (the comparison the changes are made with), as the baseline
  the recomputation is compared to: the changes cost the diff plus writing its rows.

    python bench/bench_changes.py [--resources 100000] [--changed 0.01] [--repeat 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _synthetic  # noqa: E402
from bench_diff import mutate  # noqa: E402

from gwaudit import changes  # noqa: E402
from gwaudit.db import Database, transaction  # noqa: E402
from gwaudit.db.ingest import import_folder  # noqa: E402
from gwaudit.diff import diff_snapshots  # noqa: E402


def recompute(db: Database, sid: int) -> float:
    """Drop snapshot ``sid``'s stored changes and compute them again; the seconds it took."""
    with db.writer() as con:
        with transaction(con):
            con.execute("DELETE FROM snapshot_changes WHERE snapshot_id = ?", [sid])
            con.execute("DELETE FROM snapshot_change_pairs WHERE snapshot_id = ?", [sid])
            t = time.perf_counter()
            changes.sync(con)
            return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--resources", type=int, default=100_000)
    ap.add_argument("--changed", type=float, default=0.01)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="gwaudit-bench-changes-") as tmp:
        tmp = Path(tmp)
        data = _synthetic.generate(args.resources)
        changed, n_changed = mutate(data, args.changed, 0.0)
        a = _synthetic.write(tmp / "a", data, "2026-11-27T06:00:00Z")
        b = _synthetic.write(tmp / "b", changed, "2026-11-28T06:00:00Z")
        db = Database(tmp / "g.duckdb")
        old = import_folder(db, a).snapshot_id
        t = time.perf_counter()
        new = import_folder(db, b).snapshot_id
        store = time.perf_counter() - t
        with db.reader() as con:
            rows = con.execute("SELECT count(*), count(DISTINCT family || resource_key) FROM snapshot_changes"
                               ).fetchone()
        print(f"two snapshots of {_synthetic.count(a):,} resources, {n_changed:,} changed; "
              f"{rows[0]:,} change rows for {rows[1]:,} resources")
        sync, diff = [], []
        for _ in range(args.repeat):  # interleaved, so both sides see the same machine load
            sync.append(recompute(db, new))
            t = time.perf_counter()
            diff_snapshots(db, old, new)
            diff.append(time.perf_counter() - t)
        s, d = min(sync), min(diff)
        print(f"storing the second snapshot, changes included: {store:.3f}s")
        print(f"  of which computing and storing its changes  : {s:.3f}s ({s / store:.0%})")
        print(f"gwaudit diff of the same pair                  : {d:.3f}s")
        print(f"changes / diff = {s / d:.2f}x")


if __name__ == "__main__":
    main()
