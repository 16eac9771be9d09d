"""Issue 14, class 4: a rule whose declared precondition does not hold is ``skip`` with its reason,
never ``pass``: in the engine, the stored audit, the compliance matrix, the findings delta and every
format (text, JSON, CSV, JUnit, OCSF, HTML, PDF, report JSON, run summary). Real DuckDB files, the
public engine and the command line."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from gwaudit.cli import cli
from gwaudit.db import Database
from gwaudit.db.ingest import import_folder
from gwaudit.errors import ConfigError
from gwaudit.resources import sample_snapshots
from gwaudit.rules import audit, load_rules
from gwaudit.rules.engine import NO_PREVIOUS
from gwaudit.rules.loader import load_rule_file
from tests.enginekit import catalog, rule_dict, snapshot, write_rule
from tests.factories.smart_models import smart_model

SM_SQL = ("SELECT id AS resource_id, model_alias AS resource_name, 'smart model ' || model_alias AS message "
          "FROM smart_models")
# the change-control rules: the five drift rules and access drift (GW-ACCESS-001, GW-ACCESS-004)
DRIFT = [r.id for r in load_rules() if r.rule_class == "change-control"]


def _sm_rule(folder: Path, **fields) -> Path:
    return write_rule(folder, "T-SM-001", SM_SQL, families=["smart_models"], **fields)


def _load(tmp_path: Path, **fields):
    import yaml

    path = tmp_path / "T-X-001.yaml"
    path.write_text(yaml.safe_dump(rule_dict("T-X-001", "SELECT id AS resource_id, name AS resource_name, "
                                             "'m' AS message FROM api_keys", **fields)))
    return load_rule_file(path)


# ---------------------------------------------------------------- the declaration

def test_requires_is_validated_and_agrees_with_needs_previous(tmp_path):
    assert _load(tmp_path, needs_previous=True).requires == ["previous_snapshot"]       # implied
    rule = _load(tmp_path, requires=["previous_snapshot"])
    assert rule.needs_previous and rule.requires == ["previous_snapshot"]
    assert _load(tmp_path).requires == [] and not _load(tmp_path).needs_previous
    rule = _load(tmp_path, families=["api_keys", "smart_models"], requires=["offered:smart_models"])
    assert rule.requires == ["offered:smart_models"] and not rule.needs_previous
    for fields, words in (
            ({"requires": ["nightly"]}, "unknown precondition 'nightly'"),
            ({"requires": ["previous_snapshot", "previous_snapshot"]}, "listed twice"),
            ({"requires": ["previous_snapshot"], "needs_previous": False}, "contradicts needs_previous"),
            ({"requires": ["offered:smart_models"]}, "not among the rule's families"),
            ({"requires": ["offered:api_keys"]}, "api_keys is not optional"),
            ({"requires": "previous_snapshot"}, "requires")):
        with pytest.raises(ConfigError, match=words):
            _load(tmp_path, **fields)


def test_every_change_control_rule_declares_previous_snapshot():
    drift = [r for r in load_rules() if r.needs_previous]
    assert {r.id for r in drift} == set(DRIFT) and len(DRIFT) == 7
    assert all(r.requires == ["previous_snapshot"] for r in drift)
    assert all(not r.requires for r in load_rules() if not r.needs_previous)


# ---------------------------------------------------------------- the engine

@pytest.fixture
def sample_db(tmp_path):
    db = tmp_path / "g.duckdb"
    ids = [import_folder(db, f).snapshot_id for f in sample_snapshots()]
    return db, ids


def test_change_control_without_a_previous_snapshot_is_skip_never_pass(sample_db):
    db, ids = sample_db
    first = audit(db, ids[0])
    by = {r.rule_id: r for r in first.rules}
    assert {rid: (by[rid].status, by[rid].note) for rid in DRIFT} == {rid: ("skip", NO_PREVIOUS) for rid in DRIFT}
    assert all(by[rid].checked == 0 and by[rid].failed == 0 for rid in DRIFT)
    counts = first.summary()["rules"]
    statuses = [r.status for r in first.rules]
    assert counts["skipped"] == len(DRIFT) and counts["passed"] == statuses.count("pass")
    assert counts["passed"] + counts["failed"] + counts["error"] + counts["skipped"] == counts["evaluated"]
    # with a previous snapshot they are evaluated (pass or fail), never skipped
    later = audit(db, ids[1])
    assert {r.status for r in later.rules if r.rule_id in DRIFT} <= {"pass", "fail"}
    with duckdb.connect(str(db), read_only=True) as con:
        stored = con.execute("SELECT rule_id, status, note FROM rule_results WHERE snapshot_id = ? AND status = 'skip'",
                             [ids[0]]).fetchall()
        assert sorted(stored) == [(rid, "skip", NO_PREVIOUS) for rid in sorted(DRIFT)]
        assert con.execute("SELECT count(*) FROM rule_evaluations WHERE snapshot_id = ? AND evaluated "
                           "AND rule_id LIKE 'GW-DRIFT-%'", [ids[0]]).fetchone()[0] == 0
        # the stored compliance matrix counts them as skipped, never as a clean check
        rows = con.execute("SELECT control, status, rule_ids, checks, skipped FROM control_results "
                           "WHERE snapshot_id = ?", [ids[0]]).fetchall()
    assert sum(r[4] for r in rows) > 0
    for control, status, rule_ids, checks, skipped in rows:
        drift = [r for r in rule_ids if r in DRIFT]
        assert skipped == len(drift)
        assert checks == len(rule_ids) - len(drift) - con_errors(first, rule_ids)
        if drift and len(drift) == len(rule_ids):
            assert status == "skipped", control


def con_errors(result, rule_ids) -> int:
    return sum(1 for r in result.rules if r.rule_id in rule_ids and r.status == "error")


def test_an_unoffered_optional_family_skips_a_rule_that_declares_it_and_delta_calls_it_not_evaluated(tmp_path, db):
    rules = tmp_path / "r"
    _sm_rule(rules, requires=["offered:smart_models"])
    write_rule(rules, "T-SM-002", SM_SQL, families=["smart_models"])     # declares nothing: passes on empty
    cat = catalog(rules)
    s1 = snapshot(db, {"smart_models": [smart_model("auto", ["gpt-4o"])]}, taken_at="2026-11-01T00:00:00Z")
    s2 = snapshot(db, {}, taken_at="2026-11-02T00:00:00Z", unavailable=["smart_models"])
    s3 = snapshot(db, {}, taken_at="2026-11-03T00:00:00Z")
    one = audit(db, s1, rules=cat)
    assert [f.rule_id for f in one.findings] == ["T-SM-001", "T-SM-002"]
    two = {r.rule_id: r for r in audit(db, s2, rules=cat).rules}
    assert (two["T-SM-001"].status, two["T-SM-001"].note) == (
        "skip", "family smart_models is not offered by this tenant: not found")
    assert two["T-SM-002"].status == "pass"           # the undeclared rule: the old behaviour, unchanged
    audit(db, s3, rules=cat)                            # offered again, and empty: evaluated, passes
    with duckdb.connect(str(db), read_only=True) as con:
        moves = dict(con.execute("SELECT rule_id, change FROM finding_delta(?, ?)", [s1, s2]).fetchall())
        assert moves == {"T-SM-001": "not_evaluated", "T-SM-002": "resolved_deleted"}
        assert dict(con.execute("SELECT rule_id, change FROM finding_delta(?, ?)", [s1, s3]).fetchall()) == {
            "T-SM-001": "resolved_deleted", "T-SM-002": "resolved_deleted"}
    # a skipped rule's waiver is not stale: the rule was not applied, so it matched nothing for no reason
    waivers = [{"rule_id": "T-SM-001", "resource_id": "x", "justification": "accepted", "owner": "o@example.com",
                "expires": "2027-01-01"}]
    res = audit(db, s2, rules=cat, waivers=waivers, store=False)
    assert [f for f in res.findings if f.rule_id == "GW-WAIVER-002"] == []


# ---------------------------------------------------------------- every format

def _gw(db: Path, *args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(cli, ["--db", str(db), *args], catch_exceptions=False)
    return r.exit_code, r.stdout, r.stderr


def test_audit_formats_show_skip_with_its_reason(sample_db):
    db, ids = sample_db
    first = str(ids[0])
    code, out, _ = _gw(db, "audit", "--snapshot", first, "--format", "json")
    doc = json.loads(out)
    rules = {r["rule_id"]: r for r in doc["rules"]}
    assert all(rules[rid]["status"] == "skip" and rules[rid]["reason"] == NO_PREVIOUS for rid in DRIFT)
    assert all(r["reason"] is None for r in doc["rules"] if r["status"] != "skip")
    assert doc["summary"]["rules"]["skipped"] == len(DRIFT)
    assert doc["summary"]["rules"]["passed"] == sum(r["status"] == "pass" for r in doc["rules"])
    _, text, _ = _gw(db, "audit", "--snapshot", first)
    assert f"{len(DRIFT)} skipped" in text and f"SKIPPED ({len(DRIFT)}): not applied, not passed" in text
    block = text.split(f"SKIPPED ({len(DRIFT)})")[1]
    assert all(rid in block for rid in DRIFT) and NO_PREVIOUS in block
    _, xml, _ = _gw(db, "audit", "--snapshot", first, "--format", "junit")
    cases = {c.get("name").split()[0] if " " in (c.get("name") or "") else c.get("name"): c
             for c in ET.fromstring(xml).iter("testcase")}
    drift_cases = [c for c in ET.fromstring(xml).iter("testcase") if any(rid in (c.get("name") or "") +
                                                                          (c.get("classname") or "") for rid in DRIFT)]
    assert len(drift_cases) == len(DRIFT) and cases
    assert all(c.find("skipped") is not None and NO_PREVIOUS in c.find("skipped").get("message")
               for c in drift_cases)
    _, ocsf, _ = _gw(db, "audit", "--snapshot", first, "--format", "ocsf")
    events = [json.loads(line) for line in ocsf.splitlines() if line.strip()] if not ocsf.lstrip().startswith("[") \
        else json.loads(ocsf)
    skipped = [e for e in events if e["unmapped"]["gwaudit"].get("rule_status") == "skip"]
    assert sorted(e["unmapped"]["gwaudit"]["rule_id"] for e in skipped) == sorted(DRIFT)
    assert all(NO_PREVIOUS in e["message"] for e in skipped)


def test_report_json_csv_html_pdf_show_skipped_rules_and_the_matrix(sample_db, tmp_path):
    from pypdf import PdfReader

    db, ids = sample_db
    out = tmp_path / "reports"
    code, stdout, stderr = _gw(db, "report", "--snapshot", str(ids[0]), "--format", "json,csv,html,pdf",
                               "--out", str(out))
    assert code in (0, 1, 4), stderr
    report = json.loads(next(out.rglob("*report.json")).read_text())
    rules = {r["rule_id"]: r for r in report["rules"]}
    assert all((rules[rid]["status"], rules[rid]["display_status"], rules[rid]["reason"]) ==
               ("skip", "skipped", NO_PREVIOUS) for rid in DRIFT)
    assert report["summary"]["rules"]["skipped"] == len(DRIFT)
    assert report["rule_selection"]["partial"] is False
    matrix = [c for c in report["controls"] if c["rule_ids"] and set(c["rule_ids"]) <= set(DRIFT)]
    assert all(c["status"] == "skipped" for c in matrix)
    assert sum(c["skipped"] for c in report["controls"]) > 0
    rows = list(csv.DictReader(io.StringIO(next(out.rglob("*rules.csv")).read_text())))
    assert {r["rule_id"]: (r["status"], r["reason"]) for r in rows if r["rule_id"] in DRIFT} == {
        rid: ("skip", NO_PREVIOUS) for rid in DRIFT}
    html = next(out.rglob("*report.html")).read_text()
    assert "rules skipped (not applied)" in html and NO_PREVIOUS in html
    pdf = next(out.rglob("*.pdf"))
    text = " ".join((p.extract_text() or "") for p in PdfReader(str(pdf)).pages)
    flat = " ".join(text.split())
    assert "skipped (no previous snapshot to compare): not applied, not passed" in flat
    assert "GW-DRIFT-001" in flat and "rules skipped" in flat


def test_run_summary_counts_skipped_rules_apart(sample_db):
    db, ids = sample_db
    from gwaudit.rules.engine import audit as engine_audit

    result = engine_audit(db, ids[0])
    s = result.summary()
    assert s["rules"]["skipped"] == len(DRIFT) and s["rules"]["passed"] == [r.status for r in result.rules].count("pass")


# ---------------------------------------------------------------- an older database

def test_migration_7_turns_the_old_pass_with_a_note_into_skip(sample_db, tmp_path):
    db, ids = sample_db
    audit(db, ids[0])
    with Database(db).writer() as con:   # as an older gwaudit stored it
        con.execute("UPDATE rule_results SET status = 'pass' WHERE status = 'skip'")
        con.execute("UPDATE control_results SET skipped = 0, status = 'no_open_findings' WHERE skipped > 0")
        con.execute("DELETE FROM schema_version WHERE version >= 7")
    with Database(db).reader() as con:
        assert con.execute("SELECT count(*) FROM rule_results WHERE status = 'skip'").fetchone()[0] == len(DRIFT)
        assert con.execute("SELECT sum(skipped) FROM control_results").fetchone()[0] > 0
        assert con.execute("SELECT max(version) FROM schema_version").fetchone()[0] == 7
