"""Diff speed: gwaudit's diff of two stored snapshots versus comparing the same two snapshots as
Python dicts (json.loads of every body, index by identity, ``!=`` per resource, then the same
JSON walk for the changed pairs), in the same run.

Two generated snapshots of --resources resources (bench/_synthetic.py); in the second, --changed
(1%) of the resources have a configuration change, and optionally --volatile of the API keys a
new last_used_at (a volatile field both sides leave out). Both snapshots are stored first (not
timed); gwaudit's time includes opening the database.

    python bench/bench_diff.py [--resources 100000] [--changed 0.01] [--volatile 0.2] [--repeat 3]

Target (issue 4): gwaudit at least 10x faster than the dict comparison.
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _synthetic  # noqa: E402

from gwaudit import families as fam  # noqa: E402
from gwaudit.diff import diff_snapshots, walk_json  # noqa: E402
from gwaudit.db.ingest import import_folder  # noqa: E402


def mutate(data: dict, changed: float, volatile: float, seed: int = 11) -> tuple[dict, int]:
    """A copy of ``data`` with ``changed`` of all resources given a configuration change."""
    rng = random.Random(seed)
    out = copy.deepcopy(data)
    items = [(name, item) for name, value in out.items() if isinstance(value, list) for item in value]
    picked = rng.sample(range(len(items)), int(len(items) * changed))
    for i in picked:
        name, item = items[i]
        if "name" in item and "name" not in fam.get(name).identity:
            item["name"] = item["name"] + " (renamed)"
        elif isinstance(item.get("enabled"), bool):
            item["enabled"] = not item["enabled"]
        else:
            item["last_change_note"] = "bench change"
    for key in out["api_keys"]:
        if rng.random() < volatile:
            key["last_used_at"] = "2026-11-28T05:59:00Z"
    return out, len(picked)


def load_as_dicts(folder: Path) -> dict[str, dict[str, dict]]:
    manifest = json.loads((folder / "manifest.json").read_text())
    out: dict[str, dict[str, dict]] = {}
    for entry in manifest["files"]:
        family = fam.get(entry["family"])
        body = json.loads((folder / entry["path"]).read_text())
        index = out.setdefault(family.name, {})
        for item in family.items_of(body):
            index[family.identity_of(item)] = item
    return out


def dict_diff(a_folder: Path, b_folder: Path) -> int:
    """The baseline: returns the number of changed resources (volatile fields left out)."""
    a, b = load_as_dicts(a_folder), load_as_dicts(b_folder)
    n = 0
    for name in set(a) | set(b):
        old, new = a.get(name, {}), b.get(name, {})
        n += len(old.keys() - new.keys()) + len(new.keys() - old.keys())
        skip = fam.get(name).volatile
        for key in old.keys() & new.keys():
            if old[key] != new[key] and any(True for _ in walk_json(old[key], new[key], skip=skip)):
                n += 1
    return n


def ours(db: Path, old: int, new: int) -> int:
    d = diff_snapshots(db, old, new)
    c = d.counts()
    return c["added"] + c["removed"] + c["modified"]


def timed(fn) -> tuple[float, int]:
    t = time.perf_counter()
    result = fn()
    return time.perf_counter() - t, result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--resources", type=int, default=100_000)
    ap.add_argument("--changed", type=float, default=0.01)
    ap.add_argument("--volatile", type=float, default=0.0, help="share of API keys with a new last_used_at")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="gwaudit-bench-diff-") as tmp:
        tmp = Path(tmp)
        t = time.perf_counter()
        data = _synthetic.generate(args.resources)
        changed, n_changed = mutate(data, args.changed, args.volatile)
        a = _synthetic.write(tmp / "a", data, "2026-11-27T06:00:00Z")
        b = _synthetic.write(tmp / "b", changed, "2026-11-28T06:00:00Z")
        db = tmp / "g.duckdb"
        old = import_folder(db, a).snapshot_id
        new = import_folder(db, b).snapshot_id
        print(f"built and stored two snapshots of {_synthetic.count(a):,} resources, {n_changed:,} changed"
              f"{f', {args.volatile:.0%} of API keys with a new last_used_at' if args.volatile else ''} "
              f"({time.perf_counter() - t:.0f}s)")
        base, mine = [], []
        for _ in range(args.repeat):  # interleaved, so both sides see the same machine load
            base.append(timed(lambda: dict_diff(a, b)))
            mine.append(timed(lambda: ours(db, old, new)))
        (base_t, base_n), (our_t, our_n) = min(base), min(mine)
        print(f"Python dicts (json.loads + walk): {base_t:.3f}s  ({base_n:,} changed resources)")
        print(f"gwaudit diff_snapshots          : {our_t:.3f}s  ({our_n:,} changed resources)")
        ratio = base_t / our_t
        print(f"speed-up = {ratio:.1f}x  (target >= 10x: {'met' if ratio >= 10 else 'NOT met'})")
        if base_n != our_n:
            print(f"WARNING: the two sides disagree on the number of changes ({base_n} vs {our_n})")


if __name__ == "__main__":
    main()
