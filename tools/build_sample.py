#!/usr/bin/env python3
"""Regenerate the bundled sample snapshots (sample_snapshots/<date>/) of the Northwind org.

    python tools/build_sample.py            # rewrite both folders
    python tools/build_sample.py --check    # regenerate into a temporary folder; exit 1 if the
                                            # committed folders differ from what this produces

The organisation is defined in tools/sample_org/ (what it holds, what is misconfigured on
purpose and what changed between the two dates: sample_snapshots/README.md). The output is
deterministic: fixed seeds, ids derived from names, no wall clock.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import shutil
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "src"))

import sample_org  # noqa: E402
from gwaudit import families as fam  # noqa: E402
from gwaudit.snapshot import FamilyStatus, FolderWriter  # noqa: E402
from gwaudit.testing import body_for  # noqa: E402

TOOL_VERSION = "gwaudit sample generator (tools/build_sample.py)"
SNAPSHOTS = {"2026-08-28": sample_org.OLD, "2026-11-27": sample_org.NEW}
UNAVAILABLE = {"agent_runtime_profiles": "404 not_found_error: Not Found"}


def _dump(body: Any) -> bytes:
    return (json.dumps(body, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def write_snapshot(folder: Path, taken_at: datetime) -> None:
    """Write one snapshot folder (which must not exist yet) as the org looked at ``taken_at``."""
    data = sample_org.render(taken_at)
    writer = FolderWriter(folder)
    for family in fam.FAMILIES:
        name = family.name
        if name in UNAVAILABLE:
            writer.set_status(name, FamilyStatus(status="unavailable", http_status=404, error=UNAVAILABLE[name],
                                                 request_count=1))
            continue
        if family.per_item:
            bodies = data[name]
            total = 0
            for query, items in bodies:
                writer.add_body(name, _dump(body_for(family, items)), query=query, item_count=len(items))
                total += len(items)
            writer.set_status(name, FamilyStatus(status="ok", http_status=200, item_count=total,
                                                 request_count=len(bodies)))
            continue
        body = body_for(family, data[name])
        count = len(family.items_of(body))
        writer.add_body(name, _dump(body), item_count=count)
        writer.set_status(name, FamilyStatus(status="ok", http_status=200, item_count=count, request_count=1))
    writer.finish(taken_at=taken_at, base_url=sample_org.BASE_URL, org_id=sample_org.ORG_ID,
                  tool_version=TOOL_VERSION)


def build(root: Path) -> list[Path]:
    """Write every sample snapshot under ``root``, replacing folders of the same name."""
    out = []
    for name, taken_at in SNAPSHOTS.items():
        folder = root / name
        if folder.exists():
            shutil.rmtree(folder)
        write_snapshot(folder, taken_at)
        out.append(folder)
    return out


def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


def differences(committed: Path, fresh: Path) -> list[str]:
    """Relative paths that are missing, extra or different in ``committed``."""
    problems = []
    for name in SNAPSHOTS:
        a, b = committed / name, fresh / name
        have, want = (_files(a) if a.is_dir() else set()), _files(b)
        problems += [f"{name}/{p}: missing" for p in sorted(want - have)]
        problems += [f"{name}/{p}: not produced by the generator" for p in sorted(have - want)]
        problems += [f"{name}/{p}: differs" for p in sorted(have & want)
                     if not filecmp.cmp(a / p, b / p, shallow=False)]
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="compare the committed folders with a fresh build; exit 1 on any difference")
    parser.add_argument("--out", type=Path, default=ROOT / "sample_snapshots",
                        help="where the snapshot folders live [default: sample_snapshots/]")
    args = parser.parse_args(argv)
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            build(Path(tmp))
            problems = differences(args.out, Path(tmp))
        if problems:
            print("sample snapshots are out of date:", *problems, sep="\n  ", file=sys.stderr)
            print("run: python tools/build_sample.py", file=sys.stderr)
            return 1
        print(f"sample snapshots in {args.out} match the generator")
        return 0
    for folder in build(args.out):
        print(f"wrote {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
