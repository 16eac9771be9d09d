"""``--format ocsf``: every finding an OCSF Compliance Finding that py-ocsf-models (a maintained
OCSF library, offline: the schema is in its models) accepts with nothing left over; rules not
evaluated as Warning events; waived findings suppressed."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from py_ocsf_models import OCSF_VERSION
from py_ocsf_models.events.findings.compliance_finding import ComplianceFinding

from gwaudit.cli import main
from gwaudit.formats import REGISTRY, RenderContext
from gwaudit.report import ocsf
from gwaudit.report.model import ReportRule
from tests.enginekit import org, snapshot, write_rule
from tests.report_data import report_data


def unknown_keys(sent: Any, kept: Any, path: str = "") -> list[str]:
    """Members of ``sent`` the model dropped (py-ocsf-models ignores attributes it does not know)."""
    out: list[str] = []
    if isinstance(sent, dict) and isinstance(kept, dict):
        for k, v in sent.items():
            if k not in kept:
                out.append(f"{path}.{k}")
            elif k not in ("unmapped", "data"):  # free-form objects by definition
                out += unknown_keys(v, kept[k], f"{path}.{k}")
    elif isinstance(sent, list) and isinstance(kept, list):
        for i, (a, b) in enumerate(zip(sent, kept)):
            out += unknown_keys(a, b, f"{path}[{i}]")
    return out


def validate(event: dict[str, Any]) -> ComplianceFinding:
    model = ComplianceFinding.model_validate(event)
    assert unknown_keys(event, model.model_dump(mode="json", exclude_none=True)) == []
    return model


def test_every_event_is_a_valid_compliance_finding():
    data = report_data(40)
    data.rules.append(ReportRule(rule_id="GW-SKIP-001", title="Skipped rule", severity="medium", status="skip",
                                 note="no routing policies in this tenant", frameworks={"soc2": ["CC8.1"]},
                                 families=["routing_policies"]))
    lines = ocsf.stream(data).splitlines()
    events = [json.loads(ln) for ln in lines]
    # one per finding, then one per rule without a result (error and skip)
    assert len(events) == len(data.findings) + 2
    for e in events:
        m = validate(e)
        assert m.class_uid == 2003 and m.type_uid == 200301 and m.metadata.version == OCSF_VERSION
        assert m.compliance.standards
    first = data.findings[0]
    e = events[0]
    assert e["finding_info"]["uid"] == first.fingerprint == e["metadata"]["correlation_uid"]
    assert e["metadata"]["uid"] == f"{first.fingerprint}:{data.snapshot.id}"
    assert e["time"] == int(data.snapshot.taken_at.timestamp() * 1000)
    assert e["resources"] == [{"uid": first.resource_id, "name": first.resource_name, "type": "api_keys",
                               "data": first.evidence}]
    assert e["compliance"]["requirements"] == ["SOC 2 CC6.1", "ISO/IEC 27001 A.5.17", "NIST SP 800-53 IA-5",
                                               "ISO/IEC 42001 A.6.2.6"]
    assert e["remediation"]["desc"] == "Rotate the key and set an expiry of at most 90 days."
    assert (e["severity_id"], e["severity"]) == (4, "High")
    assert (e["status_id"], e["compliance"]["status_id"]) == (1, 3)  # New; the control fails


def test_severities_and_waivers_map_to_ocsf_ids():
    data = report_data(40)
    by_fp = {json.loads(ln)["finding_info"]["uid"]: json.loads(ln) for ln in ocsf.stream(data).splitlines()
             if not json.loads(ln)["finding_info"]["uid"].startswith("gwaudit:")}
    seen = set()
    for f in data.findings:
        e = by_fp[f.fingerprint]
        seen.add((f.severity, e["severity_id"]))
        if f.status == "waived":
            assert (e["status_id"], e["status"]) == (3, "Suppressed")
            assert "alice@example.com" in e["status_detail"] and "2026-12-31" in e["status_detail"]
            assert e["compliance"]["status_id"] == 3  # accepted, still not compliant
        else:
            assert (e["status_id"], e["status"]) == (1, "New") and "status_detail" not in e
    assert seen == {("critical", 5), ("high", 4), ("medium", 3), ("low", 2), ("info", 1)}


def test_rules_without_a_result_are_warnings_not_silence():
    data = report_data(5)
    data.rules.append(ReportRule(rule_id="GW-SKIP-001", title="Skipped rule", severity="medium", status="skip",
                                 note="no routing policies in this tenant", families=["routing_policies"]))
    events = [json.loads(ln) for ln in ocsf.stream(data).splitlines()]
    warn = {e["compliance"]["control"]: e for e in events if e["compliance"]["status_id"] == 2}
    assert set(warn) == {"GW-ERR-001", "GW-SKIP-001"}
    assert warn["GW-ERR-001"]["status_detail"] == "family route_health was not collected"
    assert warn["GW-ERR-001"]["compliance"]["checks"][0]["status"] == "Warning"
    assert warn["GW-SKIP-001"]["message"] == "GW-SKIP-001 was not evaluated: no routing policies in this tenant"
    assert warn["GW-SKIP-001"]["compliance"]["standards"] == ["gwaudit rule catalog"]  # maps to no framework
    for e in warn.values():
        validate(e)
        assert e["finding_info"]["analytic"] == {"uid": e["compliance"]["control"], "name": e["compliance"]["checks"][0]["name"],
                                                 "type_id": 1, "type": "Rule"}
    # without a recorded reason, the event still says which it was
    data.rules = [ReportRule(rule_id="T-ERR", title="e", severity="low", status="error")]
    data.findings = []
    [e] = [json.loads(ln) for ln in ocsf.stream(data).splitlines()]
    assert e["message"] == "T-ERR could not be evaluated: the rule could not be evaluated; no reason was recorded"
    validate(e)
    # passing rules produce nothing
    events = [json.loads(ln) for ln in ocsf.stream(report_data(5)).splitlines()]
    assert not any(e["compliance"]["control"].startswith("GW-OK-") for e in events)


def test_hostile_text_stays_data():
    data = report_data(20, hostile=True)
    for ln in ocsf.stream(data).splitlines():
        validate(json.loads(ln))
    assert ocsf.files(data)["findings.ocsf.jsonl"].decode() == ocsf.stream(data)


def test_an_org_without_an_id_and_a_rule_without_text():
    data = report_data(3)
    data.snapshot = replace(data.snapshot, org_id=None)
    data.rules = [replace(r, description="", remediation="", references=[]) for r in data.rules]
    e = json.loads(ocsf.stream(data).splitlines()[0])
    validate(e)
    assert "tenant_uid" not in e["metadata"] and "remediation" not in e and "desc" not in e["finding_info"]


def test_audit_and_report_write_ocsf(tmp_path, capsys, db):
    rules = tmp_path / "r"
    write_rule(rules, "T-EXP-001", severity="critical")
    snapshot(db, org())
    code = main(["--db", str(db), "audit", "--rules-dir", str(rules), "--only", "T-*", "--format", "ocsf"])
    out = capsys.readouterr().out
    events = [json.loads(ln) for ln in out.splitlines()]
    assert code == 0 and [e["resources"][0]["uid"] for e in events] == ["k-forever"]
    validate(events[0])
    assert "ocsf" in REGISTRY and REGISTRY["ocsf"].render_stream is not None
    code = main(["--db", str(db), "report", "--format", "ocsf", "--out", str(tmp_path / "out")])
    written = [Path(p) for p in capsys.readouterr().out.split()]
    assert code == 0 and [p.name.endswith("-findings.ocsf.jsonl") for p in written] == [True]
    for ln in written[0].read_text().splitlines():
        validate(json.loads(ln))


def test_the_stream_renderer_goes_through_the_registry():
    data = report_data(4)
    assert REGISTRY["ocsf"].render_stream(data, RenderContext()) == ocsf.stream(data)


@pytest.mark.parametrize("status", ["pass", "fail"])
def test_evaluated_rules_make_no_warning(status):
    data = report_data(4)
    data.rules = [r for r in data.rules if r.status == status]
    assert all(json.loads(ln)["compliance"]["status_id"] == 3 for ln in ocsf.stream(data).splitlines())
