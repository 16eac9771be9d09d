"""Issue 14: no false pass at the edges. A control that limits nothing is no control (class 1); a
route suspended in its own health status does not serve, an empty group name is no group, an
MCP-only limit does not cover LLM traffic (class 8). Each case through the public engine."""
from __future__ import annotations

import pytest

from tests.factories.budgets import budget
from tests.factories.ids import uid
from tests.factories.keys import api_key
from tests.factories.providers import provider
from tests.factories.rate_limits import rate_limit
from tests.factories.routes import route
from tests.factories.snapshots import Kit, ids


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    return Kit(tmp_path_factory.mktemp("edges"))


P = provider("openai")
ROUTES = {"providers": [P], "model_routes": [route(P, "gpt-4o")]}


# ---------------------------------------------------------------- GW-RL-001: a limit that limits

@pytest.mark.parametrize("rpm,tpm,fires", [
    (None, None, True), (0, None, True), (None, 0, True), (0, 0, True),
    (1, None, False), (None, 1, False), (0, 1, False),
])
def test_rl001_org_limit_needs_a_positive_limit(kit, rpm, tpm, fires):
    data = {**ROUTES, "rate_limits": [rate_limit("org", requests_per_minute=rpm, tokens_per_minute=tpm)]}
    rows = kit.rows("GW-RL-001", data)
    assert bool(rows) is fires
    if fires:
        assert "'org' (no limit set)" in rows[0]["message"]


@pytest.mark.parametrize("target,fires", [
    ({}, False), ({"target_model_alias": ""}, True), ({"target_model_alias": "gpt-4o"}, True),
    ({"traffic_type": "mcp"}, True), ({"traffic_type": None}, False), ({"enabled": None}, False),
    ({"target_mcp_server_id": "m1"}, True),
])
def test_rl001_traffic_and_targets(kit, target, fires):
    assert bool(kit.rows("GW-RL-001", {**ROUTES, "rate_limits": [rate_limit("org", **target)]})) is fires


# ---------------------------------------------------------------- GW-BUD-001: a budget that meters

@pytest.mark.parametrize("tokens,cost,fires", [
    (None, None, True), (0, None, True), (0, 0, True), (None, 0.0, True),
    (1, None, False), (0, 0.01, False), (None, 5.0, False),
])
def test_bud001_org_budget_needs_a_positive_limit(kit, tokens, cost, fires):
    data = {**ROUTES, "token_budgets": [budget("org", token_limit=tokens, cost_limit=cost)]}
    assert bool(kit.rows("GW-BUD-001", data)) is fires


def test_bud001_target_that_matches_no_route_is_not_org_wide(kit):
    data = {**ROUTES, "token_budgets": [budget("org", target_provider_id="")]}
    assert "limited to provider" in kit.rows("GW-BUD-001", data)[0]["message"]


# ---------------------------------------------------------------- GW-KEY-006: what covers a key

def _unbound(**kw):
    return api_key("k", group_name=None, **kw)


@pytest.mark.parametrize("control,fires", [
    (rate_limit("per key", "api_key", scope_id=uid("api_key", "k")), False),
    (rate_limit("per key", "api_key", scope_id=uid("api_key", "k").upper()), False),
    (rate_limit("per key", "api_key", scope_id=uid("api_key", "k"), traffic_type="mcp"), True),
    (rate_limit("per key", "api_key", scope_id=uid("api_key", "k"), target_mcp_server_id="m1"), True),
    (rate_limit("per key", "api_key", scope_id=uid("api_key", "k"), requests_per_minute=None), True),
    (rate_limit("per key", "api_key", scope_id=uid("api_key", "k"), requests_per_minute=0), True),
    (rate_limit("per key", "api_key", scope_id=uid("api_key", "k"), enabled=False), True),
    (rate_limit("per key", "api_key", scope_id=uid("api_key", "k"), target_model_alias="nothing"), True),
    (budget("per key", "api_key", scope_id=uid("api_key", "k")), False),
    (budget("per key", "api_key", scope_id=uid("api_key", "k"), action_on_exhaust="alert"), True),
    (budget("per key", "api_key", scope_id=uid("api_key", "k"), action_on_exhaust=None), False),
    (budget("per key", "api_key", scope_id=uid("api_key", "k"), token_limit=0), True),
])
def test_key006_only_a_limiting_control_covers_a_key(kit, control, fires):
    family = "rate_limits" if "requests_per_minute" in control else "token_budgets"
    data = {**ROUTES, "api_keys": [_unbound()], family: [control]}
    assert bool(kit.rows("GW-KEY-006", data)) is fires


@pytest.mark.parametrize("group,fires", [(None, True), ("", True), ("  ", True), ("ci", False)])
def test_key006_blank_group_name_is_no_group(kit, group, fires):
    data = {**ROUTES, "api_keys": [api_key("k", group_name=group)]}
    assert bool(kit.rows("GW-KEY-006", data)) is fires


# ---------------------------------------------------------------- GW-BUD-007: empty group name

def test_bud007_empty_group_name_is_no_group(kit):
    data = {**ROUTES, "api_keys": [api_key("a", group_name=""), api_key("b", group_name=" ci ")]}
    assert ids(kit.rows("GW-BUD-007", data)) == {"ci"}
    data["token_budgets"] = [budget("ci", "group", scope_value="ci", token_limit=0)]
    assert ids(kit.rows("GW-BUD-007", data)) == {"ci"}
    data["token_budgets"] = [budget("ci", "group", scope_value="ci")]
    assert kit.rows("GW-BUD-007", data) == []


# ---------------------------------------------------------------- GW-HEALTH-002: own health status

@pytest.mark.parametrize("status,fires", [
    (None, False),
    ({"state": "recovering", "reason": "provider_errors", "scope": "all_users", "recovers_in_secs": 5,
      "message": "m"}, False),
    ({"state": "suspended", "reason": "rate_limited", "scope": "all_users", "recovers_in_secs": 50,
      "message": "m"}, True),
])
def test_health002_route_suspended_in_its_own_status(kit, status, fires):
    data = {"providers": [P], "model_routes": [route(P, "gpt-4o", route_health_status=status)]}
    rows = kit.rows("GW-HEALTH-002", data)
    assert bool(rows) is fires
    if fires:
        assert "suspended (rate_limited)" in rows[0]["message"]


# ---------------------------------------------------------------- GW-ACC-003: an allowlist that allows all

@pytest.mark.parametrize("targets,fires", [
    ([{"kind": "model_alias", "alias": "gpt-4o"}], False),
    ([{"kind": "model_alias", "alias": "*"}], True),
    ([{"kind": "model", "model": " ** "}], True),
])
def test_acc003_an_org_allowlist_of_everything_restricts_nothing(kit, targets, fires):
    from tests.factories.access import access
    data = {**ROUTES, "model_access": [access("org", targets, scope_type="org", scope_value=None)]}
    assert bool(kit.rows("GW-ACC-003", data)) is fires
