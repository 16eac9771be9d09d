"""Issue 14: one property over the whole catalog, not case by case.

Every rule is classified by what makes it fire (its ``class:``, collected in :data:`CLASSES`).
For each family, mutations that weaken enforcement and mutations that tighten it are defined (:data:`WEAKEN`, :data:`TIGHTEN`).
Hypothesis builds a small organisation, applies one mutation, and asserts on the findings of every
rule (resource ids) evaluated through the public engine on real DuckDB:

* exposure rules: a weakening never makes a finding disappear; a tightening never adds one;
* availability rules: the mirror (a weakening never adds a finding; a tightening never removes one).

A rule that violates its class is a bug in the rule or in its class; the only tolerated exceptions
are in :data:`DECIDED`, each with the human decision that explains it.

``GWAUDIT_PROPERTY_EXAMPLES`` raises the number of examples (CI runs a bounded number).
"""
from __future__ import annotations

import copy
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from gwaudit.db import Database
from gwaudit.rules.catalog import load_rules
from gwaudit.rules.engine import evaluate_rule, open_snapshot, prepare
from gwaudit.rules.loader import effective_params
from gwaudit.testing import store_snapshot
from tests.factories.access import access
from tests.factories.budgets import budget
from tests.factories.governance import governance
from tests.factories.keys import api_key
from tests.factories.pricing import price
from tests.factories.providers import provider
from tests.factories.rate_limits import rate_limit
from tests.factories.routes import route, route_group
from tests.factories.smart_models import smart_model

EXPOSURE, AVAILABILITY, HYGIENE, CHANGE = "exposure", "availability", "hygiene", "change-control"

# Each rule's class is in its YAML (``class:``); every built-in rule has one (tests/rules/test_catalog.py).
CLASSES: dict[str, str] = {r.id: r.rule_class for r in load_rules(engine=False) if r.rule_class}

DECIDED: dict[tuple[str, str], str] = {
    # (rule, mutation): why the finding may move
    ("GW-ACC-001", "allowlist disabled"): "a disabled allowlist admits nothing itself; GW-ACC-005 reports it",
    ("GW-ACC-002", "allowlist disabled"): "as GW-ACC-001; GW-ACC-005 reports the disabled policy",
    ("GW-BUD-002", "budget disabled"): "GW-BUD-002 reports disabled org budgets too; GW-BUD-005 reports them",
    **{("GW-BUD-004", m): "the budget no longer meters LLM spend, so its undercount is moot; GW-BUD-001 / "
                          "GW-BUD-005 report the budget itself"
       for m in ("budget disabled", "budget moved to mcp", "budget limits removed")},
    ("GW-BUD-004", "budget enabled"): "the mirror: an enabled cost budget now meters the unpriced routes, so "
                                      "their undercount matters (the exposure existed; the budget made it count)",
    ("GW-KEY-005", "key given an expiry"): "a key that never expired (GW-KEY-001) given an expiry more than "
                                           "max_key_lifetime_days after its creation moves to GW-KEY-005",
}

P = provider("openai")
ROUTES = [route(P, "gpt-4o"), route(P, "gpt-4o-mini"), route(P, "team", "gpt-4o"),
          route(P, "local-llm", pricing_source="none")]
PRICES = [price("gpt-4o"), price("gpt-4o-mini")]


def _org(draw) -> dict:
    n_keys = draw(st.integers(1, 3))
    keys = [api_key(f"k{i}", group_name=draw(st.sampled_from([None, "ci"])),
                    expires_at=draw(st.sampled_from([None, "2027-01-31T00:00:00Z"])),
                    created_at=draw(st.sampled_from(["2026-11-01T00:00:00Z", "2025-01-01T00:00:00Z"])))
            for i in range(n_keys)]
    limits = [rate_limit("org rl", requests_per_minute=draw(st.sampled_from([None, 600])),
                         tokens_per_minute=draw(st.sampled_from([None, 10_000])),
                         traffic_type=draw(st.sampled_from(["all", "llm", "mcp"])),
                         enabled=draw(st.booleans()))]
    limits += [rate_limit(f"key rl {k['name']}", "api_key", scope_id=k["id"]) for k in keys if draw(st.booleans())]
    budgets = [budget("org b", token_limit=draw(st.sampled_from([0, 1000, 500_000_000])),
                      cost_limit=draw(st.sampled_from([None, 100.0])),
                      action_on_exhaust=draw(st.sampled_from(["block", "alert"])),
                      enabled=draw(st.booleans()))]
    budgets += [budget("ci b", "group", scope_value="ci")] if draw(st.booleans()) else []
    allow = access("allow", [{"kind": "model_alias", "alias": draw(st.sampled_from(["gpt-4o", "gpt-*", "*"]))}],
                   scope_type=draw(st.sampled_from(["org", "group"])), enabled=draw(st.booleans()))
    group = route_group("approved", draw(st.sampled_from([["gpt-4o"], ["gpt-4o", "team"]])))
    if draw(st.booleans()):
        allow["targets"] = [{"kind": "route_group", "group_id": group["id"]}]
    routes = copy.deepcopy(ROUTES)
    if draw(st.booleans()):
        routes[1]["effective_pricing"]["source"] = "none"
    prices = [p for p in PRICES if draw(st.booleans())]
    smart = smart_model("smart", draw(st.sampled_from([["gpt-4o"], ["gpt-4o", "gpt-4o-mini"]])),
                        determiner="gpt-4o-mini")
    return {"providers": [P], "model_routes": routes, "api_keys": keys, "rate_limits": limits,
            "token_budgets": budgets, "model_access": [allow], "model_pricing": prices,
            "model_route_groups": [group], "smart_models": [smart],
            "governance_config": governance(default_model_access=draw(st.sampled_from(["allow", "deny"])),
                                            require_pricing_for_mappings=draw(st.booleans()))}


def _edit(family, index, fn):
    def apply(org):
        items = org[family]
        if index < len(items):
            fn(items[index])
    return apply


def _pricing_source(source):
    def apply(org):
        for r in org["model_routes"]:
            if r["model_alias"] != "local-llm" or source == "none":
                r["effective_pricing"] = {**r["effective_pricing"], "source": source}
    return apply


def _add_slot(alias):
    return _edit("smart_models", 0, lambda s: s["slots"].append({"model_alias": alias, "label": "added"})
                 if all(x["model_alias"] != alias for x in s["slots"]) else None)


def _drop_last_slot(s):
    if len(s["slots"]) > 1:
        s["slots"].pop()


def _members(change):
    return _edit("model_route_groups", 0, lambda g: g.update(model_aliases=sorted(change(set(g["model_aliases"])))))


def _set(family, index, **kw):
    def apply(org):
        items = org[family]
        if index < len(items):
            items[index] = {**items[index], **kw}
    return apply


WEAKEN = {
    "rate limit removed (null)": _set("rate_limits", 0, requests_per_minute=None, tokens_per_minute=None),
    "rate limit raised": _set("rate_limits", 0, requests_per_minute=10**9, tokens_per_minute=10**9),
    "rate limit disabled": _set("rate_limits", 0, enabled=False),
    "rate limit moved to mcp": _set("rate_limits", 0, traffic_type="mcp"),
    "per-key rate limit disabled": _set("rate_limits", 1, enabled=False),
    "budget disabled": _set("token_budgets", 0, enabled=False),
    "budget made non-blocking": _set("token_budgets", 0, action_on_exhaust="warn"),
    "budget limits removed": _set("token_budgets", 0, token_limit=0, cost_limit=None),
    "budget moved to mcp": _set("token_budgets", 0, traffic_type="mcp"),
    "allowlist widened to *": _set("model_access", 0, targets=[{"kind": "model_alias", "alias": "*"}]),
    "allowlist disabled": _set("model_access", 0, enabled=False),
    "default access allow": lambda org: org["governance_config"].update(default_model_access="allow"),
    "key expiry removed": _set("api_keys", 0, expires_at=None),
    "key aged": _set("api_keys", 0, created_at="2024-01-01T00:00:00Z"),
    "key unbound from its group": _set("api_keys", 0, group_name=""),
    "route pricing disabled": _pricing_source("none"),
    "price removed": lambda org: org["model_pricing"].pop() if org["model_pricing"] else None,
    "every price removed": lambda org: org["model_pricing"].clear(),
    "route group member added": _members(lambda m: m | {"gpt-4o-mini"}),
    "route group gains the unpriced model": _members(lambda m: m | {"local-llm"}),
    "smart-model slot on the unpriced model": _add_slot("local-llm"),
    "smart-model slot added": _add_slot("gpt-4o-mini"),
    "pricing no longer required": lambda org: org["governance_config"].update(require_pricing_for_mappings=False),
}

TIGHTEN = {
    "rate limit set": _set("rate_limits", 0, requests_per_minute=60, tokens_per_minute=1000),
    "rate limit enabled": _set("rate_limits", 0, enabled=True),
    "rate limit on all traffic": _set("rate_limits", 0, traffic_type="all"),
    "budget enabled": _set("token_budgets", 0, enabled=True),
    "budget made blocking": _set("token_budgets", 0, action_on_exhaust="block"),
    "budget limit set": _set("token_budgets", 0, token_limit=1000),
    "allowlist narrowed": _set("model_access", 0, targets=[{"kind": "model_alias", "alias": "gpt-4o"}]),
    "default access deny": lambda org: org["governance_config"].update(default_model_access="deny"),
    "key given an expiry": _set("api_keys", 0, expires_at="2026-12-31T00:00:00Z"),
    "route priced by the gateway": _pricing_source("org_catalog"),
    "every model priced": lambda org: org.update(model_pricing=copy.deepcopy(PRICES)),
    "route group member removed": _members(lambda m: m - {"team"}),
    "smart-model slot removed": _edit("smart_models", 0, _drop_last_slot),
    "pricing required": lambda org: org["governance_config"].update(require_pricing_for_mappings=True),
}

RULES = [r for r in load_rules(engine=False) if not r.needs_previous]
PARAMS = effective_params(RULES, None)


def _findings(db: Path, org: dict, folder: Path, rules=None) -> dict[str, set[str]]:
    """The resource ids every rule (or each of ``rules``) reports on ``org``, stored as one more
    snapshot of ``db`` (all taken at the same instant, so time-based rules judge them alike)."""
    rules = RULES if rules is None else rules
    sid = store_snapshot(db, org, taken_at="2026-11-27T00:00:00Z", folder=folder)
    with Database(db).reader(sandboxed=True) as con:
        snap = open_snapshot(con, sid)
        prepare(con, snap, rules)
        out = {}
        for rule in rules:
            res = evaluate_rule(con, snap, rule, PARAMS[rule.id], keep_rows=True)
            assert res.status != "error", (rule.id, res.error)
            out[rule.id] = {str(r["resource_id"]) for r in res.raw_rows()}
        return out


def _violations(before: dict[str, set[str]], after: dict[str, set[str]], direction: str, name: str) -> list[str]:
    problems = []
    for rule_id, cls in CLASSES.items():
        if cls not in (EXPOSURE, AVAILABILITY) or rule_id not in before or (rule_id, name) in DECIDED:
            continue
        grows = (direction == "weaken") == (cls == EXPOSURE)   # findings may only grow
        lost, gained = before[rule_id] - after[rule_id], after[rule_id] - before[rule_id]
        if grows and lost:
            problems.append(f"{rule_id} ({cls}) lost {sorted(lost)} when {name}")
        if not grows and gained:
            problems.append(f"{rule_id} ({cls}) gained {sorted(gained)} when {name}")
    return problems


def test_every_rule_is_classified():
    ids = {r.id for r in load_rules(engine=False)}
    assert set(CLASSES) == ids, (ids - set(CLASSES), set(CLASSES) - ids)


EXAMPLES = int(os.environ.get("GWAUDIT_PROPERTY_EXAMPLES", "8"))


@settings(max_examples=EXAMPLES, deadline=None, derandomize="GWAUDIT_PROPERTY_EXAMPLES" not in os.environ,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
          phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(data=st.data())
def test_enforcement_mutations_move_findings_one_way(tmp_path_factory, data):
    org = _org(data.draw)
    direction = data.draw(st.sampled_from(["weaken", "tighten"]))
    table = WEAKEN if direction == "weaken" else TIGHTEN
    name = data.draw(st.sampled_from(sorted(table)))
    mutated = copy.deepcopy(org)
    table[name](mutated)
    root = tmp_path_factory.mktemp("prop")
    before = _findings(root / "org.duckdb", org, root / "a")
    after = _findings(root / "org.duckdb", mutated, root / "b")
    problems = _violations(before, after, direction, name)
    assert not problems, problems


# A fixed organisation in which every mutation has something to act on: CI applies each mutation
# once (the random examples above sample only a few of them).
def _fixed_org(loose: bool) -> dict:
    """A tight organisation (every weakening changes something in it) or a loose one (every
    tightening does)."""
    keys = [api_key("k0", group_name=None if loose else "ci", expires_at=None if loose else "2027-01-31T00:00:00Z",
                    created_at="2025-01-01T00:00:00Z" if loose else "2026-11-01T00:00:00Z"),
            api_key("k1", group_name="ci", expires_at="2027-01-31T00:00:00Z", created_at="2026-11-01T00:00:00Z")]
    group = route_group("approved", ["gpt-4o", "team", "local-llm"] if loose else ["gpt-4o", "team"])
    routes = copy.deepcopy(ROUTES)
    if loose:
        routes[1]["effective_pricing"]["source"] = "none"
    target = {"kind": "model_alias", "alias": "*"} if loose else {"kind": "route_group", "group_id": group["id"]}
    return {"providers": [P], "model_routes": routes, "api_keys": keys,
            "rate_limits": [rate_limit("org rl", requests_per_minute=None if loose else 600,
                                       traffic_type="mcp" if loose else "all", enabled=not loose),
                            rate_limit("key rl k1", "api_key", scope_id=keys[1]["id"])],
            "token_budgets": [budget("org b", token_limit=0 if loose else 1000, cost_limit=100.0,
                                     action_on_exhaust="alert" if loose else "block", enabled=not loose)],
            "model_access": [access("allow", [target], scope_type="org")],
            "model_pricing": [] if loose else copy.deepcopy(PRICES), "model_route_groups": [group],
            "smart_models": [smart_model("smart", ["gpt-4o", "gpt-4o-mini", "local-llm"] if loose else ["gpt-4o"],
                                         determiner="gpt-4o-mini")],
            "governance_config": governance(default_model_access="allow" if loose else "deny",
                                            require_pricing_for_mappings=not loose)}


MUTATIONS = [("weaken", n) for n in sorted(WEAKEN)] + [("tighten", n) for n in sorted(TIGHTEN)]

@pytest.fixture(scope="module")
def fixed_before(tmp_path_factory):
    root = tmp_path_factory.mktemp("fixed")
    rules = list(RULES)
    return root, {loose: _findings(root / "org.duckdb", _fixed_org(loose), root / f"base-{loose}", rules)
                  for loose in (False, True)}


@pytest.mark.parametrize("direction,name", MUTATIONS, ids=[f"{d}: {n}" for d, n in MUTATIONS])
def test_each_mutation_once(fixed_before, direction, name):
    root, befores = fixed_before
    loose = direction == "tighten"
    before, base, mutated = befores[loose], _fixed_org(loose), _fixed_org(loose)
    (WEAKEN if direction == "weaken" else TIGHTEN)[name](mutated)
    changed = {f for f in mutated if mutated[f] != base[f]}
    assert changed, f"{name} changes nothing in the fixed organisation"
    rules = [r for r in RULES if changed & set(r.families)]
    after = _findings(root / "org.duckdb", mutated, root / f"m-{len(list(root.iterdir()))}", rules)
    problems = _violations({r.id: before[r.id] for r in rules}, after, direction, name)
    assert not problems, problems
