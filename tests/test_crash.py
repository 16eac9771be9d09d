"""Crash test: collect, import, audit, report and prune killed (SIGKILL, SIGTERM) at random points.

After every kill the database opens and lists only complete snapshots; after all of them the
next ``run`` succeeds and nothing a killed run made is left: no ``gwaudit-collect-*`` temp folder,
no ``<db>.rewrite-<pid>`` copy, no ``<db>.lock.json`` holder file.

CI kills each command once per signal; ``GWAUDIT_CRASH_ITERATIONS=N`` kills it N times per
signal, ``GWAUDIT_CRASH_SEED`` picks the random points (printed on failure).
"""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from gwaudit.db import Database
from gwaudit.resources import sample_snapshots
from gwaudit.simulator import Faults, Simulator
from gwaudit.testing import store_snapshot

ITERATIONS = int(os.environ.get("GWAUDIT_CRASH_ITERATIONS", "1"))
SEED = int(os.environ.get("GWAUDIT_CRASH_SEED", str(random.SystemRandom().randrange(1 << 30))))
SAMPLES = sample_snapshots()
SIGNALS = [signal.SIGKILL, signal.SIGTERM]


@pytest.fixture(scope="module")
def place(tmp_path_factory):
    root = tmp_path_factory.mktemp("crash")
    (root / "tmp").mkdir()
    with Simulator.from_folder(SAMPLES[-1], faults=Faults(latency_ms=20)) as sim:
        cfg = root / "gwaudit.toml"
        cfg.write_text(textwrap.dedent(f"""
            [api]
            base_url = "{sim.base_url}"
            [database]
            path = "{root / 'audit.duckdb'}"
            wait = 60
            [report]
            formats = ["json", "csv", "html"]
            out = "{root / 'reports'}"
        """))
        env = {**os.environ, "TMPDIR": str(root / "tmp"), "GWAUDIT_TOKEN": sim.mint_token(expires_in=7200)}
        yield root, cfg, env


COMMANDS = {
    "collect": ["collect"],
    "import": ["import", str(SAMPLES[0])],
    "audit": ["audit", "--format", "json"],
    "report": ["report"],
    "prune": ["prune", "--keep-daily", "1"],
}


def _argv(cfg: Path, name: str) -> list[str]:
    return [sys.executable, "-m", "gwaudit.cli", "--config", str(cfg), *COMMANDS[name]]


def _prepare(root: Path, name: str) -> None:
    """Give prune something to remove (and so a compaction to interrupt)."""
    if name == "prune":
        db = Database(root / "audit.duckdb")
        today = time.strftime("%Y-%m-%d", time.gmtime())
        for hour in ("00", "01"):
            store_snapshot(db, {}, taken_at=f"{today}T{hour}:00:00Z", folder=root / f"extra-{hour}-{time.time_ns()}")


def _check_database(root: Path, what: str) -> None:
    db = Database(root / "audit.duckdb", wait=60)
    snaps = db.snapshots()
    assert snaps, what
    assert all(s["status"] == "complete" for s in snaps), (what, snaps)
    with db.reader() as con:  # every stored snapshot is whole: its resources are there
        for s in snaps:
            n = con.execute("SELECT count(*) FROM snapshot_resources WHERE snapshot_id = ?", [s["id"]]).fetchone()[0]
            assert n == s["resource_count"], (what, s)


def test_killed_commands_leave_a_sound_database_and_nothing_behind(place):
    root, cfg, env = place
    rng = random.Random(SEED)
    # a first collect, so that every command has something to work on
    first = subprocess.run(_argv(cfg, "collect"), env=env, cwd=root, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    log = []
    for name in COMMANDS:
        _prepare(root, name)
        started = time.monotonic()
        done = subprocess.run(_argv(cfg, name), env=env, cwd=root, capture_output=True, text=True, timeout=300)
        duration = time.monotonic() - started
        assert done.returncode in (0, 1, 4), (name, done.stderr)
        for _ in range(ITERATIONS):
            for sig in SIGNALS:
                _prepare(root, name)
                delay = rng.uniform(0.05, 0.95) * duration
                p = subprocess.Popen(_argv(cfg, name), env=env, cwd=root, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)
                time.sleep(delay)
                p.send_signal(sig)
                _, err = p.communicate(timeout=120)
                last = err.strip().splitlines()[-1] if err.strip() else ""
                what = (f"{name} {sig.name} after {delay:.2f}s of {duration:.2f}s (seed {SEED}): exit {p.returncode}"
                        f" {last}")
                log.append(what)
                assert "Traceback" not in err, (what, err)
                _check_database(root, what)
    # the next run succeeds and cleans up after the killed ones
    final = subprocess.run([sys.executable, "-m", "gwaudit.cli", "--config", str(cfg), "run"], env=env, cwd=root,
                           capture_output=True, text=True, timeout=300)
    print("\n".join(log))
    assert final.returncode in (0, 1), (log, final.stderr)
    _check_database(root, "after the final run")
    assert list((root / "tmp").iterdir()) == [], log
    leftovers = [p.name for p in root.iterdir() if ".rewrite-" in p.name or p.name.endswith(".lock.json")]
    assert leftovers == [], log
