"""Issue 14 class 2: a loosening is any change that weakens enforcement, not only a raised number
(rules/README, "Loosening"). Each transition through the public engine, with its mirror."""
from __future__ import annotations

import pytest

from tests.factories.access import access, t_group
from tests.factories.budgets import budget
from tests.factories.routes import route_group
from tests.factories.rate_limits import rate_limit
from tests.factories.snapshots import rows_of, run_pair

B = budget("b", "group", scope_value="eng")
R = rate_limit("r", "group", scope_value="eng")


@pytest.mark.parametrize("change,loosened", [
    ({"action_on_exhaust": "alert"}, True), ({"action_on_exhaust": "warn"}, True),
    ({"action_on_exhaust": "throttle"}, False), ({"action_on_exhaust": None}, False),
    ({"period": "yearly"}, True), ({"period": "daily"}, False),
    ({"traffic_type": "mcp"}, True), ({"traffic_type": "llm"}, False), ({"target_mcp_server_id": "m"}, True),
    ({"token_limit": 0}, True), ({"scope_value": ""}, True), ({"scope_value": "sales"}, True),
    ({"scope_type": "org", "scope_value": None}, False),
    ({"target_model_alias": "x"}, True),
])
def test_drift002_budget_loosenings(tmp_path, change, loosened):
    after = {**B, **change}
    assert bool(rows_of(run_pair(tmp_path, "GW-DRIFT-002", {"token_budgets": [B]}, {"token_budgets": [after]}))) is loosened


def test_drift002_mirror_tightening_is_not_reported(tmp_path):
    before = {**B, "action_on_exhaust": "alert", "period": "yearly", "traffic_type": "mcp"}
    assert rows_of(run_pair(tmp_path, "GW-DRIFT-002", {"token_budgets": [before]}, {"token_budgets": [B]})) == {}


@pytest.mark.parametrize("change,loosened", [
    ({"requests_per_minute": None, "tokens_per_minute": None}, True), ({"traffic_type": "mcp"}, True),
    ({"traffic_type": None}, False), ({"scope_value": "sales"}, True), ({"scope_value": " "}, True),
    ({"member_of_group": "x"}, True), ({"target_model_alias": "x"}, True),
    ({"requests_per_minute": 100}, False),
])
def test_drift003_rate_limit_loosenings(tmp_path, change, loosened):
    after = {**R, **change}
    assert bool(rows_of(run_pair(tmp_path, "GW-DRIFT-003", {"rate_limits": [R]}, {"rate_limits": [after]}))) is loosened


def test_drift001_traffic_moved_off_llm_and_route_group_widened(tmp_path):
    g = route_group("premium", ["a"])
    allow = access("allow", [t_group(g)])
    deny = access("deny", [{"kind": "model_alias", "alias": "x"}], policy_type="denylist")
    before = {"model_access": [allow, deny], "model_route_groups": [g]}
    after = {"model_access": [allow, {**deny, "traffic_type": "mcp"}],
             "model_route_groups": [{**g, "model_aliases": ["a", "b"]}]}
    rows = rows_of(run_pair(tmp_path, "GW-DRIFT-001", before, after))
    assert "gained alias(es): b" in rows[allow["id"]]["message"]
    assert "traffic_type moved off LLM traffic (llm -> mcp)" in rows[deny["id"]]["message"]
    # the mirror: a group that lost an alias and traffic moved onto LLM narrow access
    assert rows_of(run_pair(tmp_path, "GW-DRIFT-001", after, before)) == {}
