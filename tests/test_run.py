"""gwaudit run end to end against the simulator: exit codes, locking, logs, webhook, config."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from gwaudit.resources import sample_snapshots
from gwaudit.simulator import Faults, Simulator, mint_token

from .test_ops import Receiver

SAMPLE = sample_snapshots()[-1]


def gw(args: list[str], cwd: Path, env: dict[str, str] | None = None, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gwaudit.cli", *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, **(env or {})}, timeout=600, **kw)


def start(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "gwaudit.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=cwd, env={**os.environ, **env})


@pytest.fixture
def sim():
    with Simulator.from_folder(SAMPLE) as s:
        yield s


def _config(tmp_path: Path, sim: Simulator, extra: str = "") -> Path:
    cfg = tmp_path / "gwaudit.toml"
    cfg.write_text(textwrap.dedent(f"""
        [api]
        base_url = "{sim.base_url}"
        max_retry_seconds = 1
        [database]
        path = "audit.duckdb"
        [report]
        formats = ["json"]
        out = "reports"
    """) + extra)
    return cfg


def _snapshots(db: Path) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("SELECT id, status FROM snapshots ORDER BY id").fetchall()
    finally:
        con.close()


def test_clean_run_exits_0_with_reports_and_latest_copies(tmp_path, sim):
    cfg = _config(tmp_path, sim)
    done = gw(["--config", str(cfg), "run"], tmp_path, {"GWAUDIT_TOKEN": sim.mint_token()})
    assert done.returncode == 0, done.stderr
    assert "run finished: ok" in done.stderr
    reports = tmp_path / "reports"
    dated = sorted(p.name for p in reports.iterdir() if p.is_file())
    assert any(n.endswith("-report.json") for n in dated) and any(n.endswith("-findings.json") for n in dated)
    latest = json.loads((reports / "latest" / "report.json").read_text())
    assert latest["snapshot"]["id"] == 1
    assert _snapshots(tmp_path / "audit.duckdb") == [(1, "complete")]


def test_findings_over_threshold_exit_1(tmp_path, sim):
    cfg = _config(tmp_path, sim, '[audit]\nfail_on = "high"\n')
    done = gw(["--config", str(cfg), "run"], tmp_path, {"GWAUDIT_TOKEN": sim.mint_token()})
    assert done.returncode == 1, done.stderr
    assert "findings over threshold" in done.stderr


def test_incomplete_evidence_exit_4_still_reports(tmp_path):
    with Simulator.from_folder(SAMPLE, faults=Faults(fail_families=("token_budgets",))) as s:
        cfg = _config(tmp_path, s, '[audit]\nfail_on = "high"\n')
        done = gw(["--config", str(cfg), "run"], tmp_path, {"GWAUDIT_TOKEN": s.mint_token()})
    assert done.returncode == 4, done.stderr  # 4 outranks the findings' 1
    assert "token_budgets could not be collected" in done.stderr
    assert _snapshots(tmp_path / "audit.duckdb") == [(1, "incomplete")]
    report = json.loads((tmp_path / "reports" / "latest" / "report.json").read_text())
    assert "token_budgets" in json.dumps(report.get("report", report))


@pytest.mark.parametrize("role", ["member", "garbage"])
def test_auth_failure_exit_3_stores_nothing_and_notifies(tmp_path, sim, role):
    rx = Receiver()
    try:
        cfg = _config(tmp_path, sim, f'[notify]\nwebhook = "{rx.url}"\n')
        # garbage to the gateway: well formed (gwaudit sends it), signed with a key it does not know
        token = (sim.mint_token(role="member") if role == "member"
                 else mint_token("admin", 3600, "a-key-this-gateway-has-never-seen-0123456789"))
        done = gw(["--config", str(cfg), "run"], tmp_path, {"GWAUDIT_TOKEN": token})
    finally:
        rx.close()
    assert done.returncode == 3, done.stderr
    assert not (tmp_path / "audit.duckdb").exists() or _snapshots(tmp_path / "audit.duckdb") == []
    (summary,) = rx.bodies
    assert summary["exit_code"] == 3 and summary["status"] == "authentication refused"
    assert token not in json.dumps(summary)


def test_webhook_gets_the_summary_without_the_token_and_a_dead_one_changes_nothing(tmp_path, sim):
    token = sim.mint_token()
    rx = Receiver()
    try:
        cfg = _config(tmp_path, sim, f'[notify]\nwebhook = "{rx.url}"\n')
        done = gw(["--config", str(cfg), "--log-format", "json", "run"], tmp_path, {"GWAUDIT_TOKEN": token})
        assert done.returncode == 0, done.stderr
        done2 = gw(["--config", str(cfg), "run", "--notify-webhook", "http://127.0.0.1:9/none"], tmp_path,
                   {"GWAUDIT_TOKEN": token})
    finally:
        rx.close()
    (summary,) = rx.bodies
    assert summary["snapshot_id"] == 1 and summary["exit_code"] == 0
    assert summary["counts_by_severity"]["critical"] >= 1
    assert summary["reports"] and all("report" in p or "findings" in p for p in summary["reports"])
    assert token not in json.dumps(summary)
    lines = [json.loads(line) for line in done.stderr.splitlines()]  # every log line is JSON
    assert any("collected snapshot 1" in line["message"] for line in lines)
    assert token not in done.stderr and token not in done.stdout
    assert done2.returncode == 0, done2.stderr  # the dead webhook is logged, not fatal
    assert "webhook" in done2.stderr
    # the second run reports what changed since the first
    assert "0 new, 0 resolved" in done2.stderr


def test_overlapping_runs_wait_or_exit_5_and_the_database_stays_intact(tmp_path):
    with Simulator.from_folder(SAMPLE, faults=Faults(latency_ms=250)) as s:
        cfg = _config(tmp_path, s)
        env = {"GWAUDIT_TOKEN": s.mint_token()}
        first = start(["--config", str(cfg), "run"], tmp_path, env)
        holder = tmp_path / "audit.duckdb.lock.json"
        deadline = time.monotonic() + 60
        while not holder.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        second = gw(["--config", str(cfg), "--wait", "0.3", "run"], tmp_path, env)
        assert second.returncode == 5, second.stderr
        assert f"pid {first.pid}" in second.stderr and "gwaudit run" in second.stderr
        third = gw(["--config", str(cfg), "--wait", "120", "run"], tmp_path, env)  # waits, then runs
        out, err = first.communicate(timeout=300)
        assert first.returncode == 0, err
        assert third.returncode == 0, third.stderr
    assert _snapshots(tmp_path / "audit.duckdb") == [(1, "complete"), (2, "complete")]


def test_a_lock_left_by_a_killed_run_is_recovered(tmp_path, sim):
    cfg = _config(tmp_path, sim)
    db = tmp_path / "audit.duckdb"
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import time
        from gwaudit.lock import WriteLock
        WriteLock({str(db)!r}, command="gwaudit run").acquire()
        print("locked", flush=True)
        time.sleep(600)
    """)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert (tmp_path / "audit.duckdb.lock.json").exists()  # the dead run's note is still there
    done = gw(["--config", str(cfg), "--wait", "2", "run"], tmp_path, {"GWAUDIT_TOKEN": sim.mint_token()})
    assert done.returncode == 0, done.stderr


def test_retention_prunes_after_the_run(tmp_path, sim):
    cfg = _config(tmp_path, sim, "[retention]\nkeep_daily = 1\n")
    env = {"GWAUDIT_TOKEN": sim.mint_token()}
    for _ in range(3):
        done = gw(["--config", str(cfg), "run"], tmp_path, env)
        assert done.returncode == 0, done.stderr
    # three snapshots taken the same day: the daily policy keeps the newest of the day
    assert [row[0] for row in _snapshots(tmp_path / "audit.duckdb")] == [3]


@pytest.mark.parametrize("text, message", [
    ('[api]\nbase_url = "https://x"\nconcurency = 4\n', "api.concurency: unknown key"),
    ('[retention]\nkeep_daily = -1\n', "retention.keep_daily"),
    ('[audit]\nfail_on = "severe"\n', "audit.fail_on"),
])
def test_config_errors_exit_2(tmp_path, text, message):
    cfg = tmp_path / "gwaudit.toml"
    cfg.write_text(text)
    done = gw(["--config", str(cfg), "run"], tmp_path, {"GWAUDIT_TOKEN": "x"})
    assert done.returncode == 2
    assert message in done.stderr


def test_missing_token_and_base_url_are_usage_errors(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "GWAUDIT_TOKEN"}
    done = subprocess.run([sys.executable, "-m", "gwaudit.cli", "run", "--base-url", "https://gw.example"],
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60)
    assert done.returncode == 2 and "no API token" in done.stderr
    done = gw(["run"], tmp_path, {"GWAUDIT_TOKEN": "x", "GWAUDIT_BASE_URL": ""})
    assert done.returncode == 2 and "base URL" in done.stderr
