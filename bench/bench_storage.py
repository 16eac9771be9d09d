"""Storage: a year of daily snapshots in the database versus the same snapshots kept as folders.

A generated org (gwaudit.simulator.generate_org, N=1: ~1,900 resources) is snapshotted every day
for --days days; each day --changed (1%) of its resources get a configuration change (a rename,
an enabled flag flipped, or a change note). Each day's folder (manifest plus bodies, exactly what
``gwaudit collect --export-dir`` writes) is measured on disk, imported, and deleted. "In full" =
the sum of those folders; "database" = the DuckDB file (and its WAL) after the last import, and
again after the rewrite ``gwaudit prune`` does (which also compacts).

    python bench/bench_storage.py [--days 365] [--changed 0.01] [--scale 1] [--volatile 0]

Target (issue 4): database at most 5% of the folders.
"""

from __future__ import annotations

import argparse
import copy
import os
import random
import shutil
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from gwaudit import families as fam
from gwaudit.db.ingest import import_folder
from gwaudit.db.maintenance import compact, db_bytes
from gwaudit.simulator.generate import generate_org, write_org
from gwaudit.db import Database
from gwaudit.timeutil import parse_ts


def items_of(org: Any) -> list[tuple[str, dict]]:
    out = []
    for f in fam.FAMILIES:
        if f.name in org.unavailable:
            continue
        if f.per_item:
            for _query, body in org.per_item.get(f.name, []):
                out += [(f.name, item) for item in f.items_of(body)]
        elif f.shape != "object":
            out += [(f.name, item) for item in f.items_of(org.bodies[f.name])]
    return out


def change(family: str, item: dict, day: int) -> None:
    identity = set(fam.get(family).identity)
    if isinstance(item.get("name"), str) and "name" not in identity:
        item["name"] = item["name"].split(" (rev ")[0] + f" (rev {day})"
    elif isinstance(item.get("enabled"), bool):
        item["enabled"] = not item["enabled"]
    else:
        item["last_change_note"] = f"change on day {day}"


def write(org: Any, folder: Path, taken_at: Any) -> Path:
    return write_org(org, folder, taken_at)


def folder_bytes(folder: Path) -> tuple[int, int]:
    """(bytes of file content, bytes allocated on disk)."""
    size = blocks = 0
    for p in folder.rglob("*"):
        if p.is_file():
            st = p.stat()
            size += st.st_size
            blocks += st.st_blocks * 512
    return size, blocks


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--changed", type=float, default=0.01)
    ap.add_argument("--scale", type=int, default=1)
    ap.add_argument("--volatile", type=float, default=0.0,
                    help="also give this share of API keys a new last_used_at every day")
    ap.add_argument("--keep", type=Path, help="keep the database here")
    args = ap.parse_args()
    rng = random.Random(5)
    start = parse_ts("2026-01-01T06:00:00Z")
    org = generate_org(args.scale, seed=3, taken_at=start)
    org = copy.deepcopy(org)
    pool = items_of(org)
    print(f"generated org N={args.scale}: {org.resource_count():,} resources; {args.days} daily snapshots, "
          f"{args.changed:.0%} changed per day ({max(1, int(len(pool) * args.changed))} resources)"
          + (f", {args.volatile:.0%} of API keys used per day" if args.volatile else ""))
    with tempfile.TemporaryDirectory(prefix="gwaudit-bench-storage-") as tmp:
        tmp = Path(tmp)
        db = args.keep or tmp / "year.duckdb"
        for p in db.parent.glob(db.name + "*"):
            p.unlink()
        full = full_blocks = 0
        t0 = time.perf_counter()
        for day in range(args.days):
            when = start + timedelta(days=day)
            if day:
                for family, item in rng.sample(pool, max(1, int(len(pool) * args.changed))):
                    change(family, item, day)
                if args.volatile:
                    for key in org.bodies["api_keys"]:
                        if rng.random() < args.volatile:
                            key["last_used_at"] = (when - timedelta(minutes=rng.randint(1, 1440))).strftime(
                                "%Y-%m-%dT%H:%M:%S.000Z")
            folder = write(org, tmp / f"day-{day:03d}", when)
            size, blocks = folder_bytes(folder)
            full += size
            full_blocks += blocks
            import_folder(db, folder)
            shutil.rmtree(folder)
            if (day + 1) % 73 == 0 or day + 1 == args.days:
                print(f"  day {day + 1:3d}: folders {full / 1e6:8.1f} MB, database {db_bytes(db) / 1e6:6.1f} MB "
                      f"({db_bytes(db) / full:.2%})  [{time.perf_counter() - t0:.0f}s]")
        stored = db_bytes(db)
        if args.keep:
            shutil.copyfile(db, str(db) + ".before-rewrite")
        compact(Database(db))
        packed = db_bytes(db)
        print(f"snapshot folders (in full): {full / 1e6:.1f} MB of JSON ({full_blocks / 1e6:.1f} MB allocated)")
        print(f"database after {args.days} imports: {stored / 1e6:.1f} MB = {stored / full:.2%} of the folders")
        print(f"database after a rewrite (gwaudit prune's compaction): {packed / 1e6:.1f} MB = {packed / full:.2%}")
        ratio = stored / full
        print(f"target <= 5%: {'met' if ratio <= 0.05 else 'NOT met'}")
        os.sync()


if __name__ == "__main__":
    main()
