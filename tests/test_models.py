from __future__ import annotations

from datetime import datetime, timezone

import duckdb
import pytest

from gwaudit import families as fam
from gwaudit.db import Database
from gwaudit.db.fieldchecks import field_checks
from gwaudit.db.layout import cast_text
from gwaudit.models import ApiKey, ModelAccessPolicy
from gwaudit.testing import store_snapshot
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


def drift(tmp_path, family: str, items, **more) -> list[tuple[str, str]]:
    """Store ``items`` as the family's body and return the schema drift the store recorded
    (the models compiled to SQL by gwaudit.db.drift): sorted (path, kind)."""
    db = Database(tmp_path / f"drift-{len(list(tmp_path.iterdir()))}.duckdb")
    sid = store_snapshot(db, {family: items, **more}, taken_at="2026-11-27T06:00:00Z",
                         folder=tmp_path / f"f-{len(list(tmp_path.iterdir()))}")
    with db.reader() as con:
        return sorted(con.execute("SELECT path, kind FROM snapshot_drift WHERE snapshot_id = ? AND family = ?",
                                  [sid, family]).fetchall())


@pytest.fixture(scope="module")
def example_snapshot(tmp_path_factory):
    """The reference's example org, stored once: (database, snapshot id)."""
    from .conftest import example_org

    root = tmp_path_factory.mktemp("examples")
    db = Database(root / "g.duckdb")
    return db, store_snapshot(db, example_org(), taken_at="2026-11-27T06:00:00Z", folder=root / "f")


@pytest.mark.parametrize("family", [f for f in fam.FAMILIES if f.name not in (
    "agent_runtime_profiles", "routing_rules", "model_pricing_history")], ids=lambda f: f.name)
def test_every_example_validates_without_drift(family, example_snapshot):
    db, sid = example_snapshot
    with db.reader() as con:
        assert con.execute("SELECT count(*) FROM snapshot_resources WHERE snapshot_id = ? AND family = ?",
                           [sid, family.name]).fetchone()[0] > 0, family.name
        assert con.execute("SELECT path, kind, value FROM snapshot_drift WHERE snapshot_id = ? AND family = ?",
                           [sid, family.name]).fetchall() == []


def test_pricing_history_example_validates_without_drift(tmp_path):
    items = load_example("model_pricing__history")
    assert items
    assert drift(tmp_path, "model_pricing_history", [({"model_pattern": "gpt-4o"}, items)]) == []


def test_unknown_fields_are_kept_and_unknown_enums_reported_not_fatal(tmp_path):
    item = load_example("api_keys")[0] | {"kind": "robot", "brand_new": {"x": 1}}
    key = ApiKey.model_validate(item)
    assert key.kind == "robot"
    assert key.model_extra == {"brand_new": {"x": 1}}
    assert drift(tmp_path, "api_keys", [item]) == [("kind", "unknown_enum")]


def test_nested_enum_drift_has_a_path(tmp_path):
    route = load_example("model_routes")[0]
    route["effective_pricing"]["source"] = "mystery"
    policy = load_example("model_access")[0]
    policy["targets"][0]["kind"] = "galaxy"
    assert drift(tmp_path, "model_routes", [route]) == [("effective_pricing.source", "unknown_enum")]
    assert drift(tmp_path, "model_access", [policy]) == [("targets[].kind", "unknown_enum")]


def test_type_errors_and_missing_fields_are_drift_not_exceptions(tmp_path):
    item = load_example("api_keys")[0]
    bad = dict(item, created_at="yesterday")
    del bad["name"]
    assert drift(tmp_path, "api_keys", [bad]) == [("created_at", "type"), ("name", "missing")]


@pytest.mark.parametrize("text", ["2016-12-31T23:59:60Z", "2016-12-31t23:59:60.25z", "2016-12-31T15:59:60-08:00"])
def test_a_leap_second_is_the_last_microsecond_of_its_minute(tmp_path, text):
    """RFC 3339 allows second 60; neither datetime nor DuckDB does. Both parsers read it as
    23:59:59.999999 UTC (before the next minute), and it is not schema drift."""
    last = datetime(2016, 12, 31, 23, 59, 59, 999999, tzinfo=timezone.utc)
    assert parse_ts(text) == last
    item = dict(load_example("api_keys")[0], created_at=text, expires_at=text)
    assert drift(tmp_path, "api_keys", [item]) == []
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    assert con.execute(f"SELECT {cast_text('TIMESTAMPTZ', '?')}", [text]).fetchone()[0] == last
    for not_leap in ("2016-12-31T23:59:61Z", "2016-12-31T23:60:00Z"):
        assert con.execute(f"SELECT {cast_text('TIMESTAMPTZ', '?')}", [not_leap]).fetchone()[0] is None
        with pytest.raises(ValueError):
            parse_ts(not_leap)


def test_field_checks_cover_nested_and_list_enums():
    checks = {c.display: c for c in field_checks(ModelAccessPolicy)}
    assert checks["targets[].kind"].list_path == "$.targets[*].kind"
    assert checks["policy_type"].known == ("allowlist", "denylist")
