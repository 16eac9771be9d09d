"""GW-ACC-*: model-access rules, each run on minimal snapshots through tests/rulekit.py."""

from __future__ import annotations

from tests.factories.access import access, t_alias, t_group, t_model, t_provider, t_provider_model
from tests.factories.governance import governance
from tests.factories.ids import DROP, uid
from tests.factories.providers import provider
from tests.factories.routes import route, route_group
from tests.factories.smart_models import routing_policy, smart_model
from tests.factories.snapshots import ids
from tests.rulekit import run_rule


def _routed_org(n_gpt: int = 6):
    """One provider routing ``n_gpt`` gpt-* aliases (1:1) plus claude-sonnet-4-5."""
    p = provider("openai")
    routes = [route(p, f"gpt-{i}") for i in range(n_gpt)] + [route(p, "claude-sonnet-4-5")]
    return p, {"providers": [p], "model_routes": routes}


# ---------------------------------------------------------------- GW-ACC-001 bare *

def test_acc001_fires_on_bare_star_alias_or_model_in_enabled_allowlists(tmp_path):
    data = {"model_access": [
        access("alias star", [t_alias("team-coder"), t_alias("*")]),
        access("model stars", [t_model(" ** ")]),
        access("prefix only", [t_alias("gpt-*")]),
        access("deny all", [t_alias("*")], policy_type="denylist"),
        access("star but off", [t_alias("*")], enabled=False),
    ]}
    rows = run_rule(tmp_path, "GW-ACC-001", data)
    by_id = {r["resource_id"]: r for r in rows}
    assert set(by_id) == {uid("access", "alias star"), uid("access", "model stars")}
    assert by_id[uid("access", "alias star")]["message"] == (
        "allowlist 'alias star' (scope group engineering) has a bare * target (model_alias '*'): "
        "it admits every routed model")


# ---------------------------------------------------------------- GW-ACC-002 broad wildcard

def test_acc002_fires_when_wildcard_matches_more_than_the_limit(tmp_path):
    p, data = _routed_org(6)
    data["model_access"] = [
        access("broad alias", [t_alias("gpt-*")]),
        access("broad model", [t_model("gpt*")]),
        access("broad via provider", [t_provider_model(p, "gpt-*")]),
        access("bare star", [t_alias("*")]),
        access("narrow", [t_alias("claude*")]),
        access("exact", [t_alias("gpt-1")]),
        access("broad deny", [t_alias("gpt-*")], policy_type="denylist"),
    ]
    rows = run_rule(tmp_path, "GW-ACC-002", data)
    by_id = {r["resource_id"]: r for r in rows}
    assert set(by_id) == {uid("access", "broad alias"), uid("access", "broad model"),
                          uid("access", "broad via provider"), uid("access", "bare star")}
    assert "model_alias '*' matches 7" in by_id[uid("access", "bare star")]["message"]
    assert by_id[uid("access", "broad alias")]["message"] == (
        "allowlist 'broad alias' has wildcard target(s) matching more than 5 routed names: "
        "model_alias 'gpt-*' matches 6")


def test_acc002_boundary_and_param_override(tmp_path):
    _, data = _routed_org(5)
    data["model_access"] = [access("five", [t_alias("gpt-*")])]
    assert run_rule(tmp_path, "GW-ACC-002", data) == []  # exactly 5 is not "more than 5"
    rows = run_rule(tmp_path, "GW-ACC-002", data, params={"max_wildcard_matches": 4})
    assert ids(rows) == {uid("access", "five")}
    assert "more than 4 routed names" in rows[0]["message"]


def test_acc002_counts_distinct_aliases_not_route_rows(tmp_path):
    a, b = provider("a"), provider("b")
    routes = [route(p, f"gpt-{i}") for i in range(3) for p in (a, b)]  # 6 rows, 3 aliases
    data = {"providers": [a, b], "model_routes": routes,
            "model_access": [access("wide", [t_alias("gpt-*")])]}
    assert run_rule(tmp_path, "GW-ACC-002", data, params={"max_wildcard_matches": 3}) == []
    assert ids(run_rule(tmp_path, "GW-ACC-002", data, params={"max_wildcard_matches": 2})) == {uid("access", "wide")}


# ---------------------------------------------------------------- GW-ACC-003 default allow

def test_acc003_fires_on_default_allow_without_org_allowlist(tmp_path):
    data = {"governance_config": governance(default_model_access="allow"),
            "model_access": [access("eng only", [t_alias("gpt-1")]),
                             access("org deny", [t_model("o1*")], policy_type="denylist", scope_type="org"),
                             access("org allow off", [t_alias("gpt-1")], scope_type="org", enabled=False)]}
    rows = run_rule(tmp_path, "GW-ACC-003", data)
    assert ids(rows) == {"governance_config"}
    assert rows[0]["message"] == (
        "governance default_model_access is 'allow' and no enabled org-scope allowlist restricts LLM traffic: every routed "
        "model not on one of the 1 enabled denylist(s) is callable by every caller (3 access policies examined)")


def test_acc003_silent_with_deny_default_or_an_org_allowlist(tmp_path):
    deny = {"governance_config": governance(default_model_access="deny")}
    assert run_rule(tmp_path, "GW-ACC-003", deny) == []
    org_allow = {"governance_config": governance(default_model_access="allow"),
                 "model_access": [access("org approved", [t_alias("gpt-1")], scope_type="org")]}
    assert run_rule(tmp_path, "GW-ACC-003", org_allow) == []


def test_acc003_missing_default_means_allow_and_mcp_allowlist_does_not_count(tmp_path):
    data = {"governance_config": governance(default_model_access=DROP),
            "model_access": [access("org mcp", [t_alias("gpt-1")], scope_type="org", traffic_type="mcp")]}
    rows = run_rule(tmp_path, "GW-ACC-003", data)
    assert ids(rows) == {"governance_config"} and rows[0]["default_model_access"] == "allow"


# ---------------------------------------------------------------- GW-ACC-004 dangling targets

def test_acc004_reports_each_kind_of_target_matching_nothing(tmp_path):
    p, data = _routed_org(2)
    empty = route_group("empty", [])
    stale = route_group("stale", ["retired-alias"])
    good = route_group("good", ["gpt-0"])
    data.update({
        "model_route_groups": [empty, stale, good],
        "smart_models": [smart_model("smart-coder", ["gpt-0"])],
        "routing_policies": [routing_policy("smart-v2", ["gpt-1"])],
        "model_access": [
            access("all good", [t_alias("gpt-0"), t_alias("gpt*"), t_model("gpt-1"), t_provider(p),
                                t_provider_model(p, "claude-sonnet-4-5"), t_group(good),
                                t_alias("smart-coder"), t_alias("smart-v2")]),
            access("dangling deny", [t_alias("gpt-0"), t_model("o1-preview"), t_provider(uid("provider", "gone")),
                                     t_alias("mistral*")], policy_type="denylist"),
            access("dangling allow", [t_provider_model(p, "o3"), t_group(empty), t_group(stale),
                                      t_group(uid("route_group", "deleted"))]),
            access("dangling but off", [t_model("o1-preview")], enabled=False),
        ],
    })
    rows = run_rule(tmp_path, "GW-ACC-004", data)
    by_id = {r["resource_id"]: r for r in rows}
    assert set(by_id) == {uid("access", "dangling deny"), uid("access", "dangling allow")}
    deny = by_id[uid("access", "dangling deny")]
    assert deny["dangling_targets"] == 3
    assert deny["message"] == (
        f"denylist 'dangling deny' has target(s) matching nothing: model 'o1-preview' is not routed; "
        f"provider {uid('provider', 'gone')} does not exist; alias 'mistral*' is not routed")
    allow = by_id[uid("access", "dangling allow")]["message"]
    assert f"no route of provider {p['id']} matches model 'o3'" in allow
    assert f"route group {empty['id']} is empty" in allow
    assert f"none of the aliases of route group {stale['id']} is routed" in allow
    assert f"route group {uid('route_group', 'deleted')} does not exist" in allow


# ---------------------------------------------------------------- GW-ACC-005 disabled

def test_acc005_reports_disabled_only(tmp_path):
    data = {"model_access": [access("off", [t_alias("a"), t_alias("b")], enabled=False,
                                    last_modified_at="2026-10-02T08:00:00Z"),
                             access("on", [t_alias("a")])]}
    rows = run_rule(tmp_path, "GW-ACC-005", data)
    assert ids(rows) == {uid("access", "off")}
    assert rows[0]["message"] == "allowlist 'off' (scope group engineering, 2 target(s)) is disabled since 2026-10-02"


# ---------------------------------------------------------------- GW-ACC-006 provider target

def test_acc006_fires_on_provider_and_provider_star_targets_in_allowlists(tmp_path):
    p = provider("Anthropic Direct", model_provider="anthropic")
    data = {"providers": [p], "model_access": [
        access("whole provider", [t_provider(p)]),
        access("provider star", [t_provider_model(p, "*")]),
        access("unknown provider", [t_provider(uid("provider", "gone"))]),
        access("one model", [t_provider_model(p, "claude-sonnet-4-5")]),
        access("deny provider", [t_provider(p)], policy_type="denylist"),
        access("off", [t_provider(p)], enabled=False),
    ]}
    rows = run_rule(tmp_path, "GW-ACC-006", data)
    by_id = {r["resource_id"]: r for r in rows}
    assert set(by_id) == {uid("access", "whole provider"), uid("access", "provider star"),
                          uid("access", "unknown provider")}
    assert by_id[uid("access", "whole provider")]["message"] == (
        "allowlist 'whole provider' (scope group engineering) admits every current and future model of "
        "provider(s) 'Anthropic Direct'")
    assert uid("provider", "gone") in by_id[uid("access", "unknown provider")]["message"]
