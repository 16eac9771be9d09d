"""Issue 14, class 6: values a rule interprets are parsed once (at ingest, or in a shared concept),
and the hostile or unusual forms the API contract allows do not make a finding disappear. Each case
on real DuckDB through the public engine."""
from __future__ import annotations

import pytest

from tests.factories.budgets import budget, budget_status
from tests.factories.ids import uid
from tests.factories.keys import api_key
from tests.factories.pricing import price
from tests.factories.providers import provider
from tests.factories.rate_limits import rate_limit
from tests.factories.routes import route
from tests.factories.snapshots import Kit, edited, ids, rows_of, run_pair


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    return Kit(tmp_path_factory.mktemp("values"))


# ---------------------------------------------------------------- timestamps (RFC 3339, read at ingest)

@pytest.mark.parametrize("created_at,fires", [
    ("2025-01-01T00:00:00Z", True),
    ("2025-01-01t00:00:00z", True),          # RFC 3339 allows lower-case t and z
    ("2025-06-30T23:59:60Z", True),          # and a leap second (it used to be NULL: no finding)
    ("2025-01-01T00:00:00.123456789+02:00", True),
    ("2026-11-20T00:00:00Z", False),
])
def test_key002_reads_every_rfc3339_form_of_created_at(kit, created_at, fires):
    data = {"api_keys": [api_key("k", created_at=created_at, expires_at=None)]}
    assert bool(kit.rows("GW-KEY-002", data)) is fires


@pytest.mark.parametrize("expires_at,expired", [
    ("2026-11-27T08:00:00+02:00", True),     # the snapshot's instant, written with an offset
    ("2026-11-27T08:00:01+02:00", False),    # one second after it
    ("2026-11-27t06:00:00z", True),
    ("2026-11-27T01:00:00-05:00", True),
    ("2026-11-27T01:00:01-05:00", False),
    ("2026-11-27T05:59:60Z", True),          # a leap second just before the snapshot's instant
])
def test_expiry_offsets_are_instants_not_wall_clock(kit, expires_at, expired):
    data = {"api_keys": [api_key("k", expires_at=expires_at)],
            "rate_limits": [rate_limit("per key", "api_key", scope_id=uid("api_key", "k"))]}
    assert bool(kit.rows("GW-RL-004", data)) is expired
    assert bool(kit.rows("GW-KEY-004", data)) is expired


def test_lower_case_revocation_time_still_revokes(kit):
    data = {"api_keys": [api_key("k", revoked_at="2026-11-01t00:00:00z")],
            "rate_limits": [rate_limit("per key", "api_key", scope_id=uid("api_key", "k"))]}
    assert [r["key_state"] for r in kit.rows("GW-RL-004", data)] == ["revoked"]


# ---------------------------------------------------------------- budget usage: percent or fraction

def test_bud008_exhausted_by_the_counts_whatever_unit_the_percentage_has(kit):
    b = budget("block", token_limit=1000)
    c = budget("spend", token_limit=1000, cost_limit=50.0)
    under = budget("under", token_limit=1000)
    status = [
        {**budget_status(b, tokens_pct=100.0), "percentage_used": 1.0},    # a fraction
        {**budget_status(c), "cost_used": 50.0, "cost_percentage_used": 1.0},
        {**budget_status(under, tokens_pct=99.9), "percentage_used": 0.999},
    ]
    rows = {r["resource_id"]: r for r in kit.rows("GW-BUD-008", {"token_budget_status": status})}
    assert set(rows) == {b["id"], c["id"]}
    assert "tokens 100.0% (1000 of 1000)" in rows[b["id"]]["message"]
    assert "spend 100.0% (50.0 of 50.0 USD)" in rows[c["id"]]["message"]


@pytest.mark.parametrize("tokens_used,pct,fires", [(799, 0.799, False), (800, 0.8, True), (800, None, True)])
def test_bud009_threshold_by_the_counts(kit, tokens_used, pct, fires):
    b = budget("b", token_limit=1000, alert_thresholds=[80, 90])
    st = {**budget_status(b), "tokens_used": tokens_used, "percentage_used": pct}
    assert bool(kit.rows("GW-BUD-009", {"token_budget_status": [st]})) is fires


# ---------------------------------------------------------------- GW-BUD-004: cost limit 0, provider id case

def test_bud004_cost_limit_zero_limits_nothing_and_ids_compare_as_uuids(kit):
    p = provider("anthropic", model_provider="anthropic")
    data = {"providers": [p], "model_routes": [route(p, "claude-opus", pricing_source="none")],
            "model_pricing": [price("gpt-4o-mini")],
            "token_budgets": [budget("zero", cost_limit=0.0), budget("one cent", cost_limit=0.01),
                              budget("upper", cost_limit=100.0, target_provider_id=p["id"].upper())]}
    assert ids(kit.rows("GW-BUD-004", data)) == {uid("budget", "one cent"), uid("budget", "upper")}


# ---------------------------------------------------------------- GW-DRIFT-002: currency is a unit

def test_drift002_cost_limit_in_another_currency_is_not_compared_by_number(tmp_path):
    b = budget("team", cost_limit=1000.0, currency="JPY")
    moved = {"token_budgets": [edited(b, cost_limit=1000.0, currency="USD")]}
    rows = rows_of(run_pair(tmp_path, "GW-DRIFT-002", {"token_budgets": [b]}, moved))
    assert "cost_limit currency changed (1000.0 JPY -> 1000.0 USD)" in rows[b["id"]]["message"]
    same = {"token_budgets": [edited(b, currency=" jpy ")]}
    assert rows_of(run_pair(tmp_path, "GW-DRIFT-002", {"token_budgets": [b]}, same)) == {}
    implicit = budget("usd", cost_limit=10.0, currency=None)
    assert rows_of(run_pair(tmp_path, "GW-DRIFT-002", {"token_budgets": [implicit]},
                            {"token_budgets": [edited(implicit, currency="USD")]})) == {}


@pytest.mark.parametrize("fields,fires", [
    ({"token_limit": 1, "tokens_used": 1, "percentage_used": 0.01}, True),        # the smallest limit, by count
    ({"token_limit": 1, "tokens_used": 0, "percentage_used": 0.0}, False),
    ({"cost_limit": 0.5, "cost_used": 0.5, "cost_percentage_used": 0.01}, True),
    ({"cost_limit": 0.5, "cost_used": 0.49, "cost_percentage_used": 0.98}, False),
    ({"token_limit": 0, "tokens_used": 5, "percentage_used": None}, False),       # no usage known: not exhausted
    ({"token_limit": None, "tokens_used": None, "percentage_used": None}, False),
    ({"cost_limit": None, "cost_used": None, "cost_percentage_used": None}, False),  # no spend limit at all
    ({"cost_limit": 0.0, "cost_used": 5.0, "cost_percentage_used": None}, False),    # 0 limits nothing
])
def test_bud008_usage_edges_of_budget_usage(kit, fields, fires):
    b = budget("b", token_limit=fields.get("token_limit", 1000), cost_limit=fields.get("cost_limit"))
    st = {**budget_status(b), "percentage_used": 0.0, "cost_percentage_used": 0.0, **fields}
    st = {k: v for k, v in st.items() if k not in ("token_limit", "cost_limit")}
    assert bool(kit.rows("GW-BUD-008", {"token_budget_status": [st]})) is fires
