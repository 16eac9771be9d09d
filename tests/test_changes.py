"""The stored changes (snapshot_changes, the changes view): gwaudit diff's answer, field by field,
kept right when snapshots arrive out of order, are pruned, or a family fails."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from gwaudit.changes import REASONS
from gwaudit.db import Database
from gwaudit.db.ingest import import_folder
from gwaudit.db.maintenance import delete_snapshots
from gwaudit.db.schema import SCHEMA_VERSION
from gwaudit.diff import diff_snapshots
from gwaudit.testing import store_snapshot
from tests.factories.keys import api_key
from tests.factories.snapshots import edited

SAMPLES = Path(__file__).resolve().parents[1] / "sample_snapshots"


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Database:
    db = Database(tmp_path_factory.mktemp("changes") / "sample.duckdb")
    import_folder(db, SAMPLES / "2026-08-28")
    import_folder(db, SAMPLES / "2026-11-27")
    return db


def _diff_rows(d) -> set[tuple]:
    """gwaudit diff's JSON as (family, key, change, path, before, after) rows; an added or removed
    resource as one row without a path (the stored row holds the whole resource there)."""
    out = set()
    for family, fd in d.to_dict()["families"].items():
        for r in fd["added"]:
            out.add((family, r["key"], "added", "$", None, None))
        for r in fd["removed"]:
            out.add((family, r["key"], "removed", "$", None, None))
        for r in fd["modified"]:
            for c in r["changes"]:
                out.add((family, r["key"], "modified", c["path"], json.dumps(c["before"]), json.dumps(c["after"])))
    return out


def _stored_rows(con, sid: int) -> set[tuple]:
    rows = con.execute("""SELECT family, resource_key, change, path, old_value, new_value FROM changes
                          WHERE snapshot_id = ?""", [sid]).fetchall()
    return {(f, k, c, p, None if c != "modified" else json.dumps(json.loads(o)),
             None if c != "modified" else json.dumps(json.loads(n))) for f, k, c, p, o, n in rows}


def test_the_stored_changes_are_gwaudit_diffs_field_by_field(sample):
    d = diff_snapshots(sample, 1, 2)
    with sample.reader() as con:
        stored = _stored_rows(con, 2)
        pairs = con.execute("SELECT DISTINCT snapshot_id, prev_snapshot_id FROM snapshot_change_pairs").fetchall()
    assert pairs == [(2, 1)]
    assert stored == _diff_rows(d)
    assert len(stored) > 400  # the sample's quarter of changes, not a trivial agreement


def test_sample_changes_with_who_made_them(sample):
    with sample.reader() as con:
        rows = con.execute("""
            SELECT resource_name, path, old_value, new_value, changed_by, changed_by_name, updated_at, change_note
            FROM changes WHERE family = 'rate_limits' AND change = 'modified' AND resource_name = 'Data science'
            ORDER BY path""").fetchall()
        by_path = {r[1]: r for r in rows}
        # sample README: 22 Sep, Tom raised "Data science" from 600 to 1500 rpm
        rpm = by_path["$.requests_per_minute"]
        assert (rpm[2], rpm[3]) == ("600", "1500")
        assert rpm[4:6] == ("tom.okafor@northwind.example", "Tom Okafor")
        assert rpm[6].isoformat().startswith("2026-09-22")
        # a price change is a modification of the rule, keyed like gwaudit diff, by who made the new version
        o3 = con.execute("""SELECT old_value, new_value, changed_by FROM changes WHERE family = 'model_pricing'
                            AND resource_key = 'o3/openai/' AND path = '$.input_cost_per_million_tokens'""").fetchall()
        assert o3 == [("10.0", "2.0", "elena.sokolova@northwind.example")]
        # governance carries no attribution: who is NULL and the reason says why
        gov = con.execute("""SELECT path, changed_by, unattributed_reason FROM changes
                             WHERE family = 'governance_config' ORDER BY path""").fetchall()
        assert gov == [("$.default_model_access", None, REASONS["no_fields"]),
                       ("$.require_pricing_for_mappings", None, REASONS["no_fields"])]
        # a removed resource names nobody (the API keeps no record) and holds the whole resource
        removed = con.execute("""SELECT resource_name, old_value, new_value, changed_by, unattributed_reason
                                 FROM changes WHERE family = 'token_budgets' AND change = 'removed'""").fetchall()
        assert [(r[0], r[2], r[3], r[4]) for r in removed] == [("Hackathon September", None, None,
                                                                REASONS["removed"])]
        assert json.loads(removed[0][1])["name"] == "Hackathon September"
        # a new key: the whole resource as the API returned it
        added = con.execute("""SELECT new_value FROM changes WHERE family = 'api_keys' AND change = 'added'
                               AND resource_name = 'Zapier webhooks'""").fetchall()
        assert json.loads(added[0][0])["group_name"] is None
        # volatile fields are left out as gwaudit diff leaves them out
        assert con.execute("""SELECT count(*) FROM changes WHERE family = 'api_keys'
                              AND path = '$.last_used_at'""").fetchone()[0] == 0
        volatile = con.execute("""SELECT volatile_only FROM snapshot_change_pairs
                                  WHERE family = 'api_keys'""").fetchone()[0]
        assert volatile > 0


def _key(name: str, **kw):
    return api_key(name, **kw)


def _changed_keys(db: Database) -> list[tuple]:
    with db.reader() as con:
        return con.execute("""SELECT prev_snapshot_id, snapshot_id, resource_name, change, path, new_value
                              FROM changes WHERE family = 'api_keys' ORDER BY ALL""").fetchall()


def test_a_snapshot_stored_out_of_order_and_a_prune_recompute_the_pairs(tmp_path):
    db = Database(tmp_path / "g.duckdb")
    a = store_snapshot(db, {"api_keys": [_key("one")]}, taken_at="2026-01-01T00:00:00Z", folder=tmp_path / "a")
    c = store_snapshot(db, {"api_keys": [_key("one", group_name="ops"), _key("two")]},
                       taken_at="2026-03-01T00:00:00Z", folder=tmp_path / "c")
    assert _changed_keys(db) == [(a, c, "one", "modified", "$.group_name", '"ops"'),
                                 (a, c, "two", "added", "$", _changed_keys(db)[1][5])]
    # an older snapshot arrives: a -> b -> c are now the consecutive pairs, a -> c is gone
    b = store_snapshot(db, {"api_keys": [_key("one", group_name="ops")]}, taken_at="2026-02-01T00:00:00Z",
                       folder=tmp_path / "b")
    rows = _changed_keys(db)
    assert [r[:5] for r in rows] == [(a, b, "one", "modified", "$.group_name"), (b, c, "two", "added", "$")]
    # pruning b makes a -> c consecutive again
    with db.writer() as con:
        delete_snapshots(con, [b], reason="test")
    assert [r[:5] for r in _changed_keys(db)] == [(a, c, "one", "modified", "$.group_name"),
                                                  (a, c, "two", "added", "$")]
    with db.reader() as con:
        assert con.execute("SELECT count(*) FROM snapshot_change_pairs WHERE ? IN (snapshot_id, prev_snapshot_id)",
                           [b]).fetchone()[0] == 0


def test_a_failed_family_is_skipped_not_reported_removed(tmp_path):
    db = Database(tmp_path / "g.duckdb")
    a = store_snapshot(db, {"api_keys": [_key("one")]}, taken_at="2026-01-01T00:00:00Z", folder=tmp_path / "a")
    b = store_snapshot(db, {}, taken_at="2026-02-01T00:00:00Z", folder=tmp_path / "b", failed=["api_keys"])
    c = store_snapshot(db, {"api_keys": [_key("one", group_name="ops")]}, taken_at="2026-03-01T00:00:00Z",
                       folder=tmp_path / "c")
    # api_keys: compared from a (the last snapshot that collected it) to c; nothing "removed" in b
    assert [r[:5] for r in _changed_keys(db)] == [(a, c, "one", "modified", "$.group_name")]
    with db.reader() as con:
        assert con.execute("SELECT count(*) FROM changes WHERE snapshot_id = ? AND family = 'api_keys'",
                           [b]).fetchone()[0] == 0
        # the families collected in b are compared a -> b and b -> c as usual
        assert con.execute("""SELECT count(*) FROM snapshot_change_pairs WHERE family = 'providers'""").fetchone()[0] == 2


def test_attribution_of_a_modification_and_the_reason_when_the_api_is_silent(tmp_path):
    db = Database(tmp_path / "g.duckdb")
    from tests.factories.budgets import budget

    old, quiet = budget("team"), budget("quiet")
    store_snapshot(db, {"token_budgets": [old, quiet], "api_keys": [_key("k")]}, taken_at="2026-01-01T00:00:00Z",
                   folder=tmp_path / "a")
    store_snapshot(db, {"token_budgets": [edited(old, who="bob@example.com", note="CHG-7", token_limit=5),
                                          {**quiet, "token_limit": 7}],
                        "api_keys": [_key("k", group_name="ops")]},
                   taken_at="2026-02-01T00:00:00Z", folder=tmp_path / "b")
    with db.reader() as con:
        rows = con.execute("""SELECT family, resource_name, path, changed_by, changed_by_name, change_note,
                                     unattributed_reason
                              FROM changes WHERE path IN ('$.token_limit', '$.group_name') ORDER BY ALL""").fetchall()
    # keys carry no attribution at all; a budget edited without its last_modified_* changing names nobody
    assert rows == [("api_keys", "k", "$.group_name", None, None, None, REASONS["no_fields"]),
                    ("token_budgets", "quiet", "$.token_limit", None, None, None, REASONS["modified"]),
                    ("token_budgets", "team", "$.token_limit", "bob@example.com", "Bob", "CHG-7", None)]


def test_a_database_from_before_the_changes_table_is_filled_when_opened(tmp_path):
    db = Database(tmp_path / "g.duckdb")
    store_snapshot(db, {"api_keys": [_key("one")]}, taken_at="2026-01-01T00:00:00Z", folder=tmp_path / "a")
    store_snapshot(db, {"api_keys": [_key("one", group_name="ops")]}, taken_at="2026-02-01T00:00:00Z",
                   folder=tmp_path / "b")
    with db.writer() as con:  # make it look like a database written before migration 5 (and so 6)
        con.execute("DROP TABLE snapshot_changes")
        con.execute("DROP TABLE snapshot_change_pairs")
        con.execute("DROP VIEW changes")
        con.execute("DROP TABLE control_results")
        con.execute("DELETE FROM schema_version WHERE version >= 5")
        con.execute("DELETE FROM gwaudit_meta WHERE key = 'derived'")
    with db.reader() as con:  # the reader brings it up to date, and the migration fills the table
        assert con.execute("SELECT max(version) FROM schema_version").fetchone()[0] == SCHEMA_VERSION
        assert con.execute("SELECT resource_name, path FROM changes").fetchall() == [("one", "$.group_name")]
