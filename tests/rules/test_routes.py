"""GW-ROUTE-001..005: model routes (model mappings). Snapshot time: 2026-11-27T06:00:00Z."""

from __future__ import annotations

import pytest

from tests.factories.ids import DROP
from tests.factories.providers import provider
from tests.factories.routes import route
from tests.factories.snapshots import Kit


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    return Kit(tmp_path_factory.mktemp("routes"))


A = provider("OpenAI US")
B = provider("OpenAI EU")


def _coder(*provs, **kw):
    """The alias 'team-coder' -> gpt-4o-mini on each provider, with the 1:1 rows it needs."""
    rows = []
    for p in provs:
        rows += [route(p, "gpt-4o-mini"), route(p, "team-coder", "gpt-4o-mini", **kw)]
    return rows


def test_clean_two_provider_setup_passes_every_route_rule(kit):
    data = {"providers": [A, B], "model_routes": _coder(A, B)}
    for rule_id in ("GW-ROUTE-001", "GW-ROUTE-002", "GW-ROUTE-003", "GW-ROUTE-004", "GW-ROUTE-005"):
        assert kit.rows(rule_id, data) == [], rule_id


# ---------------------------------------------------------------- GW-ROUTE-001 no failover

def test_route_001_fires_on_alias_with_one_serving_route(kit):
    routes = _coder(A)
    (row,) = kit.rows("GW-ROUTE-001", {"providers": [A, B], "model_routes": routes})
    assert row["resource_id"] == "team-coder" and row["resource_name"] == "team-coder"
    assert row["route_id"] == routes[1]["id"]
    assert "alias 'team-coder' is served by one route only (upstream 'gpt-4o-mini' on provider 'OpenAI US')" \
        in row["message"]
    assert "other enabled route" not in row["message"]


@pytest.mark.parametrize("broken, reason", [
    ({"enabled": False}, "provider 'OpenAI EU' is disabled"),
    ({"health_status": "unhealthy"}, "provider 'OpenAI EU' is unhealthy"),
])
def test_route_001_second_route_that_cannot_serve_gives_no_failover(kit, broken, reason):
    b = provider("OpenAI EU", **broken)
    (row,) = kit.rows("GW-ROUTE-001", {"providers": [A, b], "model_routes": _coder(A, b)})
    assert row["resource_id"] == "team-coder"
    assert row["serving_routes"] == 1 and row["enabled_routes"] == 2
    assert f"(its 1 other enabled route(s) cannot serve: {reason})" in row["message"]


def test_route_001_unhealthy_provider_without_health_gate_still_serves(kit):
    b = provider("OpenAI EU", health_status="unhealthy", enforce_health_check=False)
    assert kit.rows("GW-ROUTE-001", {"providers": [A, b], "model_routes": _coder(A, b)}) == []


def test_route_001_second_route_on_missing_provider_or_dark_alias_does_not_count(kit):
    ghost = provider("deleted")
    dark_b = [route(B, "gpt-4o-mini", enabled=False), route(B, "team-coder", "gpt-4o-mini")]
    (row,) = kit.rows("GW-ROUTE-001", {"providers": [A], "model_routes": _coder(A) + _coder(ghost)})
    assert row["resource_id"] == "team-coder" and f"provider {ghost['id']} does not exist" in row["message"]
    (row,) = kit.rows("GW-ROUTE-001", {"providers": [A, B], "model_routes": _coder(A) + dark_b})
    assert "the 1:1 row for 'gpt-4o-mini' on 'OpenAI EU' is missing or disabled" in row["message"]


def test_route_001_only_plain_aliases_count(kit):
    plain_one_to_one = route(A, "o3-mini", bare_alias=True)
    qualified_only = route(A, "gpt-4o-mini", bare_alias=False)
    assert kit.ids("GW-ROUTE-001", {"providers": [A], "model_routes": [plain_one_to_one, qualified_only]}) \
        == ["o3-mini"]


def test_route_001_missing_bare_alias_takes_the_documented_default(kit):
    routes = [route(A, "gpt-4o-mini", bare_alias=DROP), route(A, "team-coder", "gpt-4o-mini", bare_alias=DROP)]
    assert kit.ids("GW-ROUTE-001", {"providers": [A], "model_routes": routes}) == ["team-coder"]


def test_route_001_alias_no_route_can_serve_is_reported_with_reasons(kit):
    down = provider("down", enabled=False)
    (row,) = kit.rows("GW-ROUTE-001", {"providers": [down], "model_routes": _coder(down)})
    assert row["resource_id"] == "team-coder" and row["serving_routes"] == 0
    assert "has no route that can serve, so no failover either: provider 'down' is disabled" in row["message"]


def test_route_001_disabled_routes_are_not_counted(kit):
    routes = _coder(A) + [route(B, "gpt-4o-mini"), route(B, "team-coder", "gpt-4o-mini", enabled=False)]
    (row,) = kit.rows("GW-ROUTE-001", {"providers": [A, B], "model_routes": routes})
    assert row["enabled_routes"] == 1 and "other enabled route" not in row["message"]


def test_route_001_checked_counts_plain_aliases(tmp_path):
    from tests.rulekit import load_rule, run_sql
    from gwaudit.testing import store_snapshot

    db = tmp_path / "c.duckdb"
    sid = store_snapshot(db, {"providers": [A, B], "model_routes": _coder(A, B) + [route(A, "o3", bare_alias=True)]},
                         taken_at="2026-11-27T06:00:00Z")
    (row,) = run_sql(db, sid, load_rule("GW-ROUTE-001")["checked_sql"], {})
    assert list(row.values()) == [2]  # team-coder and o3; the qualified-only gpt-4o-mini rows are not aliases


# ---------------------------------------------------------------- GW-ROUTE-002 provider missing/disabled

def test_route_002_fires_on_missing_and_disabled_provider(kit):
    ghost = provider("deleted")
    off = provider("retired", enabled=False)
    r_ghost, r_off = route(ghost, "gpt-4o"), route(off, "gpt-4o-mini")
    rows = kit.rows("GW-ROUTE-002", {"providers": [A, off], "model_routes": [r_ghost, r_off, route(A, "o3")]})
    by_id = {r["resource_id"]: r["message"] for r in rows}
    assert set(by_id) == {r_ghost["id"], r_off["id"]}
    assert f"its provider {ghost['id']} does not exist" in by_id[r_ghost["id"]]
    assert "its provider 'retired' is disabled" in by_id[r_off["id"]]


def test_route_002_disabled_route_is_not_reported(kit):
    off = provider("retired", enabled=False)
    assert kit.rows("GW-ROUTE-002", {"providers": [off], "model_routes": [route(off, "gpt-4o", enabled=False)]}) == []


# ---------------------------------------------------------------- GW-ROUTE-003 retired model

def test_route_003_fires_on_retired_and_removed_models(kit):
    retired = route(A, "gpt-4-0613", enabled=False, auto_disabled_reason="catalog_retired")
    removed = route(A, "gpt-4-turbo", stale_status={"reason": "catalog_removed"})
    rows = kit.rows("GW-ROUTE-003", {"providers": [A], "model_routes": [retired, removed, route(A, "gpt-4o")]})
    by_id = {r["resource_id"]: r["message"] for r in rows}
    assert set(by_id) == {retired["id"], removed["id"]}
    assert "'gpt-4-0613'" in by_id[retired["id"]] and "the gateway disabled the route" in by_id[retired["id"]]
    assert "no longer lists (catalog_removed); the route is still enabled" in by_id[removed["id"]]


def test_route_003_silent_without_stale_markers(kit):
    r = route(A, "gpt-4o", stale_status=None, auto_disabled_reason=None)
    assert kit.rows("GW-ROUTE-003", {"providers": [A], "model_routes": [r, route(A, "o3", stale_status=DROP)]}) == []


# ---------------------------------------------------------------- GW-ROUTE-004 long timeout

def test_route_004_fires_above_max_timeout(kit):
    slow = route(A, "o1", request_timeout_secs=1800)
    data = {"providers": [A], "model_routes": [slow, route(A, "o3", request_timeout_secs=600),
                                               route(A, "o4", request_timeout_secs=None)]}
    (row,) = kit.rows("GW-ROUTE-004", data)
    assert row["resource_id"] == slow["id"]
    assert "request_timeout_secs 1800 (maximum 600)" in row["message"]
    assert kit.rows("GW-ROUTE-004", data, params={"max_request_timeout_secs": 3600}) == []


# ---------------------------------------------------------------- GW-ROUTE-005 dark alias

def test_route_005_fires_when_one_to_one_row_disabled_or_missing(kit):
    disabled_base = route(A, "gpt-4o-mini", enabled=False)
    dark = route(A, "team-coder", "gpt-4o-mini")
    orphan = route(A, "team-writer", "gpt-4o")
    rows = kit.rows("GW-ROUTE-005", {"providers": [A], "model_routes": [disabled_base, dark, orphan]})
    by_id = {r["resource_id"]: r["message"] for r in rows}
    assert set(by_id) == {dark["id"], orphan["id"]}
    assert "custom alias 'team-coder' -> 'gpt-4o-mini'" in by_id[dark["id"]]
    assert "the 1:1 row for 'gpt-4o-mini' on that provider is disabled" in by_id[dark["id"]]
    assert "the 1:1 row for 'gpt-4o' on that provider does not exist" in by_id[orphan["id"]]


def test_route_005_one_to_one_row_on_another_provider_does_not_help(kit):
    dark = route(A, "team-coder", "gpt-4o-mini")
    data = {"providers": [A, B], "model_routes": [route(B, "gpt-4o-mini"), dark]}
    assert kit.ids("GW-ROUTE-005", data) == [dark["id"]]


def test_route_005_disabled_custom_alias_is_not_reported(kit):
    data = {"providers": [A], "model_routes": [route(A, "team-coder", "gpt-4o-mini", enabled=False)]}
    assert kit.rows("GW-ROUTE-005", data) == []
