"""GW-HEALTH-*: route-health rules, run on minimal snapshots through tests/rulekit.py."""

from __future__ import annotations

from tests.factories.providers import provider
from tests.factories.route_health import health, transition
from tests.factories.routes import route
from tests.factories.snapshots import ids
from tests.rulekit import run_rule

OPENAI = provider("openai")
ANTHROPIC = provider("anthropic", model_provider="anthropic")


def key(prov, upstream):
    return f"{prov['id']}/{upstream}"


# ---------------------------------------------------------------- GW-HEALTH-001 ejected

def test_health001_fires_on_ejected_state_or_remaining_time(tmp_path):
    no_state = health(OPENAI, "gpt-4o", eject_remaining_secs=42, consecutive_failures=6)
    data = {"route_health": [
        health(OPENAI, "gpt-4o-mini"),
        no_state,
        health(ANTHROPIC, "claude-sonnet-4-5", state="ejected", eject_remaining_secs=None,
               cooldown_reason="rate_limited", consecutive_failures=0),
        health(ANTHROPIC, "claude-haiku", state="half_open"),
    ]}
    rows = run_rule(tmp_path, "GW-HEALTH-001", data)
    by_id = {r["resource_id"]: r for r in rows}
    assert set(by_id) == {key(OPENAI, "gpt-4o"), key(ANTHROPIC, "claude-sonnet-4-5")}
    assert by_id[key(OPENAI, "gpt-4o")]["message"] == (
        "route openai/gpt-4o is ejected for another 42 s after 6 consecutive failures")
    assert by_id[key(ANTHROPIC, "claude-sonnet-4-5")]["resource_name"] == "anthropic/claude-sonnet-4-5"
    assert by_id[key(ANTHROPIC, "claude-sonnet-4-5")]["message"] == (
        "route anthropic/claude-sonnet-4-5 is ejected (reason rate_limited)")


# ---------------------------------------------------------------- GW-HEALTH-002 alias down

AZURE = provider("azure", model_provider="azure_openai")


def test_health002_alias_down_when_every_enabled_route_is_ejected_or_on_unhealthy_provider(tmp_path):
    sick = provider("sick", health_status="unhealthy")
    bypassed = provider("bypassed", health_status="unhealthy", enforce_health_check=False)
    data = {
        "providers": [OPENAI, ANTHROPIC, AZURE, sick, bypassed],
        "model_routes": [
            # 'gpt-4o': one route ejected, one on an unhealthy provider, one disabled -> down
            route(OPENAI, "gpt-4o"), route(sick, "gpt-4o"), route(AZURE, "gpt-4o", enabled=False),
            # 'gpt-4o-mini': ejected + a healthy failover -> up
            route(OPENAI, "gpt-4o-mini"), route(AZURE, "gpt-4o-mini"),
            # 'm1': provider unhealthy but its health gate is bypassed -> up
            route(bypassed, "m1"),
            # 'o1': only disabled routes -> not this rule's business
            route(OPENAI, "o1", enabled=False),
        ],
        "route_health": [health(OPENAI, "gpt-4o", state="ejected", eject_remaining_secs=30),
                         health(OPENAI, "gpt-4o-mini", eject_remaining_secs=12),
                         health(AZURE, "gpt-4o-mini"),
                         health(OPENAI, "o1", state="ejected")],
    }
    rows = run_rule(tmp_path, "GW-HEALTH-002", data)
    assert ids(rows) == {"gpt-4o"}
    row = rows[0]
    assert row["family"] == "model_routes"
    assert (row["enabled_routes"], row["ejected_routes"], row["routes_on_unhealthy_providers"]) == (2, 1, 1)
    assert row["message"] == ("alias 'gpt-4o' is down: all 2 enabled route(s) are unavailable: "
                              "openai/gpt-4o (ejected, 30 s left); sick/gpt-4o (provider unhealthy)")


def test_health002_silent_once_one_route_recovers(tmp_path):
    data = {"providers": [OPENAI, AZURE],
            "model_routes": [route(OPENAI, "gpt-4o"), route(AZURE, "gpt-4o")],
            "route_health": [health(OPENAI, "gpt-4o", eject_remaining_secs=30),
                             health(AZURE, "gpt-4o", eject_remaining_secs=5)]}
    assert ids(run_rule(tmp_path, "GW-HEALTH-002", data)) == {"gpt-4o"}
    data["route_health"][1] = health(AZURE, "gpt-4o", state="half_open")
    assert run_rule(tmp_path, "GW-HEALTH-002", data) == []


def test_health002_custom_alias_routes_follow_their_one_to_one_row(tmp_path):
    data = {"providers": [OPENAI, ANTHROPIC],
            "model_routes": [
                route(OPENAI, "gpt-4o", enabled=False), route(OPENAI, "coder", "gpt-4o"),  # dark
                route(ANTHROPIC, "claude-x"), route(ANTHROPIC, "coder", "claude-x"),  # lit, but ejected
            ],
            "route_health": [health(ANTHROPIC, "claude-x", state="ejected")]}
    rows = run_rule(tmp_path, "GW-HEALTH-002", data)
    by_id = {r["resource_id"]: r for r in rows}
    assert set(by_id) == {"coder", "claude-x"}
    assert by_id["coder"]["enabled_routes"] == 1  # the dark OpenAI row is not a usable route


# ---------------------------------------------------------------- GW-HEALTH-003 flapping

def _flapping(n):
    moves = []
    for i in range(n):
        moves += [transition("ejected", "healthy" if i == 0 else "half_open", 300 - 40 * i),
                  transition("half_open", "ejected", 280 - 40 * i, "cooldown_elapsed")]
    return moves


def test_health003_fires_at_max_ejections_and_param_override(tmp_path):
    data = {"route_health": [health(OPENAI, "gpt-4o", recent_transitions=_flapping(3), consecutive_failures=9),
                             health(ANTHROPIC, "claude-x", recent_transitions=_flapping(2))]}
    rows = run_rule(tmp_path, "GW-HEALTH-003", data)
    assert ids(rows) == {key(OPENAI, "gpt-4o")}
    assert rows[0]["message"] == ("route openai/gpt-4o entered 'ejected' 3 times in its recent transitions "
                                  "(limit 3), the oldest 300 s ago")
    rows = run_rule(tmp_path, "GW-HEALTH-003", data, params={"max_ejections": 2})
    assert ids(rows) == {key(OPENAI, "gpt-4o"), key(ANTHROPIC, "claude-x")}


def test_health003_no_transitions_is_silent(tmp_path):
    quiet = health(OPENAI, "gpt-4o")
    del quiet["recent_transitions"]
    assert run_rule(tmp_path, "GW-HEALTH-003", {"route_health": [quiet]}, params={"max_ejections": 1}) == []


# ---------------------------------------------------------------- GW-HEALTH-004 half-open

def test_health004_reports_half_open_not_still_ejected(tmp_path):
    data = {"route_health": [
        health(OPENAI, "gpt-4o", state="half_open", consecutive_failures=2),
        health(OPENAI, "gpt-4o-mini", state="half_open", eject_remaining_secs=10),
        health(ANTHROPIC, "claude-x", state="healthy"),
        health(ANTHROPIC, "claude-y"),  # no state field: cannot tell, stays silent
    ]}
    rows = run_rule(tmp_path, "GW-HEALTH-004", data)
    assert ids(rows) == {key(OPENAI, "gpt-4o")}
    assert rows[0]["message"] == "route openai/gpt-4o is half-open (probe traffic only) after 2 consecutive failures"
