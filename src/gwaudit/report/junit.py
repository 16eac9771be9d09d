"""The audit as JUnit XML (``--format junit``), so a CI pipeline shows it as test results.

One ``<testsuite>`` for the audited snapshot, one ``<testcase>`` per rule evaluated:

* a rule with open findings fails: one ``<failure>`` per open finding (``message`` the finding's
  message, ``type`` its severity, the text its resource, evidence and first sighting); because
  some CI servers keep only the first ``<failure>`` of a test case, its ``<system-out>`` lists
  every open and waived finding as well;
* a rule that could not be evaluated (``error``) or was not evaluated (``skip``) is
  ``<skipped>`` with the reason: never a pass;
* a rule that passed, or whose findings are all waived, passes (waived findings are listed in
  ``<system-out>``).

``classname`` is ``gwaudit.<family>`` (the family the rule reads first), so CI groups the rules
by resource; the suite's properties name the snapshot, its manifest hash and the tool version.
The XML is valid against ``tests/data/junit/junit.xsd`` (tested).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from typing import Any, Iterable

from ..output import jsonable
from ..timeutil import format_ts
from .model import ReportData, ReportFinding, ReportRule

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _x(text: Any) -> str:
    """Text XML 1.0 can carry: characters it forbids become U+FFFD."""
    return _NOT_XML.sub("\ufffd", "" if text is None else str(text))


def files(data: ReportData, ctx: Any = None) -> dict[str, bytes]:
    """``gwaudit report --format junit``: ``junit.xml``."""
    return {"junit.xml": document(data)}


def stream(data: ReportData, ctx: Any = None) -> str:
    """``gwaudit audit --format junit``: the XML document."""
    return document(data).decode("utf-8")


def document(data: ReportData) -> bytes:
    snap = data.snapshot
    by_rule = data.findings_by_rule()
    cases = [_case(r, by_rule.get(r.rule_id, [])) for r in data.rules]
    failures = sum(1 for c in cases if c.find("failure") is not None)
    skipped = sum(1 for c in cases if c.find("skipped") is not None)
    counts = {"tests": str(len(cases)), "failures": str(failures), "errors": "0", "skipped": str(skipped),
              "time": "0"}
    root = ET.Element("testsuites", {"name": "gwaudit", **counts})
    suite = ET.SubElement(root, "testsuite", {
        "name": _x(f"gwaudit audit of {data.org}, snapshot {snap.id}"), **counts,
        # Ant's format: local time without a zone; gwaudit's times are UTC
        "timestamp": snap.taken_at.strftime("%Y-%m-%dT%H:%M:%S"), "hostname": _x(data.org or "gwaudit"), "id": "0",
        "package": "gwaudit"})
    props = ET.SubElement(suite, "properties")
    for name, value in (("snapshot_id", snap.id), ("taken_at", format_ts(snap.taken_at)),
                        ("snapshot_status", snap.status), ("manifest_sha256", snap.manifest_sha256),
                        ("base_url", snap.base_url or ""), ("org_id", snap.org_id or ""),
                        ("gwaudit_version", data.tool_version), ("fail_on", data.fail_on or "none"),
                        ("exit_code", data.exit_code), ("rule_selection", data.rule_selection.describe())):
        ET.SubElement(props, "property", {"name": name, "value": _x(value)})
    suite.extend(cases)
    if data.incomplete_warning:
        ET.SubElement(suite, "system-err").text = _x(data.incomplete_warning)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def _case(rule: ReportRule, findings: list[ReportFinding]) -> ET.Element:
    family = rule.families[0] if rule.families else "engine"
    case = ET.Element("testcase", {"name": _x(f"{rule.rule_id}: {rule.title}"), "classname": f"gwaudit.{family}",
                                   "time": "0"})
    if rule.status in ("error", "skip"):
        label = "not evaluated" if rule.status == "skip" else "could not be evaluated"
        reason = rule.error or rule.note
        ET.SubElement(case, "skipped", {"message": _x(f"{label}: {reason}" if reason else label)})
        return case
    open_ = [f for f in findings if f.status == "fail"]
    for f in open_:
        failure = ET.SubElement(case, "failure", {"message": _x(f.message), "type": f.severity})
        failure.text = _x(_detail(f))
    lines = list(_summary(rule, findings))
    if lines:
        ET.SubElement(case, "system-out").text = _x("\n".join(lines))
    return case


def _detail(f: ReportFinding) -> str:
    lines = [f"{f.rule_id} ({f.severity}) on {f.family} {f.resource_name or f.resource_id}",
             f"resource_id: {f.resource_id}", f"message: {f.message}"]
    if f.first_seen is not None:
        lines.append(f"first seen: {format_ts(f.first_seen)}")
    if f.evidence:
        lines.append("evidence: " + json.dumps(jsonable(f.evidence), ensure_ascii=False, sort_keys=True))
    lines.append(f"fingerprint: {f.fingerprint}")
    return "\n".join(lines)


def _summary(rule: ReportRule, findings: Iterable[ReportFinding]) -> Iterable[str]:
    findings = list(findings)
    if rule.note:
        yield f"note: {rule.note}"
    for f in findings:
        what = f.resource_name or f.resource_id
        if f.status == "fail":
            yield f"FAIL   {f.severity:<8} {f.family} {what}: {f.message}"
        else:
            w = f.waiver or {}
            yield (f"WAIVED {f.severity:<8} {f.family} {what}: {f.message} "
                   f"(until {w.get('expires')}, owner {w.get('owner')}: {w.get('justification')})")
    if rule.remediation and any(f.status == "fail" for f in findings):
        yield f"remediation: {rule.remediation}"
