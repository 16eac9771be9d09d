"""Collector logic over httpx.MockTransport (the transport seam); the simulator tests cover HTTP."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import jwt
import pytest

from gwaudit import families as fam
from gwaudit.auth import Token, TokenOptions, check_token, resolve_token
from gwaudit.collector import CollectOptions, api_root, collect, describe_error
from gwaudit.errors import AuthError, ConfigError, UsageError
from gwaudit.snapshot import load_folder
from gwaudit.testing import write_folder

NOW = datetime(2026, 11, 27, 6, 0, tzinfo=timezone.utc)
OPAQUE = "opaque-bearer-token-0123456789"


def _jwt(exp: datetime, **claims) -> str:
    return jwt.encode({"sub": "svc", "role": "admin", "exp": int(exp.timestamp()), **claims}, "k" * 32,
                      algorithm="HS256")


@pytest.mark.parametrize("given, expected", [
    ("https://acme.platform.barndoor.ai", "https://acme.platform.barndoor.ai/api/llm-gateway"),
    ("https://acme.platform.barndoor.ai/", "https://acme.platform.barndoor.ai/api/llm-gateway"),
    ("https://app.barndoor.ai/api/llm-gateway", "https://app.barndoor.ai/api/llm-gateway"),
    ("https://app.barndoor.ai/api/llm-gateway/admin/", "https://app.barndoor.ai/api/llm-gateway"),
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080/api/llm-gateway"),
])
def test_base_url_forms(given, expected):
    assert api_root(given) == expected


@pytest.mark.parametrize("bad", ["", "ftp://x", "not a url"])
def test_bad_base_url(bad):
    with pytest.raises(UsageError):
        api_root(bad)


@pytest.mark.parametrize("status, body, ctype, expected", [
    (404, {"error": {"message": "provider {id: 1} not found", "type": "not_found_error"}}, "json",
     "HTTP 404 Not Found: not_found_error: provider {id: 1} not found"),
    (404, {"error": "NotFound", "message": "Resource not found"}, "json", "HTTP 404 Not Found: NotFound: Resource not found"),
    (400, {"type": "about:blank", "title": "Bad Request", "status": 400, "detail": "bad field"}, "json",
     "HTTP 400 Bad Request: Bad Request: bad field"),
    (422, "Failed to deserialize the JSON body into the target type: sync_mode: unknown variant `x`", "text",
     "HTTP 422 Unprocessable Entity: Failed to deserialize the JSON body into the target type: sync_mode: unknown variant `x`"),
    (500, {"message": "boom"}, "json", "HTTP 500 Internal Server Error: boom"),
    (503, "", "text", "HTTP 503 Service Unavailable"),
])
def test_every_error_shape_is_understood(status, body, ctype, expected):
    content = json.dumps(body).encode() if ctype == "json" else body.encode()
    assert describe_error(httpx.Response(status, content=content)) == expected


def test_token_sources_and_precedence(tmp_path):
    f = tmp_path / "tok"
    f.write_text("from-file-0123456789\n")
    f.chmod(0o600)
    env = {"GWAUDIT_TOKEN": "from-env-0123456789"}
    assert resolve_token(TokenOptions(token_file=f, env=env)).reveal() == "from-file-0123456789"
    assert resolve_token(TokenOptions(token_command="echo from-cmd-0123456789", env=env)).reveal() == "from-cmd-0123456789"
    assert resolve_token(TokenOptions(env=env, config_token_file=f)).reveal() == "from-env-0123456789"
    assert resolve_token(TokenOptions(env={}, config_token_file=f)).reveal() == "from-file-0123456789"
    with pytest.raises(ConfigError, match="no API token"):
        resolve_token(TokenOptions(env={}))
    with pytest.raises(ConfigError, match="exited with status"):
        resolve_token(TokenOptions(token_command="false", env={}))
    tok = resolve_token(TokenOptions(env=env))
    assert "from-env" not in repr(tok) and "from-env" not in str(tok)


def test_expired_jwt_and_runtime_key_refused_before_sending():
    with pytest.raises(AuthError, match="expired at 2026-11-27T05:00:00Z"):
        check_token(Token(_jwt(NOW - timedelta(hours=1)), "test"), NOW)
    with pytest.raises(AuthError, match="runtime API key"):
        check_token(Token("bd-abcdef1234567890", "test"), NOW)
    check_token(Token(_jwt(NOW + timedelta(hours=1)), "test"), NOW)
    check_token(Token("opaque-token-0123456789", "test"), NOW)  # not a JWT: nothing to check


def _serving(folder: Path, *, fail=(), status_for=None):
    manifest = json.loads((folder / "manifest.json").read_text())
    by_endpoint = {}
    for entry in manifest["files"]:
        key = (entry["endpoint"], json.dumps(entry.get("query") or {}, sort_keys=True))
        by_endpoint[key] = (folder / entry["path"]).read_bytes()
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        assert request.headers["authorization"].startswith("Bearer ")
        query = json.dumps(dict(request.url.params), sort_keys=True)
        path = request.url.path
        if status_for and path in status_for:
            return httpx.Response(status_for[path], json={"error": {"message": "nope", "type": "x"}})
        if any(path == fam.get(f).endpoint for f in fail):
            return httpx.Response(503, json={"error": {"message": "down", "type": "server_error"}})
        body = by_endpoint.get((path, query))
        if body is None:
            if path.endswith("/model-pricing/history"):
                return httpx.Response(200, content=b"[]")
            return httpx.Response(404, json={"error": {"message": "not found", "type": "not_found_error"}})
        return httpx.Response(200, content=body, headers={"content-type": "application/json"})
    return handler, calls


@pytest.fixture
def folder(tmp_path, example_data):
    return write_folder(tmp_path / "served", example_data, taken_at=NOW, unavailable=["agent_runtime_profiles"])


def _opts(handler, **kw):
    return CollectOptions(base_url="https://gw.example", transport=httpx.MockTransport(handler),
                          clock=lambda: NOW, backoff_base=0.001, backoff_max=0.002, seed=1, **kw)


def test_collect_over_mock_transport_matches_the_folder(tmp_path, folder, db):
    handler, calls = _serving(folder)
    token = Token(_jwt(datetime.now(timezone.utc) + timedelta(hours=1), org_id="org-1"), "test")
    result = collect(db, _opts(handler), token, export_dir=tmp_path / "export")
    assert result.stored.complete
    exported = load_folder(tmp_path / "export", parse=True)
    original = load_folder(folder, parse=True)
    for f in fam.FAMILIES:
        got = sorted(json.dumps(i, sort_keys=True) for lf in exported.files_of(f.name) for i in lf.items)
        want = sorted(json.dumps(i, sort_keys=True) for lf in original.files_of(f.name) for i in lf.items)
        assert got == want, f.name
    assert result.stored.families["agent_runtime_profiles"]["status"] == "unavailable"
    assert exported.manifest.org_id == "org-1"
    assert len(calls) == len(fam.top_level()) + len(original.files_of("model_pricing_history")) + len(
        original.files_of("routing_rules"))


def test_failed_family_is_stored_incomplete(tmp_path, folder, db):
    handler, _ = _serving(folder, fail=["api_keys"])
    result = collect(db, _opts(handler, max_attempts=2), Token(OPAQUE, "t"))
    assert result.stored.failed == ["api_keys"]
    assert "HTTP 503" in result.stored.families["api_keys"]["error"]
    assert result.stored.families["providers"]["status"] == "ok"


@pytest.mark.parametrize("status", [401, 403])
def test_auth_refusal_stores_nothing(tmp_path, folder, db, status):
    handler, _ = _serving(folder, status_for={"/api/llm-gateway/admin/api-keys": status})
    with pytest.raises(AuthError, match="/admin/api-keys"):
        collect(db, _opts(handler), Token(OPAQUE, "t"), export_dir=tmp_path / "export")
    assert not db.exists()
    assert not (tmp_path / "export" / "manifest.json").exists()


def test_large_bodies_are_counted_after_the_network_phase_and_bad_json_fails_only_its_family(tmp_path, db):
    """Big bare arrays are parsed by DuckDB after collection; one that is not JSON marks its family
    failed (the rest of the snapshot is stored), and a truncated one is retried like a 5xx."""
    big = json.dumps([{"id": f"k{i}", "name": "x" * 100, "created_at": "2026-01-01T00:00:00Z"}
                      for i in range(15000)]).encode()
    bad = b"[" + b'{"id": "a"},' * 100000 + b'{"id": }]'
    attempts = {"truncated": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/admin/api-keys"):
            attempts["truncated"] += 1
            return httpx.Response(200, content=big[: len(big) // 2] if attempts["truncated"] == 1 else big)
        if path.endswith("/user/api-keys"):
            return httpx.Response(200, content=bad)
        if path.endswith("governance-config"):
            return httpx.Response(200, json={"require_pricing_for_mappings": True})
        if path.endswith("route-health"):
            return httpx.Response(200, json={"routes": []})
        if path.endswith("/user/models"):
            return httpx.Response(200, json={"models": [], "model_count": 0})
        return httpx.Response(200, content=b"[]")

    result = collect(db, _opts(handler), Token(OPAQUE, "t"))
    assert attempts["truncated"] == 2
    assert result.stored.families["api_keys"]["status"] == "ok"
    assert result.stored.families["api_keys"]["item_count"] == 15000
    assert result.stored.families["user_api_keys"]["status"] == "failed"
    assert "not valid JSON" in result.stored.families["user_api_keys"]["error"]
