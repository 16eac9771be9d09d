from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import duckdb
import pytest

from gwaudit import families as fam
from gwaudit.errors import SnapshotFormatError, UsageError
from gwaudit.db.ingest import import_folder
from gwaudit.snapshot import load_folder
from gwaudit.db import Database, resolve_snapshot
from gwaudit.testing import store_snapshot, write_folder


def _count(db: Path, sql: str, params=()):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchone()[0]
    finally:
        con.close()


def test_round_trip_keeps_every_item_verbatim_with_its_hash(tmp_path, db, example_data):
    folder = write_folder(tmp_path / "snap", example_data, taken_at="2026-08-01T12:00:00Z")
    result = import_folder(db, folder)
    assert result.complete
    keys = example_data["api_keys"]
    con = duckdb.connect(str(db), read_only=True)
    rows = con.execute("SELECT resource_key, raw, raw_sha256, expires_at, kind FROM api_keys").fetchall()
    assert {r[0] for r in rows} == {k["id"] for k in keys}
    import hashlib
    for key, raw, digest, _exp, _kind in rows:
        assert json.loads(raw) == next(k for k in keys if k["id"] == key)
        assert hashlib.sha256(raw.encode()).hexdigest() == digest
    # typed columns
    assert con.execute("SELECT typeof(expires_at), typeof(kind) FROM api_keys LIMIT 1").fetchone() == (
        "TIMESTAMP WITH TIME ZONE", "VARCHAR")
    gov = con.execute("SELECT require_pricing_for_mappings, default_model_access FROM governance_config").fetchall()
    assert gov == [(True, "allow")]
    health = con.execute("SELECT resource_key FROM route_health ORDER BY 1").fetchall()
    assert health[0][0].count("/") == 1
    counts = dict(con.execute("SELECT family, item_count FROM collection_status").fetchall())
    assert counts["api_keys"] == len(keys)
    assert counts["model_pricing_history"] == len(example_data["model_pricing"]) + len(
        example_data["model_pricing_archived"])


def test_verbatim_items_of_pretty_printed_bodies(tmp_path, db):
    folder = write_folder(tmp_path / "snap", {}, taken_at="2026-08-01T00:00:00Z")
    body = '[\n  {"id": "k1",  "name": "a",\n   "created_at": "2026-01-01T00:00:00Z"} ,\n {"id":"k2","name":"b","created_at":"2026-01-01T00:00:00Z"}]'
    _replace_file(folder, "api_keys.json", body)
    import_folder(db, folder)
    raws = [r[0] for r in duckdb.connect(str(db), read_only=True).execute(
        "SELECT raw FROM api_keys ORDER BY resource_key").fetchall()]
    assert raws == ['{"id": "k1",  "name": "a",\n   "created_at": "2026-01-01T00:00:00Z"}',
                    '{"id":"k2","name":"b","created_at":"2026-01-01T00:00:00Z"}']


def _replace_file(folder: Path, rel: str, text: str, *, fix_hash: bool = True) -> None:
    import hashlib
    (folder / rel).write_text(text)
    manifest = json.loads((folder / "manifest.json").read_text())
    for f in manifest["files"]:
        if f["path"] == rel:
            if fix_hash:
                f["sha256"] = hashlib.sha256(text.encode()).hexdigest()
            f["item_count"] = None
            f["bytes"] = len(text.encode())
    (folder / "manifest.json").write_text(json.dumps(manifest))


def test_identical_snapshots_add_no_resource_versions(tmp_path, db, example_data):
    store_snapshot(db, example_data, taken_at="2026-08-01T00:00:00Z")
    versions = _total_versions(db)
    store_snapshot(db, example_data, taken_at="2026-08-02T00:00:00Z")
    assert _total_versions(db) == versions
    assert _count(db, "SELECT count(*) FROM snapshots") == 2
    # one changed key adds exactly one version
    example_data["api_keys"][0]["name"] = "renamed"
    store_snapshot(db, example_data, taken_at="2026-08-03T00:00:00Z")
    assert _total_versions(db) == versions + 1
    assert _count(db, "SELECT count(*) FROM api_keys_history") == 3 * len(example_data["api_keys"])


def _total_versions(db: Path) -> int:
    return sum(_count(db, f'SELECT count(*) FROM "rv_{f.name}"') for f in fam.FAMILIES)


def test_latest_and_previous_follow_taken_at_not_insertion_order(tmp_path, db, example_data):
    newer = store_snapshot(db, example_data, taken_at="2026-11-01T00:00:00Z")
    older = store_snapshot(db, example_data, taken_at="2026-08-01T00:00:00Z")
    con = duckdb.connect(str(db), read_only=True)
    assert resolve_snapshot(con, "latest") == newer
    assert resolve_snapshot(con, "previous") == older
    assert resolve_snapshot(con, "2026-09-30") == older
    assert con.execute("SELECT DISTINCT snapshot_id FROM api_keys").fetchall() == [(newer,)]
    with pytest.raises(UsageError):
        resolve_snapshot(con, "2020-01-01")
    with pytest.raises(UsageError):
        resolve_snapshot(con, "99")


def test_failed_family_is_recorded_not_empty(tmp_path, db, example_data):
    sid = store_snapshot(db, example_data, taken_at="2026-08-01T00:00:00Z", failed=["api_keys"],
                         unavailable=["smart_models"])
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT status FROM snapshots WHERE id = ?", [sid]).fetchone()[0] == "incomplete"
    status = dict(con.execute("SELECT family, status FROM collection_status WHERE snapshot_id = ?", [sid]).fetchall())
    assert status["api_keys"] == "failed"
    assert status["smart_models"] == "unavailable"
    assert status["providers"] == "ok"


def test_database_and_folder_are_owner_only(tmp_path, db, example_data):
    folder = write_folder(tmp_path / "snap", example_data, taken_at="2026-08-01T00:00:00Z")
    import_folder(db, folder)
    assert stat.S_IMODE(os.stat(db).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(folder / "api_keys.json").st_mode) == 0o600


@pytest.mark.parametrize("damage, message", [
    ("hash", "SHA-256 mismatch"),
    ("json", "api_keys.json"),
    ("shape", "api_keys.json"),
    ("missing", "missing"),
    ("manifest", "manifest.json"),
])
def test_bad_folder_is_a_clear_error_and_stores_nothing(tmp_path, db, example_data, damage, message):
    store_snapshot(db, example_data, taken_at="2026-07-01T00:00:00Z")
    folder = write_folder(tmp_path / "bad", example_data, taken_at="2026-08-01T00:00:00Z")
    if damage == "hash":
        (folder / "api_keys.json").write_text("[]")
    elif damage == "json":
        _replace_file(folder, "api_keys.json", '[{"id": "x", ')
    elif damage == "shape":
        _replace_file(folder, "api_keys.json", '{"id": "x"}')
    elif damage == "missing":
        (folder / "api_keys.json").unlink()
    elif damage == "manifest":
        (folder / "manifest.json").write_text("{not json")
    with pytest.raises(SnapshotFormatError, match=message):
        import_folder(db, folder)
    assert _count(db, "SELECT count(*) FROM snapshots") == 1
    assert _count(db, "SELECT count(*) FROM snapshot_resources WHERE snapshot_id > 1") == 0


def test_item_count_mismatch_is_refused(tmp_path, db, example_data):
    folder = write_folder(tmp_path / "snap", example_data, taken_at="2026-08-01T00:00:00Z")
    manifest = json.loads((folder / "manifest.json").read_text())
    next(f for f in manifest["files"] if f["path"] == "api_keys.json")["item_count"] = 99
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(SnapshotFormatError, match="99"):
        import_folder(db, folder)
    assert not db.exists() or _count(db, "SELECT count(*) FROM snapshots") == 0


def test_hand_written_manifest_without_families(tmp_path, db, example_data):
    """A folder made with curl plus a minimal manifest imports; absent families are not 'empty'."""
    folder = write_folder(tmp_path / "snap", example_data, taken_at="2026-08-01T00:00:00Z")
    manifest = json.loads((folder / "manifest.json").read_text())
    keep = {"api_keys.json", "providers.json"}
    minimal = {"taken_at": "2026-08-01T00:00:00+00:00",
               "files": [{"path": f["path"], "family": f["family"], "sha256": f["sha256"]}
                         for f in manifest["files"] if f["path"] in keep]}
    (folder / "manifest.json").write_text(json.dumps(minimal))
    result = import_folder(db, folder)
    assert result.families["api_keys"]["status"] == "ok"
    assert result.families["api_keys"]["item_count"] == len(example_data["api_keys"])
    assert result.families["credentials"]["status"] == "failed"
    assert result.families["smart_models"]["status"] == "unavailable"
    assert not result.complete


def test_schema_drift_is_stored_per_snapshot(tmp_path, db, example_data):
    example_data["api_keys"][0]["kind"] = "robot"
    example_data["model_routes"][0]["effective_pricing"]["source"] = "mystery"
    result = import_folder(db, write_folder(tmp_path / "s", example_data, taken_at="2026-08-01T00:00:00Z"))
    found = {(d["family"], d["path"], d["value"]) for d in result.drift}
    assert ("api_keys", "kind", "robot") in found
    assert ("model_routes", "effective_pricing.source", "mystery") in found


def test_unknown_snapshot_folder_errors(tmp_path, db):
    with pytest.raises(SnapshotFormatError, match="manifest.json"):
        load_folder(tmp_path)


def test_pricing_list_and_pricing_history_views_do_not_collide(tmp_path, db, example_data):
    # ``model_pricing`` + "_history" is the name of the pricing-versions family: the list's
    # all-snapshots view must not shadow it, and ``model_pricing`` must show the list rows.
    from gwaudit.db import history_view, scope_to_snapshot

    sid = store_snapshot(db, example_data, taken_at="2026-08-01T12:00:00Z")
    assert history_view("model_pricing") == "model_pricing_rules_history"
    with Database(db).writer() as con:
        for scoped in (False, True):
            if scoped:
                scope_to_snapshot(con, sid)
            rules = con.execute("SELECT id, scheduled_count FROM model_pricing ORDER BY id").fetchall()
            assert sorted((p["id"], p["scheduled_count"]) for p in example_data["model_pricing"]) == rules
            assert con.execute("SELECT count(*) FROM model_pricing_rules_history").fetchone()[0] == len(rules)
            versions = con.execute("SELECT count(*), count(request_query) FROM model_pricing_history").fetchone()
            assert versions[0] == versions[1] > 0
