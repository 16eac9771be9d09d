"""GW-RL-*: rate-limit rules, each run on minimal snapshots through tests/rulekit.py."""

from __future__ import annotations

from tests.factories.ids import uid
from tests.factories.keys import api_key
from tests.factories.rate_limits import rate_limit
from tests.factories.snapshots import ids
from tests.rulekit import run_rule


# ---------------------------------------------------------------- GW-RL-001 no org-wide limit

def test_rl001_fires_when_only_non_org_limits_exist(tmp_path):
    rows = run_rule(tmp_path, "GW-RL-001", {"rate_limits": [rate_limit("eng", "group", scope_value="engineering")]})
    assert ids(rows) == {"org"}
    assert "1 rate-limit policies examined" in rows[0]["message"]
    assert rows[0]["policies_examined"] == 1


def test_rl001_silent_with_an_enabled_untargeted_org_limit(tmp_path):
    data = {"rate_limits": [rate_limit("eng", "group", scope_value="engineering"), rate_limit("org ceiling")]}
    assert run_rule(tmp_path, "GW-RL-001", data) == []


def test_rl001_fires_on_empty_org(tmp_path):
    rows = run_rule(tmp_path, "GW-RL-001", {})
    assert ids(rows) == {"org"}
    assert "none with scope org" in rows[0]["message"]


def test_rl001_org_limits_that_do_not_cap_llm_traffic_are_named(tmp_path):
    data = {"rate_limits": [
        rate_limit("mcp only", traffic_type="mcp"),
        rate_limit("switched off", enabled=False),
        rate_limit("one provider", target_provider_id=uid("provider", "p1")),
    ]}
    rows = run_rule(tmp_path, "GW-RL-001", data)
    assert ids(rows) == {"org"}
    msg = rows[0]["message"]
    assert "'mcp only' (mcp traffic only)" in msg
    assert "'switched off' (disabled)" in msg
    assert f"'one provider' (limited to provider {uid('provider', 'p1')})" in msg


def test_rl001_missing_enabled_and_traffic_type_take_documented_defaults(tmp_path):
    org = rate_limit("org ceiling")
    del org["enabled"], org["traffic_type"]
    assert run_rule(tmp_path, "GW-RL-001", {"rate_limits": [org]}) == []


# ---------------------------------------------------------------- GW-RL-002 never-enforced scopes

def test_rl002_fires_on_llm_provider_and_model_scopes_enabled_or_not(tmp_path):
    data = {"rate_limits": [
        rate_limit("legacy provider", "llm_provider", scope_value="openai", requests_per_minute=50),
        rate_limit("legacy model", "model", scope_value="gpt-4o", tokens_per_minute=1000,
                   requests_per_minute=None),
        rate_limit("legacy but off", "model", enabled=False),
        rate_limit("proper", "group", scope_value="eng"),
    ]}
    rows = run_rule(tmp_path, "GW-RL-002", data)
    assert ids(rows) == {uid("rate_limit", "legacy provider"), uid("rate_limit", "legacy model"),
                         uid("rate_limit", "legacy but off")}
    by_id = {r["resource_id"]: r for r in rows}
    assert by_id[uid("rate_limit", "legacy but off")]["message"].startswith(
        "rate limit 'legacy but off' is disabled with")
    assert "scope_type 'llm_provider'" in by_id[uid("rate_limit", "legacy provider")]["message"]
    assert "50 requests/min" in by_id[uid("rate_limit", "legacy provider")]["message"]
    assert "1000 tokens/min" in by_id[uid("rate_limit", "legacy model")]["message"]


# ---------------------------------------------------------------- GW-RL-003 disabled

def test_rl003_reports_disabled_only_and_treats_missing_enabled_as_true(tmp_path):
    no_flag = rate_limit("no flag")
    del no_flag["enabled"]
    data = {"rate_limits": [
        rate_limit("off", "group", scope_value="contractors", enabled=False,
                   last_modified_at="2026-09-01T10:00:00Z"),
        rate_limit("on"), no_flag,
    ]}
    rows = run_rule(tmp_path, "GW-RL-003", data)
    assert ids(rows) == {uid("rate_limit", "off")}
    assert rows[0]["message"] == "rate limit 'off' (scope group contractors) is disabled since 2026-09-01"


# ---------------------------------------------------------------- GW-RL-004 dead key scope

def test_rl004_fires_on_missing_revoked_and_expired_keys(tmp_path):
    keys = [
        api_key("live", expires_at="2027-01-01T00:00:00Z"),
        api_key("revoked", revoked_at="2026-05-01T00:00:00Z"),
        api_key("expired", expires_at="2026-11-01T00:00:00Z"),
        api_key("disabled", disabled_at="2026-10-01T00:00:00Z"),
    ]
    limits = [rate_limit(f"on {k}", "api_key", scope_id=uid("api_key", k))
              for k in ("live", "revoked", "expired", "disabled", "gone")]
    limits.append(rate_limit("no key id", "api_key", scope_id=None))
    rows = run_rule(tmp_path, "GW-RL-004", {"rate_limits": limits, "api_keys": keys})
    by_id = {r["resource_id"]: r for r in rows}
    assert set(by_id) == {uid("rate_limit", "on revoked"), uid("rate_limit", "on expired"),
                          uid("rate_limit", "on gone"), uid("rate_limit", "no key id")}
    assert "(no scope_id)" in by_id[uid("rate_limit", "no key id")]["message"]
    assert by_id[uid("rate_limit", "on revoked")]["key_state"] == "revoked"
    assert "'revoked'" in by_id[uid("rate_limit", "on revoked")]["message"]
    assert "revoked 2026-05-01" in by_id[uid("rate_limit", "on revoked")]["message"]
    assert "expired 2026-11-01" in by_id[uid("rate_limit", "on expired")]["message"]
    assert f"{uid('api_key', 'gone')}, which does not exist" in by_id[uid("rate_limit", "on gone")]["message"]


def test_rl004_expiry_boundary_is_the_snapshot_time(tmp_path):
    keys = [api_key("edge", expires_at="2026-11-27T06:00:00Z")]
    limits = [rate_limit("on edge", "api_key", scope_id=uid("api_key", "edge"))]
    data = {"rate_limits": limits, "api_keys": keys}
    assert ids(run_rule(tmp_path, "GW-RL-004", data, taken_at="2026-11-27T06:00:00Z")) == {uid("rate_limit", "on edge")}
    assert run_rule(tmp_path, "GW-RL-004", data, taken_at="2026-11-27T05:59:59Z") == []

