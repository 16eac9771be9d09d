"""Findings as OCSF events (``--format ocsf``), one JSON object per line, for a SIEM.

Each finding is an OCSF 1.x **Compliance Finding** (class 2003, category Findings): gwaudit's
findings are the results of evaluating a gateway's configuration against controls of SOC 2,
ISO/IEC 27001, NIST SP 800-53 and ISO/IEC 42001, which is what that class describes (its
``compliance`` object carries the standards, the requirements and the check's status), rather
than a Detection Finding's analytic over observed activity. README, "Output formats", says why.

* an open finding: ``status`` New, ``compliance.status_id`` 3 (Fail);
* a waived finding: ``status`` Suppressed (``status_detail`` the waiver: owner, expiry,
  justification), ``compliance.status_id`` 3 (Fail) - it still fails the control;
* a rule that could not be evaluated (``error``) or was not evaluated (``skip``) produces no
  findings, and silence would read as a pass: it gets one event of its own with
  ``compliance.status_id`` 2 (Warning: "did not yield a result due to missing information") and the
  reason.

The rule itself is ``compliance.checks[0]`` (its id, title, severity and status, the finding's
message or the reason as ``desc``) and ``finding_info.analytic``.

``finding_info.uid`` is the finding's fingerprint (the same problem on the same resource in every
snapshot), ``metadata.uid`` unique per snapshot, ``time`` the snapshot's ``taken_at`` (epoch ms).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from ..output import jsonable
from ..timeutil import format_ts
from ..frameworks import active_catalog
from .model import FRAMEWORKS, ReportData, ReportFinding, ReportRule

OCSF_VERSION = "1.5.0"
CLASS_UID, CATEGORY_UID, ACTIVITY_CREATE = 2003, 2, 1
SEVERITY_IDS = {"info": (1, "Informational"), "low": (2, "Low"), "medium": (3, "Medium"), "high": (4, "High"),
                "critical": (5, "Critical")}
COMPLIANCE_WARNING, COMPLIANCE_FAIL = (2, "Warning"), (3, "Fail")
NOT_EVALUATED = ("error", "skip")


def events(data: ReportData) -> list[dict[str, Any]]:
    """Every finding of the audit, then every rule that was not evaluated, as OCSF events."""
    rules = {r.rule_id: r for r in data.rules}
    out = [finding_event(data, f, rules.get(f.rule_id)) for f in data.findings]
    out += [not_evaluated_event(data, r) for r in data.rules if r.status in NOT_EVALUATED]
    return out


def stream(data: ReportData, ctx: Any = None) -> str:
    """``gwaudit audit --format ocsf``: one event per line (JSON Lines)."""
    return "".join(json.dumps(e, ensure_ascii=False, sort_keys=True) + "\n" for e in events(data))


def files(data: ReportData, ctx: Any = None) -> dict[str, bytes]:
    """``gwaudit report --format ocsf``: ``findings.ocsf.jsonl``."""
    return {"findings.ocsf.jsonl": stream(data, ctx).encode("utf-8")}


def _ms(when: datetime | None) -> int | None:
    return None if when is None else int(when.timestamp() * 1000)


def _base(data: ReportData, severity: str, uid: str, correlation: str, code: str) -> dict[str, Any]:
    sev_id, sev = SEVERITY_IDS.get(severity, (99, severity))
    snap = data.snapshot
    product = {"name": "gwaudit", "vendor_name": "gwaudit", "version": data.tool_version,
               "feature": {"name": "audit"}}
    metadata: dict[str, Any] = {"version": OCSF_VERSION, "product": product, "uid": uid,
                                "correlation_uid": correlation, "event_code": code, "profiles": ["datetime"],
                                "processed_time": _ms(data.generated_at), "log_name": "gwaudit audit",
                                "log_provider": snap.base_url or data.org}
    if snap.org_id:
        metadata["tenant_uid"] = snap.org_id
    return {"activity_id": ACTIVITY_CREATE, "activity_name": "Create",
            "category_uid": CATEGORY_UID, "category_name": "Findings",
            "class_uid": CLASS_UID, "class_name": "Compliance Finding",
            "type_uid": CLASS_UID * 100 + ACTIVITY_CREATE, "type_name": "Compliance Finding: Create",
            "time": _ms(snap.taken_at), "time_dt": format_ts(snap.taken_at),
            "severity_id": sev_id, "severity": sev, "metadata": metadata}


def _compliance(frameworks: dict[str, list[str]], rule_id: str, title: str, severity: str,
                status: tuple[int, str], detail: str) -> dict[str, Any]:
    keys = [k for k in FRAMEWORKS if k in frameworks] + sorted(k for k in frameworks if k not in FRAMEWORKS)
    catalog = active_catalog().frameworks
    # a standard with its version ("ISO/IEC 27001:2022"); a requirement by its short name and id
    standards = [FRAMEWORKS.get(k, k) for k in keys] or ["gwaudit rule catalog"]
    requirements = [f"{catalog[k].name if k in catalog else k} {c}" for k in keys for c in frameworks[k]]
    sev_id, sev = SEVERITY_IDS.get(severity, (99, severity))
    check = {"uid": rule_id, "name": title, "desc": detail, "severity_id": sev_id, "severity": sev,
             "standards": standards, "status_id": status[0], "status": status[1]}
    out: dict[str, Any] = {"standards": standards, "control": rule_id, "status_id": status[0], "checks": [check]}
    if requirements:
        out["requirements"] = requirements
    return out


def _partial(data: ReportData) -> dict[str, Any]:
    """On a partial audit, which rules the events come from (never on the full audit)."""
    sel = data.rule_selection
    return {"rule_selection": sel.describe()} if sel.partial else {}


def finding_event(data: ReportData, f: ReportFinding, rule: ReportRule | None) -> dict[str, Any]:
    event = _base(data, f.severity, f"{f.fingerprint}:{data.snapshot.id}", f.fingerprint, f.rule_id)
    waived = f.status == "waived"
    w = f.waiver or {}
    info: dict[str, Any] = {"uid": f.fingerprint, "title": f.title, "types": [f.family],
                            "analytic": {"uid": f.rule_id, "name": f.title, "type_id": 1, "type": "Rule"},
                            "last_seen_time": _ms(data.snapshot.taken_at),
                            "last_seen_time_dt": format_ts(data.snapshot.taken_at)}
    if f.first_seen is not None:
        info.update(first_seen_time=_ms(f.first_seen), first_seen_time_dt=format_ts(f.first_seen))
    if rule is not None and rule.description:
        info["desc"] = rule.description
    resource: dict[str, Any] = {"uid": f.resource_id, "type": f.family}
    if f.resource_name:
        resource["name"] = f.resource_name
    if f.evidence:
        resource["data"] = jsonable(f.evidence)
    event.update({
        "message": f.message,
        "status_id": 3 if waived else 1, "status": "Suppressed" if waived else "New",
        "finding_info": info,
        "compliance": _compliance(f.frameworks, f.rule_id, f.title, f.severity, COMPLIANCE_FAIL, f.message),
        "resources": [resource],
        "unmapped": {"gwaudit": {"snapshot_id": data.snapshot.id, "rule_id": f.rule_id, "family": f.family,
                                 "finding_status": f.status, "waiver": jsonable(f.waiver) if f.waiver else None,
                                 "risk": rule.risk if rule is not None and rule.risk else None,
                                 **_partial(data)}},
    })
    if waived:
        event["status_detail"] = (f"waived until {w.get('expires')} (owner {w.get('owner')}): "
                                  f"{w.get('justification')}")
    if rule is not None and rule.remediation:
        event["remediation"] = {"desc": rule.remediation, **({"references": list(rule.references)}
                                                             if rule.references else {})}
    return event


def not_evaluated_event(data: ReportData, r: ReportRule) -> dict[str, Any]:
    """A rule without a result: its reason, so a SIEM does not read the silence as a pass."""
    what = "was not evaluated" if r.status == "skip" else "could not be evaluated"
    reason = r.error or r.note or f"the rule {what}; no reason was recorded"
    uid = f"gwaudit:{r.rule_id}:{r.status}"
    event = _base(data, r.severity, f"{uid}:{data.snapshot.id}", uid, r.rule_id)
    event.update({
        "message": f"{r.rule_id} {what}: {reason}",
        "status_id": 1, "status": "New", "status_detail": reason,
        "finding_info": {"uid": uid, "title": f"{r.title} ({what})", "types": list(r.families) or ["gwaudit"],
                         "analytic": {"uid": r.rule_id, "name": r.title, "type_id": 1, "type": "Rule"},
                         **({"desc": r.description} if r.description else {})},
        "compliance": _compliance(r.frameworks, r.rule_id, r.title, r.severity, COMPLIANCE_WARNING, reason),
        "unmapped": {"gwaudit": {"snapshot_id": data.snapshot.id, "rule_id": r.rule_id, "rule_status": r.status,
                                 **_partial(data)}},
    })
    return event
