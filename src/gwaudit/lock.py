"""An advisory lock per database file, so two writers never write at once.

``<db>.lock`` is held with ``fcntl``/``LockFileEx`` through :mod:`filelock`: the operating
system drops it when the holding process dies, so a lock left by a killed run is recovered
without anyone deleting a file. Beside it, ``<db>.lock.json`` names the holder (pid, host,
command, since when) so that a waiting process can say who it waited for.

A holder file whose process is gone (a run killed with SIGKILL, or a power cut) is *stale*: the
next process that takes the lock (which the operating system released) says so and overwrites it;
a process that cannot get the lock says when the holder file names a process that no longer runs
(then someone else, not gwaudit, holds the lock). Whoever takes the lock also removes what killed
runs left beside the database (``<db>.rewrite-<pid>`` copies of a compaction, when that pid is no
longer running; :func:`cleanup_leftovers`).
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

REWRITE_INFIX = ".rewrite-"
"""``<db>.rewrite-<pid>``: the copy a compaction writes before swapping it in (db/maintenance.py)."""


def pid_alive(pid: Any) -> bool:
    """Whether a process with this id runs on this machine (unknown: assumed alive)."""
    try:
        pid = int(pid)
    except (TypeError, ValueError):
        return True
    if pid <= 0:
        return True
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def is_stale(holder: dict[str, Any] | None) -> bool:
    """A holder file written on this host by a process that no longer runs."""
    if not holder:
        return False
    return holder.get("host") == socket.gethostname() and not pid_alive(holder.get("pid"))


_TEMP: set[Path] = set()
"""Temporary files and folders this process is making (a collection's spool folder, a
compaction's database copy): what :func:`terminate_cleanup` removes on SIGTERM."""


def register_temp(path: Path | str) -> None:
    _TEMP.add(Path(path))


def unregister_temp(path: Path | str) -> None:
    _TEMP.discard(Path(path))


def terminate_cleanup() -> None:
    """On SIGTERM, before the process exits at once: remove this process's temporary files and
    the holder files of the locks it holds (the operating system releases the locks themselves).
    What was being written to the database is discarded as after a crash: never half stored."""
    import shutil

    for path in list(_TEMP):
        try:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
                Path(str(path) + ".wal").unlink(missing_ok=True)
        except OSError:
            pass
    for key, held in list(_HELD.items()):
        if held.depth:
            holder = Path(key[: -len(".lock")] + ".lock.json")
            try:
                if (read_holder(Path(key[: -len(".lock")])) or {}).get("pid") == os.getpid():
                    holder.unlink()
            except OSError:
                pass


def cleanup_leftovers(db_path: Path | str) -> list[Path]:
    """Remove ``<db>.rewrite-<pid>`` (and its ``.wal``) of processes that no longer run. Call
    with the write lock held (compaction writes those copies under it). Returns what went."""
    db_path = Path(db_path)
    removed: list[Path] = []
    prefix = db_path.name + REWRITE_INFIX
    try:
        entries = list(db_path.parent.iterdir())
    except OSError:
        return removed
    for p in entries:
        if not p.name.startswith(prefix):
            continue
        pid = p.name[len(prefix):].removesuffix(".wal")
        if not pid.isdigit() or pid_alive(int(pid)) or p.is_symlink() or not p.is_file():
            continue
        try:
            p.unlink()
            removed.append(p)
        except OSError:
            pass
    return removed


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
            if is_stale(holder):
                raise LockTimeout(
                    f"database {self.db_path} is locked by another process; waited {self.wait:g}s (the holder "
                    f"file names {describe_holder(holder)}, which no longer runs)",
                    hint=f"something else holds {self.db_path}.lock: find it with `fuser {self.db_path}.lock`"
                    ) from None
            raise LockTimeout(
                f"database {self.db_path} is locked by {describe_holder(holder)}; waited {self.wait:g}s",
                hint="wait for that run to finish, or raise --wait / [database] wait; a lock of a process "
                     "that died is released by the operating system") from None
        self._depth = 1
        try:
            self._take_over()
        except BaseException:
            self._depth = 0
            self._lock.release()
            raise
        holder = {"pid": os.getpid(), "host": socket.gethostname(), "command": self.command,
                  "since": format_ts(utcnow())}
        path = _holder_path(self.db_path)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(holder, fh)

    def _take_over(self) -> None:
        """We hold the lock: a holder file still there was left by a process that did not release
        it (killed); say so, then clear what killed runs left."""
        previous = read_holder(self.db_path)
        if previous:
            from .logsetup import get

            state = "no longer runs" if not pid_alive(previous.get("pid")) or \
                previous.get("host") != socket.gethostname() else "did not release it"
            get("lock").warning(f"took over the lock of {self.db_path} left by {describe_holder(previous)}, "
                                f"which {state}", extra={"stale_holder": previous})
        for path in cleanup_leftovers(self.db_path):
            from .logsetup import get

            get("lock").warning(f"removed {path.name}, a database copy left by a killed compaction")

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
