"""Effective access and spend exposure on a small org written here, every cell derived by hand.

The org (snapshot taken Friday 2026-11-27 06:00 UTC, governance default_model_access = allow):

  providers  P1 "OpenAI" and P2 "Anthropic", both enabled and healthy
  routes     P1: gpt (1:1, gpt)  chat -> gpt      priced (pricing rule gpt)   in 1 / out 4   -> 4 per million
             P2: opus (1:1)                       priced (rule opus, anthropic) in 15 / out 75 -> 75
             P2: haiku (1:1)                      priced (rule haiku, anthropic) in 1 / out 5  -> 5
             (route_prices resolves the org-wide pricing rules; the higher of input/output counts)
  smart      smart: slots chat, opus
  group G    "General": [chat]
  policies   A1 allowlist  group eng   [route_group G, model_alias smart]
             D1 denylist   role intern [model_alias chat]
             D2 denylist   org         [model haiku*]
             D3 denylist   org         [model_alias gpt]   enabled = false   -> ignored
             D4 denylist   org         [model_alias chat]  traffic mcp       -> ignored
  keys       K1 group eng (active); K2 user U1 (active); K3 group eng (revoked)
  limits     RL1 group eng  tpm 100,000
             RL2 api_key K2 rpm 10 only  -> 10 x 1,000,000 (ceiling) = 10,000,000 tokens/min
  budgets    B1 group eng   daily, cost_limit 50, block, status cost_used 20 -> 30 left

Principals: org, group:eng, role:intern (named by policies/limits), api_key K1, K2, K3. Models: gpt,
chat, opus, haiku (upstream / alias) and smart.

Access (deny wins; every applicable allowlist restricts; else default allow):
  org:        gpt allow default; chat allow default; opus allow default; haiku deny D2;
              smart allow default (candidates chat->gpt and opus; D2 names neither).
  group:eng:  gpt deny A1 (not named); chat allow A1 (via G); opus deny A1; haiku deny D2 (deny wins
              over A1 not naming it: D2 decides); smart allow A1 (alias named), via slots chat, opus.
  role:intern: gpt allow default; chat deny D1; opus allow default; haiku deny D2; smart allow
              default (D1 names the alias chat, the request's alias is smart), via slots chat, opus.
  K1, K3 = group:eng (org + own id + group eng); K2 = org (org + own id + user U1).

Exposure (USD):
  group:eng / K1: reaches chat (4) and smart (chat 4, opus 75) -> price 75 per million.
     RL1: 100,000 tok/min x 60 x 75 / 1e6 = 450 per hour; 10,800 per 24 h.
     B1: 1 h: no UTC midnight in (06:00, 07:00] -> 30 left. 24 h: one midnight -> 30 + 50 = 80.
     period: to the end of B1's day (2026-11-28 00:00) = 18 h, no reset before it -> 30
             (RL1 over 18 h = 8,100). => 30 / 80 / 30, all bound by B1.
  K2: reaches gpt 4, chat 4, opus 75, smart 75 -> 75. RL2: 10,000,000 x 60 x 75 / 1e6 = 45,000 per
     hour; 1,080,000 per 24 h; no budget -> 720 h: 32,400,000. Bound by RL2 (rpm x ceiling).
  org, role:intern: no control applies, price 75 -> unbounded.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gwaudit.access.query import access, access_drift, exposure
from gwaudit.db import Database
from gwaudit.testing import store_snapshot
from tests.factories.access import access as policy, t_alias, t_group, t_model
from tests.factories.budgets import budget, budget_status
from tests.factories.governance import governance
from tests.factories.ids import DROP
from tests.factories.keys import api_key
from tests.factories.pricing import price
from tests.factories.providers import provider
from tests.factories.rate_limits import rate_limit
from tests.factories.routes import route, route_group
from tests.factories.smart_models import smart_model

NOW = "2026-11-27T06:00:00Z"
U1 = "11111111-1111-4111-8111-111111111111"


def _priced(r: dict[str, Any], i: float, o: float) -> dict[str, Any]:
    r["effective_pricing"] = {**r["effective_pricing"], "input_cost_per_million_tokens": i,
                              "output_cost_per_million_tokens": o}
    return r


def org() -> dict[str, Any]:
    p1, p2 = provider("OpenAI"), provider("Anthropic", model_provider="anthropic")
    g = route_group("General", ["chat"])
    b1 = budget("B1", "group", scope_value="eng", period="daily", token_limit=0, cost_limit=50.0)
    k1 = api_key("K1", group_name="eng")
    k2 = api_key("K2", group_name=None, user_id=U1, kind="user")
    k3 = api_key("K3", group_name="eng", revoked_at="2026-11-20T00:00:00Z")
    return {
        "providers": [p1, p2],
        "model_routes": [_priced(route(p1, "gpt"), 1, 4), _priced(route(p1, "chat", "gpt"), 1, 4),
                         _priced(route(p2, "opus"), 15, 75), _priced(route(p2, "haiku"), 1, 5)],
        "smart_models": [smart_model("smart", ["chat", "opus"])],
        "model_pricing": [price("gpt", 1, 4), price("opus", 15, 75, model_provider="anthropic"),
                          price("haiku", 1, 5, model_provider="anthropic")],
        "model_route_groups": [g],
        "model_access": [
            policy("A1", [t_group(g), t_alias("smart")], "allowlist", "group", scope_value="eng"),
            policy("D1", [t_alias("chat")], "denylist", "role", scope_value="intern"),
            policy("D2", [t_model("haiku*")], "denylist", "org"),
            policy("D3", [t_alias("gpt")], "denylist", "org", enabled=False),
            policy("D4", [t_alias("chat")], "denylist", "org", traffic_type="mcp"),
        ],
        "governance_config": governance(default_model_access="allow"),
        "api_keys": [k1, k2, k3],
        "rate_limits": [rate_limit("RL1", "group", scope_value="eng", requests_per_minute=None,
                                   tokens_per_minute=100_000),
                        rate_limit("RL2", "api_key", scope_id=k2["id"], requests_per_minute=10)],
        "token_budgets": [b1],
        "token_budget_status": [budget_status(b1, cost_pct=40.0)],
    }


EXPECTED = {  # principal -> model -> (decision, decided_by)
    "org": {"gpt": ("allow", "default (allow)"), "chat": ("allow", "default (allow)"),
            "opus": ("allow", "default (allow)"), "haiku": ("deny", "D2"), "smart": ("allow", "default (allow)")},
    "group:eng": {"gpt": ("deny", "A1"), "chat": ("allow", "A1"), "opus": ("deny", "A1"), "haiku": ("deny", "D2"),
                  "smart": ("allow", "A1")},
    "role:intern": {"gpt": ("allow", "default (allow)"), "chat": ("deny", "D1"),
                    "opus": ("allow", "default (allow)"), "haiku": ("deny", "D2"),
                    "smart": ("allow", "default (allow)")},
}


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Database:
    root = tmp_path_factory.mktemp("access")
    d = Database(root / "a.duckdb")
    store_snapshot(d, org(), taken_at=NOW)
    return d


def _cells(result) -> dict[str, dict[str, tuple[str, str]]]:
    out: dict[str, dict[str, tuple[str, str]]] = {}
    for r in result.records():
        out.setdefault(r["principal"], {})[r["model"]] = (r["decision"], r["decided_by"])
    return out


def test_every_cell_of_the_matrix(db):
    cells = _cells(access(db, include_keys=True))
    d = org()
    k1, k2, k3 = (k["id"] for k in d["api_keys"])
    assert cells == {**EXPECTED, f"api_key:{k1}": EXPECTED["group:eng"], f"api_key:{k2}": EXPECTED["org"],
                     f"api_key:{k3}": EXPECTED["group:eng"]}


def test_filters_and_slots(db):
    rows = access(db, principal="group:eng", model="smart").records()
    assert [(r["decision"], r["decided_by"], r["via_slots"]) for r in rows] == [("allow", "A1", ["chat", "opus"])]
    who = {r["principal"] for r in access(db, model="chat", decision="allow").records()}
    assert who == {"org", "group:eng"}  # keys left out without --include-keys
    assert [r["model"] for r in access(db, principal="K1", decision="allow").records()] == ["chat", "smart"]


def test_exposure_figures(db):
    rows = {r["principal"]: r for r in exposure(db, active_only=False).records()}
    d = org()
    k1, k2, k3 = (k["id"] for k in d["api_keys"])
    for p in ("group:eng", f"api_key:{k1}", f"api_key:{k3}"):
        r = rows[p]
        assert (r["exposure_1h"], r["exposure_24h"], r["exposure_period"], r["period_hours"]) == (30, 80, 30, 18)
        assert r["binding_24h"] == "budget 'B1'" and r["max_price_per_million"] == 75
        assert not r["unbounded"]
    r = rows[f"api_key:{k2}"]
    assert (r["exposure_1h"], r["exposure_24h"], r["exposure_period"]) == (45_000, 1_080_000, 32_400_000)
    assert r["binding_1h"] == "rate_limit 'RL2' (rpm x ceiling)"
    for p in ("org", "role:intern"):
        assert rows[p]["unbounded"] and rows[p]["exposure_24h"] is None and rows[p]["binding_24h"] == "unbounded"
    # the revoked key is left out by default; unbounded first, then the largest
    order = [r["principal"] for r in exposure(db).records()]
    assert f"api_key:{k3}" not in order and order[:2] == ["org", "role:intern"] and order[2] == f"api_key:{k2}"


_RPM = (45_000, "rate_limit 'RL2' (rpm x ceiling)")  # K2's figure under RL2 (rpm 10) alone


@pytest.mark.parametrize("rl2,b2,expected", [
    # what limits nothing bounds nothing: the same reading as rate_limit_controls / budget_controls
    ({"tokens_per_minute": 0}, None, _RPM),                                 # tpm 0 is no tpm: rpm x ceiling
    ({"requests_per_minute": 0}, None, (None, "unbounded")),                # rpm 0 and no tpm: no limit
    ({"requests_per_minute": None}, None, (None, "unbounded")),
    ({"tokens_per_minute": 50_000}, None, (225, "rate_limit 'RL2'")),       # both: the smaller (tpm)
    ({"tokens_per_minute": 50_000, "requests_per_minute": 0}, None, (225, "rate_limit 'RL2'")),  # rpm 0: tpm alone
    ({"enabled": DROP}, None, _RPM),                                        # missing enabled = true
    ({"enabled": False}, None, (None, "unbounded")),
    ({"traffic_type": "mcp"}, None, (None, "unbounded")),
    ({"traffic_type": DROP}, None, _RPM),                                   # missing traffic = all
    ({"target_mcp_server_id": "5d3c3c1e-0000-4000-8000-000000000001"}, None, (None, "unbounded")),
    ({"target_model_alias": "gpt"}, None, (None, "unbounded")),            # targeted: bounds part only
    ({"member_of_group": "eng"}, None, (None, "unbounded")),
    # a budget on K2 bounds it at its cost limit (no status: the whole limit), when it limits and blocks
    ({}, {"cost_limit": 10.0, "token_limit": None}, (10, "budget 'B2'")),
    ({}, {"cost_limit": 10.0, "token_limit": 0}, (10, "budget 'B2'")),
    ({}, {"cost_limit": 10.0, "token_limit": None, "action_on_exhaust": DROP}, (10, "budget 'B2'")),  # missing = block
    ({}, {"cost_limit": 10.0, "token_limit": None, "action_on_exhaust": None}, (10, "budget 'B2'")),
    ({}, {"cost_limit": 10.0, "token_limit": None, "action_on_exhaust": "throttle"}, _RPM),  # only slows
    ({}, {"cost_limit": 10.0, "token_limit": None, "action_on_exhaust": "alert"}, _RPM),
    ({}, {"cost_limit": 0, "token_limit": None}, _RPM),                     # a limit of 0 limits nothing
    ({}, {"cost_limit": 0, "token_limit": 0}, _RPM),
    ({}, {"cost_limit": None, "token_limit": 1_000_000}, (75, "budget 'B2'")),  # 1M tokens x 75 per million
    # a budget that is limiting but targeted (alias gpt exists: its target matches) or per-member
    # bounds part of the traffic only: RL2 still binds
    ({}, {"cost_limit": 10.0, "token_limit": None, "target_model_alias": "gpt"}, _RPM),
    ({}, {"cost_limit": 10.0, "token_limit": None, "member_of_group": "eng"}, _RPM),
])
def test_exposure_counts_only_what_limits(tmp_path, rl2, b2, expected):
    """spend_controls reads rate_limit_controls / budget_controls: a control the rules call not
    limiting (a 0 or null limit, disabled, MCP-only, wrong scope) never bounds exposure, and one they
    call limiting does (unless targeted or per-member, or a budget that does not block)."""
    data = org()
    k2 = data["api_keys"][1]
    # RL2 as org() builds it, with the case's changes (the factories leave DROP fields out)
    data["rate_limits"][1] = rate_limit("RL2", "api_key", scope_id=k2["id"], **{"requests_per_minute": 10, **rl2})
    if b2 is not None:
        data["token_budgets"].append(budget("B2", "api_key", scope_id=k2["id"], period="monthly", **b2))
    d = Database(tmp_path / "e.duckdb")
    store_snapshot(d, data, taken_at=NOW)
    r = {x["principal"]: x for x in exposure(d, active_only=False).records()}[f"api_key:{k2['id']}"]
    assert (r["exposure_1h"], r["binding_1h"]) == expected
    assert r["unbounded"] == (expected[0] is None)


def _exposure_of(tmp_path, data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    d = Database(tmp_path / f"u{len(list(tmp_path.iterdir()))}.duckdb")
    store_snapshot(d, data, taken_at=NOW)
    return {x["principal"]: x for x in exposure(d, active_only=False).records()}


def _unpriced_opus() -> dict[str, Any]:
    """org() with opus's pricing rule removed: its route is metered (per_token) but has no price."""
    data = org()
    data["model_pricing"] = [p for p in data["model_pricing"] if p["model_pattern"] != "opus"]
    return data


def test_an_unpriced_route_is_billable_at_an_unknown_price(tmp_path):
    """The provider bills an unpriced metered route; the gateway records $0. The figures count its
    tokens at $0 (a lower bound) and say so; a budget with only a cost limit does not bound it."""
    data = _unpriced_opus()
    k1, k2 = data["api_keys"][0]["id"], data["api_keys"][1]["id"]
    rows = _exposure_of(tmp_path, data)
    r = rows[f"api_key:{k2}"]  # reaches gpt (4), chat (4), opus (unpriced), smart (via opus)
    assert (r["max_price_per_million"], r["unpriced_model"], r["unbounded"]) == (4, "opus", False)
    assert (r["exposure_1h"], r["binding_1h"]) == (10_000_000 * 60 * 4 / 1e6, "rate_limit 'RL2' (rpm x ceiling)")
    # eng (and K1): B1 has only a cost limit (50), so it no longer bounds them: RL1 does
    # (100,000 tok/min x 60 x 4 / 1e6 = 24 per hour, 576 per 24 h)
    for p in ("group:eng", f"api_key:{k1}"):
        assert (rows[p]["exposure_1h"], rows[p]["exposure_24h"], rows[p]["binding_24h"]) == (24, 576, "rate_limit 'RL1'")
        assert rows[p]["unpriced_model"] == "smart"  # eng reaches opus only through smart's slot
    # priced, the same org is bound by B1 as before
    assert _exposure_of(tmp_path, org())["group:eng"]["binding_24h"] == "budget 'B1'"


@pytest.mark.parametrize("b2,expected", [
    ({"cost_limit": 10.0, "token_limit": None}, (None, "unbounded")),        # a cost limit never sees opus
    ({"cost_limit": 10.0, "token_limit": 0}, (None, "unbounded")),
    ({"cost_limit": 10.0, "token_limit": 1_000_000}, (4, "budget 'B2'")),    # 1M tokens x 4 per million
    ({"cost_limit": None, "token_limit": 1_000_000}, (4, "budget 'B2'")),
])
def test_only_a_token_limit_bounds_a_principal_that_reaches_an_unpriced_route(tmp_path, b2, expected):
    data = _unpriced_opus()
    k2 = data["api_keys"][1]
    del data["rate_limits"][1]  # RL2, K2's rate limit
    data["token_budgets"].append(budget("B2", "api_key", scope_id=k2["id"], **b2))
    r = _exposure_of(tmp_path, data)[f"api_key:{k2['id']}"]
    assert (r["exposure_1h"], r["binding_1h"]) == expected
    assert r["unbounded"] == (expected[0] is None)


def test_nothing_priced_is_unbounded_not_free(tmp_path):
    """Every route metered and unpriced: the highest known price is 0, yet the spend is real."""
    data = org()
    data["model_pricing"] = []
    del data["rate_limits"][1]
    k2 = data["api_keys"][1]["id"]
    r = _exposure_of(tmp_path, data)[f"api_key:{k2}"]
    assert (r["max_price_per_million"], r["unbounded"], r["binding_24h"], r["unpriced_model"]) == (0, True, "unbounded", "chat")
    assert (r["exposure_1h"], r["exposure_24h"], r["exposure_period"]) == (None, None, None)  # unknown, not 0
    # on providers that do not bill per token nothing is billable: 0, not unbounded
    for p in data["providers"]:
        p["billing_mode"] = "subscription"
    r = _exposure_of(tmp_path, data)[f"api_key:{k2}"]
    assert (r["exposure_24h"], r["unbounded"], r["binding_24h"], r["unpriced_model"]) == (0, False, "nothing billable reachable", None)


def test_a_budget_resets_at_each_period_boundary_in_the_horizon(tmp_path):
    """K2 (RL2 removed) under two blocking budgets of its own, no status (the whole limit left):
    W weekly cost 10 and M monthly cost 1,000. The period horizon runs to the end of the longest
    one's period: 2026-12-01 00:00 (Friday 11-27 06:00 + 3 days 18 h = 90 h). Weeks start on Monday:
    the horizon crosses 2026-11-30 00:00 once, so W allows 10 + 10 = 20 < M's 1,000. In 1 h and
    24 h (to Saturday 06:00) no week starts: 10."""
    data = org()
    k2 = data["api_keys"][1]["id"]
    del data["rate_limits"][1]
    data["token_budgets"] += [budget("W", "api_key", scope_id=k2, period="weekly", token_limit=None, cost_limit=10.0),
                              budget("M", "api_key", scope_id=k2, period="monthly", token_limit=None,
                                     cost_limit=1000.0)]
    r = _exposure_of(tmp_path, data)[f"api_key:{k2}"]
    assert (r["exposure_1h"], r["exposure_24h"], r["period_hours"], r["exposure_period"], r["binding_period"]) == (
        10, 10, 90, 20, "budget 'W'")


def test_a_budget_of_an_unknown_period_never_resets(tmp_path):
    """A period gwaudit does not know (hourly) gives no period end and no boundary: the budget allows
    what is left (the whole 10, no status) in every horizon, and the period horizon is 720 h."""
    data = org()
    k2 = data["api_keys"][1]["id"]
    del data["rate_limits"][1]
    data["token_budgets"].append(budget("H", "api_key", scope_id=k2, period="hourly", token_limit=None,
                                        cost_limit=10.0))
    r = _exposure_of(tmp_path, data)[f"api_key:{k2}"]
    assert (r["exposure_1h"], r["exposure_24h"], r["period_hours"], r["exposure_period"], r["binding_24h"]) == (
        10, 10, 720, 10, "budget 'H'")


def test_a_principal_that_reaches_nothing_costs_nothing(tmp_path):
    """role nobody: an allowlist naming no route denies it every model, so it has no row in
    access_signature_prices: price 0, no unpriced route, 0 models, exposure 0, not unbounded."""
    data = org()
    data["model_access"].append(policy("A9", [t_alias("no-such-model")], "allowlist", "role", scope_value="nobody"))
    r = _exposure_of(tmp_path, data)["role:nobody"]
    assert (r["exposure_1h"], r["exposure_24h"], r["exposure_period"], r["binding_24h"], r["unbounded"]) == (
        0, 0, 0, "nothing billable reachable", False)
    assert (r["max_price_per_million"], r["priciest_model"], r["unpriced_model"]) == (0, None, None)


def test_the_priciest_model_is_the_highest_priced(db):
    """group:eng reaches chat (4) and smart (75, through opus): priciest smart."""
    rows = {r["principal"]: r for r in exposure(db, active_only=False).records()}
    assert (rows["group:eng"]["priciest_model"], rows["group:eng"]["max_price_per_million"]) == ("smart", 75)


@pytest.mark.parametrize("target,eng,k2_unpriced", [
    # DX, model opus (upstream): names route opus for model opus and for smart (its opus slot). smart
    # stays allowed through its chat slot, and only allowed routes count: nobody reaches an unpriced
    # route. eng: B1 (cost only) bounds it again: 1 h RL1 24 (100,000 x 60 x 4 / 1e6) < B1 30;
    # 24 h B1 80 (30 + 50) < RL1 576.
    (t_model("opus"), (24, "rate_limit 'RL1'", 80, "budget 'B1'", None), None),
    # DX, model_alias opus: names the alias opus only; smart, which no policy of K2 names, is allowed by
    # the default with both its routes, so K2 reaches opus through it. eng (A1 names smart) as before:
    # RL1 24 per hour, 576 per 24 h.
    (t_alias("opus"), (24, "rate_limit 'RL1'", 576, "rate_limit 'RL1'", "smart"), "smart"),
])
def test_only_an_allowed_route_makes_a_model_unpriced(tmp_path, target, eng, k2_unpriced):
    data = _unpriced_opus()
    data["model_access"].append(policy("DX", [target], "denylist", "org"))
    k2 = data["api_keys"][1]["id"]
    rows = _exposure_of(tmp_path, data)
    r = rows["group:eng"]
    assert (r["exposure_1h"], r["binding_1h"], r["exposure_24h"], r["binding_24h"], r["unpriced_model"]) == eng
    assert rows[f"api_key:{k2}"]["unpriced_model"] == k2_unpriced


def test_a_denied_model_reaches_no_unpriced_route(tmp_path):
    """access_matrix.reaches_unpriced describes the allowed routes: eng is denied opus (A1 does not
    name it), so false there though opus's route is unpriced; true for smart (its opus slot)."""
    data = _unpriced_opus()
    d = Database(tmp_path / "m.duckdb")
    store_snapshot(d, data, taken_at=NOW)
    access(d)
    with d.reader(sandboxed=True) as con:
        got = dict(con.execute("SELECT model, reaches_unpriced FROM access_matrix WHERE principal = 'group:eng'").fetchall())
    assert got == {"gpt": False, "chat": False, "opus": False, "haiku": False, "smart": True}


def test_drift_names_the_cause(tmp_path):
    d = Database(tmp_path / "d.duckdb")
    before = org()
    store_snapshot(d, before, taken_at="2026-11-26T06:00:00Z")
    after = org()
    after["model_access"][2]["enabled"] = False  # D2 (org denylist haiku*) switched off
    store_snapshot(d, after, taken_at=NOW)
    drift = access_drift(d, "previous", "latest")
    gained = {(r["principal"], r["model"]) for r in drift.gained}
    k2 = before["api_keys"][1]["id"]
    # haiku: org, role:intern and K2 now allowed by the default; eng and K1 still denied by A1
    assert gained == {("org", "haiku"), ("role:intern", "haiku"), (f"api_key:{k2}", "haiku")}
    assert not drift.lost
    assert all(r["cause"] == "now allowed by default (allow) (was denied by D2)" for r in drift.gained)
    # gwaudit diff carries it: text groups by model and cause, csv has a row per pair, json the rows
    from gwaudit.diff import diff_snapshots
    from gwaudit.diffview import diff_csv, diff_text

    diff = diff_snapshots(d, "previous", "latest")
    assert diff.counts()["access_gained"] == 3 and diff.to_dict()["access"]["status"] == "compared"
    assert "+ haiku  org, role:intern, 1 key: now allowed by default (allow) (was D2)" in diff_text(diff)
    assert diff_csv(diff).count("\naccess,,gained,") == 3
    assert diff_snapshots(d, "previous", "latest", families=["model_access"]).access is None

    # the rules: GW-ACCESS-001 reports the cause, D2, with the three principals that gained haiku
    # (not eng, not the revoked K3); GW-SPEND-002 (max 1000) K2 alone (1,080,000 in 24 h; K1 80);
    # GW-SPEND-001 nobody (every active key has a bounding control). The report carries both.
    from gwaudit.report.data import build_report_data
    from gwaudit.rules import audit

    result = audit(d, "latest")
    found = {(f.rule_id, f.resource_id) for f in result.findings}
    d2 = before["model_access"][2]["id"]
    assert {r for r in found if r[0] == "GW-ACCESS-001"} == {("GW-ACCESS-001", d2)}
    [msg] = [f.message for f in result.findings if f.rule_id == "GW-ACCESS-001"]
    assert msg == ("3 principals (org, role:intern and 1 active key) can now reach 1 model that D2 denied "
                   "before (haiku); now allowed by default (allow)")
    assert {r for r in found if r[0].startswith("GW-SPEND")} == {("GW-SPEND-002", k2)}
    data = build_report_data(d)
    assert [(a["change"], a["model"], a["scopes"], a["keys"]) for a in data.access_changes] == [
        ("gained", "haiku", ["org", "role:intern"], 1)]
    assert [e["principal"] for e in data.exposures][:2] == ["org", "role:intern"]


# ---------------------------------------------------------------- properties

EXAMPLES = int(os.environ.get("GWAUDIT_HYPOTHESIS_EXAMPLES", "5"))
SCOPES = [("org", None), ("group", "eng"), ("role", "intern")]
TARGETS = [t_alias("gpt"), t_alias("chat"), t_alias("sm*"), t_model("gpt"), t_model("opus"), t_model("*")]


def _allowed(d: Database) -> set[tuple[str, str]]:
    return {(r["principal"], r["model"]) for r in access(d, include_keys=True, decision="allow").records()}


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scope=st.sampled_from(SCOPES), targets=st.lists(st.sampled_from(TARGETS), min_size=1, max_size=3))
def test_adding_a_denylist_never_grants(tmp_path_factory, scope, targets):
    d = Database(tmp_path_factory.mktemp("prop") / "p.duckdb")
    data = org()
    store_snapshot(d, data, taken_at="2026-11-26T06:00:00Z")
    before = _allowed(d)
    kw = {"scope_value": scope[1]} if scope[1] else {}
    data["model_access"].append(policy("Dx", targets, "denylist", scope[0], **kw))
    store_snapshot(d, data, taken_at=NOW)
    assert _allowed(d) <= before


ALIASES = ["gpt", "chat", "opus", "haiku", "smart", "nope"]


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(members=st.lists(st.sampled_from(ALIASES), min_size=1, max_size=3, unique=True))
def test_adding_a_member_to_an_allowlisted_group_never_removes_access(tmp_path_factory, members):
    # Only allowlists (A1) name General here. A group a denylist names is the opposite case: a member
    # added to it blocks more, so the property holds for groups that allowlists alone name.
    d = Database(tmp_path_factory.mktemp("prop") / "g.duckdb")
    data = org()
    store_snapshot(d, data, taken_at="2026-11-26T06:00:00Z")
    before = _allowed(d)
    g = data["model_route_groups"][0]
    g["model_aliases"] = sorted(set(g["model_aliases"]) | set(members))
    store_snapshot(d, data, taken_at=NOW)
    assert _allowed(d) >= before


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(which=st.sampled_from(["D1", "D2"]), extra=st.lists(st.sampled_from(TARGETS), max_size=2))
def test_disabling_a_denylist_never_removes_access(tmp_path_factory, which, extra):
    d = Database(tmp_path_factory.mktemp("prop") / "n.duckdb")
    data = org()
    pol = next(p for p in data["model_access"] if p["name"] == which)
    pol["targets"] = pol["targets"] + extra
    store_snapshot(d, data, taken_at="2026-11-26T06:00:00Z")
    before = _allowed(d)
    pol["enabled"] = False
    store_snapshot(d, data, taken_at=NOW)
    assert _allowed(d) >= before


def _exposures(d: Database) -> dict[str, tuple]:
    return {r["principal"]: (r["exposure_1h"], r["exposure_24h"], r["exposure_period"])
            for r in exposure(d, active_only=False).records()}


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(which=st.sampled_from([("rate_limits", 0), ("rate_limits", 1), ("token_budgets", 0)]))
def test_removing_a_limit_never_lowers_exposure(tmp_path_factory, which):
    d = Database(tmp_path_factory.mktemp("prop") / "p.duckdb")
    data = org()
    store_snapshot(d, data, taken_at=NOW)
    before = _exposures(d)
    family, i = which
    del data[family][i]
    if family == "token_budgets":
        data["token_budget_status"] = []
    d2 = Database(tmp_path_factory.mktemp("prop") / "q.duckdb")
    store_snapshot(d2, data, taken_at=NOW)
    after = _exposures(d2)
    inf = float("inf")
    for p, old in before.items():
        new = after[p]
        assert all((n if n is not None else inf) >= (o if o is not None else inf) for o, n in zip(old, new)), p


def test_every_assumption_is_in_the_readme():
    from gwaudit.access.assumptions import ASSUMPTIONS

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    for a in ASSUMPTIONS:
        assert f"- {a}" in readme, a


def test_a_blank_group_or_user_binds_a_key_to_nothing(tmp_path):
    """key_states' group_bound / user_bound: an empty or blank group name or user id is no binding,
    so the key is subject to the org and its own id only (no 'group' or 'user' scope named '')."""
    from gwaudit.access.query import snapshot_connection

    data = org()
    data["api_keys"].append(api_key("K4", group_name="  ", user_id=""))
    k4 = data["api_keys"][-1]["id"]
    d = Database(tmp_path / "b.duckdb")
    store_snapshot(d, data, taken_at=NOW)
    with snapshot_connection(d, reads=("access_principal_scopes",)) as con:
        scopes = sorted(con.execute("SELECT scope_type, scope_key FROM access_principal_scopes "
                                    "WHERE principal_key = ?", [k4]).fetchall())
    assert scopes == [("api_key", k4), ("org", "")]


def test_spend_controls_reads_a_limit_of_0_as_no_limit(tmp_path):
    """The view itself: B2 (K2, token_limit 1,000,000, cost_limit 0) limits tokens only, so its
    cost_limit and cost_left are null, not 0; RL2 (rpm 10 only) is 10 x 1,000,000 tokens per minute."""
    data = org()
    k2 = data["api_keys"][1]["id"]
    data["token_budgets"].append(budget("B2", "api_key", scope_id=k2, token_limit=1_000_000, cost_limit=0))
    d = Database(tmp_path / "c.duckdb")
    store_snapshot(d, data, taken_at=NOW)
    exposure(d)
    with d.reader(sandboxed=True) as con:
        got = {r[0]: r[1:] for r in con.execute(
            "SELECT control_name, tokens_per_minute, rpm_only, token_limit, cost_limit, tokens_left, cost_left "
            "FROM spend_controls WHERE scope_key = ?", [k2]).fetchall()}
    assert got == {"B2": (None, None, 1_000_000, None, 1_000_000, None), "RL2": (10_000_000, True, None, None, None, None)}
