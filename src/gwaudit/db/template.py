"""New database files start as a copy of an empty, fully migrated database.

Creating the schema is not free: DuckDB binds each view when it is created, and the analysis
views (the shared concepts, effective access, spend exposure) nest deeply, so migrating an empty
file costs about 1.7 s of CPU. A process that creates many databases (``fleet audit`` opens a
temporary one per organisation, the tests one per case) pays that once: the first new database of
the process is migrated in a private temporary folder, and every new file after it is a byte copy
of that template (then opened and checked by :func:`~gwaudit.db.schema.migrate` like any other,
which finds nothing to do).

The template belongs to this process only (a folder of mode 0700 it created, removed at exit):
nothing another user or an earlier gwaudit wrote is ever copied into a database.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Callable

import duckdb

from . import schema

_lock = threading.Lock()
_made: dict[tuple[int, str], Path] = {}


def _key() -> tuple[int, str]:
    return schema.SCHEMA_VERSION, schema.derived_fingerprint()


def _template(connect: Callable[[Path], duckdb.DuckDBPyConnection],
              transaction: Callable) -> Path:
    """This process's empty migrated database (made on first use)."""
    key = _key()
    with _lock:
        path = _made.get(key)
        if path is not None and path.exists():
            return path
        folder = Path(tempfile.mkdtemp(prefix="gwaudit-template-"))  # mode 0700
        atexit.register(shutil.rmtree, folder, True)
        path = folder / "empty.duckdb"
        con = connect(path)
        try:
            schema.migrate(con, transaction)
            con.execute("CHECKPOINT")
        finally:
            con.close()
        _made[key] = path
        return path


def create(target: Path, connect: Callable[[Path], duckdb.DuckDBPyConnection],
           transaction: Callable) -> bool:
    """Create ``target`` (which must not exist) as a copy of the template, owner-only. Returns
    False, leaving everything as it was, when ``target`` appeared meanwhile or cannot be made
    here (the caller then lets DuckDB create it and migrates it in place)."""
    source = _template(connect, transaction)
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError:
        return False
    try:
        with open(fd, "wb") as out, open(source, "rb") as src:
            shutil.copyfileobj(src, out, 1 << 20)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return True
