"""Operational plumbing: JSON log lines, webhooks against a local receiver, config check."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from click.testing import CliRunner

from gwaudit import notify
from gwaudit.cli import cli, main


class Receiver:
    def __init__(self, status: int = 200):
        self.bodies: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                length = int(self.headers["content-length"])
                outer.bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/T000/SECRETPATH"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


SUMMARY = {"status": "done", "org_id": "org-1", "snapshot_id": 3, "taken_at": "2026-11-27T06:00:00Z",
           "exit_code": 1, "counts_by_severity": {"high": 2, "low": 1},
           "new_findings": [{"rule_id": "GW-KEY-001", "severity": "high", "resource_name": "ci key"}],
           "resolved_findings": [], "evidence_problems": [], "reports": ["/tmp/r.html"]}


def test_webhook_json_and_slack_payloads():
    rx = Receiver()
    try:
        assert notify.post(rx.url, SUMMARY)
        assert notify.post(rx.url, SUMMARY, fmt="slack")
    finally:
        rx.close()
    assert rx.bodies[0] == {**SUMMARY, "counts": {"new_findings": 1, "resolved_findings": 0, "evidence_problems": 0}}
    slack = rx.bodies[1]
    assert "2 high" in slack["text"] and "GW-KEY-001" in slack["blocks"][0]["text"]["text"]


def test_failing_webhook_is_logged_not_raised(caplog):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    assert notify.post(f"http://127.0.0.1:{port}/x/secret", SUMMARY, timeout=2) is False
    rx = Receiver(status=500)
    try:
        assert notify.post(rx.url, SUMMARY) is False
    finally:
        rx.close()


def test_webhook_url_secret_is_redacted():
    assert notify.redact_url("https://hooks.slack.com/services/T0/B0/XYZ") == "https://hooks.slack.com/…"


def test_json_log_lines_parse(tmp_path):
    done = subprocess.run([sys.executable, "-m", "gwaudit.cli", "--log-format", "json", "--db",
                           str(tmp_path / "none.duckdb"), "snapshots"], capture_output=True, text=True)
    assert done.returncode == 2
    lines = [json.loads(line) for line in done.stderr.splitlines()]
    assert lines[-1]["level"] == "error" and lines[-1]["exit_code"] == 2
    assert "no database" in lines[-1]["message"]


def test_config_check_redacts_the_token(tmp_path, monkeypatch):
    cfg = tmp_path / "gwaudit.toml"
    cfg.write_text('[api]\nbase_url = "https://acme.platform.barndoor.ai"\n'
                   '[notify]\nwebhook = "https://hooks.slack.com/services/T0/B0/SECRETPART"\n'
                   '[rules.GW-KEY-002]\nmax_key_age_days = 60\n')
    monkeypatch.setenv("GWAUDIT_TOKEN", "super-secret-token-value")
    result = CliRunner().invoke(cli, ["--config", str(cfg), "config", "check", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert "super-secret-token-value" not in result.output and "SECRETPART" not in result.output
    data = json.loads(result.output)
    assert data["api"]["token"].startswith("<redacted>")
    assert data["rules"]["GW-KEY-002"] == {"max_key_age_days": 60}


@pytest.mark.parametrize("text, key", [
    ('[api]\nbase_ur = "x"\n', "api.base_ur: unknown key"),
    ('[api]\nconcurrency = 0\n', "api.concurrency"),
    ('[report]\nformats = ["html", "docx"]\n', "report.formats"),
    ('[rules]\nGW-KEY-002 = 60\n', "GW-KEY-002"),
    ('[api\n', "not valid TOML"),
])
def test_config_errors_name_the_key(tmp_path, capsys, text, key):
    cfg = tmp_path / "gwaudit.toml"
    cfg.write_text(text)
    assert main(["--config", str(cfg), "config", "check"]) == 2
    assert key in capsys.readouterr().err


def test_missing_config_file_is_an_error(tmp_path, capsys):
    assert main(["--config", str(tmp_path / "nope.toml"), "config", "check"]) == 2
    assert "does not exist" in capsys.readouterr().err
