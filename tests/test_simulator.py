"""The simulated admin API, over real HTTP on 127.0.0.1 (httpx), and the generated org."""

from __future__ import annotations

import email.utils
import http.client
import json
import os
import re
import signal
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import jwt
import pytest
from click.testing import CliRunner

from gwaudit import families as fam
from gwaudit.cli import cli
from gwaudit.errors import UsageError
from gwaudit.db.ingest import import_folder
from gwaudit.simulator import DEV_SECRET, Faults, Simulator, generate_org, mint_token, write_generated
from gwaudit.simulator.dataset import Dataset
from gwaudit.resources import sample_snapshots
from gwaudit.testing import write_folder
from gwaudit.timeutil import parse_ts

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = sample_snapshots()[-1]  # the newest bundled sample snapshot
TAKEN = parse_ts(json.loads((SAMPLE / "manifest.json").read_text())["taken_at"])
TLS = ssl.create_default_context()  # built once: every test client talks plain HTTP to loopback anyway


def manifest(folder: Path = SAMPLE) -> dict:
    return json.loads((folder / "manifest.json").read_text())


@pytest.fixture(scope="module")
def sim():
    with Simulator.from_folder(SAMPLE) as s:
        yield s


@pytest.fixture(scope="module")
def client(sim):
    with httpx.Client(base_url=sim.api_root, headers={"Authorization": f"Bearer {sim.mint_token()}"}, verify=TLS) as c:
        yield c


def api(sim: Simulator, token: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=sim.api_root, headers=headers, verify=TLS)


def error_message(response: httpx.Response) -> str:
    body = response.json()
    return body["error"]["message"] if isinstance(body["error"], dict) else body["message"]


# ---------------------------------------------------------------- what is served

def test_every_list_endpoint_returns_the_folder_file_bytes(sim, client):
    entries = [e for e in manifest()["files"] if not fam.get(e["family"]).per_item]
    assert len(entries) >= 15
    for entry in entries:
        r = client.get(fam.get(entry["family"]).path)
        assert r.status_code == 200, entry["family"]
        assert r.content == (SAMPLE / entry["path"]).read_bytes(), entry["family"]
        assert r.headers["content-type"] == "application/json"
        assert int(r.headers["content-length"]) == len(r.content)
        assert r.http_version == "HTTP/1.1"


def test_pricing_history_is_looked_up_by_the_recorded_query(sim, client):
    history = [e for e in manifest()["files"] if e["family"] == "model_pricing_history"]
    assert history
    for entry in history:
        r = client.get("/admin/model-pricing/history", params=entry["query"])
        assert r.status_code == 200
        assert r.content == (SAMPLE / entry["path"]).read_bytes()
    scoped = history[0]["query"]
    # absent or empty model_provider selects provider-unscoped rules only: none of these is
    assert client.get("/admin/model-pricing/history", params={"model_pattern": scoped["model_pattern"]}).json() == []
    assert client.get("/admin/model-pricing/history",
                      params={"model_pattern": scoped["model_pattern"], "model_provider": ""}).json() == []
    assert client.get("/admin/model-pricing/history", params={"model_pattern": "no-such-model"}).json() == []


def test_unscoped_pricing_history_is_found_without_model_provider(tmp_path):
    rule = {"id": "11111111-1111-4111-8111-111111111111", "model_pattern": "gpt-*", "model_provider": None,
            "input_cost_per_million_tokens": 1.0, "output_cost_per_million_tokens": 2.0,
            "effective_from": "2026-01-01T00:00:00Z", "is_archived": False}
    folder = write_folder(tmp_path / "snap", {"model_pricing": [rule]}, taken_at=TAKEN)
    with Simulator.from_folder(folder) as s, api(s, s.mint_token()) as c:
        body = c.get("/admin/model-pricing/history", params={"model_pattern": "gpt-*"}).json()
        assert [v["id"] for v in body] == [rule["id"]]
        assert c.get("/admin/model-pricing/history",
                     params={"model_pattern": "gpt-*", "model_provider": "openai"}).json() == []


def test_missing_query_parameters_are_plain_text_400s(client):
    r = client.get("/admin/model-pricing/history", params={"model_provider": "openai"})
    assert r.status_code == 400
    assert r.headers["content-type"].startswith("text/plain")
    assert r.text == "Failed to deserialize query string: missing field `model_pattern`"
    r = client.get("/admin/routing-rules")
    assert r.status_code == 400
    assert r.headers["content-type"].startswith("text/plain")
    assert "missing field `policy_id`" in r.text


def test_routing_rules_per_policy(client):
    entry = next(e for e in manifest()["files"] if e["family"] == "routing_rules")
    r = client.get("/admin/routing-rules", params=entry["query"])
    assert r.status_code == 200
    assert r.content == (SAMPLE / entry["path"]).read_bytes()
    assert set(r.json()) == {"rules", "conflicts"}
    r = client.get("/admin/routing-rules", params={"policy_id": "00000000-0000-4000-8000-00000000dead"})
    assert r.status_code == 404
    assert r.json()["error"]["type"] == "not_found_error"


def test_get_by_id_endpoints(client):
    data = {name: json.loads((SAMPLE / f"{name}.json").read_text())
            for name in ("credentials", "providers", "api_keys", "model_routes", "model_pricing")}
    cred, provider, key = data["credentials"][0], data["providers"][0], data["api_keys"][0]
    assert client.get(f"/admin/connections/{cred['id']}").json() == cred
    assert client.get(f"/admin/providers/{provider['id']}").json() == provider
    assert client.get(f"/admin/api-keys/{key['id']}").json() == key
    routes = client.get(f"/admin/providers/{provider['id']}/model-mappings").json()
    expected = [r for r in data["model_routes"] if r["provider_id"] == provider["id"]]
    assert [r["id"] for r in routes] == [r["id"] for r in expected]
    assert all("created_at" not in r and "provider_auth_type" not in r for r in routes)
    rule = data["model_pricing"][0]
    version = client.get(f"/admin/model-pricing/version/{rule['id']}").json()
    assert version["id"] == rule["id"] and "version_count" not in version
    missing = "00000000-0000-4000-8000-000000000404"
    for path in (f"/admin/connections/{missing}", f"/admin/providers/{missing}", f"/admin/api-keys/{missing}",
                 f"/admin/providers/{missing}/model-mappings", f"/admin/model-pricing/version/{missing}",
                 "/admin/agent-runtime-profiles/claude-code"):
        r = client.get(path)
        assert r.status_code == 404, path
        assert r.json()["error"]["type"] == "not_found_error"


def test_unavailable_family_is_404_and_failed_family_is_503(tmp_path):
    folder = write_folder(tmp_path / "snap", {}, taken_at=TAKEN, failed=["rate_limits"],
                          unavailable=["smart_models"])
    with Simulator.from_folder(folder) as s, api(s, s.mint_token()) as c:
        assert c.get("/admin/smart-models").status_code == 404
        r = c.get("/admin/rate-limits")
        assert r.status_code == 503
        assert r.json()["error"]["message"]
        assert c.get("/admin/budgets").json() == []


def test_unknown_path_is_404_and_other_methods_405(sim, client):
    assert client.get("/admin/no-such-thing").status_code == 404
    assert httpx.get(sim.base_url + "/admin/connections").status_code == 404  # outside the API root
    r = client.post("/admin/connections", json={"name": "x"})
    assert r.status_code == 405
    assert r.headers["allow"] == "GET"
    assert client.delete("/admin/api-keys/x").status_code == 405


def test_connections_are_kept_alive(sim):
    conn = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=5)
    headers = {"Authorization": f"Bearer {sim.mint_token()}"}
    conn.request("GET", "/api/llm-gateway/admin/connections", headers=headers)
    first = conn.getresponse()
    first.read()
    sock = conn.sock
    conn.request("GET", "/api/llm-gateway/admin/providers", headers=headers)
    second = conn.getresponse()
    second.read()
    assert (first.status, second.status) == (200, 200)
    assert conn.sock is sock  # the same TCP connection served both
    conn.close()


def test_concurrent_requests_are_served_concurrently():
    with Simulator.from_folder(SAMPLE, faults=Faults(latency_ms=300)) as s:
        token = s.mint_token()
        statuses: list[int] = []

        def one(path: str) -> None:
            with api(s, token) as c:
                statuses.append(c.get(path).status_code)

        started = time.perf_counter()
        threads = [threading.Thread(target=one, args=(f.path,)) for f in fam.top_level()[:8]]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
    assert statuses == [200] * 8
    assert elapsed < 8 * 0.3 * 0.6, f"8 requests of 300 ms took {elapsed:.2f}s: not concurrent"


def test_expected_requests_matches_a_complete_crawl(sim):
    with Simulator.from_folder(SAMPLE) as s, api(s, s.mint_token()) as c:
        bodies = {}
        for f in fam.top_level():
            r = c.get(f.path)
            bodies[f.name] = r.json() if r.status_code == 200 else None
        for f in fam.per_item():
            queries = {json.dumps(f.query(item), sort_keys=True)
                       for p in f.parents if bodies.get(p) is not None for item in fam.get(p).items_of(bodies[p])}
            for q in queries:
                assert c.get(f.path, params=json.loads(q)).status_code == 200
        assert s.stats.total == s.expected_requests() == len(fam.top_level()) + sum(
            1 for e in manifest()["files"] if fam.get(e["family"]).per_item)


# ---------------------------------------------------------------- auth

def test_requests_without_a_valid_jwt_get_401(sim):
    path = "/admin/api-keys"
    expired = mint_token(expires_in=-60)
    forged = mint_token(secret="another-secret-of-at-least-32-bytes!!")
    for token in (None, "bd-abcd1234ef567890", expired, forged, "not.a.jwt"):
        with api(sim, token) as c:
            r = c.get(path)
        assert r.status_code == 401, token
        assert r.json()["error"]["type"] == "authentication_error"
        if token:
            assert token not in r.text
    with api(sim, "bd-abcd1234ef567890") as c:
        assert "runtime API keys" in error_message(c.get(path))
    with api(sim, expired) as c:
        assert "expired" in error_message(c.get(path))


def test_member_token_is_refused_on_admin_but_accepted_on_user(sim):
    with api(sim, sim.mint_token(role="member")) as c:
        r = c.get("/admin/api-keys")
        assert r.status_code == 403
        assert r.json() == {"error": {"message": "principal is not permitted to perform this action",
                                      "type": "permission_error"}}
        assert c.get("/user/api-keys").status_code == 200
        assert c.get("/user/models").status_code == 200


def test_jwt_secret_is_configurable(tmp_path):
    secret = "s" * 40
    with Simulator.from_folder(SAMPLE, jwt_secret=secret) as s:
        with api(s, mint_token()) as c:
            assert c.get("/admin/api-keys").status_code == 401  # the default secret no longer works
        with api(s, s.mint_token()) as c:
            assert c.get("/admin/api-keys").status_code == 200


# ---------------------------------------------------------------- error styles

@pytest.mark.parametrize("style", ["openai", "flat"])
def test_error_styles(style):
    with Simulator.from_folder(SAMPLE, error_style=style) as s, api(s, s.mint_token()) as c:
        r = c.get("/admin/connections/00000000-0000-4000-8000-000000000404")
        assert r.status_code == 404
        body = r.json()
        if style == "openai":
            assert set(body) == {"error"} and set(body["error"]) == {"message", "type"}
            assert body["error"]["type"] == "not_found_error"
        else:
            assert set(body) == {"error", "message"}
            assert isinstance(body["error"], str) and body["message"]
        assert c.get("/admin/routing-rules").headers["content-type"].startswith("text/plain")


def test_mixed_error_style_uses_both_shapes_deterministically():
    def shapes(seed: int) -> list[str]:
        with Simulator.from_folder(SAMPLE, error_style="mixed", faults=Faults(seed=seed)) as s, api(s, s.mint_token()) as c:
            return ["openai" if isinstance(c.get(f"/admin/connections/missing-{i}").json()["error"], dict) else "flat"
                    for i in range(24)]

    first = shapes(7)
    assert set(first) == {"openai", "flat"}
    assert shapes(7) == first


# ---------------------------------------------------------------- faults

def _outcomes(faults: Faults, paths: list[str]) -> list[str]:
    out = []
    with Simulator.from_folder(SAMPLE, faults=faults) as s, api(s, s.mint_token()) as c:
        for path in paths:
            try:
                r = c.get(path)
                out.append(str(r.status_code))
            except httpx.TransportError as exc:
                out.append(type(exc).__name__)
    return out


def test_faults_are_deterministic_for_a_seed():
    paths = [f.path for f in fam.top_level()] * 3
    faults = Faults(error_rate=0.2, rate_limit_rate=0.15, drop_rate=0.1, truncate_rate=0.1, seed=42,
                    retry_after_s=0)
    first = _outcomes(faults, paths)
    assert len(set(first)) >= 3  # a mix of outcomes
    assert _outcomes(faults, paths) == first
    assert _outcomes(Faults(error_rate=0.2, rate_limit_rate=0.15, drop_rate=0.1, truncate_rate=0.1, seed=43,
                            retry_after_s=0), paths) != first


def test_rate_limit_carries_retry_after_in_both_forms():
    values = []
    with Simulator.from_folder(SAMPLE, faults=Faults(rate_limit_rate=1.0, seed=3)) as s, api(s, s.mint_token()) as c:
        for i in range(16):
            sent = time.time()
            r = c.get(f"/admin/api-keys/k{i}")
            assert r.status_code == 429
            assert r.json()["error"]["message"]
            values.append((sent, r.headers["retry-after"]))
        assert s.stats.faults["rate_limit"] == 16
    seconds = [v for _, v in values if v.isdigit()]
    dates = [(sent, v) for sent, v in values if not v.isdigit()]
    assert seconds and dates
    assert all(int(v) == 1 for v in seconds)
    for sent, v in dates:  # about a second after the request was sent (HTTP-dates have whole seconds)
        assert sent < email.utils.parsedate_to_datetime(v).timestamp() <= sent + 5


def test_dropped_and_truncated_responses_break_the_connection():
    with Simulator.from_folder(SAMPLE, faults=Faults(drop_rate=1.0)) as s, api(s, s.mint_token()) as c:
        with pytest.raises(httpx.RemoteProtocolError):
            c.get("/admin/api-keys")
        assert s.stats.faults["drop"] == 1
    with Simulator.from_folder(SAMPLE, faults=Faults(truncate_rate=1.0)) as s, api(s, s.mint_token()) as c:
        with pytest.raises(httpx.RemoteProtocolError):
            c.get("/admin/api-keys")
        assert s.stats.faults["truncate"] == 1


def test_retries_converge_after_max_consecutive_faults():
    with Simulator.from_folder(SAMPLE, faults=Faults(error_rate=1.0, max_consecutive_faults=2)) as s, \
            api(s, s.mint_token()) as c:
        codes = [c.get("/admin/providers").status_code for _ in range(3)]
        assert codes[:2] != [200, 200] and all(code in (500, 502, 503) for code in codes[:2])
        assert codes[2] == 200
        assert c.get("/admin/providers").status_code in (500, 502, 503)  # the cycle starts again
        stats = s.stats
        assert stats.faults["error"] == 3
        assert stats.requests["/api/llm-gateway/admin/providers"] == 4
        s.set_faults(Faults(drop_rate=1.0, max_consecutive_faults=1))
        with pytest.raises(httpx.RemoteProtocolError):
            c.get("/admin/providers")
        assert c.get("/admin/providers").status_code == 200


def test_fail_and_deny_families():
    faults = Faults(fail_families={"api_keys"}, deny_families={"providers"})
    with Simulator.from_folder(SAMPLE, faults=faults) as s, api(s, s.mint_token()) as c:
        assert c.get("/admin/api-keys").status_code == 503
        assert c.get("/admin/api-keys/anything").status_code == 503
        r = c.get("/admin/providers")
        assert r.status_code == 403 and r.json()["error"]["type"] == "permission_error"
        assert c.get("/admin/connections").status_code == 200
        assert s.stats.faults["fail_family"] == 2 and s.stats.faults["deny_family"] == 1
    with pytest.raises(UsageError, match="unknown family"):
        Faults(fail_families={"apikeys"})
    with pytest.raises(UsageError, match="more than 1"):
        Faults(error_rate=0.6, drop_rate=0.6)


@pytest.mark.parametrize("style", ["openai", "flat"])
def test_echo_authorization_repeats_the_header_in_every_error_body(style):
    faults = Faults(echo_authorization=True, fail_families={"api_keys"})
    with Simulator.from_folder(SAMPLE, faults=faults, error_style=style) as s:
        token = s.mint_token()
        with api(s, token) as c:
            failed = c.get("/admin/api-keys")
            message = failed.json()["error"]["message"] if style == "openai" else failed.json()["message"]
            assert failed.status_code == 503 and message.endswith(f"(request had Authorization: Bearer {token})")
            plain = c.get("/admin/model-pricing/history")  # a plain-text 400
            assert plain.status_code == 400 and plain.text.endswith(f"Authorization: Bearer {token})")
            ok = c.get("/admin/connections")
            assert ok.status_code == 200 and token not in ok.text
        refused = httpx.get(s.api_root + "/admin/connections", headers={"Authorization": "Bearer wrong.sig.x"})
        assert refused.status_code == 401 and "Authorization: Bearer wrong.sig.x" in refused.text
        assert s.stats.faults["echo_authorization"] == 3


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "example.com", "::"])
def test_non_loopback_hosts_are_refused(host):
    with pytest.raises(UsageError, match="only loopback"):
        Simulator.from_folder(SAMPLE, host=host)


def test_localhost_is_accepted():
    with Simulator.from_folder(SAMPLE, host="localhost") as s:
        assert s.base_url.startswith("http://127.0.0.1:")
        assert httpx.get(s.api_root + "/admin/governance-config",
                         headers={"Authorization": f"Bearer {s.mint_token()}"}).status_code == 200
    assert not s.running


# ---------------------------------------------------------------- the generated org

@pytest.fixture(scope="module")
def org():
    return generate_org(1, seed=0, taken_at=TAKEN)


def test_generated_org_size(org):
    counts = {f.name: len(org.items(f.name)) for f in fam.FAMILIES}
    assert 1600 <= sum(counts.values()) <= 2400, counts
    assert all(counts[f.name] for f in fam.FAMILIES if f.name not in org.unavailable)
    per_item = org.request_count() - len(fam.top_level())
    assert 40 <= per_item <= 50


def _dangling(org) -> list[str]:
    """Every cross-reference of the generated org that does not resolve."""
    items = {f.name: org.items(f.name) for f in fam.FAMILIES}
    ids = {name: {i["id"] for i in items[name]} for name in
           ("credentials", "providers", "api_keys", "model_route_groups", "routing_policies")}
    routes = items["model_routes"]
    aliases = {r["model_alias"] for r in routes}
    upstreams = {r["upstream_model"] for r in routes}
    one_to_one = {(r["provider_id"], r["upstream_model"]) for r in routes if r["model_alias"] == r["upstream_model"]}
    enabled_pairs = {(r["provider_id"], r["upstream_model"]) for r in routes
                     if r["model_alias"] == r["upstream_model"] and r["enabled"]}
    versions = {v["id"] for v in items["model_pricing_history"]}
    bad: list[str] = []

    def need(ok: bool, what: str) -> None:
        if not ok:
            bad.append(what)

    for p in items["providers"]:
        need(p["connection_id"] is None or p["connection_id"] in ids["credentials"], f"provider {p['id']} credential")
    for r in routes:
        need(r["provider_id"] in ids["providers"], f"route {r['id']} provider")
        need((r["provider_id"], r["upstream_model"]) in one_to_one, f"route {r['id']} has no 1:1 row")
        rid = r["effective_pricing"]["pricing_rule_id"]
        need(rid is None or rid in versions, f"route {r['id']} pricing rule")
    history = {json.dumps(q, sort_keys=True): body for q, body in org.per_item["model_pricing_history"]}
    for name in ("model_pricing", "model_pricing_archived"):
        for row in items[name]:
            body = history.get(json.dumps(fam.get("model_pricing_history").query(row), sort_keys=True))
            need(body is not None and row["id"] in {v["id"] for v in body}, f"{name} {row['id']} history")
            need(body is not None and len(body) == row["version_count"], f"{name} {row['id']} version count")
            need(row["provider_id"] is None or row["provider_id"] in ids["providers"], f"pricing {row['id']} provider")
    need([s["policy"] for s in items["rate_limit_status"]] == items["rate_limits"], "rate limit status")
    need([s["budget"] for s in items["token_budget_status"]] == items["token_budgets"], "budget status")
    need({(h["provider_id"], h["upstream_model"]) for h in items["route_health"]} == enabled_pairs, "route health")
    for policy in items["rate_limits"] + items["token_budgets"]:
        if policy["scope_type"] == "api_key":
            need(policy["scope_id"] in ids["api_keys"], f"limit {policy['id']} api key")
        need(policy["target_provider_id"] is None or policy["target_provider_id"] in ids["providers"],
             f"limit {policy['id']} provider")
        need(policy["target_model_alias"] is None or policy["target_model_alias"] in aliases,
             f"limit {policy['id']} alias")
    for policy in items["model_access"]:
        if policy["scope_type"] == "api_key":
            need(policy["scope_id"] in ids["api_keys"], f"access {policy['id']} api key")
        for t in policy["targets"]:
            if t["kind"] == "model_alias":
                need(t["alias"] in aliases or (t["alias"].endswith("*") and any(
                    a.startswith(t["alias"][:-1]) for a in aliases)), f"access {policy['id']} alias")
            elif t["kind"] == "model":
                need(t["model"] in upstreams, f"access {policy['id']} model")
            elif t["kind"] == "route_group":
                need(t["group_id"] in ids["model_route_groups"], f"access {policy['id']} group")
            else:
                need(t["provider_id"] in ids["providers"], f"access {policy['id']} provider")
                if t["kind"] == "provider_model":
                    need((t["provider_id"], t["model"]) in one_to_one, f"access {policy['id']} provider model")
    for g in items["model_route_groups"]:
        need(set(g["model_aliases"]) <= aliases and g["model_aliases"] == sorted(g["model_aliases"]), "route group")
    for s in items["smart_models"] + items["routing_policies"]:
        slots = {x["model_alias"] for x in s["slots"]}
        need(slots <= aliases and (s["determiner_model_alias"] in aliases | {None}), f"smart {s['id']} aliases")
    for q, body in org.per_item["routing_rules"]:
        need(q["policy_id"] in ids["routing_policies"], "routing rules policy")
        need(all(r["policy_id"] == q["policy_id"] and r["target_model_alias"] in aliases for r in body["rules"]),
             "routing rule")
    smart = {s["model_alias"] for s in items["smart_models"]}
    for m in items["user_models"]:
        need(m["model_alias"] in aliases | smart, f"user model {m['model_alias']}")
        need(m["provider_id"] is None or m["provider_id"] in ids["providers"], f"user model {m['model_alias']}")
    keys = {k["id"]: k for k in items["api_keys"]}
    for k in items["user_api_keys"]:
        need(k["id"] in keys and keys[k["id"]]["user_id"] == k["user_id"] == org.caller_user_id, "user key")
    return bad


def test_generated_cross_references_resolve(org):
    assert _dangling(org) == []
    assert _dangling(generate_org(3, seed=5, taken_at=TAKEN)) == []


def test_generated_org_mixes_good_and_bad_configuration(org):
    keys = org.items("api_keys")
    assert any(k["expires_at"] is None for k in keys) and any(k["expires_at"] for k in keys)
    assert any(k["revoked_at"] for k in keys) and any(k["last_used_at"] is None for k in keys)
    assert any(h["state"] == "ejected" for h in org.items("route_health"))
    assert {r["effective_pricing"]["source"] for r in org.items("model_routes")} >= {"none", "org_catalog"}
    assert any(r["model_alias"] != r["upstream_model"] for r in org.items("model_routes"))
    assert any(p["scheduled_count"] for p in org.items("model_pricing"))


def test_generated_org_is_deterministic(org):
    same = generate_org(1, seed=0, taken_at=TAKEN).dataset()
    served = org.dataset()
    assert {k: v.body for k, v in served.lists.items()} == {k: v.body for k, v in same.lists.items()}
    assert served.per_item == same.per_item
    other = generate_org(1, seed=1, taken_at=TAKEN).dataset()
    assert other.lists["api_keys"].body != served.lists["api_keys"].body


def test_generated_org_served_and_written_alike(tmp_path, db):
    folder = write_generated(1, tmp_path / "gen", seed=0, taken_at=TAKEN)
    loaded = Dataset.from_folder(folder)
    with Simulator.from_generated(1, seed=0, taken_at=TAKEN) as s, api(s, s.mint_token()) as c:
        for f in fam.top_level():
            r = c.get(f.path)
            if f.name == "agent_runtime_profiles":
                assert r.status_code == 404
            else:
                assert r.content == loaded.lists[f.name].body, f.name
        assert s.expected_requests() == loaded.expected_requests() == generate_org(1, taken_at=TAKEN).request_count()
    result = import_folder(db, folder)
    assert result.complete
    assert result.drift == []  # every generated value fits the documented schema
    assert result.resource_count == generate_org(1, taken_at=TAKEN).resource_count()


@pytest.mark.slow
def test_large_generated_bodies_are_served_fast():
    with Simulator.from_generated(50, seed=0, taken_at=TAKEN) as s, api(s, s.mint_token()) as c:
        size = len(s.dataset.lists["api_keys"].body)
        assert size > 15_000_000
        started = time.perf_counter()
        r = c.get("/admin/api-keys")
        elapsed = time.perf_counter() - started
        assert len(r.content) == size
        assert elapsed < 1.0, f"{size} bytes took {elapsed:.2f}s"


# ---------------------------------------------------------------- command line

def test_cli_print_token_decodes_with_the_dev_secret():
    result = CliRunner().invoke(cli, ["simulate", "--print-token"])
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    claims = jwt.decode(token, DEV_SECRET, algorithms=["HS256"])
    assert claims["role"] == "admin"
    assert claims["org_id"] == manifest()["org_id"]
    assert claims["exp"] - claims["iat"] == 3600
    result = CliRunner().invoke(cli, ["simulate", "--print-token", "--role", "member", "--expires-in", "60"])
    claims = jwt.decode(result.output.strip(), DEV_SECRET, algorithms=["HS256"])
    assert claims["role"] == "member" and claims["exp"] - claims["iat"] == 60


def test_cli_print_token_with_a_secret_file(tmp_path):
    secret_file = tmp_path / "secret"
    secret_file.write_text("x" * 48 + "\n")
    result = CliRunner().invoke(cli, ["simulate", "--print-token", "--jwt-secret-file", str(secret_file)])
    assert result.exit_code == 0
    assert jwt.decode(result.output.strip(), "x" * 48, algorithms=["HS256"])["role"] == "admin"


def test_cli_serves_until_terminated():
    proc = subprocess.Popen([sys.executable, "-m", "gwaudit.cli", "simulate", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        lines = []
        while True:
            line = proc.stdout.readline()
            assert line, "the simulator exited early: " + proc.stderr.read()
            lines.append(line)
            if line.startswith("Press Ctrl-C"):
                break
        base_url = re.search(r"base URL:\s+(\S+)", "".join(lines)).group(1)
        assert 'export GWAUDIT_TOKEN="$(gwaudit simulate --print-token)"' in "".join(lines)
        r = httpx.get(base_url + "/api/llm-gateway/admin/providers", headers={"Authorization": f"Bearer {mint_token()}"})
        assert r.status_code == 200
        proc.send_signal(signal.SIGTERM)
        out, _err = proc.communicate(timeout=10)
        assert proc.returncode == 0
        assert "stopped after 1 requests" in out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_cli_refuses_a_public_host():
    result = CliRunner().invoke(cli, ["simulate", "--host", "0.0.0.0"])
    assert result.exit_code != 0
    assert "only loopback" in str(result.exception)
