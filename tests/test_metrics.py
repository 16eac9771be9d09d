"""Monitoring a scheduled run: the Prometheus textfile, JSON log lines, --quiet, timestamps."""
from __future__ import annotations

import json
import re
import socket
import textwrap
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from gwaudit.cli import main
from gwaudit.errors import EXIT_INCOMPLETE, EXIT_NO_EVIDENCE
from gwaudit.resources import sample_snapshots
from gwaudit.simulator import Faults, Simulator

SAMPLE = sample_snapshots()[-1]


def _metrics(path: Path) -> dict[tuple[str, tuple], float]:
    out = {}
    for family in text_string_to_metric_families(path.read_text()):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def _one(m: dict, name: str, **labels: str) -> float:
    return m[(name, tuple(sorted(labels.items())))]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _config(tmp_path: Path, base_url: str, extra: str = "") -> Path:
    cfg = tmp_path / "gwaudit.toml"
    cfg.write_text(textwrap.dedent(f"""
        [api]
        base_url = "{base_url}"
        max_retry_seconds = 0.3
        [database]
        path = "{tmp_path / 'audit.duckdb'}"
        [report]
        formats = ["json"]
        out = "{tmp_path / 'reports'}"
    """) + extra)
    return cfg


@pytest.fixture(scope="module")
def sim():
    with Simulator.from_folder(SAMPLE) as s:
        yield s


def test_metrics_file_after_a_good_run_then_a_failed_one(tmp_path, sim, monkeypatch, capsys):
    monkeypatch.setenv("GWAUDIT_TOKEN", sim.mint_token())
    metrics = tmp_path / "textfile" / "gwaudit.prom"
    cfg = _config(tmp_path, sim.base_url)
    assert main(["--config", str(cfg), "--log-format", "json", "run", "--metrics-file", str(metrics)]) == 0
    m = _metrics(metrics)
    assert _one(m, "gwaudit_last_run_exit_code") == 0
    assert _one(m, "gwaudit_last_run_success") == 1
    assert _one(m, "gwaudit_last_success_timestamp_seconds") == _one(m, "gwaudit_last_run_timestamp_seconds")
    assert _one(m, "gwaudit_last_run_duration_seconds") > 0
    assert _one(m, "gwaudit_snapshot_id") == 1 and _one(m, "gwaudit_snapshot_complete") == 1
    assert _one(m, "gwaudit_snapshot_age_seconds") >= 0
    assert _one(m, "gwaudit_family_collected", family="api_keys", status="ok") == 1
    fails = {labels: v for (name, labels), v in m.items() if name == "gwaudit_findings"
             and dict(labels)["status"] == "fail"}
    assert len(fails) == 5 and sum(fails.values()) > 0  # every severity, as a number
    log = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert all("ts" in line for line in log)
    final = log[-1]
    assert final["message"].startswith("run finished: ok")
    assert final["exit_code"] == 0 and final["snapshot_id"] == 1 and final["snapshot_status"] == "complete"
    assert sum(final["counts_by_severity"].values()) == sum(fails.values())
    assert final["new"] == 0 and final["resolved"] == 0 and final["missing_families"] == []
    first_success = _one(m, "gwaudit_last_success_timestamp_seconds")

    # a failed run keeps the last success time, so "no success in 26 h" keeps counting
    cfg = _config(tmp_path, f"http://127.0.0.1:{_closed_port()}")
    assert main(["--config", str(cfg), "--log-format", "json", "run", "--metrics-file", str(metrics)]) \
        == EXIT_NO_EVIDENCE
    m = _metrics(metrics)
    assert _one(m, "gwaudit_last_run_exit_code") == EXIT_NO_EVIDENCE
    assert _one(m, "gwaudit_last_run_success") == 0
    assert _one(m, "gwaudit_last_success_timestamp_seconds") == first_success
    assert _one(m, "gwaudit_last_run_timestamp_seconds") >= first_success
    assert ("gwaudit_snapshot_id", ()) not in m  # nothing was stored this time
    assert _one(m, "gwaudit_snapshot_age_seconds") >= 0  # the complete snapshot of the first run
    final = json.loads(capsys.readouterr().err.splitlines()[-1])
    assert final["exit_code"] == EXIT_NO_EVIDENCE and final["level"] == "error"
    assert not list(metrics.parent.glob("*.tmp*")) and not [p for p in metrics.parent.iterdir() if p != metrics]


def test_quiet_run_exiting_4_with_a_failed_webhook_still_says_so(tmp_path, monkeypatch, capsys):
    with Simulator.from_folder(SAMPLE, faults=Faults(fail_families=frozenset({"api_keys"}))) as s:
        monkeypatch.setenv("GWAUDIT_TOKEN", s.mint_token())
        cfg = _config(tmp_path, s.base_url)
        metrics = tmp_path / "m.prom"
        code = main(["--config", str(cfg), "--quiet", "run", "--metrics-file", str(metrics),
                     "--notify-webhook", f"http://127.0.0.1:{_closed_port()}/hook"])
    assert code == EXIT_INCOMPLETE
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert lines, "--quiet printed nothing"
    final = lines[-1]
    assert re.match(r"^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\] error: run finished: evidence incomplete \(exit 4\)", final), err
    assert "missing api_keys" in final and "webhook not delivered" in final
    m = _metrics(metrics)
    assert _one(m, "gwaudit_family_collected", family="api_keys", status="failed") == 0
    assert _one(m, "gwaudit_snapshot_complete") == 0


def test_text_logs_have_no_timestamp_on_a_terminal():
    import io
    import logging

    from gwaudit.logsetup import TextFormatter, setup

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty, pipe = Tty(), io.StringIO()
    for stream in (tty, pipe):
        logger = setup("text", stream=stream)
        logger.warning("hello")
    assert tty.getvalue() == "warning: hello\n"
    assert re.match(r"^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\] warning: hello\n$", pipe.getvalue())
    assert isinstance(logging.getLogger("gwaudit").handlers[0].formatter, TextFormatter)


def test_collect_writes_metrics_too(tmp_path, sim, monkeypatch, capsys):
    monkeypatch.setenv("GWAUDIT_TOKEN", sim.mint_token())
    metrics = tmp_path / "c.prom"
    db = tmp_path / "c.duckdb"
    assert main(["--db", str(db), "collect", "--base-url", sim.base_url, "--metrics-file", str(metrics)]) == 0
    m = _metrics(metrics)
    assert _one(m, "gwaudit_last_run_exit_code") == 0 and _one(m, "gwaudit_snapshot_complete") == 1
    assert _one(m, "gwaudit_family_collected", family="providers", status="ok") == 1
    assert not any(name == "gwaudit_findings" for name, _ in m)  # no audit, no findings figures
    assert main(["--db", str(db), "collect", "--base-url", f"http://127.0.0.1:{_closed_port()}",
                 "--max-retry-time", "0", "--metrics-file", str(metrics)]) == EXIT_NO_EVIDENCE
    m2 = _metrics(metrics)
    assert _one(m2, "gwaudit_last_run_exit_code") == EXIT_NO_EVIDENCE
    assert _one(m2, "gwaudit_last_success_timestamp_seconds") == _one(m, "gwaudit_last_success_timestamp_seconds")


def test_metrics_file_from_the_configuration_and_the_option_wins(tmp_path, sim, monkeypatch, capsys):
    """``[monitoring] metrics_file`` (relative to the file's folder) as ``--metrics-file`` does, for
    run and collect; the option (or GWAUDIT_METRICS_FILE) wins over it."""
    monkeypatch.setenv("GWAUDIT_TOKEN", sim.mint_token())
    monkeypatch.delenv("GWAUDIT_METRICS_FILE", raising=False)
    cfg = _config(tmp_path, sim.base_url, '[monitoring]\nmetrics_file = "textfile/gwaudit.prom"\n')
    configured = tmp_path / "textfile" / "gwaudit.prom"
    assert main(["--config", str(cfg), "run"]) == 0
    m = _metrics(configured)
    assert _one(m, "gwaudit_last_run_exit_code") == 0 and _one(m, "gwaudit_snapshot_id") == 1
    assert any(name == "gwaudit_findings" for name, _ in m)  # run's figures
    given = tmp_path / "given.prom"
    assert main(["--config", str(cfg), "collect", "--metrics-file", str(given)]) == 0
    assert _one(_metrics(given), "gwaudit_snapshot_id") == 2
    assert _one(_metrics(configured), "gwaudit_snapshot_id") == 1  # the option won: untouched
    monkeypatch.setenv("GWAUDIT_METRICS_FILE", str(tmp_path / "env.prom"))
    assert main(["--config", str(cfg), "collect"]) == 0
    assert _one(_metrics(tmp_path / "env.prom"), "gwaudit_snapshot_id") == 3
    monkeypatch.delenv("GWAUDIT_METRICS_FILE")
    assert main(["--config", str(cfg), "collect"]) == 0
    assert _one(_metrics(configured), "gwaudit_snapshot_id") == 4


@pytest.mark.parametrize("value, message", [('""', "must be the path of a file"), ("3", "valid path"),
                                            ('"textfile/"', "must be the path of a file")])
def test_a_bad_metrics_file_key_is_a_configuration_error(tmp_path, capsys, value, message):
    cfg = tmp_path / "gwaudit.toml"
    cfg.write_text(f"[monitoring]\nmetrics_file = {value}\n")
    assert main(["--config", str(cfg), "config", "check"]) == 2
    err = capsys.readouterr().err
    assert "monitoring.metrics_file" in err and message in err, err
    cfg.write_text('[monitoring]\nmetrics_files = "x.prom"\n')
    assert main(["--config", str(cfg), "config", "check"]) == 2
    assert "monitoring.metrics_files: unknown key" in capsys.readouterr().err
