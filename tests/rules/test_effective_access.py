"""GW-ACCESS-001..004 and GW-SPEND-001/002 on the hand-computed org of tests/test_access.py, run
through the public engine (``gwaudit.rules.audit``) on real DuckDB files.

The base org (see tests/test_access.py for every cell): policies in force A1 (allowlist, group eng:
route group General = [chat], alias smart), D1 (denylist, role intern: alias chat), D2 (denylist,
org: model haiku*); D3 is disabled and D4 mcp-only (neither in force). Keys K1 (group eng, active),
K2 (user U1, active), K3 (group eng, revoked). Smart model smart: slots chat (-> gpt) and opus.
"""

from __future__ import annotations

from typing import Any

import pytest

from gwaudit.db import Database
from gwaudit.rules import audit
from gwaudit.testing import store_snapshot
from tests.factories.access import access as policy, t_alias, t_model
from tests.factories.governance import governance
from tests.factories.keys import api_key, user_api_key
from tests.factories.rate_limits import rate_limit
from tests.factories.routes import route
from tests.test_access import NOW, _unpriced_opus, org

BEFORE = "2026-11-26T06:00:00Z"
ACCESS_RULES = ["GW-ACCESS-001", "GW-ACCESS-002", "GW-ACCESS-003", "GW-ACCESS-004", "GW-SPEND-001", "GW-SPEND-002"]


def _run(db: Database, snapshot: str, **kw: Any) -> dict[str, list[Any]]:
    result = audit(db, snapshot, only=ACCESS_RULES, store=False, **kw)
    assert all(r.status != "error" for r in result.rules), [r for r in result.rules if r.status == "error"]
    out: dict[str, list[Any]] = {}
    for f in result.findings:
        out.setdefault(f.rule_id, []).append(f)
    return out


# ---------------------------------------------------------------- GW-ACCESS-002 and GW-ACCESS-003

def _with_denylists(default: str) -> dict[str, Any]:
    d = org()
    k3 = d["api_keys"][2]
    extra = [
        # D5: eng's allowlist A1 does not name gpt, so gpt is denied to eng and K1 without D5.
        policy("D5", [t_alias("gpt")], "denylist", "group", scope_value="eng"),
        # D6: names no route at all (enabled null = in force).
        policy("D6", [t_alias("no-such-model")], "denylist", "org", enabled=None),
        # D7: scoped to the revoked key K3 only: applies to no active principal.
        policy("D7", [t_alias("gpt")], "denylist", "api_key", scope_id=k3["id"]),
        # D8: upstream gpt = routes gpt and chat; A1 admits chat for eng, so D8 blocks it (not reported).
        policy("D8", [t_model("gpt")], "denylist", "group", scope_value="eng"),
    ]
    # D9: enabled and traffic_type omitted (= true, llm): in force, names nothing.
    d9 = policy("D9", [t_alias("nothing*")], "denylist", "org")
    del d9["enabled"], d9["traffic_type"]
    d["model_access"] += [*extra, d9]
    d["governance_config"] = governance(default_model_access=default)
    return d


@pytest.fixture(scope="module")
def denylists(tmp_path_factory) -> tuple[Database, dict[str, Any]]:
    db = Database(tmp_path_factory.mktemp("eff") / "d.duckdb")
    store_snapshot(db, _with_denylists("deny"), taken_at=BEFORE)
    data = _with_denylists("allow")
    store_snapshot(db, data, taken_at=NOW)
    return db, data


def test_denylist_that_blocks_nothing_reachable(denylists):
    db, data = denylists
    ids = {p["name"]: p["id"] for p in data["model_access"]}
    found = _run(db, "latest")
    got = {f.resource_id: f.message for f in found["GW-ACCESS-002"]}
    assert {f.family for f in found["GW-ACCESS-002"]} == {"model_access"}
    # default allow: D1 (intern reaches chat by default), D2 (org reaches haiku by default) and D8 block;
    # D3 (disabled) and D4 (mcp) are not in force.
    assert got == {
        ids["D5"]: "Denylist 'D5' (group eng) blocks nothing reachable: every model it names (gpt) is denied "
                   "without it for the 2 principals it applies to",  # group:eng and K1; K3 is revoked
        ids["D6"]: "Denylist 'D6' (org) blocks nothing reachable: its targets name no route that can serve",
        ids["D9"]: "Denylist 'D9' (org) blocks nothing reachable: its targets name no route that can serve",
        ids["D7"]: f"Denylist 'D7' (api_key {data['api_keys'][2]['id']}) blocks nothing reachable: it applies "
                   "to no active principal",
    }
    # default deny (the previous snapshot): D1 and D2 now block nothing either (no allowlist admits
    # chat for intern or haiku for anyone); D8 still blocks chat for eng (A1 names it).
    before = {f.resource_id for f in _run(db, "previous")["GW-ACCESS-002"]}
    assert before == set(got) | {ids["D1"], ids["D2"]}


def test_reach_through_a_smart_model_slot_the_policy_denies(denylists):
    db, data = denylists
    ids = {p["name"]: p["id"] for p in data["model_access"]}
    found = _run(db, "latest")["GW-ACCESS-003"]
    got = {(f.resource_id, f.family): f.message for f in found}
    # intern: D1 denies alias chat, but a request for smart is routed to chat (model_alias matches the
    # requested alias). eng: A1 names smart but not opus, and smart reaches opus. D8 (upstream gpt)
    # blocks smart's chat slot for eng too, so chat is not reached through smart by eng.
    # org and K2: opus and chat are allowed directly, no finding.
    assert got == {
        (ids["D1"], "model_access"): "1 principal (role:intern) can reach chat through smart model 'smart' "
                                     "although 'D1' denies it directly",
        (ids["A1"], "model_access"): "2 principals (group:eng and 1 active key) can reach opus through smart "
                                     "model 'smart' although 'A1' denies it directly",
    }
    # under default deny the org reaches nothing, so no slot either: intern denied smart by default
    prev = {f.resource_id for f in _run(db, "previous")["GW-ACCESS-003"]}
    assert prev == {ids["A1"]}


# ---------------------------------------------------------------- GW-ACCESS-001, GW-ACCESS-004, GW-SPEND families

@pytest.fixture(scope="module")
def widened(tmp_path_factory) -> tuple[Database, dict[str, Any], dict[str, Any]]:
    db = Database(tmp_path_factory.mktemp("eff") / "w.duckdb")
    before = org()
    p1 = before["providers"][0]
    before["model_routes"].append(route(p1, "mini", enabled=False))  # addressable, no route can serve
    store_snapshot(db, before, taken_at=BEFORE)
    after = org()
    after["model_routes"] += [route(p1, "mini"), route(p1, "newm")]  # mini enabled; newm is new
    after["model_route_groups"][0]["model_aliases"] = ["chat", "opus"]  # General gains opus
    uk1, uk2 = user_api_key("UK1"), user_api_key("UK2")
    after["user_api_keys"] = [uk1, uk2]
    # UK2: 100,000 tok/min x 60 x 24 x 75 / 1e6 = 10,800 in 24 h (> 1000); UK1: nothing bounds it.
    after["rate_limits"].append(rate_limit("RL3", "api_key", scope_id=uk2["id"], requests_per_minute=None,
                                           tokens_per_minute=100_000))
    store_snapshot(db, after, taken_at=NOW)
    return db, before, after


def test_gained_access_is_filed_under_what_changed(widened):
    db, before, after = widened
    ids = {p["name"]: p["id"] for p in before["model_access"]}
    found = _run(db, "latest")["GW-ACCESS-001"]
    got = {(f.family, f.resource_id, f.resource_name): f.message for f in found}
    assert got == {
        # General gained opus: A1 (which named only chat and smart before) now admits opus for eng, K1
        ("model_access", ids["A1"], "A1"): "2 principals (group:eng and 1 active key) can now reach 1 model "
                                           "that A1 denied before (opus); now allowed by A1",
        # mini's route was disabled: org, intern and K2 (no allowlist, default allow) reach it now
        ("model_routes", "mini", "mini"): "3 principals (org, role:intern and 1 active key) can now reach mini, "
                                          "which no route could serve in the previous snapshot; now allowed "
                                          "by default (allow)",
        ("model_routes", "newm", "newm"): "3 principals (org, role:intern and 1 active key) can now reach the "
                                          "new model newm (not addressable in the previous snapshot); now "
                                          "allowed by default (allow)",
    }


@pytest.mark.parametrize("min_principals, reported", [(2, True), (3, False)])
def test_route_group_member_that_widens_many(widened, min_principals, reported):
    db, before, _ = widened
    group = before["model_route_groups"][0]
    found = _run(db, "latest", params={"GW-ACCESS-004": {"min_principals": min_principals}}).get("GW-ACCESS-004", [])
    # opus added to General: group:eng and K1 gain it (K3 revoked; org/intern/K2 could reach it before)
    expected = [(group["id"], "model_route_groups", "opus added to route group 'General' lets 2 principals "
                 "reach it that could not before (group:eng and 1 active key)")]
    assert [(f.resource_id, f.family, f.message) for f in found] == (expected if reported else [])


def test_route_group_rule_default_and_no_previous(widened, tmp_path):
    db, before, _ = widened
    assert "GW-ACCESS-004" not in _run(db, "latest")  # default min_principals 3 > 2
    single = Database(tmp_path / "s.duckdb")
    store_snapshot(single, before, taken_at=NOW)
    result = audit(single, "latest", only=["GW-ACCESS-004", "GW-ACCESS-001"], store=False)
    assert {r.status for r in result.rules} == {"skip"}


def test_spend_findings_of_user_keys_are_filed_as_user_keys(widened):
    db, _, after = widened
    uk1, uk2 = after["user_api_keys"]
    found = _run(db, "latest")
    assert [(f.family, f.resource_id) for f in found["GW-SPEND-001"]] == [("user_api_keys", "org")]
    assert found["GW-SPEND-001"][0].message.startswith("1 active user key bound to no group can spend without limit (UK1)")
    k2 = after["api_keys"][1]["id"]
    assert sorted((f.family, f.resource_id) for f in found["GW-SPEND-002"]) == sorted(
        [("api_keys", k2), ("user_api_keys", uk2["id"])])


# ---------------------------------------------------------------- GW-SPEND-*: an unpriced route is billable

def test_spend_rules_count_an_unpriced_route_as_billable(tmp_path):
    """A metered route with no price is billed by the provider at a price the snapshot does not know:
    a key that reaches only such routes and that nothing bounds is GW-SPEND-001's (it used to pass as
    'nothing billable'); a bounded key that reaches one cannot be shown to stay under GW-SPEND-002's
    amount, whatever its figure."""
    data = org()
    data["model_pricing"] = []
    del data["rate_limits"][1]  # K2 has no control of its own
    db = Database(tmp_path / "none.duckdb")
    store_snapshot(db, data, taken_at=NOW)
    found = _run(db, "latest")
    k2 = data["api_keys"][1]["id"]
    (f,) = found["GW-SPEND-001"]
    assert (f.resource_id, f.family) == ("org", "api_keys")
    assert f.message == ("1 active key bound to no group can spend without limit (K2): no rate limit or blocking "
                         "budget bounds them, and they can reach chat, which has no price (the provider bills it; "
                         "the gateway records $0, so no cost limit sees it)")
    assert "GW-SPEND-002" not in found or k2 not in {x.resource_id for x in found["GW-SPEND-002"]}

    data = _unpriced_opus()  # RL2 bounds K2; RL1 bounds eng and K1 (B1 is cost-only)
    k1, k2 = data["api_keys"][0]["id"], data["api_keys"][1]["id"]
    db = Database(tmp_path / "opus.duckdb")
    store_snapshot(db, data, taken_at=NOW)
    big = {"GW-SPEND-002": {"max_exposure_24h": 1_000_000_000}}
    got = {f.resource_id: f.message for f in _run(db, "latest", params=big).get("GW-SPEND-002", [])}
    assert got == {
        k1: "API key 'K1' could spend at least 576.0 USD in 24 hours (bound by rate_limit 'RL1'), but it can "
            "reach smart, which has no price: the amount cannot be shown to stay within 1000000000",
        k2: "API key 'K2' could spend at least 57600.0 USD in 24 hours (bound by rate_limit 'RL2' (rpm x ceiling)), "
            "but it can reach opus, which has no price: the amount cannot be shown to stay within 1000000000",
    }
    got = {f.resource_id: f.message for f in _run(db, "latest").get("GW-SPEND-002", [])}
    assert got[k2] == ("API key 'K2' could spend at least 57600.0 USD in 24 hours (bound by rate_limit 'RL2' "
                       "(rpm x ceiling)), above 1000 (a lower bound: it can also reach opus, which has no price)")
    assert k1 in got  # 576 < 1000, but opus's spend is unknown
    assert "GW-SPEND-001" not in _run(db, "latest")

    # priced, under the same large amount nothing is reported
    db = Database(tmp_path / "priced.duckdb")
    store_snapshot(db, org(), taken_at=NOW)
    assert "GW-SPEND-002" not in _run(db, "latest", params=big)


def test_spend_001_names_the_priciest_and_the_first_unpriced_model_of_a_group_of_keys(tmp_path):
    """Keys bound to no group, nothing bounding them (RL2 removed): K2 reaches gpt (4), chat (4), opus
    (75), and the unpriced mini and zeta (the default allows them; K2's own denylist takes smart away,
    so opus is its one model at 75); K4 only gpt (its allowlist), no unpriced route; K5 only zeta
    (unpriced, price 0). One finding: the priciest over the keys is opus at 75, the first unpriced
    model by name mini (K2's; K5's is zeta). K6, revoked and bound by nothing, is left out."""
    data = org()
    p1 = data["providers"][0]
    del data["rate_limits"][1]
    data["model_routes"] += [route(p1, "mini"), route(p1, "zeta")]  # no pricing rule: metered, unpriced
    k4 = api_key("K4", group_name=None)
    k5 = api_key("K5", group_name=None)
    k6 = api_key("K6", group_name=None, revoked_at="2026-11-20T00:00:00Z")
    data["api_keys"] += [k4, k5, k6]
    k2 = data["api_keys"][1]
    data["model_access"] += [policy("DK2", [t_alias("smart")], "denylist", "api_key", scope_id=k2["id"]),
                             policy("AK4", [t_alias("gpt")], "allowlist", "api_key", scope_id=k4["id"]),
                             policy("AK5", [t_alias("zeta")], "allowlist", "api_key", scope_id=k5["id"])]
    db = Database(tmp_path / "g.duckdb")
    store_snapshot(db, data, taken_at=NOW)
    (f,) = _run(db, "latest")["GW-SPEND-001"]
    assert (f.resource_id, f.family) == ("org", "api_keys")
    assert f.message == ("3 active keys bound to no group can spend without limit (K2, K4, K5): no rate limit or "
                         "blocking budget bounds them, and they can reach opus at 75.0 USD per million tokens; they "
                         "can also reach mini, which has no price (the provider bills it; the gateway records $0, "
                         "so no cost limit sees it)")
    assert (f.evidence["keys"], f.evidence["priciest_model"], f.evidence["max_price_per_million"],
            f.evidence["unpriced_model"]) == (3, "opus", 75, "mini")


def test_spend_002_exactly_the_amount_passes_unless_an_unpriced_route_is_reachable(tmp_path):
    """max_exposure_24h at K2's exact figure. Priced: K2's 1,080,000 (RL2: 10 x 1,000,000 x 60 x 24
    x 75 / 1e6) is not above it: nothing reported. Opus unpriced: K2's 57,600 (x 4 instead of 75) is
    not above it either, but the figure is a lower bound: reported, without ', above'."""
    db = Database(tmp_path / "p.duckdb")
    store_snapshot(db, org(), taken_at=NOW)
    assert "GW-SPEND-002" not in _run(db, "latest", params={"GW-SPEND-002": {"max_exposure_24h": 1_080_000}})

    data = _unpriced_opus()
    k1, k2 = data["api_keys"][0]["id"], data["api_keys"][1]["id"]
    db = Database(tmp_path / "u.duckdb")
    store_snapshot(db, data, taken_at=NOW)
    got = {f.resource_id: f.message
           for f in _run(db, "latest", params={"GW-SPEND-002": {"max_exposure_24h": 57_600}})["GW-SPEND-002"]}
    assert got[k2] == ("API key 'K2' could spend at least 57600.0 USD in 24 hours (bound by rate_limit 'RL2' "
                       "(rpm x ceiling)), but it can reach opus, which has no price: the amount cannot be shown "
                       "to stay within 57600")
    assert set(got) == {k1, k2}  # K1: 576, below, but it reaches smart (opus slot)
