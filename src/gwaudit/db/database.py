"""The gwaudit database: one object per file, opened once by the command line and passed down.

    from gwaudit.db import Database
    db = Database("gwaudit.duckdb", wait=30)
    with db.reader() as con:            # read-only; sandboxed=True also forbids files and network
        con.execute("SELECT count(*) FROM api_keys").fetchall()
    with db.writer() as con:            # under the write lock, schema migrated
        ...
    db.resolve("previous")              # a snapshot id from latest / previous / id / date

DuckDB allows one process to write a file and, while it does, no other process to open it. So
connections are short-lived: a command opens a reader or a writer for what it does and closes it.
Two gwaudit processes serialise their writes on the advisory lock (:mod:`gwaudit.lock`); a
connection that finds the file locked by DuckDB itself (another program holding it) retries for at
most ``wait`` seconds.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import duckdb

from ..errors import LockTimeout, UsageError
from ..lock import WriteLock, describe_holder, read_holder
from . import schema, snapshots, template
from .connect import lock_holder_pid, open_connection, sandbox

DEFAULT_WAIT = 30.0
_DUCKDB_MAGIC = b"DUCK"


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """BEGIN ... COMMIT; on any exception (Ctrl-C included) ROLLBACK and re-raise."""
    con.execute("BEGIN")
    try:
        yield con
    except BaseException:
        try:
            con.execute("ROLLBACK")
        except duckdb.Error:
            pass
        raise
    con.execute("COMMIT")


class Database:
    """A gwaudit database file (which need not exist yet: the first writer creates it)."""

    def __init__(self, path: Path | str, *, wait: float = DEFAULT_WAIT):
        self.path = Path(path)
        self.wait = wait
        self.lock = WriteLock(self.path, wait=wait)

    @classmethod
    def of(cls, db: "Database | Path | str") -> "Database":
        """``db`` itself, or a Database for a path (with the default wait)."""
        return db if isinstance(db, Database) else cls(db)

    def __repr__(self) -> str:
        return f"Database({str(self.path)!r}, wait={self.wait:g})"

    @property
    def exists(self) -> bool:
        return self.path.exists()

    def require(self) -> None:
        """Raise the usual error when there is no database file yet."""
        if not self.path.exists():
            raise UsageError(f"no database at {self.path}",
                             hint="collect or import a snapshot first (gwaudit collect / gwaudit import), "
                                  "or point --db / GWAUDIT_DB at your database")

    # -- connections -------------------------------------------------

    @contextmanager
    def reader(self, *, sandboxed: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection. ``sandboxed`` also forbids reading or writing any other file,
        the network and extensions, and changing settings (``gwaudit sql``, rule SQL)."""
        self.require()
        self._check_file()
        con = self._open(read_only=True)
        try:
            schema.check_version(con, self.path)
            if not schema.up_to_date(con) and os.access(self.path, os.W_OK):
                # written by an older gwaudit: bring it up to date once, then read
                con.close()
                with self.writer():
                    pass
                con = self._open(read_only=True)
            if sandboxed:
                sandbox(con)
            yield con
        finally:
            con.close()

    @contextmanager
    def writer(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write connection under the database's write lock; the schema is migrated first.
        Creates the file when it does not exist."""
        self._check_file()
        with self.lock:
            if not self.path.exists():  # a new file starts as a copy of the migrated empty database
                template.create(self.path, lambda p: open_connection(p, read_only=False, wait=0,
                                                                       on_locked=self._locked), transaction)
            con = self._open(read_only=False)
            try:
                reason = schema.foreign_reason(con)
                if reason:
                    raise schema.not_gwaudit(self.path, reason)
                schema.migrate(con, transaction)
                yield con
            finally:
                con.close()

    def _check_file(self) -> None:
        """Refuse, before DuckDB opens it, a file that is not a DuckDB database at all (a SQLite
        file would make DuckDB want its sqlite extension)."""
        try:
            with open(self.path, "rb") as fh:
                head = fh.read(12)
        except FileNotFoundError:
            return
        except OSError as exc:
            from ..errors import RuntimeFailure
            raise RuntimeFailure(f"cannot read {self.path}: {exc.strerror}",
                                 hint="check the path and its permissions") from None
        if head and head[8:12] != _DUCKDB_MAGIC:
            raise schema.not_gwaudit(self.path, "not a DuckDB file")

    def _open(self, *, read_only: bool) -> duckdb.DuckDBPyConnection:
        return open_connection(self.path, read_only=read_only, wait=self.wait, on_locked=self._locked)

    def _locked(self, message: str) -> LockTimeout:
        """DuckDB's own lock is held past the wait: say by whom."""
        holder = read_holder(self.path)
        pid = lock_holder_pid(message)
        if holder and pid is not None and holder.get("pid") == pid and pid != os.getpid():
            who = describe_holder(holder)
        elif pid is not None and pid == os.getpid():
            who = "another connection of this process"
        elif pid is not None:
            who = f"another program (pid {pid}; not gwaudit's write lock: e.g. a notebook or duckdb shell " \
                  "with the file open read-write)"
        else:
            who = "another program"
        return LockTimeout(f"database {self.path} is in use by {who}; waited {self.wait:g}s",
                           hint="close that program's connection to the file, or raise --wait")

    # -- snapshots ---------------------------------------------------

    def resolve(self, ref: str | int | None) -> int:
        """A snapshot id from ``latest``, ``previous``, an id, or a date (last taken on or before it)."""
        with self.reader() as con:
            return snapshots.resolve_snapshot(con, ref)

    def snapshots(self) -> list[dict[str, Any]]:
        """Every stored snapshot, oldest first."""
        with self.reader() as con:
            return snapshots.list_snapshots(con)

    def snapshot(self, sid: int) -> dict[str, Any]:
        with self.reader() as con:
            return snapshots.snapshot_info(con, sid)

    def initialise(self) -> None:
        """Create (or upgrade) the database file."""
        with self.writer():
            pass
