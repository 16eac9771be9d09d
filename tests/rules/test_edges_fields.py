"""Issue 14: every field an "is there a limit / budget / expiry / allowlist" rule reads, omitted
(the API's documented default), null, and on both sides of each boundary. One snapshot per case on
real DuckDB through the public engine (tests/rulekit.py)."""
from __future__ import annotations

import pytest

from tests.factories.access import access, t_alias, t_model, t_provider
from tests.factories.budgets import budget, budget_status
from tests.factories.ids import DROP, uid
from tests.factories.keys import api_key
from tests.factories.providers import provider
from tests.factories.rate_limits import rate_limit
from tests.factories.routes import route
from tests.factories.snapshots import Kit


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    return Kit(tmp_path_factory.mktemp("edge-fields"))


P = provider("openai")
ROUTES = {"providers": [P], "model_routes": [route(P, "gpt-4o")]}


# ---------------------------------------------------------------- GW-RL-001 (org rate limit)

@pytest.mark.parametrize("fields,fires", [
    ({"requests_per_minute": DROP, "tokens_per_minute": DROP}, True),     # omitted: no limit
    ({"requests_per_minute": DROP, "tokens_per_minute": 1}, False),
    ({"enabled": DROP}, False), ({"enabled": None}, False), ({"enabled": False}, True),
    ({"traffic_type": DROP}, False), ({"traffic_type": "llm"}, False), ({"traffic_type": "mcp"}, True),
    ({"target_mcp_server_id": DROP}, False), ({"target_provider_id": DROP}, False),
    ({"scope_type": "team"}, True),
])
def test_rl001_each_field_omitted_null_and_at_its_edge(kit, fields, fires):
    assert bool(kit.rows("GW-RL-001", {**ROUTES, "rate_limits": [rate_limit("org", **fields)]})) is fires


# ---------------------------------------------------------------- GW-RL-002 / GW-RL-003

@pytest.mark.parametrize("scope,fires", [("llm_provider", True), ("model", True), ("org", False), ("model_alias", False)])
def test_rl002_legacy_scopes(kit, scope, fires):
    assert bool(kit.rows("GW-RL-002", {"rate_limits": [rate_limit("x", scope)]})) is fires


@pytest.mark.parametrize("enabled,fires", [(False, True), (True, False), (None, False), (DROP, False)])
def test_rl003_disabled_only_when_false(kit, enabled, fires):
    assert bool(kit.rows("GW-RL-003", {"rate_limits": [rate_limit("x", enabled=enabled)]})) is fires


# ---------------------------------------------------------------- GW-RL-004 (dead key): scope fields

@pytest.mark.parametrize("fields,fires", [
    ({"scope_id": DROP}, True), ({"scope_id": None}, True), ({"scope_id": uid("api_key", "k")}, True),
    ({"scope_id": uid("api_key", "k"), "enabled": False}, True),     # reported enabled or not
    ({"scope_id": uid("api_key", "k"), "enabled": DROP}, True),
    ({"scope_id": uid("api_key", "live")}, False),
    ({"scope_type": "user", "scope_id": uid("user", "nobody")}, False),
])
def test_rl004_scope_fields(kit, fields, fires):
    data = {"api_keys": [api_key("k", revoked_at="2026-11-01T00:00:00Z"), api_key("live")],
            "rate_limits": [rate_limit("x", **{"scope_type": "api_key", **fields})]}
    assert bool(kit.rows("GW-RL-004", data)) is fires


# ---------------------------------------------------------------- GW-BUD-001 (org budget)

@pytest.mark.parametrize("fields,fires", [
    ({"token_limit": DROP, "cost_limit": DROP}, True), ({"token_limit": None, "cost_limit": None}, True),
    ({"token_limit": 1, "cost_limit": DROP}, False), ({"token_limit": DROP, "cost_limit": 0.01}, False),
    ({"enabled": DROP}, False), ({"enabled": False}, True),
    ({"traffic_type": DROP}, False), ({"traffic_type": "mcp"}, True),
    ({"action_on_exhaust": DROP}, False), ({"action_on_exhaust": None}, False),
])
def test_bud001_each_field_omitted_null_and_at_its_edge(kit, fields, fires):
    assert bool(kit.rows("GW-BUD-001", {**ROUTES, "token_budgets": [budget("org", **fields)]})) is fires


# ---------------------------------------------------------------- GW-BUD-002 (non-blocking org budget)

@pytest.mark.parametrize("action,fires", [
    (DROP, False), (None, False), ("block", False), ("throttle", False), ("alert", True), ("warn", True),
])
def test_bud002_action_default_is_block(kit, action, fires):
    assert bool(kit.rows("GW-BUD-002", {"token_budgets": [budget("org", action_on_exhaust=action)]})) is fires


# ---------------------------------------------------------------- GW-BUD-003 (no alert before exhaustion)

@pytest.mark.parametrize("thresholds,fires", [
    (DROP, True), (None, True), ([], True), ([100], True), ([99], False), ([100, 99.5], False), ([0], False),
])
def test_bud003_thresholds(kit, thresholds, fires):
    assert bool(kit.rows("GW-BUD-003", {"token_budgets": [budget("b", alert_thresholds=thresholds)]})) is fires


def test_bud003_disabled_budget_is_left_to_bud005(kit):
    assert kit.rows("GW-BUD-003", {"token_budgets": [budget("b", alert_thresholds=[], enabled=False)]}) == []
    assert kit.rows("GW-BUD-003", {"token_budgets": [budget("b", alert_thresholds=[], enabled=DROP)]})


# ---------------------------------------------------------------- GW-BUD-005 (disabled budget)

@pytest.mark.parametrize("enabled,fires", [(False, True), (True, False), (None, False), (DROP, False)])
def test_bud005_disabled_only_when_false(kit, enabled, fires):
    assert bool(kit.rows("GW-BUD-005", {"token_budgets": [budget("x", enabled=enabled)]})) is fires


# ---------------------------------------------------------------- GW-BUD-006 (dangling budget targets)

@pytest.mark.parametrize("fields,fires", [
    ({}, False), ({"target_provider_id": DROP}, False), ({"target_provider_id": ""}, True),
    ({"target_model_alias": "gpt-4o"}, False), ({"target_model_alias": "gpt-4"}, True),
    ({"target_model_alias": ""}, True),
    ({"scope_type": "api_key", "scope_id": DROP}, True), ({"scope_type": "api_key", "scope_id": None}, True),
])
def test_bud006_each_reference_omitted_null_or_dangling(kit, fields, fires):
    assert bool(kit.rows("GW-BUD-006", {**ROUTES, "token_budgets": [budget("b", **fields)]})) is fires


# ---------------------------------------------------------------- GW-BUD-008 / GW-BUD-009 (usage)

@pytest.mark.parametrize("fields,fires", [
    ({"action_on_exhaust": DROP}, True), ({"action_on_exhaust": None}, True), ({"enabled": DROP}, True),
    ({"enabled": None}, True), ({"enabled": False}, False), ({"action_on_exhaust": "alert"}, False),
])
def test_bud008_fields_omitted_and_null(kit, fields, fires):
    st = budget_status(budget("b", **fields), tokens_pct=100.0)
    assert bool(kit.rows("GW-BUD-008", {"token_budget_status": [st]})) is fires


@pytest.mark.parametrize("pct,fires", [(99.99, False), (100.0, True)])
def test_bud008_boundary(kit, pct, fires):
    st = budget_status(budget("b", token_limit=10_000), tokens_pct=pct)
    assert bool(kit.rows("GW-BUD-008", {"token_budget_status": [st]})) is fires


@pytest.mark.parametrize("pct,thresholds,fires", [
    (79.99, [80], False), (80.0, [80], True), (0.0, [0], False), (0.01, [0], True), (50, DROP, False),
    (50, None, False), (50, [], False),
])
def test_bud009_boundary_and_thresholds(kit, pct, thresholds, fires):
    st = budget_status(budget("b", token_limit=10_000, alert_thresholds=thresholds), tokens_pct=pct)
    assert bool(kit.rows("GW-BUD-009", {"token_budget_status": [st]})) is fires


# ---------------------------------------------------------------- GW-KEY-001 (no expiry)

@pytest.mark.parametrize("fields,fires", [
    ({"expires_at": DROP}, True), ({"expires_at": None}, True), ({}, False),
    ({"expires_at": DROP, "disabled_at": "2026-11-01T00:00:00Z"}, True),       # one PATCH re-enables it
    ({"expires_at": DROP, "revoked_at": "2026-11-27T06:00:00Z"}, False),       # revoked at the snapshot
    ({"expires_at": DROP, "revoked_at": "2026-11-27T06:00:01Z"}, True),        # revoked one second later
    ({"expires_at": DROP, "revoked_at": DROP, "disabled_at": DROP}, True),
])
def test_key001_expiry_omitted_null_and_state_edges(kit, fields, fires):
    assert bool(kit.rows("GW-KEY-001", {"api_keys": [api_key("k", **fields)]})) is fires


# ---------------------------------------------------------------- GW-KEY-006 (key with no limit)

@pytest.mark.parametrize("key_fields,fires", [
    ({"group_name": DROP}, True), ({"group_name": None}, True), ({"group_name": "ci"}, False),
    ({"group_name": None, "expires_at": "2026-11-27T06:00:00Z"}, False),   # expired at the snapshot
    ({"group_name": None, "expires_at": "2026-11-27T06:00:01Z"}, True),    # still active
])
def test_key006_group_and_state_edges(kit, key_fields, fires):
    assert bool(kit.rows("GW-KEY-006", {**ROUTES, "api_keys": [api_key("k", **key_fields)]})) is fires


@pytest.mark.parametrize("fields,fires", [
    ({"requests_per_minute": DROP}, True), ({"requests_per_minute": 1}, False),
    ({"enabled": DROP}, False), ({"traffic_type": DROP}, False),
])
def test_key006_rate_limit_fields_omitted(kit, fields, fires):
    rl = rate_limit("per key", "api_key", scope_id=uid("api_key", "k"), **fields)
    data = {**ROUTES, "api_keys": [api_key("k", group_name=None)], "rate_limits": [rl]}
    assert bool(kit.rows("GW-KEY-006", data)) is fires


# ---------------------------------------------------------------- GW-ACC-* (allowlists)

@pytest.mark.parametrize("fields,fires", [
    ({}, True), ({"enabled": DROP}, True), ({"enabled": None}, True), ({"enabled": False}, False),
    ({"policy_type": "denylist"}, False),
])
def test_acc001_enabled_omitted_and_null(kit, fields, fires):
    assert bool(kit.rows("GW-ACC-001", {"model_access": [access("a", [t_alias("*")], **fields)]})) is fires


@pytest.mark.parametrize("targets,fires", [([], False), ([{"kind": "model_alias"}], False),
                                           ([{"kind": "model_alias", "alias": None}], False),
                                           ([t_model("*")], True)])
def test_acc001_targets_empty_or_missing_values(kit, targets, fires):
    assert bool(kit.rows("GW-ACC-001", {"model_access": [access("a", targets)]})) is fires


@pytest.mark.parametrize("n_routes,fires", [(5, False), (6, True)])
def test_acc002_boundary_at_the_parameter(kit, n_routes, fires):
    data = {"providers": [P], "model_routes": [route(P, f"gpt-{i}") for i in range(n_routes)],
            "model_access": [access("a", [t_alias("gpt-*")], enabled=DROP)]}
    assert bool(kit.rows("GW-ACC-002", data)) is fires


@pytest.mark.parametrize("default,policies,fires", [
    (DROP, [], True), (None, [], True), ("deny", [], False),
    ("allow", [access("o", [t_alias("gpt-4o")], scope_type="org", enabled=DROP)], False),
    ("allow", [access("o", [t_alias("gpt-4o")], scope_type="org", traffic_type=DROP)], False),
    ("allow", [access("o", [t_alias("gpt-4o")], scope_type="org", enabled=None)], False),
])
def test_acc003_default_and_policy_fields_omitted(kit, default, policies, fires):
    from tests.factories.governance import governance
    data = {**ROUTES, "governance_config": governance(default_model_access=default), "model_access": policies}
    assert bool(kit.rows("GW-ACC-003", data)) is fires


@pytest.mark.parametrize("target,fires", [
    (t_provider(P), False), ({"kind": "provider"}, True), ({"kind": "provider", "provider_id": None}, True),
    ({"kind": "model"}, True), ({"kind": "route_group"}, True), (t_alias("gpt-4o"), False),
])
def test_acc004_targets_with_a_value_omitted(kit, target, fires):
    assert bool(kit.rows("GW-ACC-004", {**ROUTES, "model_access": [access("a", [target])]})) is fires


@pytest.mark.parametrize("enabled,fires", [(False, True), (True, False), (None, False), (DROP, False)])
def test_acc005_disabled_only_when_false(kit, enabled, fires):
    assert bool(kit.rows("GW-ACC-005", {"model_access": [access("a", [t_alias("x")], enabled=enabled)]})) is fires


@pytest.mark.parametrize("target,fires", [
    (t_provider(P), True), ({"kind": "provider_model", "provider_id": P["id"]}, False),
    ({"kind": "provider_model", "provider_id": P["id"], "model": " * "}, True),
    ({"kind": "provider_model", "provider_id": P["id"], "model": "gpt-*"}, False),
])
def test_acc006_provider_targets(kit, target, fires):
    assert bool(kit.rows("GW-ACC-006", {**ROUTES, "model_access": [access("a", [target], enabled=DROP)]})) is fires


# ---------------------------------------------------------------- exact messages (mutation survivors)

def test_bud008_message_rounds_to_two_decimals(kit):
    b = budget("b", token_limit=10_000_000, cost_limit=50.0)
    st = {**budget_status(b), "tokens_used": 10_012_345, "percentage_used": 100.12345,
          "cost_used": 50.123, "cost_percentage_used": 100.246}
    (row,) = kit.rows("GW-BUD-008", {"token_budget_status": [st]})
    assert row["message"] == ("budget 'b' (block, monthly) is exhausted: tokens 100.12% (10012345 of 10000000), "
                              "spend 100.25% (50.12 of 50.0 USD)")


@pytest.mark.parametrize("fields,tail", [
    ({}, ""), ({"disabled_at": "2026-11-01T00:00:00Z"}, " (disabled, not revoked: re-enabling it restores it)"),
])
def test_key001_message_days_and_disabled_marker(kit, fields, tail):
    key = api_key("k", expires_at=None, created_at="2024-03-02T06:00:00Z", **fields)   # 1000 days before
    (row,) = kit.rows("GW-KEY-001", {"api_keys": [key]})
    assert row["message"] == ("key 'k' (bd-k) never expires: expires_at is not set; created 2024-03-02, "
                              "1000 days before the snapshot" + tail)
