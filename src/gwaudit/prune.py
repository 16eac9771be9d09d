"""Retention: remove snapshots outside a keep-policy, then give the space back to the disk.

    from gwaudit.prune import Policy, prune
    result = prune(db, Policy(daily=7, weekly=4, monthly=12, quarterly=8))

The policy keeps, for each of the N most recent days (weeks, months, quarters) that hold a
snapshot, the newest snapshot of that period; the newest snapshot overall is always kept. Every
other snapshot is removed with everything recorded about it (collection status, files, findings,
rule results, any table with a ``snapshot_id`` column); a resource version still held by a kept
snapshot stays, one no snapshot holds any more is deleted.

The deletion and the rewrite that gives the space back to the disk are
:mod:`gwaudit.db.maintenance`'s.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from .db import Database
from .db.maintenance import compact, db_bytes, delete_snapshots
from .errors import UsageError

PERIODS = ("daily", "weekly", "monthly", "quarterly")


@dataclass(frozen=True)
class Policy:
    daily: int = 0
    weekly: int = 0
    monthly: int = 0
    quarterly: int = 0

    def __post_init__(self) -> None:
        for name in PERIODS:
            if getattr(self, name) < 0:
                raise UsageError(f"--keep-{name} must be 0 or more, got {getattr(self, name)}")

    def describe(self) -> str:
        return ", ".join(f"{getattr(self, p)} {p}" for p in PERIODS if getattr(self, p)) or "only the newest"


_BUCKET: dict[str, Callable[[datetime], str]] = {
    "daily": lambda t: t.strftime("%Y-%m-%d"),
    "weekly": lambda t: "%04d-W%02d" % t.isocalendar()[:2],
    "monthly": lambda t: t.strftime("%Y-%m"),
    "quarterly": lambda t: f"{t.year}-Q{(t.month - 1) // 3 + 1}",
}


@dataclass
class PlannedSnapshot:
    id: int
    taken_at: datetime
    keep: bool
    reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        from .output import jsonable
        return {"id": self.id, "taken_at": jsonable(self.taken_at), "action": "keep" if self.keep else "remove",
                "reasons": self.reasons}


def plan(snapshots: list[tuple[int, datetime]], policy: Policy) -> list[PlannedSnapshot]:
    """Which snapshots the policy keeps (and why), oldest first. Periods are UTC calendar
    days, ISO weeks, months and quarters."""
    newest_first = sorted(snapshots, key=lambda s: (s[1], s[0]), reverse=True)
    reasons: dict[int, list[str]] = {sid: [] for sid, _ in newest_first}
    if newest_first:
        reasons[newest_first[0][0]].append("newest")
    for period in PERIODS:
        n = getattr(policy, period)
        buckets: set[str] = set()
        for sid, taken in newest_first:
            if len(buckets) >= n:
                break
            b = _BUCKET[period](taken.astimezone(timezone.utc) if taken.tzinfo else taken)
            if b not in buckets:
                buckets.add(b)
                reasons[sid].append(f"{period} {b}")
    return [PlannedSnapshot(sid, taken, bool(reasons[sid]), reasons[sid])
            for sid, taken in sorted(snapshots, key=lambda s: (s[1], s[0]))]


@dataclass
class PruneResult:
    policy: Policy
    snapshots: list[PlannedSnapshot]
    dry_run: bool
    bytes_before: int = 0
    bytes_after: int = 0
    versions_removed: int = 0

    @property
    def removed(self) -> list[PlannedSnapshot]:
        return [s for s in self.snapshots if not s.keep]

    @property
    def kept(self) -> list[PlannedSnapshot]:
        return [s for s in self.snapshots if s.keep]

    def to_dict(self) -> dict[str, Any]:
        return {"policy": {p: getattr(self.policy, p) for p in PERIODS}, "dry_run": self.dry_run,
                "kept": len(self.kept), "removed": len(self.removed), "versions_removed": self.versions_removed,
                "bytes_before": self.bytes_before, "bytes_after": self.bytes_after,
                "snapshots": [s.to_dict() for s in self.snapshots]}

    def summary(self) -> str:
        verb = "would remove" if self.dry_run else "removed"
        text = f"{verb} {len(self.removed)} of {len(self.snapshots)} snapshots (keeping {self.policy.describe()})"
        if not self.dry_run and self.removed:
            text += (f"; {self.versions_removed} resource versions no snapshot held any more; database "
                     f"{_mb(self.bytes_before)} -> {_mb(self.bytes_after)}")
        return text


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def prune(db: Database | Path | str, policy: Policy, *, dry_run: bool = False) -> PruneResult:
    """Apply ``policy``; with ``dry_run`` only say what would go."""
    db = Database.of(db)
    if dry_run:
        with db.reader() as con:
            snaps = con.execute("SELECT id, taken_at FROM snapshots").fetchall()
        return PruneResult(policy, plan(snaps, policy), True, db_bytes(db.path), db_bytes(db.path))
    db.require()
    with db.lock:
        before = db_bytes(db.path)
        with db.writer() as con:
            snaps = con.execute("SELECT id, taken_at FROM snapshots").fetchall()
            planned = plan(snaps, policy)
            gone = [s.id for s in planned if not s.keep]
            versions = delete_snapshots(con, gone) if gone else 0
        if gone:
            compact(db)
        return PruneResult(policy, planned, False, before, db_bytes(db.path), versions)
