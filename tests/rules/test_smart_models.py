"""GW-SMART-*: smart-model / routing-policy rules, run on minimal snapshots through tests/rulekit.py."""

from __future__ import annotations

from tests.factories.ids import uid
from tests.factories.providers import provider
from tests.factories.routes import route
from tests.factories.smart_models import routing_policy, smart_model
from tests.factories.snapshots import ids
from tests.rulekit import run_rule


def _served_org():
    """gpt-4o-mini and claude-sonnet-4-5 served by healthy providers."""
    openai, anthropic = provider("openai"), provider("anthropic", model_provider="anthropic")
    return openai, anthropic, {
        "providers": [openai, anthropic],
        "model_routes": [route(openai, "gpt-4o-mini"), route(anthropic, "claude-sonnet-4-5")],
    }


# ---------------------------------------------------------------- GW-SMART-001 unserved slot/determiner

def test_smart001_silent_when_every_slot_and_determiner_is_served(tmp_path):
    _, _, data = _served_org()
    data["smart_models"] = [smart_model("smart-coder", ["gpt-4o-mini", "claude-sonnet-4-5"])]
    data["routing_policies"] = [routing_policy("smart-v2", ["gpt-4o-mini"], determiner=None)]
    assert run_rule(tmp_path, "GW-SMART-001", data) == []


def test_smart001_fires_in_both_families_and_names_slot_and_determiner(tmp_path):
    _, _, data = _served_org()
    data["smart_models"] = [
        smart_model("smart-coder", ["gpt-4o-mini", "team-coder"], determiner="tiny-router"),
        smart_model("off", ["nothing"], enabled=False),
    ]
    data["routing_policies"] = [routing_policy("smart-v2", ["claude-opus"], determiner=None)]
    rows = run_rule(tmp_path, "GW-SMART-001", data)
    by_id = {r["resource_id"]: r for r in rows}
    assert set(by_id) == {uid("smart_model", "smart-coder"), uid("routing_policy", "smart-v2")}
    coder = by_id[uid("smart_model", "smart-coder")]
    assert coder["family"] == "smart_models" and coder["determiner_unserved"] is True
    assert coder["message"] == ("smart model 'smart-coder' uses alias(es) no enabled route serves: "
                                "determiner -> 'tiny-router', slot 1 (slot1) -> 'team-coder'")
    policy = by_id[uid("routing_policy", "smart-v2")]
    assert policy["family"] == "routing_policies"
    assert policy["message"] == "routing policy 'smart-v2' uses alias(es) no enabled route serves: slot 0 -> 'claude-opus'"


def test_smart001_route_or_provider_state_decides_whether_an_alias_is_served(tmp_path):
    openai = provider("openai")
    sick = provider("sick", health_status="unhealthy")
    sick_bypassed = provider("bypassed", health_status="unhealthy", enforce_health_check=False)
    off = provider("off", enabled=False)
    data = {
        "providers": [openai, sick, sick_bypassed, off],
        "model_routes": [
            route(openai, "disabled-route", enabled=False),
            route(sick, "on-sick"),
            route(sick_bypassed, "on-bypassed"),
            route(off, "on-off"),
            # custom alias whose 1:1 row is disabled: darkened
            route(openai, "gpt-4o", enabled=False),
            route(openai, "dark-alias", "gpt-4o"),
            # custom alias without any 1:1 row: darkened as well
            route(openai, "orphan-alias", "gpt-5"),
            # custom alias whose 1:1 row is enabled: served
            route(openai, "gpt-4.1"),
            route(openai, "lit-alias", "gpt-4.1"),
        ],
        "smart_models": [smart_model(
            "probe", ["disabled-route", "on-sick", "on-bypassed", "on-off", "dark-alias", "orphan-alias",
                      "lit-alias"],
            determiner="lit-alias")],
    }
    rows = run_rule(tmp_path, "GW-SMART-001", data)
    assert ids(rows) == {uid("smart_model", "probe")}
    assert set(rows[0]["unserved_aliases"].split(", ")) == {"disabled-route", "on-sick", "on-off", "dark-alias",
                                                           "orphan-alias"}
    assert rows[0]["determiner_unserved"] is False


# ---------------------------------------------------------------- GW-SMART-002 default slot out of range

def test_smart002_fires_on_out_of_range_fallback_in_both_families(tmp_path):
    no_default = smart_model("no-default", ["a"])
    del no_default["default_slot_on_failure"]
    data = {
        "smart_models": [
            smart_model("ok-last", ["a", "b"], default_slot_on_failure=1),
            smart_model("past-end", ["a", "b"], default_slot_on_failure=2),
            smart_model("negative", ["a"], default_slot_on_failure=-1, enabled=False),
            no_default,
        ],
        "routing_policies": [routing_policy("no-slots", [], default_slot_on_failure=0)],
    }
    rows = run_rule(tmp_path, "GW-SMART-002", data)
    by_id = {r["resource_id"]: r for r in rows}
    assert set(by_id) == {uid("smart_model", "past-end"), uid("smart_model", "negative"),
                          uid("routing_policy", "no-slots")}
    assert by_id[uid("smart_model", "past-end")]["message"] == (
        "smart model 'past-end' falls back to slot 2 on determiner failure but has 2 slot(s) (valid: 0-1)")
    assert by_id[uid("routing_policy", "no-slots")]["family"] == "routing_policies"
    assert by_id[uid("routing_policy", "no-slots")]["message"].endswith("has 0 slot(s)")


# ---------------------------------------------------------------- GW-SMART-003 alias collision

def test_smart003_fires_once_per_colliding_alias(tmp_path):
    openai, _, data = _served_org()
    data["model_routes"].append(route(openai, "smart-coder", "gpt-4o-mini", enabled=False))
    data["smart_models"] = [smart_model("smart-coder", ["gpt-4o-mini"]), smart_model("unique", ["gpt-4o-mini"])]
    data["routing_policies"] = [routing_policy("smart-coder", ["gpt-4o-mini"]),
                                routing_policy("claude-sonnet-4-5", ["gpt-4o-mini"])]
    rows = run_rule(tmp_path, "GW-SMART-003", data)
    by_id = {r["resource_id"]: r for r in rows}
    assert set(by_id) == {"smart-coder", "claude-sonnet-4-5"}
    coder = by_id["smart-coder"]
    assert coder["family"] == "smart_models"
    assert coder["message"] == (
        f"alias 'smart-coder' is both routing policy {uid('routing_policy', 'smart-coder')} and smart model "
        f"{uid('smart_model', 'smart-coder')} and the alias of 1 route(s) (0 enabled): openai/gpt-4o-mini")
    assert by_id["claude-sonnet-4-5"]["family"] == "routing_policies"


def test_smart003_silent_without_collision(tmp_path):
    _, _, data = _served_org()
    data["smart_models"] = [smart_model("smart-coder", ["gpt-4o-mini"])]
    assert run_rule(tmp_path, "GW-SMART-003", data) == []
