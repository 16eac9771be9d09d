"""The shared-concept views (gwaudit.semantics): one definition, scoped like the family views."""
from __future__ import annotations

import pytest

from gwaudit.db import Database
from gwaudit.rules import evaluate, load_rule_file
from gwaudit.semantics import CONCEPTS, Concept
from gwaudit.testing import store_snapshot
from tests.enginekit import write_rule


def _key(key_id: str, **kw):
    return {"id": key_id, "name": key_id, "kind": "machine", "scopes": [], "created_at": "2026-01-01T00:00:00Z", **kw}


@pytest.fixture
def two(tmp_path):
    db = Database(tmp_path / "g.duckdb")
    old = store_snapshot(db, {"api_keys": [_key("a"), _key("b", revoked_at="2026-02-01T00:00:00Z"),
                                           _key("later", disabled_at="2026-07-01T00:00:00Z")],
                              "user_api_keys": [_key("a"), _key("mine")]},
                         taken_at="2026-06-01T00:00:00Z", folder=tmp_path / "f1")
    new = store_snapshot(db, {"api_keys": [_key("a", revoked_at="2026-07-15T00:00:00Z"),
                                           _key("later", disabled_at="2026-07-01T00:00:00Z"),
                                           _key("exp", expires_at="2026-08-01T00:00:00Z")]},
                         taken_at="2026-08-01T00:00:00Z", folder=tmp_path / "f2")
    return db, old, new


def test_the_persistent_view_shows_the_latest_snapshot(two):
    db, _old, new = two
    with db.reader() as con:
        rows = con.execute("SELECT id, state, active FROM key_states ORDER BY id").fetchall()
    # expires_at equal to taken_at is expired: the key cannot be used at that instant
    assert rows == [("a", "revoked", False), ("exp", "expired", False), ("later", "disabled", False)]


def test_a_rule_sees_its_snapshot_and_the_previous_one_through_the_concept(tmp_path, two):
    db, old, new = two
    sql = """SELECT c.id AS resource_id, c.id AS resource_name, 'was ' || p.state || ', now ' || c.state AS message
             FROM key_states c JOIN prev_key_states p USING (id) WHERE p.active AND NOT c.active"""
    rule = load_rule_file(write_rule(tmp_path / "r", "T-KEY-001", sql, needs_previous=True))
    rows = evaluate(db, new, rule).raw_rows()
    # "later" was disabled from a date after the old snapshot: active then, disabled now
    assert sorted((r["resource_id"], r["message"]) for r in rows) == [("a", "was active, now revoked"),
                                                                     ("later", "was active, now disabled")]
    scoped = load_rule_file(write_rule(tmp_path / "r2", "T-KEY-002",
                                       "SELECT id AS resource_id, name AS resource_name, source AS message "
                                       "FROM key_states WHERE active"))
    # on the old snapshot: a personal key the admin list lacks is counted once, from user_api_keys
    assert sorted((r["resource_id"], r["message"]) for r in evaluate(db, old, scoped).raw_rows()) == [
        ("a", "api_keys"), ("later", "api_keys"), ("mine", "user_api_keys")]


def test_a_template_naming_something_unknown_is_refused():
    with pytest.raises(KeyError, match="neither a family nor a concept"):
        Concept("x", "SELECT * FROM {no_such_family}", "doc").render()


def test_every_concept_is_documented_and_renders():
    for c in CONCEPTS:
        assert len(c.doc) > 40, c.name
        assert c.render().strip().upper().startswith(("SELECT", "WITH")), c.name
        assert '"prev_' in c.render("prev_"), c.name


# ---------------------------------------------------------------- route_prices

from tests.factories.ids import NOW  # noqa: E402
from tests.factories.pricing import default_price, history, price, version  # noqa: E402
from tests.factories.providers import provider  # noqa: E402
from tests.factories.routes import route  # noqa: E402


def _prices(tmp_path, data, taken_at=NOW):
    db = Database(tmp_path / "p.duckdb")
    store_snapshot(db, data, taken_at=taken_at, folder=tmp_path / "pf")
    with db.reader() as con:
        cur = con.execute("SELECT * FROM route_prices ORDER BY model_alias")
        cols = [d[0] for d in cur.description]
        return {r[cols.index("model_alias")]: dict(zip(cols, r)) for r in cur.fetchall()}


def test_route_prices_follows_the_gateway_resolution_order(tmp_path):
    p = provider("openai", catalog_slug="openai")
    other = provider("other", model_provider="anthropic", catalog_slug="anthropic")
    routes = [route(p, "inst"), route(p, "cat"), route(p, "gen-x"), route(p, "dflt"), route(p, "nothing"),
              route(other, "gen-y")]
    data = {"providers": [p, other], "model_routes": routes, "model_pricing": [
        price("inst", 9, 9, provider_id=p["id"]),
        price("inst", 1, 1, model_provider=None),              # loses to the instance rule
        price("cat", 2, 3, catalog_slug="openai", model_provider=None),
        price("cat*", 7, 7),                                   # org-wide loses to the catalog rule
        price("gen-*", 4, 5),                                  # model_provider openai: not for 'other'
        price("gen-x", 6, 6),                                  # exact beats the wildcard in a tier
    ], "model_pricing_defaults": [default_price("dflt*", "openai", input_cost_per_million_tokens=8,
                                                currency="EUR")]}
    got = _prices(tmp_path, data)
    assert (got["inst"]["resolved_source"], got["inst"]["input_cost_per_million_tokens"]) == ("org_instance", 9)
    assert (got["cat"]["resolved_source"], got["cat"]["output_cost_per_million_tokens"]) == ("org_catalog", 3)
    assert (got["gen-x"]["resolved_source"], got["gen-x"]["input_cost_per_million_tokens"]) == ("org_generic", 6)
    assert got["gen-x"]["input_cost_per_token"] == pytest.approx(6e-6)
    assert (got["dflt"]["resolved_source"], got["dflt"]["currency"]) == ("barndoor_default", "EUR")
    assert got["inst"]["currency"] == "USD"
    for alias in ("nothing", "gen-y"):
        assert got[alias]["resolved_source"] == "none" and got[alias]["unpriced"], alias
        assert got[alias]["input_cost_per_million_tokens"] is None
    assert not any(got[a]["unpriced"] for a in ("inst", "cat", "gen-x", "dflt"))


def test_route_prices_billed_version_comes_from_history(tmp_path):
    p = provider("openai")
    live = price("a", 1, 1)
    later = price("b", 1, 1, effective_from="2099-01-01T00:00:00Z")   # only scheduled: prices nothing
    gone = price("c", 1, 1)
    data = {"providers": [p], "model_routes": [route(p, "a"), route(p, "b"), route(p, "c"), route(p, "d")],
            "model_pricing": [live, later],
            "model_pricing_history": history(
                (live, [live, version(live, "2026-05-02T00:00:00Z", 3, 3),
                        version(live, "2099-01-01T00:00:00Z", 5, 5)]),
                (later, [later]),  # every listed rule has its history body (the folder must be complete)
                (gone, [gone, version(gone, "2026-05-03T00:00:00Z", 1, 1, is_archived=True)]))}
    got = _prices(tmp_path, data)
    # the latest version in force wins, not the list row nor the scheduled one
    assert got["a"]["input_cost_per_million_tokens"] == 3 and not got["a"]["unpriced"]
    assert got["b"]["unpriced"] and got["c"]["unpriced"] and got["d"]["unpriced"]


def test_route_prices_gateway_none_and_unmetered_providers(tmp_path):
    p, free = provider("openai"), provider("free", billing_mode="not_metered")
    missing = route(p, "orphan", provider_id="no-such-provider")
    bare = route(p, "bare")
    del bare["effective_pricing"]
    data = {"providers": [p, free],
            "model_routes": [route(p, "said-none", pricing_source="none"), route(free, "local", pricing_source="none"),
                             missing, bare],
            "model_pricing": [price("*")]}
    got = _prices(tmp_path, data)
    # a matching rule does not override the gateway's own word that it bills $0
    assert got["said-none"]["price_found"] and got["said-none"]["unpriced"]
    assert got["said-none"]["input_cost_per_million_tokens"] is None
    assert (got["local"]["unpriced"], got["local"]["resolved_source"], got["local"]["input_cost_per_million_tokens"]) == (
        False, "not_metered", 0)
    assert got["orphan"]["provider_found"] is False and got["orphan"]["provider_enabled"] and got["orphan"]["metered"]
    assert got["bare"]["gateway_source"] is None and not got["bare"]["unpriced"]


def test_concepts_declare_the_families_they_read():
    by = {c.name: c for c in CONCEPTS}
    assert by["route_prices"].families() == {"model_routes", "providers", "model_pricing",
                                             "model_pricing_history", "model_pricing_defaults"}


def test_control_concepts_say_why_a_control_limits_nothing(tmp_path):
    from tests.factories.budgets import budget
    from tests.factories.rate_limits import rate_limit
    p = provider("openai")
    data = {"providers": [p], "model_routes": [route(p, "gpt-4o", route_health_status={"state": "suspended"}),
                                               route(p, "mini")],
            "rate_limits": [rate_limit("none", requests_per_minute=None), rate_limit("ok"),
                            rate_limit("mcp", traffic_type="mcp"), rate_limit("grp", "group", scope_value=" "),
                            rate_limit("dangling", target_model_alias="")],
            "token_budgets": [budget("warn", action_on_exhaust="warn"), budget("zero", token_limit=0)]}
    db = Database(tmp_path / "c.duckdb")
    store_snapshot(db, data, taken_at=NOW, folder=tmp_path / "cf")
    with db.reader() as con:
        rl = dict(con.execute("SELECT name, coalesce(why_not, 'limiting') FROM rate_limit_controls").fetchall())
        b = {r[0]: r[1:] for r in con.execute("SELECT name, metering, limiting, why_not FROM budget_controls").fetchall()}
        sr = dict(con.execute("SELECT model_alias, serving FROM serving_routes").fetchall())
    assert rl == {"none": "no limit set", "ok": "limiting", "mcp": "mcp traffic only",
                  "grp": "scope group matches no caller", "dangling": "targets match no route"}
    assert b == {"warn": (True, False, "never blocks"), "zero": (False, False, "no limit set")}
    assert sr == {"gpt-4o": False, "mini": True}
