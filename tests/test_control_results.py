"""control_results: each stored audit's compliance matrix, the same figures the report prints."""
from __future__ import annotations

import pytest

from gwaudit.db import Database
from gwaudit.db.ingest import import_folder
from gwaudit.report import build_report_data
from gwaudit.resources import sample_snapshots
from gwaudit.rules import audit, load_rules

@pytest.fixture(scope="module")
def audited(tmp_path_factory):
    db = Database(tmp_path_factory.mktemp("controls") / "g.duckdb")
    ids = [import_folder(db, f).snapshot_id for f in sample_snapshots()]
    for sid in ids:
        audit(db, sid)
    return db, ids

def test_the_view_has_the_matrix_of_every_audit_row_for_row(audited):
    db, ids = audited
    for sid in ids:
        data = build_report_data(db, snapshot=str(sid))
        expected = sorted((c.framework, c.control, c.status, c.words, tuple(c.rule_ids), c.checks, c.open, c.waived)
                          for c in data.controls)
        with db.reader() as con:
            got = sorted((f, c, s, w, tuple(r), ch, o, wv) for f, c, s, w, r, ch, o, wv in con.execute(
                """SELECT framework, control, status, words, rule_ids, checks, open_findings, waived_findings
                   FROM control_results WHERE snapshot_id = ?""", [sid]).fetchall())
        assert got == expected and len(got) > 40

def test_auditors_can_ask_for_a_control_across_snapshots(audited):
    db, ids = audited
    with db.reader() as con:
        rows = con.execute("""SELECT snapshot_id, status, words, rule_ids FROM control_results
                              WHERE framework = 'soc2' AND control = 'CC6.1' ORDER BY snapshot_id""").fetchall()
    assert [r[0] for r in rows] == sorted(ids)
    for _sid, status, words, rule_ids in rows:
        assert status in ("open_findings", "not_evaluated", "waived", "skipped", "no_open_findings")
        assert words and "pass" not in words.split() and rule_ids

def test_a_database_from_before_the_table_is_filled_when_opened(audited, tmp_path):
    db, ids = audited
    copy = Database(tmp_path / "old.duckdb")
    copy.path.write_bytes(db.path.read_bytes())
    with copy.writer() as con:
        before = con.execute("SELECT count(*) FROM control_results").fetchone()[0]
        con.execute("DROP TABLE control_results")
        con.execute("DELETE FROM schema_version WHERE version >= 6")
    with copy.reader() as con:
        assert con.execute("SELECT count(*) FROM control_results").fetchone()[0] == before > 0

def test_rerunning_an_audit_replaces_its_rows(audited):
    db, ids = audited
    with db.reader() as con:
        before = con.execute("SELECT count(*) FROM control_results WHERE snapshot_id = ?", [ids[-1]]).fetchone()[0]
    audit(db, ids[-1], rules=[r for r in load_rules() if r.id.startswith("GW-KEY-")])  # a smaller catalog
    with db.reader() as con:
        rows = con.execute("SELECT rule_ids FROM control_results WHERE snapshot_id = ?", [ids[-1]]).fetchall()
    assert 0 < len(rows) < before
    assert all(all(r.startswith("GW-KEY-") for r in ids_) for (ids_,) in rows)
    audit(db, ids[-1])
