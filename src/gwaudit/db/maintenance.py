"""Deleting snapshots and giving the space back to the disk.

DuckDB does not shrink a file when rows are deleted, so after a deletion the database is
rewritten: under the write lock it is copied into a new file (``COPY FROM DATABASE``), which
atomically replaces the old one (owner-only, like every gwaudit database).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from .. import __version__
from .. import families as fam
from ..errors import RuntimeFailure
from ..lock import register_temp, unregister_temp
from .connect import BLOCK_SIZE
from .database import Database, transaction
from .layout import version_table
from .sql import ident, literal

REWRITE_SUFFIX = ".rewrite-"


def db_bytes(path: Path) -> int:
    """Size of the database file and its write-ahead log."""
    return sum(p.stat().st_size for p in (path, Path(str(path) + ".wal")) if p.exists())


def delete_snapshots(con: duckdb.DuckDBPyConnection, ids: list[int], *, reason: str) -> int:
    """Delete snapshots and every row about them (any table with a ``snapshot_id`` column), then
    the resource versions no snapshot holds any more, and record each deletion in
    ``snapshot_deletions`` (with ``reason``); one transaction. Returns how many versions went."""
    id_list = ", ".join(str(int(i)) for i in ids)
    record = con.execute(f"""
        SELECT s.id, s.taken_at, s.status, s.source, s.manifest_sha256, s.resource_count,
               (SELECT count(*) FROM findings f WHERE f.snapshot_id = s.id)
        FROM snapshots s WHERE s.id IN ({id_list})""").fetchall()
    tables = [r[0] for r in con.execute("""
        SELECT DISTINCT c.table_name FROM duckdb_columns() c JOIN duckdb_tables() t
          ON t.table_name = c.table_name AND t.schema_name = c.schema_name AND t.database_name = c.database_name
        WHERE c.column_name = 'snapshot_id' AND c.schema_name = 'main' AND c.database_name = current_database()
        ORDER BY 1""").fetchall()]
    with transaction(con):
        for table in tables:
            con.execute(f"DELETE FROM {ident(table)} WHERE snapshot_id IN ({id_list})")
        con.execute(f"DELETE FROM snapshots WHERE id IN ({id_list})")
        removed = 0
        for family in fam.FAMILIES:
            removed += con.execute(f"""DELETE FROM {version_table(family)} WHERE vid NOT IN
                                       (SELECT vid FROM snapshot_resources WHERE family = ?)""",
                                   [family.name]).fetchone()[0]
        con.execute("DELETE FROM schema_drift WHERE vid NOT IN (SELECT vid FROM snapshot_resources)")
        con.executemany("INSERT INTO snapshot_deletions VALUES (now(), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [[*row, reason, _who(), __version__] for row in record])
        from ..changes import sync as sync_changes

        sync_changes(con)  # snapshots on either side of a removed one are consecutive now
    return int(removed)


def _who() -> str:
    import getpass
    import socket

    try:
        user = getpass.getuser()
    except Exception:  # no user name in this environment (a container without /etc/passwd entry)
        user = str(os.getuid()) if hasattr(os, "getuid") else "unknown"
    return f"{user}@{socket.gethostname()}"


@dataclass
class Deletion:
    """What deleting one snapshot removes (or would remove, with ``dry_run``)."""
    snapshot: dict[str, Any]
    findings: int
    versions: int
    """Resource versions no other snapshot holds (they go with it)."""
    dry_run: bool
    remaining: int
    """Snapshots left afterwards."""

    def to_dict(self) -> dict[str, Any]:
        from ..output import jsonable

        return jsonable({"snapshot": self.snapshot, "findings": self.findings, "versions": self.versions,
                         "dry_run": self.dry_run, "remaining": self.remaining})

    def summary(self) -> str:
        s = self.snapshot
        verb = "would delete" if self.dry_run else "deleted"
        return (f"{verb} snapshot {s['id']} taken {s['taken_at']:%Y-%m-%d %H:%M:%SZ} ({s['status']}, "
                f"{s['resource_count']} resources, {self.findings} findings, {self.versions} resource versions "
                f"no other snapshot holds); {self.remaining} snapshot{'s' if self.remaining != 1 else ''} left")


def delete_snapshot(db: Database, ref: str | int, *, dry_run: bool = False) -> Deletion:
    """Delete one snapshot (an id, ``latest``, ``previous`` or a date) with its findings and the
    resource versions only it held, in one transaction, recorded in ``snapshot_deletions``."""
    from .snapshots import resolve_snapshot, snapshot_info

    db.require()
    with (db.reader() if dry_run else db.writer()) as con:
        sid = resolve_snapshot(con, ref)
        info = snapshot_info(con, sid)
        findings = con.execute("SELECT count(*) FROM findings WHERE snapshot_id = ?", [sid]).fetchone()[0]
        versions = con.execute("""
            SELECT count(DISTINCT vid) FROM snapshot_resources m WHERE snapshot_id = $sid
              AND NOT EXISTS (SELECT 1 FROM snapshot_resources o WHERE o.vid = m.vid AND o.family = m.family
                              AND o.snapshot_id <> $sid)""", {"sid": sid}).fetchone()[0]
        remaining = con.execute("SELECT count(*) - 1 FROM snapshots").fetchone()[0]
        if not dry_run:
            delete_snapshots(con, [sid], reason="snapshots delete")
    return Deletion(info, int(findings), int(versions), dry_run, int(remaining))


def compact(db: Database) -> None:
    """Reclaim free space: copy the database into a new file and atomically swap it in.

    Runs under the write lock, with no other connection to the file open in this process; readers
    in other processes keep reading the old file until they reopen."""
    path = db.path
    tmp = path.with_name(path.name + f"{REWRITE_SUFFIX}{os.getpid()}")
    _discard(tmp)
    register_temp(tmp)
    try:
        _compact(db, path, tmp)
    finally:
        unregister_temp(tmp)


def _compact(db: Database, path: Path, tmp: Path) -> None:
    with db.lock:
        con = db._open(read_only=False)
        try:
            name = con.execute("SELECT current_database()").fetchone()[0]
            old = os.umask(0o077)
            try:
                con.execute(f"ATTACH {literal(str(tmp))} AS gwaudit_packed (BLOCK_SIZE {BLOCK_SIZE})")
            finally:
                os.umask(old)
            con.execute(f"COPY FROM DATABASE {ident(name)} TO gwaudit_packed")
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
        _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    try:
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _discard(tmp: Path) -> None:
    for p in (tmp, Path(str(tmp) + ".wal")):
        try:
            p.unlink()
        except OSError:
            pass
