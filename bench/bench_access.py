"""Effective access and spend exposure versus the full rule catalog's audit, on the same snapshot.

    python bench/bench_access.py [--scale 50] [--repeat 1]

The snapshot is the simulator's generated org (``write_generated(--scale)``; N=50 is about 100k
resources, 55k keys). Baseline = :func:`gwaudit.rules.audit` with every built-in rule, not stored.
Measured = on one reader connection scoped to the snapshot: the full access matrix (every
principal x every addressable model, counted, with its allow/deny split) and every exposure
(``spend_exposure`` fetched). Best of --repeat, interleaved. Target (issue 17): measured <= 2x.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from gwaudit.access.query import snapshot_connection
from gwaudit.db import Database
from gwaudit.db.ingest import import_folder
from gwaudit.rules import audit
from gwaudit.simulator.generate import write_generated


def access_and_exposure(db: Database) -> tuple[int, int]:
    with snapshot_connection(db) as con:
        cells, allowed = con.execute(
            "SELECT count(*), count(*) FILTER (WHERE decision = 'allow') FROM access_matrix").fetchone()
        exposures = len(con.execute("SELECT * FROM spend_exposure").fetchall())
    return cells, exposures


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_generated(args.scale, Path(tmp) / "snap")
        db = Database(Path(tmp) / "bench.duckdb")
        import_folder(db, folder)
        base, measured = [], []
        for _ in range(args.repeat):
            t = time.perf_counter()
            audit(db, "latest", store=False)
            base.append(time.perf_counter() - t)
            t = time.perf_counter()
            cells, exposures = access_and_exposure(db)
            measured.append(time.perf_counter() - t)
        b, m = min(base), min(measured)
        print(f"scale {args.scale}: {cells:,} access cells, {exposures:,} exposures")
        print(f"full catalog audit      {b:8.2f} s")
        print(f"access matrix+exposure  {m:8.2f} s")
        print(f"ratio {m / b:.2f}x (target <= 2x)")


if __name__ == "__main__":
    main()
