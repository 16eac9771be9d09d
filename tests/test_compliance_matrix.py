"""The compliance matrix as an auditor reads it: the PDF read back with pypdf, the HTML, the report
JSON, and a Security-only report of the sample org through the command line."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pypdf
import pytest

from gwaudit.cli import main
from gwaudit.frameworks import NOTE, Scope
from gwaudit.db.ingest import import_folder
from gwaudit.report.html import render_html
from gwaudit.report.model import ReportRule as Rule
from gwaudit.report.pdf import render_pdf
from gwaudit.report.tables import report_dict
from gwaudit.resources import sample_snapshots
from tests.report_data import report_data

HEADINGS = ("SOC 2: AICPA TSC 2017 (rev. 2022 points of focus)", "ISO/IEC 27001:2022", "NIST SP 800-53 Rev. 5",
            "ISO/IEC 42001:2023")


def _data(scope: Scope | None = None):
    """The renderer fixture plus rules that make every status appear: skipped, not evaluated, waived."""
    data = report_data(60)
    data.rules += [
        Rule("GW-SKIP-001", "Changed since the previous snapshot", "medium", "skip",
             frameworks={"iso27001": ["A.8.32"]}, rationale={"iso27001": {"A.8.32": "changes follow change "
                                                                          "management; the check lists the changes"}}),
        Rule("GW-ERR-002", "Reads a family that was not collected", "high", "error", error="not collected",
             frameworks={"iso27001": ["A.8.15"]}),
        Rule("GW-WAV-001", "Every finding waived", "low", "fail", failed=2, open=0, waived=2,
             frameworks={"nist_800_53": ["CA-5"]}),
    ]
    data.controls, data.matrix = [], []  # computed from the rules
    if scope is not None:
        data.scope = scope
    return data


def _text(pdf: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return "\n".join(p.extract_text() for p in reader.pages)


def _between(text: str, start: str, end: str) -> str:
    body = text[text.index("Compliance matrix\nWhat this matrix shows"):]
    return body[body.index(start):body.index(end)]


@pytest.fixture(scope="module")
def pdf_text() -> str:
    return _text(render_pdf(_data(), attachments={}))


def test_the_pdf_matrix_names_each_framework_with_its_version_and_each_control_with_its_title(pdf_text):
    matrix = _between(pdf_text, "What this matrix shows", "Findings by rule")
    flat = " ".join(matrix.split())
    positions = [flat.index(h) for h in HEADINGS]
    assert positions == sorted(positions)
    # a control is an entry: "id · result", its title, its rules
    for text in ("CC6.1 · 25 open findings; 3 findings waived Logical access security software, infrastructure "
                 "and architectures over protected information assets rules: GW-ACC-001, GW-KEY-001",
                 "A.5.17 · 26 open findings; 2 findings waived Authentication information rules: GW-CRED-001, "
                 "GW-KEY-001", "AC-3 · waived (1 finding) Access Enforcement rules: GW-ACC-001",
                 "IA-5 · 25 open findings; 2 findings waived Authenticator Management",
                 "A.6.2.6 · 26 open findings; 2 findings waived AI system operation and monitoring",
                 "CA-5 · waived (2 findings) Plan of Action and Milestones rules: GW-WAV-001",
                 "A.8.32 · skipped Change management rules: GW-SKIP-001",
                 "A.8.15 · not evaluated Logging rules: GW-ERR-002"):
        assert text in flat, text


def test_the_pdf_matrix_says_what_was_tested_and_never_pass(pdf_text):
    flat = " ".join(_between(pdf_text, "What this matrix shows", "Findings by rule").split())
    for words in ("CC8.1 · no open findings in 3 mapped checks Authorizes", "CC6.3 · 1 open finding Authorizes",
                  "A1.2 · 10 open findings; 1 mapped check not evaluated Environmental protections",
                  "A.8.32 · skipped", "A.8.15 · not evaluated", "CA-5 · waived (2 findings)"):
        assert words in flat, words
    results = re.findall(r"[A-Z][A-Z0-9.\-()]+ · ([^A-Z]+)", flat)
    assert len(results) == 7 + 6 + 6 + 3 and not any(re.search(r"\bpass\b", r) for r in results), results
    assert " ".join(NOTE.split()) in flat  # what automated checks can and cannot establish
    for line in ("Coverage: 7 of 61 criteria in the catalog are touched by a mapped check (11%).",
                 "Coverage: 6 of 93 controls in the catalog are touched by a mapped check (6%).",
                 "Coverage: 6 of 1007 controls and enhancements in the catalog are touched by a mapped check (0.6%).",
                 "Coverage: 3 of 38 controls in the catalog are touched by a mapped check (8%)."):
        assert line in flat, line


def test_the_pdf_rules_appendix_gives_each_mapping_with_its_rationale(pdf_text):
    appendix = " ".join(pdf_text[pdf_text.rindex("Rules and parameters"):].split())
    assert ("GW-KEY-001 · API key without expiry" in appendix
            and "ISO/IEC 27001 A.5.17: the check tests the aspect of A.5.17" in appendix)
    assert "ISO/IEC 27001 A.8.32: changes follow change management; the check lists the changes" in appendix
    assert "ISO/IEC 27001 A.8.15: no rationale given" in appendix


def test_a_security_only_pdf_shows_only_in_scope_criteria_and_says_what_is_left_out():
    text = _text(render_pdf(_data(Scope.parse(["security"])), attachments={}))
    soc2 = " ".join(_between(text, HEADINGS[0], HEADINGS[1]).split()).replace("GW- ", "GW-")  # a line break
    flat = " ".join(_between(text, "What this matrix shows", HEADINGS[0]).split())
    assert ("Scope: SOC 2 categories in scope: security (not in scope: availability, processing integrity, "
            "confidentiality, privacy).") in flat
    assert "Coverage: 6 of 33 criteria in scope are touched by a mapped check (18%)." in soc2
    rows = soc2[:soc2.index("A1.2 Environmental")]
    assert "CC6.1 · 25 open findings" in rows and "A1.2" not in rows
    assert ("A1.2 Environmental protections, software, data back-up processes and recovery infrastructure to meet "
            "availability objectives (availability, not in scope): mapped by GW-ERR-001, GW-PROV-001, "
            "GW-ROUTE-001.") in soc2
    assert ("Rules with no mapping in scope (they map only to the criteria above): GW-ERR-001, GW-PROV-001, "
            "GW-ROUTE-001.") in soc2


def test_the_html_matrix_carries_the_same_headings_titles_words_and_coverage():
    html = render_html(_data())
    for text in (*HEADINGS, "Logical access security software", "no open findings in 3 mapped checks",
                 "waived (2 findings)", "Coverage: 7 of 61 criteria in the catalog", "What this matrix shows",
                 "<b>ISO/IEC 27001 A.8.32</b>: changes follow change management"):
        assert text in html, text
    assert 'class="badge st-skipped">skipped<' in html and 'class="badge st-not_evaluated">not evaluated<' in html


def test_the_report_json_has_the_rows_the_frameworks_and_the_scope():
    doc = json.loads(json.dumps(report_dict(_data(Scope.parse(["security", "availability"])))))
    assert doc["scope"] == {"soc2_categories": ["security", "availability"]}
    assert doc["controls_note"] == NOTE
    fws = {f["framework"]: f for f in doc["frameworks"]}
    assert [f["heading"] for f in doc["frameworks"]] == list(HEADINGS)
    assert fws["soc2"]["controls_in_catalog"] == 36  # 33 common criteria and A1.1-A1.3
    assert fws["soc2"]["excluded"] == [] and fws["soc2"]["rules_out_of_scope"] == []
    assert fws["soc2"]["coverage"] == "Coverage: 7 of 36 criteria in scope are touched by a mapped check (19%)."
    rows = {(r["framework"], r["control"]): r for r in doc["controls"]}
    assert rows[("nist_800_53", "CA-5")] == {
        "framework": "nist_800_53", "control": "CA-5", "rule_ids": ["GW-WAV-001"], "status": "waived",
        "title": "Plan of Action and Milestones", "words": "waived (2 findings)", "checks": 1, "open": 0,
        "waived": 2, "not_evaluated": 0, "skipped": 0, "known": True, "withdrawn": False}
    assert rows[("iso27001", "A.8.32")]["status"] == "skipped" and rows[("iso27001", "A.8.15")]["status"] == "not_evaluated"
    assert {r["status"] for r in doc["controls"]} == {"open_findings", "not_evaluated", "waived", "skipped",
                                                      "no_open_findings"}
    rule = next(r for r in doc["rules"] if r["rule_id"] == "GW-SKIP-001")
    assert rule["rationale"] == {"iso27001": {"A.8.32": "changes follow change management; the check lists the changes"}}


# ---------------------------------------------------------------- the sample org, through the command line

@pytest.fixture(scope="module")
def sample_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("sample") / "g.duckdb"
    for folder in sample_snapshots():
        import_folder(db, folder)
    return db


def test_report_soc2_categories_security_on_the_sample_org(sample_db: Path, tmp_path: Path):
    out = tmp_path / "out"
    code = main(["--db", str(sample_db), "report", "--soc2-categories", "security", "--format", "json,pdf",
                 "--out", str(out)])
    assert code == 0
    doc = json.loads(next(out.glob("*-report.json")).read_text())
    assert doc["scope"] == {"soc2_categories": ["security"]}
    soc2 = next(f for f in doc["frameworks"] if f["framework"] == "soc2")
    rows = [r for r in doc["controls"] if r["framework"] == "soc2"]
    assert rows and all(r["control"].startswith("CC") for r in rows)
    excluded = {e["control"]: e for e in soc2["excluded"]}
    assert {"A1.1", "A1.2", "PI1.3"} <= set(excluded)
    assert "GW-BUD-001" in excluded["A1.1"]["rule_ids"] and "GW-ROUTE-001" in excluded["A1.2"]["rule_ids"]
    assert soc2["rules_out_of_scope"] == []  # every built-in rule maps to a common criterion
    assert soc2["controls_in_catalog"] == 33 and soc2["controls_touched"] == len(rows)
    by_id = {r["control"]: r for r in rows}
    assert by_id["CC7.1"]["title"].startswith("Detection and monitoring procedures")
    assert "GW-GOV-001" in by_id["CC7.1"]["rule_ids"] and "GW-PRICE-001" in by_id["CC7.1"]["rule_ids"]
    assert all(r["words"] and "pass" not in r["words"].split() for r in doc["controls"])
    text = " ".join(_text(next(out.glob("*-report.pdf")).read_bytes()).split())
    assert "Scope: SOC 2 categories in scope: security (not in scope: availability" in text
    assert f"Coverage: {len(rows)} of 33 criteria in scope are touched by a mapped check" in text
    assert "A1.1 Maintains, monitors and evaluates current processing capacity" in text and "not in scope" in text


@pytest.mark.parametrize("args, config, message", [
    (["--soc2-categories", "security,avail"], None, "SOC 2 category 'avail' is not one of"),
    (["--soc2-categories", "availability"], None, "must include security"),
    ([], '[report]\nsoc2_categories = ["availability"]\n', "report.soc2_categories: must include security"),
    ([], '[report]\nsoc2_categories = ["secrecy"]\n', "report.soc2_categories.0: Input should be"),
])
def test_a_bad_soc2_scope_is_a_usage_error_before_any_work(tmp_path, capsys, args, config, message):
    cli_args = ["--db", str(tmp_path / "none.duckdb")]
    if config:
        (tmp_path / "gwaudit.toml").write_text(config)
        cli_args += ["--config", str(tmp_path / "gwaudit.toml")]
    assert main([*cli_args, "report", *args, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "error:" in err and message in err, err
    assert not (tmp_path / "none.duckdb").exists() and not (tmp_path / "out").exists()


def test_run_takes_soc2_categories_too_and_refuses_a_bad_list_before_collecting(tmp_path, capsys):
    assert main(["--db", str(tmp_path / "g.duckdb"), "run", "--soc2-categories", "privacy",
                 "--base-url", "http://127.0.0.1:9"]) == 2
    assert "must include security" in capsys.readouterr().err
    assert not (tmp_path / "g.duckdb").exists()


def test_run_reports_within_the_soc2_scope_it_is_given(tmp_path, monkeypatch):
    from gwaudit.simulator import Simulator

    with Simulator.from_folder(sample_snapshots()[-1]) as sim:
        cfg = tmp_path / "gwaudit.toml"
        cfg.write_text(f'[api]\nbase_url = "{sim.base_url}"\n[database]\npath = "audit.duckdb"\n'
                       '[report]\nformats = ["json"]\nout = "reports"\nsoc2_categories = ["security", "privacy"]\n')
        monkeypatch.setenv("GWAUDIT_TOKEN", sim.mint_token())
        code = main(["--config", str(cfg), "run", "--soc2-categories", "security,availability"])
    assert code == 0
    doc = json.loads((tmp_path / "reports" / "latest" / "report.json").read_text())
    assert doc["scope"] == {"soc2_categories": ["security", "availability"]}  # the flag wins over the file
    soc2 = [r["control"] for r in doc["controls"] if r["framework"] == "soc2"]
    assert "A1.1" in soc2 and not [c for c in soc2 if c.startswith("PI")]
