"""Ctrl-C that always stops a DuckDB statement.

DuckDB notices a pending SIGINT itself while it runs a statement on the main thread, but now and
then misses one that lands just as the statement starts, and the query runs on (for hours, for a
query that reads everything). :func:`interruptible` runs the statement on a worker thread instead:
the main thread waits in an interruptible join, so Python's handler sees every Ctrl-C at once, and
then calls ``connection.interrupt()`` (DuckDB's thread-safe cancel) again and again until the
statement has stopped - an interrupt that came before the statement started is not lost.
"""

from __future__ import annotations

import threading
from typing import Callable, TypeVar

import duckdb

T = TypeVar("T")

_POLL = 0.05


def interruptible(con: duckdb.DuckDBPyConnection, work: Callable[[], T]) -> T:
    """``work()`` (which uses ``con``), stopped by Ctrl-C: raises KeyboardInterrupt once the
    statement has ended. Off the main thread (no signals there) it simply runs ``work``."""
    if threading.current_thread() is not threading.main_thread():
        return work()
    box: dict[str, object] = {}
    done = threading.Event()

    def run() -> None:
        try:
            box["value"] = work()
        except BaseException as exc:  # handed to the caller
            box["error"] = exc
        finally:
            done.set()

    # Waited for with an Event, not Thread.join: a KeyboardInterrupt inside join() makes Python
    # 3.11 mark the thread as stopped while it still runs (bpo-45274's clean-up releases the
    # thread's own lock), and the connection would be closed under the running statement.
    threading.Thread(target=run, name="gwaudit-statement", daemon=True).start()
    interrupted = False
    while True:
        try:
            if done.wait(_POLL):
                break
            if interrupted:
                con.interrupt()
        except KeyboardInterrupt:
            interrupted = True
    if interrupted:
        raise KeyboardInterrupt
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]
