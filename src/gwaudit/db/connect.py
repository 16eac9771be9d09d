"""Opening DuckDB connections to a gwaudit database file.

One place sets what every connection needs: UTC, no extension installed or loaded behind our
back (a SQLite file or a foreign DuckDB file must never make DuckDB reach the network), owner-only
files, and a bounded wait while another process holds DuckDB's own file lock.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any, Callable

import duckdb

from ..errors import RuntimeFailure

BLOCK_SIZE = 64 * 1024
"""Block size of new database files. DuckDB's default (256 KiB) gives each of the ~35 tables at
least one block: a year of daily snapshots of a small org would be mostly empty blocks."""

_NO_EXTENSIONS = {"autoinstall_known_extensions": "false", "autoload_known_extensions": "false"}


def open_connection(path: Path, *, read_only: bool, wait: float,
                    on_locked: Callable[[str], Exception]) -> duckdb.DuckDBPyConnection:
    """Connect to ``path``, retrying while another process holds DuckDB's lock on it for at most
    ``wait`` seconds; then raise ``on_locked(duckdb's message)``."""
    deadline = time.monotonic() + max(wait, 0)
    attempt = 0
    while True:
        try:
            con = _connect(path, read_only=read_only)
        except duckdb.IOException as exc:
            text = str(exc)
            if "lock" not in text.lower():
                raise RuntimeFailure(f"cannot open database {path}: {_first_line(text)}",
                                     hint="check the path and its permissions") from None
            if time.monotonic() >= deadline:
                raise on_locked(text) from None
            time.sleep(min(0.05 * (2 ** attempt), 0.5))
            attempt += 1
            continue
        except duckdb.Error as exc:
            raise RuntimeFailure(f"cannot open database {path}: {_first_line(str(exc))}",
                                 hint="is it a gwaudit DuckDB file? restore it from backup or choose another --db"
                                 ) from None
        con.execute("SET TimeZone = 'UTC'")  # timestamps shown and truncated in UTC on every machine
        return con


def _connect(path: Path, *, read_only: bool) -> duckdb.DuckDBPyConnection:
    if read_only:
        return duckdb.connect(str(path), read_only=True, config=dict(_NO_EXTENSIONS))
    old = os.umask(0o077)
    try:  # the block size applies only when the file is created
        con = duckdb.connect(str(path), config={"default_block_size": str(BLOCK_SIZE), **_NO_EXTENSIONS})
    finally:
        os.umask(old)
    for p in (path, Path(str(path) + ".wal")):
        if p.exists():
            os.chmod(p, 0o600)
    return con


def sandbox(con: duckdb.DuckDBPyConnection) -> None:
    """Queries on this connection may read the database only: no files, no network, no
    extensions, and no setting can be changed back (rule SQL and ``gwaudit sql``)."""
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")


def lock_holder_pid(message: str) -> int | None:
    """The pid DuckDB names in a lock conflict message, if any."""
    m = re.search(r"PID (\d+)", message)
    return int(m.group(1)) if m else None


def _first_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[0] if lines else "error"


def in_memory(config: dict[str, Any] | None = None) -> duckdb.DuckDBPyConnection:
    """A private in-memory connection (parsing rule SQL); extensions off as everywhere."""
    return duckdb.connect(config={**_NO_EXTENSIONS, **(config or {})})
