"""``--format junit``: a test case per rule, a failure per open finding, skipped (never passed) for
a rule that was not evaluated; valid against the JUnit schema shipped in tests/data/junit."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest
import xmlschema

from gwaudit.cli import main
from gwaudit.formats import REGISTRY
from gwaudit.report import junit
from gwaudit.report.model import ReportFinding, ReportRule
from tests.enginekit import org, snapshot, standard_rules
from tests.report_data import HOSTILE_SCRIPT, report_data

XSD = Path(__file__).resolve().parent / "data" / "junit" / "junit.xsd"


@pytest.fixture(scope="module")
def schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(XSD)


def parse(schema, xml: bytes) -> ET.Element:
    schema.validate(xml.decode("utf-8"))
    return ET.fromstring(xml)


def _cases(root: ET.Element) -> dict[str, ET.Element]:
    return {c.get("name").split(":")[0]: c for c in root.iter("testcase")}


def test_one_case_per_rule_one_failure_per_open_finding(schema):
    data = report_data(40)
    data.rules.append(ReportRule(rule_id="GW-SKIP-001", title="Skipped rule", severity="medium", status="skip",
                                 note="no routing policies in this tenant", families=["routing_policies"]))
    root = parse(schema, junit.document(data))
    cases = _cases(root)
    assert set(cases) == {r.rule_id for r in data.rules}
    for rule in data.rules:
        case = cases[rule.rule_id]
        open_ = [f for f in data.findings if f.rule_id == rule.rule_id and f.status == "fail"]
        failures = case.findall("failure")
        assert [f.get("message") for f in failures] == [f.message for f in open_], rule.rule_id
        assert all(f.get("type") == rule.severity for f in failures)
        assert case.get("classname") == f"gwaudit.{rule.families[0]}"
    suite = root.find("testsuite")
    failed = sum(1 for c in cases.values() if c.find("failure") is not None)
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped"), suite.get("errors")) == (
        str(len(data.rules)), str(failed), "2", "0")
    assert root.get("tests") == suite.get("tests")
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["snapshot_id"] == "7" and props["manifest_sha256"] == "07" * 32


def test_skip_and_error_are_skipped_with_the_reason_never_passed(schema):
    data = report_data(5)
    data.rules.append(ReportRule(rule_id="GW-SKIP-001", title="Skipped rule", severity="medium", status="skip",
                                 note="no routing policies in this tenant", families=["routing_policies"]))
    cases = _cases(parse(schema, junit.document(data)))
    assert cases["GW-ERR-001"].find("skipped").get("message") == (
        "could not be evaluated: family route_health was not collected")
    assert cases["GW-SKIP-001"].find("skipped").get("message") == (
        "not evaluated: no routing policies in this tenant")
    for rid in ("GW-ERR-001", "GW-SKIP-001"):
        assert cases[rid].find("failure") is None
    passing = cases["GW-OK-000"]
    assert list(passing) == []  # a pass is an empty test case


def test_a_rule_with_only_waived_findings_passes_and_lists_them(schema):
    data = report_data(40)
    waived_only = [f for f in data.findings if f.status == "waived"][0]
    data.findings = [f for f in data.findings if f.rule_id != waived_only.rule_id or f is waived_only]
    case = _cases(parse(schema, junit.document(data)))[waived_only.rule_id]
    assert case.find("failure") is None and case.find("skipped") is None
    assert "WAIVED" in case.find("system-out").text and "alice@example.com" in case.find("system-out").text


def test_every_open_finding_is_in_system_out_too(schema):
    """Some CI servers keep only the first failure of a test case: the full list is in system-out."""
    data = report_data(40)
    case = _cases(parse(schema, junit.document(data)))["GW-KEY-001"]
    out = case.find("system-out").text
    open_ = [f for f in data.findings if f.rule_id == "GW-KEY-001" and f.status == "fail"]
    assert len(open_) > 1 and all(f.message in out for f in open_)
    assert "remediation: Rotate the key" in out


def test_hostile_text_and_characters_xml_cannot_hold(schema):
    data = report_data(20, hostile=True)
    f = data.findings[0]
    data.findings[0] = replace(f, message="bell\x07 and NUL\x00 and ]]> and \"quotes\" & <tags>")
    xml = junit.document(data)
    root = parse(schema, xml)
    msgs = [x.get("message") for x in root.iter("failure")]
    assert "bell\ufffd and NUL\ufffd and ]]> and \"quotes\" & <tags>" in msgs
    # markup from the API is text: it reads back exactly and is never a tag in the document
    assert HOSTILE_SCRIPT in root.find("testsuite").get("name")
    assert b"<script" not in xml


def test_an_incomplete_snapshot_says_so(schema):
    data = report_data(5, incomplete=True)
    root = parse(schema, junit.document(data))
    assert "INCOMPLETE SNAPSHOT" in root.find("testsuite").find("system-err").text


def test_the_schema_rejects_what_ci_would_not_read(schema):
    """The shipped schema is strict: a test that validated everything would prove nothing."""
    good = junit.document(report_data(3)).decode()
    schema.validate(good)
    for bad in (good.replace(' classname="gwaudit.api_keys"', "", 1),
                good.replace('tests="', 'tests="-', 1),
                good.replace("<testcase ", "<testcase bogus=\"1\" ", 1),
                good.replace("</testsuite>", "<unknown/></testsuite>", 1)):
        with pytest.raises(xmlschema.XMLSchemaValidationError):
            schema.validate(bad)


def test_audit_and_report_write_junit(tmp_path, capsys, db, schema):
    rules = standard_rules(tmp_path / "r")
    snapshot(db, org())
    code = main(["--db", str(db), "audit", "--rules-dir", str(rules), "--only", "T-*", "--format", "junit"])
    out = capsys.readouterr().out
    root = parse(schema, out.encode())
    cases = _cases(root)
    assert code == 0 and set(cases) == {"T-AGE-001", "T-EXP-001", "T-PRV-001"}
    assert [f.get("message") for f in cases["T-EXP-001"].findall("failure")] == ["key forever never expires"]
    code = main(["--db", str(db), "report", "--format", "junit", "--out", str(tmp_path / "out")])
    [path] = [Path(p) for p in capsys.readouterr().out.split()]
    assert code == 0 and path.name.endswith("-junit.xml")
    parse(schema, path.read_bytes())
    assert "junit" in REGISTRY


def test_engine_findings_without_a_family_rule_still_render(schema):
    data = report_data(2)
    data.rules.append(ReportRule(rule_id="GW-WAIVER-001", title="Expired waiver", severity="medium", status="fail",
                                 families=[]))
    data.findings.append(ReportFinding(fingerprint="f" * 32, rule_id="GW-WAIVER-001", title="Expired waiver",
                                       severity="medium", status="fail", family="waivers", resource_id="waiver:1",
                                       resource_name=None, message="waiver #1 expired"))
    case = _cases(parse(schema, junit.document(data)))["GW-WAIVER-001"]
    assert case.get("classname") == "gwaudit.engine" and case.find("failure").get("message") == "waiver #1 expired"


def test_an_org_without_a_name_still_validates(schema):
    data = report_data(2)
    data.org = ""
    suite = parse(schema, junit.document(data)).find("testsuite")
    assert suite.get("hostname") == "gwaudit"


def test_a_rule_not_evaluated_without_a_stated_reason_says_which_it_was(schema):
    data = report_data(2)
    data.rules = [ReportRule(rule_id="T-SKIP", title="s", severity="low", status="skip", families=["api_keys"]),
                  ReportRule(rule_id="T-ERR", title="e", severity="low", status="error", families=["api_keys"])]
    data.findings = []
    cases = _cases(parse(schema, junit.document(data)))
    assert cases["T-SKIP"].find("skipped").get("message") == "not evaluated"
    assert cases["T-ERR"].find("skipped").get("message") == "could not be evaluated"
