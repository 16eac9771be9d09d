"""CSV and JSON outputs of a report.

* ``findings.csv`` - every finding, frameworks flattened (``soc2:CC6.1;iso27001:A.5.17``),
  evidence and waiver as JSON text;
* ``rules.csv`` - every rule the findings come from: status (``skip`` with its reason) and the
  rule selection (the whole catalog, or a partial audit);
* ``changes.csv`` - one row per changed field (an added or removed resource: one row);
* ``inventory/<family>.csv`` - the resources of each family in the audited snapshot;
* ``findings.json`` - the audit JSON of ``gwaudit audit --format json`` (snapshot, summary, rules, findings);
* ``report.json`` - the same plus the period, its changes, summary figures and completeness.

CSV is UTF-8; any text cell starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return is
prefixed with ``'`` (:func:`gwaudit.output.safe_cell`), so a spreadsheet never evaluates it.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict
from typing import Any, Iterable, Sequence

from ..frameworks import NOTE
from ..output import cell, dumps, jsonable, safe_cell
from .model import FRAMEWORKS, ReportData, ReportFinding, SnapshotRef

FINDING_COLUMNS = ("fingerprint", "rule_id", "title", "severity", "status", "family", "resource_id",
                   "resource_name", "message", "frameworks", "soc2", "iso27001", "nist_800_53", "iso42001",
                   "evidence", "snapshot_id", "first_seen", "waiver_owner", "waiver_expires",
                   "waiver_justification", "snapshot_warning")
CHANGE_COLUMNS = ("family", "change", "key", "name", "changed_by", "path", "before", "after", "snapshot_warning")


def _csv(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return buf.getvalue().encode("utf-8")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return cell(value)
    if isinstance(value, (dict, list)):
        return safe_cell(json.dumps(jsonable(value), ensure_ascii=False, sort_keys=True))
    return safe_cell(cell(value))


def frameworks_text(frameworks: dict[str, list[str]]) -> str:
    keys = [k for k in FRAMEWORKS if k in frameworks] + sorted(k for k in frameworks if k not in FRAMEWORKS)
    return ";".join(f"{k}:{c}" for k in keys for c in frameworks.get(k, []))


def finding_row(f: ReportFinding, warning: str | None = None) -> list[Any]:
    w = f.waiver or {}
    return [f.fingerprint, f.rule_id, f.title, f.severity, f.status, f.family, f.resource_id, f.resource_name,
            f.message, frameworks_text(f.frameworks),
            *(";".join(f.frameworks.get(k, [])) for k in ("soc2", "iso27001", "nist_800_53", "iso42001")),
            f.evidence, f.snapshot_id, f.first_seen, w.get("owner"), w.get("expires"), w.get("justification"), warning]


RULE_COLUMNS = ("rule_id", "title", "severity", "status", "reason", "checked", "failed", "open", "waived",
                "error", "rule_selection")


def rules_csv(data: ReportData) -> bytes:
    """Every rule the findings come from, with its status (``skip`` with the reason it was not
    applied); every row's ``rule_selection`` states the selection (all rules of the catalog, or
    a partial audit)."""
    statement = data.rule_selection.describe()
    return _csv(RULE_COLUMNS, ([r.rule_id, r.title, r.severity, r.status, r.note if r.status == "skip" else None,
                                r.checked, r.failed, r.open, r.waived, r.error, statement] for r in data.rules))


def findings_csv(data: ReportData) -> bytes:
    """Every finding; on an incomplete snapshot every row's ``snapshot_warning`` says so."""
    warning = data.incomplete_warning
    return _csv(FINDING_COLUMNS, (finding_row(f, warning) for f in data.findings))


def changes_csv(data: ReportData) -> bytes:
    warning = data.incomplete_warning

    def rows() -> Iterable[list[Any]]:
        for c in data.changes:
            if c.changes:
                for fc in c.changes:
                    yield [c.family, c.kind, c.key, c.name, c.changed_by, fc.path, _json_text(fc.before),
                           _json_text(fc.after), warning]
            else:
                yield [c.family, c.kind, c.key, c.name, c.changed_by, None, None, None, warning]
    return _csv(CHANGE_COLUMNS, rows())


def _json_text(value: Any) -> Any:
    """Before/after values: strings as they are, anything else as JSON (so null stays visible)."""
    if isinstance(value, str):
        return value
    return json.dumps(jsonable(value), ensure_ascii=False, sort_keys=True)


def inventory_csvs(data: ReportData) -> dict[str, bytes]:
    """``{family: csv bytes}`` for every family in the inventory."""
    return {inv.family: _csv(inv.columns, inv.rows) for inv in data.inventory}


# ---------------------------------------------------------------- JSON

def _snapshot(s: SnapshotRef | None) -> dict[str, Any] | None:
    return None if s is None else jsonable(asdict(s))


def finding_dict(f: ReportFinding) -> dict[str, Any]:
    return jsonable({"fingerprint": f.fingerprint, "rule_id": f.rule_id, "title": f.title, "severity": f.severity,
                     "status": f.status, "family": f.family, "resource_id": f.resource_id,
                     "resource_name": f.resource_name, "message": f.message, "evidence": f.evidence,
                     "frameworks": f.frameworks, "snapshot_id": f.snapshot_id, "first_seen": f.first_seen,
                     "waiver": f.waiver})


def audit_dict(data: ReportData) -> dict[str, Any]:
    """The audit as JSON (README, "Auditing"): ``{"snapshot", "summary", "rules", "findings"}``."""
    s = data.summary
    summary = {"findings": len(data.findings), "by_status": {"fail": s.open, "waived": s.waived},
               "by_severity": s.by_severity, "rules": s.rules, "fail_on": data.fail_on or "none",
               "exit_code": data.exit_code}
    rules = [{"rule_id": r.rule_id, "status": r.status, "checked": r.checked, "failed": r.failed, "error": r.error,
              "reason": r.note if r.status == "skip" else None}
             for r in data.rules]
    return {"snapshot": _snapshot(data.snapshot), "rule_selection": data.rule_selection.to_dict(),
            "summary": summary, "rules": rules, "findings": [finding_dict(f) for f in data.findings]}


def findings_json(data: ReportData) -> bytes:
    return (dumps(audit_dict(data)) + "\n").encode("utf-8")


def report_dict(data: ReportData) -> dict[str, Any]:
    out = audit_dict(data)
    s = data.summary
    out["summary"].update({"open": s.open, "waived": s.waived, "new_in_period": s.new,
                           "resolved_in_period": s.resolved, "mean_time_to_resolve_days": s.mean_time_to_resolve_days})
    out["report"] = {"org": data.org, "generated_at": data.generated_at, "tool_version": data.tool_version,
                     "classification": data.classification, "incomplete": data.incomplete,
                     "missing_families": data.missing_families, "warning": data.incomplete_warning,
                     "notes": data.notes}
    p = data.period
    out["period"] = {"label": p.label, "start": p.start, "end": p.end, "baseline": _snapshot(p.baseline),
                     "snapshots": [_snapshot(x) for x in p.snapshots]}
    out["completeness"] = [asdict(f) for f in data.completeness]
    out["rules"] = [dict(base, title=r.title, severity=r.severity, display_status=r.display_status,
                         frameworks=r.frameworks, rationale=r.rationale, params=r.params, open=r.open,
                         waived=r.waived)
                    for base, r in zip(out["rules"], data.rules)]
    matrix = data.compliance_matrix()
    out["controls"] = [asdict(c) for fw in matrix for c in fw.rows]
    out["frameworks"] = [fw.to_dict() for fw in matrix]
    out["scope"] = data.scope.to_dict()
    out["controls_note"] = NOTE
    out["changes"] = {"note": data.changes_note,
                      "items": [asdict(c) for c in data.changes]}
    out["findings_delta"] = data.delta
    out["waivers"] = [asdict(w) for w in data.waivers]
    out["inventory"] = {inv.family: inv.count for inv in data.inventory}
    out["trend"] = [asdict(t) for t in data.trend]
    return jsonable(out)


def report_json(data: ReportData) -> bytes:
    return (dumps(report_dict(data)) + "\n").encode("utf-8")


# ---------------------------------------------------------------- the csv and json formats

def csv_files(data: ReportData, ctx: Any) -> dict[str, bytes]:
    """The ``csv`` format of a report: findings, changes, one inventory file per family, and
    ``INCOMPLETE.txt`` on an incomplete snapshot."""
    out = {"findings.csv": ctx.attachments.get("findings.csv") or findings_csv(data),
           "rules.csv": rules_csv(data), "changes.csv": changes_csv(data)}
    out.update({f"inventory/{family}.csv": body for family, body in inventory_csvs(data).items()})
    if data.incomplete_warning:
        out["INCOMPLETE.txt"] = (data.incomplete_warning + "\n").encode()
    return out


def json_files(data: ReportData, ctx: Any) -> dict[str, bytes]:
    """The ``json`` format of a report: the whole report, and its findings alone."""
    return {"report.json": report_json(data),
            "findings.json": ctx.attachments.get("findings.json") or findings_json(data)}


def audit_json(data: ReportData, ctx: Any) -> str:
    """``gwaudit audit --format json``."""
    return dumps(audit_dict(data))
