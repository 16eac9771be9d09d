"""Snapshot hygiene: a collection that reached no family stores nothing and exits 6 with one
message naming the URL and the likely cause; identical per-family errors are said once."""
from __future__ import annotations

import http.server
import re
import socket
import threading
from pathlib import Path

import duckdb
import pytest

from gwaudit.cli import main
from gwaudit.errors import EXIT_INCOMPLETE, EXIT_NO_EVIDENCE
from gwaudit.fetch import failure_lines, group_errors
from gwaudit.resources import sample_snapshots
from gwaudit.simulator import Faults, Simulator

SAMPLE = sample_snapshots()[-1]


@pytest.fixture(scope="module")
def sim():
    with Simulator.from_folder(SAMPLE) as s:
        yield s


def _collect(db: Path, url: str, monkeypatch, sim: Simulator, *extra: str) -> int:
    monkeypatch.setenv("GWAUDIT_TOKEN", sim.mint_token())
    return main(["--db", str(db), "collect", "--base-url", url, "--max-retry-time", "0.3", *extra])


def _error_lines(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if re.match(r"(\[[0-9T:Z-]+\] )?error:", ln)]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Foreign(http.server.BaseHTTPRequestHandler):
    """Some other web server: HTML for everything (status set by the server's ``status``)."""

    def do_GET(self) -> None:  # noqa: N802
        body = b"<html><body><h1>Welcome to nginx!</h1></body></html>"
        self.send_response(self.server.status)  # type: ignore[attr-defined]
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(params=[404, 200], ids=["html-404", "html-200"])
def foreign(request):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Foreign)
    server.status = request.param  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_wrong_path_stores_nothing_and_says_wrong_base_url(tmp_path, sim, monkeypatch, capsys):
    db = tmp_path / "a.duckdb"
    url = sim.base_url + "/api/wrong"
    assert _collect(db, url, monkeypatch, sim) == EXIT_NO_EVIDENCE
    err = capsys.readouterr().err
    lines = _error_lines(err)
    assert len(lines) == 1, err
    assert "wrong base URL" in lines[0] and "/api/wrong/api/llm-gateway" in lines[0]
    assert "nothing was stored" in lines[0]
    assert "no route" not in err  # not 17 lines of per-family 404s
    assert not db.exists()


def test_closed_port_says_unreachable_once(tmp_path, sim, monkeypatch, capsys):
    db = tmp_path / "a.duckdb"
    port = _closed_port()
    assert _collect(db, f"http://127.0.0.1:{port}", monkeypatch, sim) == EXIT_NO_EVIDENCE
    err = capsys.readouterr().err
    assert len(_error_lines(err)) == 1, err
    assert f"127.0.0.1:{port} is unreachable" in err
    assert err.count("ConnectError") == 1, err
    assert not db.exists()


def test_non_gateway_server_is_named_as_such(tmp_path, sim, monkeypatch, capsys, foreign):
    db = tmp_path / "a.duckdb"
    assert _collect(db, foreign, monkeypatch, sim) == EXIT_NO_EVIDENCE
    err = capsys.readouterr().err
    assert len(_error_lines(err)) == 1, err
    assert "not a Barndoor gateway" in err
    assert foreign in err
    assert not db.exists()


def test_existing_database_keeps_its_latest(tmp_path, sim, monkeypatch, capsys):
    db = tmp_path / "a.duckdb"
    assert _collect(db, sim.base_url, monkeypatch, sim) == 0
    assert _collect(db, sim.base_url + "/nope", monkeypatch, sim) == EXIT_NO_EVIDENCE
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.execute("SELECT id, status FROM snapshots").fetchall() == [(1, "complete")]
    finally:
        con.close()


def test_store_unreached_stores_an_incomplete_snapshot(tmp_path, sim, monkeypatch, capsys):
    db = tmp_path / "a.duckdb"
    assert _collect(db, sim.base_url + "/nope", monkeypatch, sim, "--store-unreached") == EXIT_INCOMPLETE
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.execute("SELECT status, resource_count FROM snapshots").fetchall() == [("incomplete", 0)]
    finally:
        con.close()
    err = capsys.readouterr().err
    # identical per-family 404s are summarised, not repeated per family
    assert err.count("no route for GET") == 1, err


def test_run_exits_6_and_stores_nothing(tmp_path, sim, monkeypatch, capsys):
    db = tmp_path / "a.duckdb"
    monkeypatch.setenv("GWAUDIT_TOKEN", sim.mint_token())
    monkeypatch.chdir(tmp_path)
    code = main(["--db", str(db), "--log-format", "json", "run", "--base-url", f"http://127.0.0.1:{_closed_port()}",
                 "--max-retry-time", "0.2", "--format", "json"])
    assert code == EXIT_NO_EVIDENCE
    assert not db.exists()
    assert "no evidence" in capsys.readouterr().err


def test_a_partly_failed_collection_summarises_identical_errors(tmp_path, monkeypatch, capsys):
    failing = frozenset({"api_keys", "providers", "credentials"})
    with Simulator.from_folder(SAMPLE, faults=Faults(fail_families=failing)) as s:
        db = tmp_path / "a.duckdb"
        assert _collect(db, s.base_url, monkeypatch, s) == EXIT_INCOMPLETE
    err = capsys.readouterr().err
    failed_lines = [ln for ln in err.splitlines() if "failed" in ln and "503" in ln]
    # "api_keys is temporarily unavailable", "providers is ...": one kind of error, said once
    assert len(failed_lines) == 1, err
    assert all(name in failed_lines[0] for name in failing)


def test_group_errors_ignores_retry_tallies():
    errors = [("a", "HTTP 503: down (gave up after 6 attempts, 1.2s; limit on attempts)"),
              ("b", "HTTP 503: down (gave up after 5 attempts, 1.0s; limit on retry time)"),
              ("c", "HTTP 404: gone")]
    groups = group_errors(errors)
    assert [g[0] for g in groups] == [["a", "b"], ["c"]]
    lines = failure_lines(errors)
    assert lines[0].startswith("failed (2 families: a, b), e.g. a: HTTP 503: down")
    assert lines[1] == "failed: c: HTTP 404: gone"


def test_every_command_on_an_incomplete_snapshot_names_the_missing_families(tmp_path, monkeypatch, capsys):
    import json

    from gwaudit.testing import store_snapshot

    db = tmp_path / "a.duckdb"
    store_snapshot(db, {}, taken_at="2026-11-01T00:00:00Z")
    store_snapshot(db, {}, taken_at="2026-11-02T00:00:00Z", failed=["api_keys", "providers"])
    missing = "api_keys, providers"

    def out(*args: str) -> tuple[int, str, str]:
        code = main(["--db", str(db), *args])
        o, e = capsys.readouterr()
        return code, o, e

    code, text, _ = out("audit")
    assert code == EXIT_INCOMPLETE and f"(incomplete; not collected: {missing})" in text.splitlines()[0]
    code, text, _ = out("audit", "--format", "json")
    snap = json.loads(text)["snapshot"]
    assert snap["status"] == "incomplete" and snap["failed_families"] == ["api_keys", "providers"]
    code, text, err = out("diff")
    assert code == EXIT_INCOMPLETE and f"incomplete: not collected {missing}" in text and "api_keys" in err
    code, text, _ = out("diff", "--format", "json")
    assert json.loads(text)["new"]["failed_families"] == ["api_keys", "providers"]
    code, text, _ = out("snapshots")
    assert "incomplete" in text and '["api_keys", "providers"]' in text
    code, text, _ = out("snapshots", "--format", "json")
    assert json.loads(text)[-1]["failed_families"] == ["api_keys", "providers"]
    code, text, err = out("report", "--format", "json", "--out", str(tmp_path / "r"))
    assert code == EXIT_INCOMPLETE and missing in err
    report = json.loads(Path(text.splitlines()[0]).read_text())
    assert report["snapshot"]["failed_families"] == ["api_keys", "providers"]
