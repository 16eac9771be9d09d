"""Issue 14, class 7: the rules that used to re-derive a shared meaning now read the concept, so
they agree with every other reader at the edges (case of ids, trimmed wildcards, keys that are
disabled and expired, custom aliases whose 1:1 row is on the provider under another id case)."""
from __future__ import annotations

import pytest

from tests.factories.access import access, t_alias, t_model, t_provider, t_provider_model
from tests.factories.budgets import budget
from tests.factories.ids import uid
from tests.factories.keys import api_key, user_api_key
from tests.factories.providers import provider
from tests.factories.rate_limits import rate_limit
from tests.factories.routes import route
from tests.factories.snapshots import Kit, ids


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    return Kit(tmp_path_factory.mktemp("concept-rules"))


P = provider("openai")
GPT = [route(P, f"gpt-{i}") for i in range(6)]


# ---------------------------------------------------------------- GW-RL-004 reads key_states

@pytest.mark.parametrize("key,state", [
    (api_key("k"), None),
    (api_key("k", disabled_at="2026-11-01T00:00:00Z"), None),  # disabled only: reversible
    (api_key("k", disabled_at="2026-11-01T00:00:00Z", expires_at="2026-11-20T00:00:00Z"), "expired"),
    (api_key("k", expires_at="2026-11-27T06:00:00Z"), "expired"),   # at the snapshot: expired
    (api_key("k", expires_at="2026-11-27T06:00:01Z"), None),        # one second after: not yet
    (api_key("k", expires_at=None), None),
    (api_key("k", revoked_at="2026-11-27T06:00:00Z"), "revoked"),
    (api_key("k", revoked_at="2026-11-27T06:00:01Z"), None),        # a revocation after the snapshot
])
def test_rl004_key_state_edges(kit, key, state):
    data = {"api_keys": [key], "rate_limits": [rate_limit("per key", "api_key", scope_id=uid("api_key", "k"))]}
    rows = kit.rows("GW-RL-004", data)
    assert [r["key_state"] for r in rows] == ([state] if state else [])


@pytest.mark.parametrize("scope_id,fires", [
    (uid("api_key", "k").upper(), False), (" " + uid("api_key", "k") + " ", False),
    (None, True), ("", True), (uid("api_key", "gone"), True),
])
def test_rl004_scope_id_is_compared_as_an_id(kit, scope_id, fires):
    data = {"api_keys": [api_key("k")], "rate_limits": [rate_limit("per key", "api_key", scope_id=scope_id)]}
    assert bool(kit.rows("GW-RL-004", data)) is fires


def test_rl004_a_personal_key_only_the_user_list_holds_exists(kit):
    data = {"api_keys": [], "user_api_keys": [user_api_key("mine")],
            "rate_limits": [rate_limit("per key", "api_key", scope_id=uid("api_key", "mine"))]}
    assert kit.rows("GW-RL-004", data) == []


# ---------------------------------------------------------------- GW-BUD-006 reads budget_controls / key_states

def test_bud006_provider_and_upstream_model_no_route_serves(kit):
    data = {"providers": [P], "model_routes": GPT, "api_keys": [api_key("k")], "token_budgets": [
        budget("pair ok", target_provider_id=P["id"], target_upstream_model="gpt-1"),
        budget("pair upper", target_provider_id=P["id"].upper(), target_upstream_model="gpt-1"),
        budget("pair gone", target_provider_id=P["id"], target_upstream_model="o3"),
        budget("key upper", "api_key", scope_id=uid("api_key", "k").upper()),
        budget("key blank", "api_key", scope_id=""),
    ]}
    rows = {r["resource_id"]: r for r in kit.rows("GW-BUD-006", data)}
    assert set(rows) == {uid("budget", "pair gone"), uid("budget", "key blank")}
    assert rows[uid("budget", "pair gone")]["message"] == (
        f"budget 'pair gone' points at targets provider {P['id']} model 'o3', which no route matches")


# ---------------------------------------------------------------- GW-ACC-001/002/004/006 read llm_access_targets

def test_acc_rules_agree_on_a_wildcard_with_blanks(kit):
    data = {"providers": [P], "model_routes": GPT,
            "model_access": [access("padded", [t_alias(" gpt-* ")]),
                             access("padded deny", [t_model("o1* ")], policy_type="denylist")]}
    assert ids(kit.rows("GW-ACC-002", data)) == {uid("access", "padded")}
    # the same target is a wildcard for GW-ACC-004 too: it matches gpt-0..5, so it is not dangling
    assert ids(kit.rows("GW-ACC-004", data)) == {uid("access", "padded deny")}


def test_acc004_and_006_compare_provider_ids_as_ids(kit):
    data = {"providers": [P], "model_routes": GPT,
            "model_access": [access("upper", [t_provider(P), t_provider_model(P, "gpt-1")])]}
    data["model_access"][0]["targets"] = [{"kind": "provider", "provider_id": P["id"].upper()},
                                          {"kind": "provider_model", "provider_id": P["id"].upper(), "model": "gpt-1"}]
    assert kit.rows("GW-ACC-004", data) == []
    rows = kit.rows("GW-ACC-006", data)
    assert ids(rows) == {uid("access", "upper")} and "'openai'" in rows[0]["message"]


def test_acc001_reads_the_same_admits_all_as_acc003(kit):
    data = {"model_access": [access("blank", [t_alias("  *  ")]), access("null", [{"kind": "model_alias"}])]}
    assert ids(kit.rows("GW-ACC-001", data)) == {uid("access", "blank")}


# ---------------------------------------------------------------- GW-ROUTE-005 reads serving_routes.lit

@pytest.mark.parametrize("one_to_one,message_tail", [
    (None, "does not exist"), ({"enabled": False}, "is disabled"), ({"enabled": True}, None),
    ({"enabled": None}, None), ({"provider_id": P["id"].upper()}, None),
])
def test_route005_dark_alias_is_serving_routes_not_lit(kit, one_to_one, message_tail):
    routes = [route(P, "coder", "gpt-1")]
    if one_to_one is not None:
        routes.append(route(P, "gpt-1", **one_to_one))
    rows = kit.rows("GW-ROUTE-005", {"providers": [P], "model_routes": routes})
    assert [r["message"].rsplit(" provider ", 1)[1] for r in rows] == ([message_tail] if message_tail else [])


def test_provider_model_wildcard_matches_by_alias_or_upstream_model(kit):
    routes = [route(P, "gpt-1"), route(P, "coder-x", "gpt-1")]
    data = {"providers": [P], "model_routes": routes,
            "model_access": [access("by alias", [t_provider_model(P, "coder*")]),
                             access("by model", [t_provider_model(P, "gpt-*")])]}
    assert kit.rows("GW-ACC-004", data) == []
    rows = kit.rows("GW-ACC-002", data, params={"max_wildcard_matches": 0})
    assert ids(rows) == {uid("access", "by alias"), uid("access", "by model")}
