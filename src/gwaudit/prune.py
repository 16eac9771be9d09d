"""Retention: remove snapshots outside a keep-policy, then give the space back to the disk.

    from gwaudit.prune import Policy, prune
    result = prune("gwaudit.duckdb", Policy(daily=7, weekly=4, monthly=12, quarterly=8))

The policy keeps, for each of the N most recent days (weeks, months, quarters) that hold a
snapshot, the newest snapshot of that period; the newest snapshot overall is always kept. Every
other snapshot is removed with everything recorded about it (collection status, files, findings,
rule results, any table with a ``snapshot_id`` column); a resource version still held by a kept
snapshot stays, one no snapshot holds any more is deleted.

DuckDB does not shrink a file when rows are deleted, so the database is then rewritten: under the
store's write lock it is copied into a new file (``COPY FROM DATABASE``), which atomically
replaces the old one (owner-only, like every gwaudit database).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import duckdb

from . import families as fam
from .errors import RuntimeFailure, UsageError
from .store import BLOCK_SIZE, Store, _connect, _q, transaction

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


def db_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in (path, Path(str(path) + ".wal")) if p.exists())


def prune(db: Path | str, policy: Policy, *, dry_run: bool = False, wait: float = 30.0) -> PruneResult:
    """Apply ``policy``; with ``dry_run`` only say what would go."""
    store = Store(db, wait=wait)
    if dry_run:
        with store.reader() as con:
            snaps = con.execute("SELECT id, taken_at FROM snapshots").fetchall()
        return PruneResult(policy, plan(snaps, policy), True, db_bytes(store.path), db_bytes(store.path))
    if not store.path.exists():
        raise UsageError(f"no database at {store.path}", hint="point --db / GWAUDIT_DB at your database")
    with store.lock:
        before = db_bytes(store.path)
        with store.writer() as con:
            snaps = con.execute("SELECT id, taken_at FROM snapshots").fetchall()
            planned = plan(snaps, policy)
            gone = [s.id for s in planned if not s.keep]
            versions = delete_snapshots(con, gone) if gone else 0
        if gone:
            rewrite(store)
        return PruneResult(policy, planned, False, before, db_bytes(store.path), versions)


def delete_snapshots(con: duckdb.DuckDBPyConnection, ids: list[int]) -> int:
    """Delete snapshots and every row about them, then the versions no snapshot holds; one
    transaction. Returns how many versions went."""
    id_list = ", ".join(str(int(i)) for i in ids)
    tables = [r[0] for r in con.execute("""
        SELECT DISTINCT c.table_name FROM duckdb_columns() c JOIN duckdb_tables() t
          ON t.table_name = c.table_name AND t.schema_name = c.schema_name AND t.database_name = c.database_name
        WHERE c.column_name = 'snapshot_id' AND c.schema_name = 'main' AND c.database_name = current_database()
        ORDER BY 1""").fetchall()]
    with transaction(con):
        for table in tables:
            con.execute(f"DELETE FROM {_q(table)} WHERE snapshot_id IN ({id_list})")
        con.execute(f"DELETE FROM snapshots WHERE id IN ({id_list})")
        removed = 0
        for family in fam.FAMILIES:
            rv = _q("rv_" + family.name)
            removed += con.execute(f"""DELETE FROM {rv} WHERE vid NOT IN
                                       (SELECT vid FROM snapshot_resources WHERE family = ?)""",
                                   [family.name]).fetchone()[0]
        con.execute("DELETE FROM schema_drift WHERE vid NOT IN (SELECT vid FROM snapshot_resources)")
    return int(removed)


def rewrite(store: Store) -> None:
    """Reclaim free space: copy the database into a new file and atomically swap it in.

    Runs under the store's write lock (re-entrant), with no other connection to the file open in
    this process; readers in other processes keep reading the old file until they reopen."""
    path = store.path
    tmp = path.with_name(path.name + f".rewrite-{os.getpid()}")
    for p in (tmp, Path(str(tmp) + ".wal")):
        if p.exists():
            p.unlink()
    with store.lock:
        con = _connect(path, read_only=False, wait=store.wait)
        try:
            name = con.execute("SELECT current_database()").fetchone()[0]
            old = os.umask(0o077)
            try:
                con.execute(f"ATTACH '{_sql_path(tmp)}' AS gwaudit_packed (BLOCK_SIZE {BLOCK_SIZE})")
            finally:
                os.umask(old)
            con.execute(f"COPY FROM DATABASE {_q(name)} TO gwaudit_packed")
            con.execute("CHECKPOINT gwaudit_packed")
            con.execute("DETACH gwaudit_packed")
            con.execute("CHECKPOINT")
        except BaseException:
            con.close()
            _discard(tmp)
            raise
        con.close()
        if Path(str(path) + ".wal").exists() or Path(str(tmp) + ".wal").exists():
            _discard(tmp)
            raise RuntimeFailure(f"could not rewrite {path}: a write-ahead log was left behind",
                                 hint="the database is unchanged apart from the pruning; run prune again")
        os.chmod(tmp, 0o600)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        try:
            dir_fd = os.open(path.parent, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _sql_path(p: Path) -> str:
    return str(p).replace("'", "''")


def _discard(tmp: Path) -> None:
    for p in (tmp, Path(str(tmp) + ".wal")):
        try:
            p.unlink()
        except OSError:
            pass
