"""Retention: remove snapshots outside a keep-policy, then give the space back to the disk.

    from gwaudit.prune import Policy, prune
    result = prune(db, Policy(daily=7, weekly=4, monthly=12, quarterly=8))

The policy keeps, for each of the N most recent days (weeks, months, quarters) that hold a
complete snapshot, the newest complete snapshot of that period; an incomplete snapshot never
takes a complete one's place, and a period in that span holding only incomplete snapshots keeps
the best of them (see :func:`plan`). The newest complete snapshot and the newest snapshot overall
are always kept. Every other snapshot is removed with everything recorded about it (collection status, files, findings,
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


@dataclass(frozen=True)
class Candidate:
    """A stored snapshot as retention sees it."""
    id: int
    taken_at: datetime
    complete: bool = True
    failed: int = 0
    """How many families it failed to collect (the best incomplete snapshot has the fewest)."""


def _candidate(s: Any) -> Candidate:
    return s if isinstance(s, Candidate) else Candidate(*s)


def plan(snapshots: list[Candidate] | list[tuple], policy: Policy) -> list[PlannedSnapshot]:
    """Which snapshots the policy keeps (and why), oldest first. Periods are UTC calendar days,
    ISO weeks, months and quarters.

    Complete snapshots are the evidence: each of the N most recent periods *holding a complete
    snapshot* keeps its newest complete one, and an incomplete snapshot never takes that slot. A
    period within that span that holds only incomplete snapshots keeps its best one (fewest failed
    families, then newest) and says so, so that no period is left without evidence. The newest
    complete snapshot and the newest snapshot overall are always kept."""
    cands = [_candidate(s) for s in snapshots]
    newest_first = sorted(cands, key=lambda c: (c.taken_at, c.id), reverse=True)
    reasons: dict[int, list[str]] = {c.id: [] for c in cands}
    if newest_first:
        reasons[newest_first[0].id].append("newest")
        complete = next((c for c in newest_first if c.complete), None)
        if complete is not None and complete is not newest_first[0]:
            reasons[complete.id].append("newest complete")
    for period in PERIODS:
        n = getattr(policy, period)
        if not n:
            continue
        buckets: dict[str, list[Candidate]] = {}
        for c in newest_first:  # newest first, so each bucket's list is newest first too
            buckets.setdefault(_BUCKET[period](_utc(c.taken_at)), []).append(c)
        used = 0
        for bucket, members in buckets.items():  # insertion order: newest bucket first
            if used >= n:
                break
            best = next((c for c in members if c.complete), None)
            if best is not None:
                used += 1
                reasons[best.id].append(f"{period} {bucket}")
            else:
                fallback = min(members, key=lambda c: (c.failed, -c.taken_at.timestamp(), -c.id))
                reasons[fallback.id].append(f"{period} {bucket} (no complete snapshot: best incomplete kept)")
    return [PlannedSnapshot(c.id, c.taken_at, bool(reasons[c.id]), reasons[c.id])
            for c in sorted(cands, key=lambda c: (c.taken_at, c.id))]


def _utc(t: datetime) -> datetime:
    return t.astimezone(timezone.utc) if t.tzinfo else t


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
            snaps = _candidates(con)
        return PruneResult(policy, plan(snaps, policy), True, db_bytes(db.path), db_bytes(db.path))
    db.require()
    with db.lock:
        before = db_bytes(db.path)
        with db.writer() as con:
            planned = plan(_candidates(con), policy)
            gone = [s.id for s in planned if not s.keep]
            versions = delete_snapshots(con, gone, reason=f"prune: keeping {policy.describe()}") if gone else 0
        if gone:
            compact(db)
        return PruneResult(policy, planned, False, before, db_bytes(db.path), versions)


def _candidates(con: Any) -> list[Candidate]:
    return [Candidate(sid, taken, status == "complete", len(failed or []))
            for sid, taken, status, failed in con.execute(
                "SELECT id, taken_at, status, failed_families FROM snapshots").fetchall()]
