"""The store under a crash, an interrupt and a second writer: earlier data is never lost."""
from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from gwaudit.errors import LockTimeout
from gwaudit.db.ingest import import_folder, store_folder
from gwaudit.snapshot import load_folder
from gwaudit.db import Database
from gwaudit.testing import write_folder

SCRIPT = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from gwaudit.snapshot import load_folder
    from gwaudit.db import Database
    from gwaudit.db.ingest import store_folder
    db, folder, marker, hold = sys.argv[1], sys.argv[2], Path(sys.argv[3]), float(sys.argv[4])
    seen = []
    def progress(family, n):
        seen.append(family)
        if len(seen) == 3:
            marker.write_text("inside")
            time.sleep(hold)
    store_folder(Database(db), load_folder(folder), source="import", progress=progress)
    print("stored")
""")


def _start_writer(tmp_path: Path, db: Path, folder: Path, hold: float) -> tuple[subprocess.Popen, Path]:
    script = tmp_path / "writer.py"
    script.write_text(SCRIPT)
    marker = tmp_path / f"marker-{time.monotonic_ns()}"
    proc = subprocess.Popen([sys.executable, str(script), str(db), str(folder), str(marker), str(hold)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not marker.exists():
        if proc.poll() is not None:
            raise AssertionError(f"writer exited early: {proc.stderr.read()}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("writer never reached the middle of its transaction")
        time.sleep(0.02)
    return proc, marker


def _state(db: Path) -> tuple:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return (con.execute("SELECT count(*) FROM snapshots").fetchone()[0],
                con.execute("SELECT count(*) FROM snapshot_resources").fetchone()[0],
                con.execute("SELECT count(*) FROM rv_api_keys").fetchone()[0],
                con.execute("SELECT count(*) FROM collection_status").fetchone()[0],
                con.execute("SELECT max(snapshot_id) FROM snapshot_resources").fetchone()[0])
    finally:
        con.close()


@pytest.fixture
def two_folders(tmp_path, example_data):
    first = write_folder(tmp_path / "first", example_data, taken_at="2026-08-01T00:00:00Z")
    for key in example_data["api_keys"]:
        key["name"] += " (renamed)"
    second = write_folder(tmp_path / "second", example_data, taken_at="2026-09-01T00:00:00Z")
    return first, second


def test_killed_mid_write_leaves_earlier_snapshots_intact(tmp_path, db, two_folders):
    first, second = two_folders
    import_folder(db, first)
    before = _state(db)
    proc, _ = _start_writer(tmp_path, db, second, hold=60)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert _state(db) == before
    # the database is still writable and the lock was released with the dead process
    result = import_folder(Database(db, wait=5), second)
    assert result.snapshot_id > 1
    assert _state(db)[0] == 2


def test_interrupt_mid_write_rolls_back(tmp_path, db, two_folders):
    first, second = two_folders
    import_folder(db, first)
    before = _state(db)

    def interrupt(family, n):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        store_folder(Database(db), load_folder(second), source="import", progress=interrupt)
    assert _state(db) == before


def test_second_writer_waits_then_gives_up_naming_the_holder(tmp_path, db, two_folders):
    first, second = two_folders
    import_folder(db, first)
    proc, _ = _start_writer(tmp_path, db, second, hold=60)
    try:
        started = time.monotonic()
        with pytest.raises(LockTimeout) as info:
            import_folder(Database(db, wait=0.5), first)
        assert 0.4 < time.monotonic() - started < 10
        assert f"pid {proc.pid}" in info.value.message
        assert "waited 0.5s" in info.value.message
    finally:
        proc.kill()
        proc.wait()


def test_second_writer_proceeds_when_the_first_finishes(tmp_path, db, two_folders):
    first, second = two_folders
    import_folder(db, first)
    proc, _ = _start_writer(tmp_path, db, second, hold=1.0)
    result = import_folder(Database(db, wait=30), first)  # waits for the first writer, then stores
    proc.wait(timeout=30)
    assert proc.returncode == 0, proc.stderr.read()
    assert _state(db)[0] == 3
    assert result.snapshot_id == 3


def test_cli_exit_code_5_when_locked(tmp_path, db, two_folders):
    first, second = two_folders
    import_folder(db, first)
    proc, _ = _start_writer(tmp_path, db, second, hold=60)
    try:
        done = subprocess.run([sys.executable, "-m", "gwaudit.cli", "--db", str(db), "--wait", "0.3",
                               "import", str(first)], capture_output=True, text=True, timeout=60)
        assert done.returncode == 5
        assert "locked by pid" in done.stderr and "--wait" in done.stderr
    finally:
        proc.kill()
        proc.wait()
