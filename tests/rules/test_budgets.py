"""GW-BUD-*: token-budget rules, each run on minimal snapshots through tests/rulekit.py."""

from __future__ import annotations

from tests.factories.budgets import budget, budget_status
from tests.factories.ids import uid
from tests.factories.keys import api_key
from tests.factories.pricing import price
from tests.factories.providers import provider
from tests.factories.routes import route
from tests.factories.snapshots import ids
from tests.rulekit import run_rule


# ---------------------------------------------------------------- GW-BUD-001 no org budget

def test_bud001_fires_without_org_budget_and_names_the_ones_not_counted(tmp_path):
    data = {"token_budgets": [
        budget("team", "group", scope_value="engineering"),
        budget("org mcp", traffic_type="mcp"),
        budget("org off", enabled=False),
        budget("org one alias", target_model_alias="team-coder"),
    ]}
    rows = run_rule(tmp_path, "GW-BUD-001", data)
    assert ids(rows) == {"org"}
    msg = rows[0]["message"]
    assert "4 budgets examined" in msg
    assert "'org mcp' (mcp traffic only)" in msg and "'org off' (disabled)" in msg
    assert "'org one alias' (limited to alias team-coder)" in msg


def test_bud001_silent_with_an_enabled_untargeted_llm_org_budget(tmp_path):
    for traffic in ("all", "llm", None):
        b = budget("org", traffic_type=traffic)
        assert run_rule(tmp_path, "GW-BUD-001", {"token_budgets": [b]}) == [], traffic


# ---------------------------------------------------------------- GW-BUD-002 org budget never blocks

def test_bud002_fires_on_warn_and_alert_org_budgets_not_on_block_or_throttle(tmp_path):
    data = {"token_budgets": [
        budget("org warn", action_on_exhaust="warn", cost_limit=2500.0),
        budget("org alert", action_on_exhaust="alert", period="quarterly"),
        budget("org throttle", action_on_exhaust="throttle", period="weekly"),
        budget("org block", period="daily"),
        budget("org warn off", action_on_exhaust="warn", period="yearly", enabled=False),
        budget("team warn", "group", scope_value="eng", action_on_exhaust="warn"),
    ]}
    rows = run_rule(tmp_path, "GW-BUD-002", data)
    by_id = {r["resource_id"]: r for r in rows}
    assert set(by_id) == {uid("budget", "org warn"), uid("budget", "org alert"), uid("budget", "org warn off")}
    assert by_id[uid("budget", "org warn off")]["message"].endswith("(the budget is also disabled)")
    assert by_id[uid("budget", "org warn")]["message"] == (
        "org budget 'org warn' (monthly, 500000000 tokens / 2500.0 USD) has action_on_exhaust 'warn': "
        "requests keep being served after it is exhausted")


# ---------------------------------------------------------------- GW-BUD-003 no early alert

def test_bud003_fires_without_threshold_below_100(tmp_path):
    missing = budget("missing")
    del missing["alert_thresholds"]
    data = {"token_budgets": [
        budget("empty", alert_thresholds=[]),
        budget("only 100", alert_thresholds=[100]),
        missing,
        budget("early", alert_thresholds=[99, 100]),
        budget("empty but off", alert_thresholds=[], enabled=False),
    ]}
    rows = run_rule(tmp_path, "GW-BUD-003", data)
    by_id = {r["resource_id"]: r for r in rows}
    assert set(by_id) == {uid("budget", "empty"), uid("budget", "only 100"), uid("budget", "missing")}
    assert "alert thresholds [100]" in by_id[uid("budget", "only 100")]["message"]
    assert "alert thresholds []" in by_id[uid("budget", "missing")]["message"]


# ---------------------------------------------------------------- GW-BUD-004 cost budget vs unpriced routes

def _pricing_org():
    openai, anthropic, off = provider("openai"), provider("anthropic", model_provider="anthropic"), provider(
        "retired", enabled=False)
    free = provider("local", billing_mode="not_metered")
    routes = [
        route(openai, "gpt-4o-mini"),
        route(anthropic, "claude-opus", pricing_source="none"),
        route(off, "legacy", pricing_source="none"),  # provider disabled: carries no traffic
        route(openai, "old-unpriced", pricing_source="none", enabled=False),
        route(free, "local", pricing_source="not_metered"),  # $0 by decision
    ]
    # the price of gpt-4o-mini: the same resolution GW-PRICE-001 uses (route_prices)
    return openai, anthropic, {"providers": [openai, anthropic, off, free], "model_routes": routes,
                               "model_pricing": [price("gpt-4o-mini")]}


def test_bud004_fires_on_cost_budget_metering_an_unpriced_enabled_route(tmp_path):
    openai, anthropic, data = _pricing_org()
    data["token_budgets"] = [
        budget("org spend", cost_limit=25000.0),
        budget("tokens only"),
        budget("openai spend", cost_limit=100.0, target_provider_id=openai["id"]),
        budget("anthropic spend", cost_limit=100.0, target_provider_id=anthropic["id"]),
        budget("mcp spend", cost_limit=100.0, traffic_type="mcp"),
        budget("off spend", cost_limit=100.0, enabled=False),
    ]
    rows = run_rule(tmp_path, "GW-BUD-004", data)
    by_id = {r["resource_id"]: r for r in rows}
    assert set(by_id) == {uid("budget", "org spend"), uid("budget", "anthropic spend")}
    assert by_id[uid("budget", "org spend")]["unpriced_routes"] == 1
    assert "anthropic/claude-opus" in by_id[uid("budget", "org spend")]["message"]
    assert "25000.0 USD" in by_id[uid("budget", "org spend")]["message"]


def test_bud004_silent_once_the_route_is_priced(tmp_path):
    _, anthropic, data = _pricing_org()
    data["model_routes"][1] = route(anthropic, "claude-opus", pricing_source="org_instance")
    data["token_budgets"] = [budget("org spend", cost_limit=25000.0)]
    # the gateway's word alone is not a price: no rule or default applies to claude-opus yet
    assert ids(run_rule(tmp_path, "GW-BUD-004", data)) == {uid("budget", "org spend")}
    data["model_pricing"].append(price("claude-opus", provider_id=anthropic["id"], model_provider="anthropic"))
    assert run_rule(tmp_path, "GW-BUD-004", data) == []


def test_bud004_and_price001_agree_on_a_route_without_effective_pricing(tmp_path):
    """Class 7: both rules read route_prices, so a route whose effective_pricing is absent is
    unpriced for both or for neither."""
    openai, _, data = _pricing_org()
    bare = route(openai, "gpt-5")
    del bare["effective_pricing"]
    data["model_routes"] = [bare]
    data["token_budgets"] = [budget("org spend", cost_limit=25000.0)]
    assert ids(run_rule(tmp_path, "GW-BUD-004", data)) == {uid("budget", "org spend")}
    assert ids(run_rule(tmp_path, "GW-PRICE-001", data)) == {bare["id"]}
    data["model_pricing"].append(price("gpt-5*"))
    assert run_rule(tmp_path, "GW-BUD-004", data) == []
    assert run_rule(tmp_path, "GW-PRICE-001", data) == []


# ---------------------------------------------------------------- GW-BUD-005 disabled

def test_bud005_reports_disabled_only(tmp_path):
    data = {"token_budgets": [budget("off", "group", scope_value="eng", enabled=False), budget("on")]}
    rows = run_rule(tmp_path, "GW-BUD-005", data)
    assert ids(rows) == {uid("budget", "off")}
    assert rows[0]["message"] == "budget 'off' (scope group eng, monthly) is disabled"


# ---------------------------------------------------------------- GW-BUD-006 dangling targets

def test_bud006_fires_on_missing_provider_alias_and_key(tmp_path):
    p = provider("openai")
    data = {
        "providers": [p], "model_routes": [route(p, "gpt-4o-mini")],
        "api_keys": [api_key("ci", revoked_at="2026-01-01T00:00:00Z")],
        "token_budgets": [
            budget("ok provider", target_provider_id=p["id"]),
            budget("ok alias", target_model_alias="gpt-4o-mini"),
            budget("ok revoked key", "api_key", scope_id=uid("api_key", "ci")),
            budget("gone provider", target_provider_id=uid("provider", "deleted")),
            budget("gone alias", target_model_alias="team-coder", enabled=False),
            budget("gone key", "api_key", scope_id=uid("api_key", "deleted")),
        ],
    }
    rows = run_rule(tmp_path, "GW-BUD-006", data)
    by_id = {r["resource_id"]: r for r in rows}
    assert set(by_id) == {uid("budget", "gone provider"), uid("budget", "gone alias"), uid("budget", "gone key")}
    assert f"provider {uid('provider', 'deleted')}, which does not exist" in \
        by_id[uid("budget", "gone provider")]["message"]
    assert "alias 'team-coder', which no route serves" in by_id[uid("budget", "gone alias")]["message"]
    assert by_id[uid("budget", "gone key")]["missing_api_key_id"] == uid("api_key", "deleted")


# ---------------------------------------------------------------- GW-BUD-007 group without budget

def test_bud007_fires_per_group_of_active_keys_without_group_budget(tmp_path):
    keys = [
        api_key("ci-1", group_name="ci"), api_key("ci-2", group_name="ci"),
        api_key("batch", group_name="batch"),
        api_key("old", group_name="retired", revoked_at="2026-01-01T00:00:00Z"),
        api_key("paused", group_name="paused", disabled_at="2026-01-01T00:00:00Z"),
        api_key("stale", group_name="stale", expires_at="2026-11-01T00:00:00Z"),
        api_key("personal", kind="user", user_id=uid("user", "alice"), group_name=None),
    ]
    data = {"api_keys": keys, "token_budgets": [
        budget("batch budget", "group", scope_value="batch"),
        budget("ci mcp only", "group", scope_value="ci", traffic_type="mcp"),
    ]}
    rows = run_rule(tmp_path, "GW-BUD-007", data)
    assert ids(rows) == {"ci"}
    assert rows[0]["active_keys"] == 2
    assert rows[0]["message"] == ("IdP group 'ci' is bound to 2 active API key(s) ('ci-1', 'ci-2') "
                                  "but no enabled group-scope budget meters it")


def test_bud007_disabled_group_budget_does_not_count(tmp_path):
    data = {"api_keys": [api_key("batch", group_name="batch")],
            "token_budgets": [budget("batch budget", "group", scope_value="batch", enabled=False)]}
    assert ids(run_rule(tmp_path, "GW-BUD-007", data)) == {"batch"}


# ---------------------------------------------------------------- GW-BUD-008 exhausted blocking budget

def test_bud008_fires_on_enforcing_budgets_at_or_over_100(tmp_path):
    block = budget("block", token_limit=1000)
    throttle = budget("throttle", action_on_exhaust="throttle")
    spend = budget("spend", cost_limit=50.0)
    warn = budget("warn", action_on_exhaust="warn")
    almost = budget("almost")
    off = budget("off", enabled=False)
    status = [
        budget_status(block, tokens_pct=100.0),
        budget_status(throttle, tokens_pct=120.0),
        budget_status(spend, tokens_pct=10.0, cost_pct=101.5),
        budget_status(warn, tokens_pct=150.0),
        budget_status(almost, tokens_pct=99.99),
        budget_status(off, tokens_pct=200.0),
    ]
    rows = run_rule(tmp_path, "GW-BUD-008", {"token_budget_status": status})
    by_id = {r["resource_id"]: r for r in rows}
    assert set(by_id) == {uid("budget", "block"), uid("budget", "throttle"), uid("budget", "spend")}
    assert by_id[uid("budget", "block")]["message"] == (
        "budget 'block' (block, monthly) is exhausted: tokens 100.0% (1000 of 1000)")
    assert "spend 101.5% (50.75 of 50.0 USD)" in by_id[uid("budget", "spend")]["message"]


# ---------------------------------------------------------------- GW-BUD-009 past first alert

def test_bud009_fires_at_first_threshold_including_exhausted_budgets(tmp_path):
    at = budget("at threshold", alert_thresholds=[90, 50])
    below = budget("below", alert_thresholds=[50, 80])
    warn_over = budget("warn over", action_on_exhaust="warn")
    block_over = budget("block over")
    silent = budget("no thresholds", alert_thresholds=[])
    spend = budget("spend", cost_limit=100.0, alert_thresholds=[75])
    status = [
        budget_status(at, tokens_pct=50.0),
        budget_status(below, tokens_pct=49.9),
        budget_status(warn_over, tokens_pct=130.0),
        budget_status(block_over, tokens_pct=100.0),
        budget_status(silent, tokens_pct=99.0),
        budget_status(spend, tokens_pct=10.0, cost_pct=80.0),
    ]
    rows = run_rule(tmp_path, "GW-BUD-009", {"token_budget_status": status})
    by_id = {r["resource_id"]: r for r in rows}
    assert set(by_id) == {uid("budget", "at threshold"), uid("budget", "warn over"), uid("budget", "block over"),
                          uid("budget", "spend")}
    assert by_id[uid("budget", "at threshold")]["message"] == (
        "budget 'at threshold' is at 50.0% of its token limit, past its first alert threshold of 50% (action block)")
    assert "80.0% of its spend limit" in by_id[uid("budget", "spend")]["message"]
