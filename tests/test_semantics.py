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
