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
from tests.factories.providers import provider
from tests.factories.rate_limits import rate_limit
from tests.factories.routes import route

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
}

P = provider("openai")
ROUTES = [route(P, "gpt-4o"), route(P, "gpt-4o-mini"), route(P, "team", "gpt-4o")]


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
    return {"providers": [P], "model_routes": ROUTES, "api_keys": keys, "rate_limits": limits,
            "token_budgets": budgets, "model_access": [allow],
            "governance_config": governance(default_model_access=draw(st.sampled_from(["allow", "deny"])))}


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
}

RULES = [r for r in load_rules(engine=False) if not r.needs_previous]
PARAMS = effective_params(RULES, None)


def _findings(db: Path, org: dict, folder: Path) -> dict[str, set[str]]:
    sid = store_snapshot(db, org, taken_at="2026-11-27T00:00:00Z", folder=folder)
    with Database(db).reader(sandboxed=True) as con:
        snap = open_snapshot(con, sid)
        prepare(con, snap, RULES)
        out = {}
        for rule in RULES:
            res = evaluate_rule(con, snap, rule, PARAMS[rule.id], keep_rows=True)
            assert res.status != "error", (rule.id, res.error)
            out[rule.id] = {str(r["resource_id"]) for r in res.raw_rows()}
        return out


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
    before = _findings(root / "a.duckdb", org, root / "a")
    after = _findings(root / "b.duckdb", mutated, root / "b")
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
    assert not problems, problems
