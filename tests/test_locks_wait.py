"""The write lock across real processes: waiting (--wait, [database] wait), exit 5 naming the
holder, stale holder files of killed runs taken over, leftovers of killed runs cleaned up."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

from gwaudit.resources import sample_snapshots

SAMPLE = sample_snapshots()[0]

HOLDER = textwrap.dedent("""
    import sys, time
    from gwaudit.lock import WriteLock
    lock = WriteLock(sys.argv[1], wait=0, command="notebook holder")
    lock.acquire()
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
    lock.release()
""")

RAW_FLOCK = textwrap.dedent("""
    import sys, time
    from filelock import FileLock
    lock = FileLock(sys.argv[1] + ".lock")
    lock.acquire()
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
""")


def gw(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gwaudit.cli", *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, **(env or {})}, timeout=300)


def hold(script: str, db: Path, seconds: float) -> subprocess.Popen:
    p = subprocess.Popen([sys.executable, "-c", script, str(db), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert p.stdout is not None and p.stdout.readline().strip() == "held"
    return p


@contextmanager
def held(script: str, db: Path, seconds: float) -> Iterator[subprocess.Popen]:
    """A holder of ``db``'s lock for the block; killed when the block ends."""
    holder = hold(script, db, seconds)
    try:
        yield holder
    finally:
        holder.kill()
        holder.wait()


def dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_exit_5_after_the_wait_names_the_holder(tmp_path):
    db = tmp_path / "a.duckdb"
    with held(HOLDER, db, 60) as holder:
        done = gw(["--db", str(db), "--wait", "0.5", "import", str(SAMPLE)], tmp_path)
    assert done.returncode == 5, done.stderr
    assert f"pid {holder.pid}" in done.stderr and "notebook holder" in done.stderr
    assert "waited 0.5s" in done.stderr


def test_configured_wait_outlasts_a_short_holder(tmp_path):
    db = tmp_path / "a.duckdb"
    cfg = tmp_path / "gwaudit.toml"
    cfg.write_text(f'[database]\npath = "{db}"\nwait = 60\n')
    holder = hold(HOLDER, db, 1.0)
    started = time.monotonic()
    done = gw(["--config", str(cfg), "import", str(SAMPLE)], tmp_path)
    waited = time.monotonic() - started
    assert holder.wait(timeout=60) == 0
    assert done.returncode == 0, done.stderr
    assert waited > 0.5  # it did wait for the holder (a lower bound, not a duration)
    assert not Path(str(db) + ".lock.json").exists()


def test_a_killed_holders_lock_is_taken_over_and_said(tmp_path):
    db = tmp_path / "a.duckdb"
    holder = hold(HOLDER, db, 60)
    holder_file = Path(str(db) + ".lock.json")
    assert json.loads(holder_file.read_text())["pid"] == holder.pid
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert holder_file.exists()  # what kill -9 leaves behind
    done = gw(["--db", str(db), "--wait", "5", "import", str(SAMPLE)], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "took over the lock" in done.stderr and f"pid {holder.pid}" in done.stderr
    assert "no longer runs" in done.stderr
    assert not holder_file.exists()


def test_a_stale_holder_file_does_not_hide_the_real_holder(tmp_path):
    """The holder file names a dead gwaudit run, but another program holds the lock now."""
    import socket

    db = tmp_path / "a.duckdb"
    Path(str(db) + ".lock.json").write_text(json.dumps(
        {"pid": dead_pid(), "host": socket.gethostname(), "command": "gwaudit run", "since": "2026-01-01T00:00:00Z"}))
    with held(RAW_FLOCK, db, 60):
        done = gw(["--db", str(db), "--wait", "0.3", "import", str(SAMPLE)], tmp_path)
    assert done.returncode == 5
    assert "locked by another process" in done.stderr and "no longer runs" in done.stderr


def test_leftovers_of_killed_runs_are_removed_only_when_their_pid_is_dead(tmp_path):
    db = tmp_path / "a.duckdb"
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    gone, alive = dead_pid(), os.getpid()
    leftovers = {
        "dead copy": tmp_path / f"a.duckdb.rewrite-{gone}",
        "dead wal": tmp_path / f"a.duckdb.rewrite-{gone}.wal",
        "dead spool": tmp / f"gwaudit-collect-{gone}-abcd1234",
    }
    kept = {
        "live copy": tmp_path / f"a.duckdb.rewrite-{alive}",
        "live spool": tmp / f"gwaudit-collect-{alive}-abcd1234",
        "other db's copy": tmp_path / f"b.duckdb.rewrite-{gone}",
        "not ours": tmp / "something-else",
    }
    for name, p in {**leftovers, **kept}.items():
        if "spool" in name or name == "not ours":
            p.mkdir()
            (p / "api_keys.json").write_text("[]")
        else:
            p.write_bytes(b"x" * 100)
    # import takes the write lock: the database copies go
    done = gw(["--db", str(db), "import", str(SAMPLE)], tmp_path, {"TMPDIR": str(tmp)})
    assert done.returncode == 0, done.stderr
    assert not leftovers["dead copy"].exists() and not leftovers["dead wal"].exists()
    # collect starts by removing the temp folders of killed collections
    done = gw(["--db", str(db), "collect", "--base-url", "http://127.0.0.1:9", "--max-retry-time", "0"], tmp_path,
              {"TMPDIR": str(tmp), "GWAUDIT_TOKEN": _token()})
    assert done.returncode == 6, done.stderr
    assert not leftovers["dead spool"].exists()
    for name, p in kept.items():
        assert p.exists(), name
    assert sorted(p.name for p in tmp.iterdir()) == sorted([kept["live spool"].name, "something-else"])


def _token() -> str:
    from gwaudit.simulator import mint_token

    return mint_token()


@pytest.mark.parametrize("sig", [signal.SIGTERM])
def test_sigterm_unwinds_and_cleans_up(tmp_path, sig):
    """SIGTERM mid-collection: the temp folder and the holder file go, nothing is stored, exit 143."""
    from gwaudit.simulator import Faults, Simulator

    tmp = tmp_path / "tmp"
    tmp.mkdir()
    db = tmp_path / "a.duckdb"
    with Simulator.from_folder(SAMPLE, faults=Faults(latency_ms=400)) as s:
        p = subprocess.Popen([sys.executable, "-m", "gwaudit.cli", "--db", str(db), "collect", "--base-url",
                              s.base_url], cwd=tmp_path, env={**os.environ, "TMPDIR": str(tmp),
                                                               "GWAUDIT_TOKEN": s.mint_token()},
                             stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while not list(tmp.glob("gwaudit-collect-*")) and time.monotonic() < deadline and p.poll() is None:
            time.sleep(0.05)
        p.send_signal(sig)
        _, err = p.communicate(timeout=60)
    assert p.returncode == 143, err
    assert "terminated (SIGTERM): nothing partial was stored" in err
    assert list(tmp.iterdir()) == []
    assert not db.exists() or "snapshot" not in gw(["--db", str(db), "snapshots"], tmp_path).stdout


def test_run_waits_as_long_as_its_own_wait_option_says(tmp_path):
    from gwaudit.simulator import Simulator

    db = tmp_path / "a.duckdb"
    holder = hold(HOLDER, db, 60)
    try:
        with Simulator.from_folder(SAMPLE) as s:
            done = gw(["--db", str(db), "run", "--wait", "0.2", "--base-url", s.base_url, "--format", "json",
                       "--out", str(tmp_path / "r")], tmp_path, {"GWAUDIT_TOKEN": s.mint_token()})
    finally:
        holder.kill()
        holder.wait()
    assert done.returncode == 5, done.stderr
    assert "waited 0.2s" in done.stderr and "notebook holder" in done.stderr
