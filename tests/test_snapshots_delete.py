"""gwaudit snapshots delete: one snapshot out, transactionally, on the record; prune records too."""
from __future__ import annotations

import json

import pytest

from gwaudit.cli import main
from gwaudit.db import Database
from gwaudit.db.ingest import import_folder
from gwaudit.resources import sample_snapshots
from gwaudit.rules import audit

OLDER, NEWER = sample_snapshots()[0], sample_snapshots()[-1]


@pytest.fixture
def two(tmp_path):
    db = Database(tmp_path / "g.duckdb")
    old = import_folder(db, OLDER).snapshot_id
    new = import_folder(db, NEWER).snapshot_id
    audit(db, old)
    audit(db, new)
    return db, old, new


def _counts(db):
    with db.reader() as con:
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("snapshots", "findings", "rule_results", "snapshot_resources", "collection_status",
                          "snapshot_deletions", "audits", "rv_api_keys")}


def test_dry_run_changes_nothing_and_says_what_would_go(two, capsys):
    db, _old, new = two
    before = db.path.read_bytes()
    assert main(["--db", str(db.path), "snapshots", "delete", "latest", "--dry-run", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["dry_run"] is True and doc["snapshot"]["id"] == new and doc["remaining"] == 1
    assert doc["findings"] > 0 and doc["versions"] > 0
    assert db.path.read_bytes() == before


def test_without_yes_off_a_terminal_it_refuses(two, capsys):
    db, old, _new = two
    before = _counts(db)
    assert main(["--db", str(db.path), "snapshots", "delete", str(old)]) == 2
    assert "refusing to delete snapshot" in capsys.readouterr().err
    assert _counts(db) == before


def test_delete_removes_the_snapshot_its_audit_and_only_its_versions_and_records_it(two, capsys):
    db, old, new = two
    with db.reader() as con:
        expected_findings = con.execute("SELECT count(*) FROM findings WHERE snapshot_id = ?", [new]).fetchone()[0]
        kept_versions = con.execute("SELECT count(DISTINCT vid) FROM snapshot_resources WHERE snapshot_id = ?",
                                    [old]).fetchone()[0]
        old_findings = con.execute("SELECT fingerprint FROM findings WHERE snapshot_id = ? ORDER BY 1",
                                   [old]).fetchall()
    assert main(["--db", str(db.path), "snapshots", "delete", "latest", "--yes"]) == 0
    assert "deleted snapshot" in capsys.readouterr().err
    with db.reader() as con:
        assert con.execute("SELECT id FROM snapshots").fetchall() == [(old,)]
        for table in ("findings", "rule_results", "collection_status", "snapshot_files", "audits", "waivers",
                      "snapshot_resources"):
            assert con.execute(f"SELECT count(*) FROM {table} WHERE snapshot_id = ?", [new]).fetchone()[0] == 0
        # what the older snapshot holds is untouched, and nothing else is left behind
        assert con.execute("SELECT count(DISTINCT vid) FROM snapshot_resources").fetchone()[0] == kept_versions
        assert con.execute("SELECT fingerprint FROM findings ORDER BY 1").fetchall() == old_findings
        row = con.execute("SELECT deleted_snapshot_id, reason, findings, status FROM snapshot_deletions").fetchall()
    assert row == [(new, "snapshots delete", expected_findings, "complete")]
    assert db.resolve("latest") == old


def test_a_missing_snapshot_is_a_usage_error(two, capsys):
    db, *_ = two
    assert main(["--db", str(db.path), "snapshots", "delete", "99", "--yes"]) == 2
    assert "no snapshot with id 99" in capsys.readouterr().err


def test_prune_records_what_it_removed(two, capsys):
    db, old, new = two
    assert main(["--db", str(db.path), "prune", "--keep-daily", "1"]) == 0
    with db.reader() as con:
        rows = con.execute("SELECT deleted_snapshot_id, reason FROM snapshot_deletions").fetchall()
    assert rows == [(old, "prune: keeping 1 daily")]
