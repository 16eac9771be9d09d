"""Ctrl-C (SIGINT) while DuckDB runs a long query: exit 130 with one line, the database intact.

Real subprocesses (``python -m gwaudit.cli``) on a real DuckDB file; the signal is sent while the
slow statement runs (``gwaudit sql``) or while a slow rule is evaluated (``gwaudit audit``).
Before, DuckDB turned the interrupt into ``RuntimeError: Query interrupted``: exit 5, "internal
error".
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from gwaudit.db.ingest import import_folder
from gwaudit.testing import write_folder
from tests.enginekit import write_rule

# a statement that runs for hours unless interrupted (no file, network or setting: the sandbox allows it)
SLOW = "SELECT sum(hash(a.range)) AS s FROM range(1000000000000) a"
MESSAGE = "interrupted: nothing partial was stored"


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    from tests.conftest import example_org

    root = tmp_path_factory.mktemp("seed")
    db = root / "audit.duckdb"
    import_folder(db, write_folder(root / "snap", example_org(), taken_at="2026-08-01T12:00:00Z"))
    return db


def _state(db: Path) -> tuple:
    """Opens the database read-write (recovering it, were that needed) and reads what it holds."""
    con = duckdb.connect(str(db))
    try:
        return (con.execute("SELECT id, taken_at, resource_count FROM snapshots ORDER BY id").fetchall(),
                con.execute("SELECT count(*) FROM snapshot_resources").fetchone(),
                con.execute("SELECT count(*) FROM partial_audits").fetchone())
    finally:
        con.close()


def _interrupt_while_running(args: list[str], db: Path, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GWAUDIT_")}
    # Started as from a terminal: Ctrl-C delivered by default. (Under a background job, as CI may run
    # the tests, SIGINT is inherited ignored, and gwaudit rightly keeps ignoring it.)
    proc = subprocess.Popen([sys.executable, "-m", "gwaudit.cli", "--db", str(db), *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        fd_dir = Path(f"/proc/{proc.pid}/fd")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:  # until it has the database open
            try:
                if any(os.readlink(fd) == str(db) for fd in fd_dir.iterdir()):
                    break
            except OSError:
                pass
            time.sleep(0.05)
        time.sleep(1.5)  # into the slow statement (which runs for hours)
        assert proc.poll() is None, proc.communicate()
        # A Ctrl-C that lands just as DuckDB starts executing the statement is now and then lost
        # inside DuckDB (about 1 in 10 at one instant, seen in CI), and the query runs on: press
        # it again, as a user would, at most three times.
        for _ in range(3):
            proc.send_signal(signal.SIGINT)
            try:
                out, err = proc.communicate(timeout=10)
                break
            except subprocess.TimeoutExpired:
                continue
        else:
            out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to see the database open")
def test_ctrl_c_during_sql_exits_130_and_leaves_the_database_intact(tmp_path, template):
    db = tmp_path / "audit.duckdb"
    db.write_bytes(template.read_bytes())
    before = _state(db)
    done = _interrupt_while_running(["sql", SLOW], db, tmp_path)
    assert done.returncode == 130, done.stderr
    assert done.stderr.strip().splitlines() == [MESSAGE], done.stderr
    assert done.stdout == ""
    assert _state(db) == before
    # and it still answers
    again = subprocess.run([sys.executable, "-m", "gwaudit.cli", "--db", str(db), "sql",
                            "SELECT count(*) AS n FROM snapshots", "--format", "csv"],
                           capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert again.returncode == 0 and again.stdout.splitlines() == ["n", "1"], again.stderr


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to see the database open")
def test_ctrl_c_during_a_slow_rule_exits_130_and_stores_nothing(tmp_path, template):
    db = tmp_path / "audit.duckdb"
    db.write_bytes(template.read_bytes())
    rules = tmp_path / "rules"
    write_rule(rules, "T-SLOW-001", "SELECT id AS resource_id, name AS resource_name, 'slow' AS message "
                                    f"FROM api_keys WHERE (SELECT s FROM ({SLOW})) = 42")
    before = _state(db)
    done = _interrupt_while_running(["audit", "--rules-dir", str(rules), "--only", "T-SLOW-001",
                                     "--store-partial"], db, tmp_path)
    assert done.returncode == 130, done.stderr
    assert done.stderr.strip().splitlines() == [MESSAGE], done.stderr
    assert "internal error" not in done.stderr
    assert _state(db) == before  # no partial audit stored, the snapshot as it was


# ---------------------------------------------------------------- gwaudit.db.interrupt, in process

def test_interruptible_returns_the_value_and_raises_the_error():
    from gwaudit.db.interrupt import interruptible

    con = duckdb.connect()
    assert interruptible(con, lambda: con.execute("SELECT 41 + 1").fetchone()[0]) == 42
    with pytest.raises(duckdb.CatalogException, match="nowhere"):
        interruptible(con, lambda: con.execute("SELECT * FROM nowhere").fetchall())


def test_interruptible_stops_the_statement_before_it_returns():
    """Ctrl-C raises KeyboardInterrupt only once the statement has stopped: the connection is free
    again (a statement still running would make it refuse with 'connection is busy')."""
    import threading

    from gwaudit.db.interrupt import interruptible

    def handler(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, handler)
    con = duckdb.connect()
    timer = threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT))
    try:
        timer.start()
        started = time.monotonic()
        with pytest.raises(KeyboardInterrupt):
            interruptible(con, lambda: con.execute(SLOW).fetchall())
        assert time.monotonic() - started < 60
        assert con.execute("SELECT 1").fetchone() == (1,)
        con.close()
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, previous)
