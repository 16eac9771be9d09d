"""An advisory lock per database file, so two writers never write at once.

``<db>.lock`` is held with ``fcntl``/``LockFileEx`` through :mod:`filelock`: the operating
system drops it when the holding process dies, so a lock left by a killed run is recovered
without anyone deleting a file. Beside it, ``<db>.lock.json`` names the holder (pid, host,
command, since when) so that a waiting process can say who it waited for.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from .errors import LockTimeout
from .timeutil import format_ts, parse_ts, utcnow


def _holder_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".lock.json")


def read_holder(db_path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(_holder_path(db_path).read_text())
    except (OSError, ValueError):
        return None


def describe_holder(holder: dict[str, Any] | None) -> str:
    if not holder:
        return "another gwaudit process"
    since = holder.get("since")
    age = ""
    if since:
        try:
            secs = (utcnow() - parse_ts(since)).total_seconds()
            age = f" for {secs:.0f}s (since {since})"
        except ValueError:
            age = f" since {since}"
    return (f"pid {holder.get('pid')} on {holder.get('host')} ({holder.get('command', 'gwaudit')})"
            f"{age}")


class _Held:
    """The process's one FileLock per database, shared by every WriteLock on that path, so that
    nested writers in one process (``gwaudit run``: collect, audit, report, prune) re-enter
    instead of waiting for themselves (flock locks belong to an open file, not a process)."""

    def __init__(self, path: str):
        self.lock = FileLock(path, mode=0o600)
        self.depth = 0


_HELD: dict[str, _Held] = {}


class WriteLock:
    """Re-entrant within a process; waits at most ``wait`` seconds for another process."""

    def __init__(self, db_path: Path | str, wait: float = 30.0, command: str | None = None):
        self.db_path = Path(db_path)
        self.wait = wait
        self.command = command or " ".join(os.path.basename(a) if i == 0 else a
                                           for i, a in enumerate(sys.argv[:2]))
        key = os.path.abspath(str(self.db_path) + ".lock")
        self._shared = _HELD.setdefault(key, _Held(key))
        self._lock = self._shared.lock

    @property
    def _depth(self) -> int:
        return self._shared.depth

    @_depth.setter
    def _depth(self, value: int) -> None:
        self._shared.depth = value

    def acquire(self) -> None:
        if self._depth:
            self._depth += 1
            return
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._lock.acquire(timeout=max(self.wait, 0), poll_interval=0.05)
        except Timeout:
            holder = read_holder(self.db_path)
            raise LockTimeout(
                f"database {self.db_path} is locked by {describe_holder(holder)}; waited {self.wait:g}s",
                hint="wait for that run to finish, or raise --wait; a lock of a process that died "
                     "is released by the operating system") from None
        self._depth = 1
        holder = {"pid": os.getpid(), "host": socket.gethostname(), "command": self.command,
                  "since": format_ts(utcnow())}
        path = _holder_path(self.db_path)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(holder, fh)

    def release(self) -> None:
        if not self._depth:
            return
        self._depth -= 1
        if self._depth:
            return
        try:
            _holder_path(self.db_path).unlink()
        except OSError:
            pass
        self._lock.release()

    def __enter__(self) -> "WriteLock":
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
