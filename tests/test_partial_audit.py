"""Issue 14, class 5: a filtered audit (``--only``/``--skip``) never replaces or masquerades as the
snapshot's full audit. It is printed, not stored; ``--store-partial`` keeps it apart
(``partial_audits``); reports, diff and the findings delta read the full audit only, and every
output states which rules its findings come from. Real DuckDB files, the public engine and CLI."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from gwaudit.cli import cli
from gwaudit.db import Database
from gwaudit.db.ingest import import_folder
from gwaudit.findings.delta import audited
from gwaudit.resources import sample_snapshots
from gwaudit.rules import audit, load_rules

KEY_RULES = sorted(r.id for r in load_rules() if r.id.startswith("GW-KEY-"))
ALL_RULES = len(load_rules())


def _gw(db: Path, *args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(cli, ["--db", str(db), *args], catch_exceptions=False)
    return r.exit_code, r.stdout, r.stderr


def _stored(db: Path, sid: int) -> tuple:
    with duckdb.connect(str(db), read_only=True) as con:
        return (con.execute("SELECT count(*) FROM findings WHERE snapshot_id = ?", [sid]).fetchone()[0],
                con.execute("SELECT count(*) FROM rule_results WHERE snapshot_id = ?", [sid]).fetchone()[0],
                con.execute("SELECT evaluated_at, rules_evaluated, selection FROM audits WHERE snapshot_id = ?",
                            [sid]).fetchall(),
                con.execute("SELECT count(*) FROM control_results WHERE snapshot_id = ?", [sid]).fetchone()[0])


@pytest.fixture
def full(tmp_path):
    """The sample org, both snapshots audited in full through the command line."""
    db = tmp_path / "g.duckdb"
    ids = [import_folder(db, f).snapshot_id for f in sample_snapshots()]
    for sid in ids:
        _gw(db, "audit", "--snapshot", str(sid), "--format", "json")
    return db, ids


def test_the_readme_example_neither_stores_nor_replaces_the_full_audit(full):
    db, ids = full
    before = _stored(db, ids[-1])
    assert before[0] > 13 and before[1] == ALL_RULES and before[2][0][1] == ALL_RULES and before[2][0][2] is None
    code, out, err = _gw(db, "audit", "--only", "GW-KEY-*", "--format", "json")
    doc = json.loads(out)
    assert {r["rule_id"] for r in doc["rules"]} == set(KEY_RULES)
    sel = doc["rule_selection"]
    assert (sel["partial"], sel["rules_evaluated"], sel["rules_loaded"], sel["only"], sel["stored"]) == (
        True, len(KEY_RULES), ALL_RULES, ["GW-KEY-*"], None)
    assert sel["rule_ids"] == KEY_RULES and sel["statement"].startswith(
        f"PARTIAL AUDIT: findings come from {len(KEY_RULES)} of {ALL_RULES} rules (--only GW-KEY-*)")
    assert f"partial audit: {len(KEY_RULES)} of {ALL_RULES} rules; not stored" in err
    assert _stored(db, ids[-1]) == before                         # nothing of the full audit moved
    _, text, _ = _gw(db, "audit", "--skip", "GW-DRIFT-*")
    assert "PARTIAL AUDIT: findings come from" in text and "--skip GW-DRIFT-*" in text
    assert _stored(db, ids[-1]) == before
    # a selection that leaves nothing out is the full audit
    _, out, err = _gw(db, "audit", "--only", "*", "--format", "json")
    assert json.loads(out)["rule_selection"]["partial"] is False and err == ""
    after = _stored(db, ids[-1])
    assert after[:2] == before[:2] and after[2][0][1] == ALL_RULES


def test_store_partial_keeps_it_apart(full):
    db, ids = full
    before = _stored(db, ids[-1])
    code, out, err = _gw(db, "audit", "--only", "GW-KEY-*", "--store-partial", "--format", "json")
    doc = json.loads(out)
    assert doc["rule_selection"]["stored"] == "partial" and doc["rule_selection"]["partial_id"] == 1
    assert "stored apart as partial audit 1 (partial_audits)" in err
    assert _stored(db, ids[-1]) == before
    with duckdb.connect(str(db), read_only=True) as con:
        row = con.execute("SELECT snapshot_id, rules_loaded, rules_evaluated, selection, rule_ids, origin "
                          "FROM partial_audits").fetchall()
        assert row == [(ids[-1], ALL_RULES, len(KEY_RULES), '{"only": ["GW-KEY-*"], "skip": []}', KEY_RULES,
                        "store-partial")]
        assert con.execute("SELECT count(*) FROM partial_findings WHERE partial_id = 1").fetchone()[0] == len(
            doc["findings"]) > 0
        assert sorted(r[0] for r in con.execute("SELECT rule_id FROM partial_rule_results").fetchall()) == KEY_RULES
        # a partial finding keeps the first_seen the full audits know
        full_seen = dict(con.execute("SELECT fingerprint, first_seen FROM findings WHERE snapshot_id = ?",
                                     [ids[-1]]).fetchall())
        for fp, seen in con.execute("SELECT fingerprint, first_seen FROM partial_findings").fetchall():
            assert seen == full_seen[fp]
    # a second one gets its own id; deleting the snapshot takes them along
    _, out, _ = _gw(db, "audit", "--only", "api_keys", "--store-partial", "--format", "json")
    assert json.loads(out)["rule_selection"]["partial_id"] == 2
    from gwaudit.db.maintenance import delete_snapshots  # noqa: F401 - the sweep is by snapshot_id column

    with duckdb.connect(str(db), read_only=True) as con:
        cols = {r[0] for r in con.execute("SELECT table_name FROM duckdb_columns() WHERE column_name = 'snapshot_id'")
                .fetchall()}
    assert {"partial_audits", "partial_findings", "partial_rule_results"} <= cols


def test_library_never_stores_a_partial_audit_as_the_snapshots(full):
    db, ids = full
    before = _stored(db, ids[-1])
    res = audit(db, ids[-1], only=["GW-KEY-*"])
    assert res.partial and res.stored is None and res.selection.rule_ids == KEY_RULES
    res = audit(db, ids[-1], skip=["GW-KEY-001"], store_partial=True)
    assert res.partial and res.stored == "partial" and res.selection.rules_evaluated == ALL_RULES - 1
    assert _stored(db, ids[-1]) == before
    res = audit(db, ids[-1], only=["GW-KEY-*"], store=False, store_partial=True)
    assert res.stored is None
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM partial_audits").fetchone()[0] == 1


def test_reports_and_diff_read_the_full_audit_and_say_which_rules(full, tmp_path):
    from pypdf import PdfReader

    db, ids = full
    _, diff_before, _ = _gw(db, "diff", "--format", "json")
    _gw(db, "audit", "--only", "GW-KEY-*", "--store-partial")
    _gw(db, "audit", "--only", "GW-KEY-*")
    _, diff_after, _ = _gw(db, "diff", "--format", "json")
    assert diff_after == diff_before
    out = tmp_path / "reports"
    code, _, err = _gw(db, "report", "--format", "json,csv,html,pdf", "--out", str(out))
    report = json.loads(next(out.rglob("*report.json")).read_text())
    assert len(report["findings"]) == _stored(db, ids[-1])[0]
    sel = report["rule_selection"]
    assert (sel["partial"], sel["rules_evaluated"], sel["rules_loaded"], sel["stored"]) == (
        False, ALL_RULES, ALL_RULES, "audit")
    assert sel["statement"] == f"Findings come from all {ALL_RULES} rules of the catalog (listed under Rules)."
    assert len(report["rules"]) == ALL_RULES
    rows = list(csv.DictReader(io.StringIO(next(out.rglob("*rules.csv")).read_text())))
    assert len(rows) == ALL_RULES and {r["rule_selection"] for r in rows} == {sel["statement"]}
    html = next(out.rglob("*report.html")).read_text()
    assert f"Findings come from all {ALL_RULES} rules of the catalog (listed under Rules)." in html
    text = " ".join(" ".join((p.extract_text() or "") for p in PdfReader(str(next(out.rglob("*.pdf")))).pages)
                    .split())
    assert f"Findings come from all {ALL_RULES} rules of the catalog" in text


def test_a_partial_audit_renders_as_partial_in_every_format(full):
    from gwaudit.formats import REGISTRY, RenderContext
    from gwaudit.report.data import from_audit
    from gwaudit.report.tables import rules_csv

    db, ids = full
    data = from_audit(audit(db, ids[-1], only=["GW-KEY-*"]))
    statement = data.rule_selection.describe()
    assert statement.startswith("PARTIAL AUDIT") and all(r in statement for r in KEY_RULES)
    table = " ".join(REGISTRY["table"].render_stream(data, RenderContext()).split())
    assert statement in table
    assert json.loads(REGISTRY["json"].render_stream(data, RenderContext()))["rule_selection"]["partial"] is True
    assert "rule_selection" in REGISTRY["junit"].render_stream(data, RenderContext())
    assert "PARTIAL AUDIT" in REGISTRY["junit"].render_stream(data, RenderContext())
    ocsf = REGISTRY["ocsf"].render_stream(data, RenderContext())
    assert "PARTIAL AUDIT" in ocsf
    rows = list(csv.DictReader(io.StringIO(rules_csv(data).decode())))
    assert sorted(r["rule_id"] for r in rows) == KEY_RULES and {r["rule_selection"] for r in rows} == {statement}


def test_migration_7_moves_an_old_partial_audit_apart_and_the_next_report_audits_in_full(full, tmp_path):
    db, ids = full
    sid = ids[-1]
    with Database(db).writer() as con:   # what an older gwaudit left after `audit --only 'GW-KEY-*'`
        con.execute("DELETE FROM findings WHERE snapshot_id = ? AND rule_id NOT LIKE 'GW-KEY-%'", [sid])
        con.execute("DELETE FROM rule_results WHERE snapshot_id = ? AND rule_id NOT LIKE 'GW-KEY-%'", [sid])
        con.execute("UPDATE audits SET rules_evaluated = ?, selection = '{\"only\": [\"GW-KEY-*\"], \"skip\": []}' "
                    "WHERE snapshot_id = ?", [len(KEY_RULES), sid])
        con.execute("DELETE FROM schema_version WHERE version >= 7")
        kept = con.execute("SELECT count(*) FROM findings WHERE snapshot_id = ?", [sid]).fetchone()[0]
    with Database(db).reader() as con:
        assert con.execute("SELECT snapshot_id, rule_ids, origin FROM partial_audits").fetchall() == [
            (sid, KEY_RULES, "migration 7")]
        assert con.execute("SELECT count(*) FROM partial_findings").fetchone()[0] == kept
        assert not audited(con, sid) and audited(con, ids[0])
        assert con.execute("SELECT count(*) FROM audits WHERE snapshot_id = ?", [sid]).fetchone()[0] == 0
    out = tmp_path / "reports"
    _gw(db, "report", "--format", "json", "--out", str(out))
    report = json.loads(next(out.rglob("*report.json")).read_text())
    assert report["rule_selection"]["rules_evaluated"] == ALL_RULES and len(report["findings"]) > kept
