from __future__ import annotations

from datetime import datetime, timezone

import pytest

from gwaudit import families as fam
from gwaudit.models import ApiKey, ModelAccessPolicy, ModelRoute, check_items, field_checks
from gwaudit.timeutil import parse_ts

from .conftest import load_example


@pytest.mark.parametrize("text", [
    "2026-06-12T18:30:00Z",
    "2026-06-12T18:30:00+00:00",
    "2026-06-12T18:30:00.5Z",
    "2026-06-12T18:30:00.123456789+00:00",
    "2026-06-12T20:30:00+02:00",
])
def test_timestamps_parse_in_every_documented_form(text):
    assert parse_ts(text).replace(microsecond=0) == datetime(2026, 6, 12, 18, 30, tzinfo=timezone.utc)


def test_bad_timestamp_names_the_value():
    with pytest.raises(ValueError, match="not-a-date"):
        parse_ts("not-a-date")


@pytest.mark.parametrize("family", [f for f in fam.FAMILIES if f.name != "agent_runtime_profiles"
                                    and f.name != "routing_rules"], ids=lambda f: f.name)
def test_every_example_validates_without_drift(family, example_data):
    stem = {"model_pricing_history": None}.get(family.name, family.name)
    if family.name == "model_pricing_history":
        items = load_example("model_pricing__history")
    else:
        body = example_data[stem]
        from gwaudit.testing import body_for
        items = family.items_of(body_for(family, body))
    assert items, family.name
    assert check_items(family.name, family.model, items) == []


def test_unknown_fields_are_kept_and_unknown_enums_reported_not_fatal():
    item = load_example("api_keys")[0] | {"kind": "robot", "brand_new": {"x": 1}}
    key = ApiKey.model_validate(item)
    assert key.kind == "robot"
    assert key.model_extra == {"brand_new": {"x": 1}}
    drift = check_items("api_keys", ApiKey, [item])
    assert [(d.path, d.kind) for d in drift] == [("kind", "unknown_enum")]


def test_nested_enum_drift_has_a_path():
    route = load_example("model_routes")[0]
    route["effective_pricing"]["source"] = "mystery"
    policy = load_example("model_access")[0]
    policy["targets"][0]["kind"] = "galaxy"
    assert [d.path for d in check_items("model_routes", ModelRoute, [route])] == ["effective_pricing.source"]
    assert [d.path for d in check_items("model_access", ModelAccessPolicy, [policy])] == ["targets[0].kind"]


def test_type_errors_and_missing_fields_are_drift_not_exceptions():
    item = load_example("api_keys")[0]
    bad = dict(item, created_at="yesterday")
    del bad["name"]
    kinds = sorted((d.path, d.kind) for d in check_items("api_keys", ApiKey, [bad, "not an object"]))
    assert kinds == [("", "type"), ("created_at", "type"), ("name", "missing")]


def test_field_checks_cover_nested_and_list_enums():
    checks = {c.display: c for c in field_checks(ModelAccessPolicy)}
    assert checks["targets[].kind"].list_path == "$.targets[*].kind"
    assert checks["policy_type"].known == ("allowlist", "denylist")
