"""Fill a :class:`ReportData` from the database (``build_report_data``), plus the pure
derivations every source of report data shares (controls, summary figures)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Optional, Sequence
from urllib.parse import urlsplit

import duckdb

from .. import __version__
from .. import families as fam
from ..db import Database, family_status, history_view, ident, snapshot_info
from ..findings.delta import audited
from ..findings.lifecycle import lifecycle_figures
from ..frameworks import Catalog, FrameworkResult, Scope, active_catalog, control_results, flat_rows
from ..timeutil import utcnow
from .model import (SEVERITIES, SEVERITY_RANK, ChangeRow, Control, FamilyCompleteness, Inventory, Period, ReportData,
                    ReportFinding, ReportRule, RuleSelection, SnapshotRef, Summary, TrendPoint, Waiver)
from .period import Selection
from .period import select as period_select

if TYPE_CHECKING:
    from ..diff import SnapshotDiff
    from ..rules.engine import AuditResult

def matrix_from_rules(rules: Iterable[ReportRule], catalog: Optional[Catalog] = None,
                      scope: Optional[Scope] = None) -> list[FrameworkResult]:
    """The compliance matrix (:func:`gwaudit.frameworks.control_results`) of evaluated rules."""
    return control_results(rules, catalog or active_catalog(), scope)


def controls_from_rules(rules: Iterable[ReportRule], catalog: Optional[Catalog] = None,
                        scope: Optional[Scope] = None) -> list[Control]:
    """Every control any rule maps to (within ``scope``), with its title, the rules testing it
    and its status in words; frameworks in report order, controls in catalog order."""
    return flat_rows(matrix_from_rules(rules, catalog, scope))


def summarise(findings: Iterable[ReportFinding], rules: Iterable[ReportRule]) -> Summary:
    by_sev = {s: {"fail": 0, "waived": 0} for s in SEVERITIES}
    for f in findings:
        by_sev.setdefault(f.severity, {"fail": 0, "waived": 0})
        by_sev[f.severity][f.status if f.status in ("fail", "waived") else "fail"] += 1
    statuses = [r.status for r in rules]
    return Summary(by_severity=by_sev, open=sum(v["fail"] for v in by_sev.values()),
                   waived=sum(v["waived"] for v in by_sev.values()),
                   rules={"evaluated": len(statuses), "passed": statuses.count("pass"),
                          "failed": statuses.count("fail"), "error": statuses.count("error"),
                          "skipped": statuses.count("skip")})


# ---------------------------------------------------------------- from the database

def build_report_data(db: Database | Path | str, *, snapshot: Optional[str] = None, period: Optional[str] = None,
                      date_from: Optional[str] = None, date_to: Optional[str] = None,
                      waivers: Optional[Path] = None, classification: str = "Internal",
                      rules_dirs: Sequence[Path] = (), params: Optional[dict[str, dict[str, Any]]] = None,
                      now: Optional[datetime] = None,
                      soc2_categories: Optional[Sequence[str]] = None, org: Optional[str] = None) -> ReportData:
    """Everything a report shows, read from ``db``.

    The report reads the stored audits. A snapshot it needs (the audited one and the baseline the
    changes are counted from) is audited first only when it has no stored audit, or, for the
    audited one, when ``waivers`` is given (so the report reflects that file).
    ``soc2_categories`` limits the SOC 2 criteria of the compliance matrix (default: all); ``org``
    is the organisation's display name (default: the gateway's host name, else the org id)."""
    scope = Scope.parse(soc2_categories)
    db = Database.of(db)
    with db.reader() as con:
        sel = period_select(con, snapshot=snapshot, period=period, date_from=date_from, date_to=date_to)
        todo = [sid for sid in (sel.baseline, sel.audited)
                if sid is not None and (not audited(con, sid)
                                        or (sid == sel.audited and _waivers_changed(con, sid, waivers)))]
    if todo:
        from ..rules import audit

        for sid in todo:  # waivers are for the audited snapshot (they are checked against its date)
            audit(db, sid, rules_dirs=rules_dirs, params=params, waivers=waivers if sid == sel.audited else None)
    catalog = _catalog(rules_dirs)
    with db.reader() as con:
        return _assemble(con, sel, catalog, classification, now, scope, org)


def _waivers_changed(con: duckdb.DuckDBPyConnection, sid: int, waivers: Optional[Path]) -> bool:
    """Whether the stored audit of ``sid`` was made with another waiver file than ``waivers``
    (compared by content), so that the report must audit it again."""
    if waivers is None:
        return False
    import hashlib

    row = con.execute("SELECT waivers_sha256 FROM audits WHERE snapshot_id = ?", [sid]).fetchone()
    try:
        digest = hashlib.sha256(Path(waivers).read_bytes()).hexdigest()
    except OSError:
        return True  # the audit names the file's problem
    return row is None or row[0] != digest


def _assemble(con: duckdb.DuckDBPyConnection, sel: Selection, catalog: dict[str, Any], classification: str,
              now: Optional[datetime], scope: Optional[Scope] = None, org: Optional[str] = None) -> ReportData:
    from ..diff import compare

    snap = _ref(snapshot_info(con, sel.audited))
    baseline = _ref(snapshot_info(con, sel.baseline)) if sel.baseline is not None else None
    rules = _rules(con, sel.audited, catalog)
    findings = _findings(con, sel.audited)
    for r in rules:
        mine = [f for f in findings if f.rule_id == r.rule_id]
        r.open = sum(f.status == "fail" for f in mine)
        r.waived = sum(f.status == "waived" for f in mine)
    summary = summarise(findings, rules)
    notes = list(sel.notes)
    diff = compare(con, sel.baseline, sel.audited) if sel.baseline is not None else None
    changes, changes_note = _changes(diff)
    access_changes, access_note = _access_changes(diff)
    delta = diff.findings if diff is not None else None
    if delta is not None and delta.compared:
        summary.new, summary.resolved = len(delta.new), len(delta.all_resolved)
    elif delta is not None:
        notes.append(f"New and resolved findings are not shown: {delta.status}.")
    start = sel.start or (baseline.taken_at + timedelta(microseconds=1) if baseline else None)
    if start is not None:
        summary.mean_time_to_resolve_days = lifecycle_figures(con, snapshot=sel.audited,
                                                              start=start).total["mean_days_to_resolve"]
    trend = _trend(con, [s for s in [sel.baseline, *sel.in_period] if s is not None])
    matrix = matrix_from_rules(rules, scope=scope)
    return ReportData(
        org=org or org_name(snap, _org_urls(con, snap.org_id)), snapshot=snap, generated_at=now or utcnow(),
        tool_version=__version__, summary=summary, classification=classification,
        period=Period(label=sel.label, start=sel.start, end=sel.end, baseline=baseline,
                      snapshots=[_ref(snapshot_info(con, s)) for s in sel.in_period]),
        completeness=_completeness(con, sel.audited), rules=rules, findings=findings,
        controls=flat_rows(matrix), matrix=matrix, scope=scope, changes=changes, changes_note=changes_note,
        access_changes=access_changes, access_note=access_note, exposures=_exposures(con, sel.audited),
        waivers=_waivers(con, sel.audited, findings), inventory=_inventory(con, sel.audited), trend=trend,
        notes=notes, delta=delta.to_dict() if delta is not None else None, fail_on=_fail_on(con, sel.audited),
        selection=_selection(con, sel.audited, rules))


def from_audit(result: "AuditResult", *, org: Optional[str] = None) -> ReportData:
    """The audit ``gwaudit audit`` just ran, as the report model every format renders (without
    the period, changes and inventory a report adds)."""
    info = result.snapshot
    snap = _ref(info)
    rules = [ReportRule(rule_id=r.rule.id, title=r.rule.title, severity=r.rule.severity, status=r.status,
                        description=r.rule.description, risk=r.rule.risk, remediation=r.rule.remediation,
                        references=list(r.rule.references), frameworks=dict(r.rule.frameworks),
                        rationale={fw: dict(v) for fw, v in r.rule.rationale.items()},
                        families=list(r.rule.families), params=dict(r.params), checked=r.checked, failed=r.failed,
                        error=r.error, note=r.note) for r in result.rules]
    findings = [ReportFinding(fingerprint=f.fingerprint, rule_id=f.rule_id, title=f.title, severity=f.severity,
                              status=f.status, family=f.family, resource_id=f.resource_id,
                              resource_name=f.resource_name, message=f.message, evidence=f.evidence,
                              frameworks=f.frameworks, snapshot_id=f.snapshot_id, first_seen=f.first_seen,
                              waiver=f.waiver) for f in result.findings]
    for r in rules:
        r.open = sum(1 for f in findings if f.rule_id == r.rule_id and f.status == "fail")
        r.waived = sum(1 for f in findings if f.rule_id == r.rule_id and f.status == "waived")
    return ReportData(org=org or org_name(snap), snapshot=snap, generated_at=utcnow(), tool_version=__version__,
                      summary=summarise(findings, rules), rules=rules, findings=findings,
                      controls=controls_from_rules(rules), fail_on=result.fail_on, selection=result.selection)


def org_name(snap: SnapshotRef, known_urls: Sequence[str] = ()) -> str:
    """The gateway's host (what people call the tenant: ``northwind.platform.barndoor.ai``).
    A loopback or IP host (a simulator, a tunnel) is no name: then the host another snapshot of
    the same org recorded (``known_urls``), else the org id."""
    for url in [snap.base_url or "", *known_urls]:
        host = _host(url)
        if host and not _is_address(host):
            return host
    return snap.org_id or _host(snap.base_url or "") or "unknown organisation"


def _host(url: str) -> Optional[str]:
    if not url:
        return None
    return urlsplit(url if "://" in url else "https://" + url).hostname


def _is_address(host: str) -> bool:
    import ipaddress

    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


def _org_urls(con: duckdb.DuckDBPyConnection, org_id: Optional[str]) -> list[str]:
    if not org_id:
        return []
    return [r[0] for r in con.execute("""SELECT base_url FROM snapshots WHERE org_id = ? AND base_url IS NOT NULL
                                         ORDER BY taken_at DESC""", [org_id]).fetchall()]


def _ref(info: dict[str, Any]) -> SnapshotRef:
    return SnapshotRef(id=int(info["id"]), taken_at=info["taken_at"], status=info["status"], source=info["source"],
                       base_url=info["base_url"], org_id=info["org_id"], tool_version=info["tool_version"],
                       manifest_sha256=info["manifest_sha256"], resource_count=int(info["resource_count"] or 0),
                       failed_families=list(info["failed_families"] or []))


def _catalog(rules_dirs: Sequence[Path]) -> dict[str, Any]:
    from ..rules import load_rules

    return {r.id: r for r in load_rules(rules_dirs)}


def _loads(value: Any, default: Any) -> Any:
    if value is None:
        return default
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return default
    return value


def _rules(con: duckdb.DuckDBPyConnection, sid: int, catalog: dict[str, Any]) -> list[ReportRule]:
    rows = con.execute("""SELECT rule_id, status, checked, failed, error, params, title, severity, frameworks, note
                          FROM rule_results WHERE snapshot_id = ? ORDER BY rule_id""", [sid]).fetchall()
    out = []
    for rule_id, status, checked, failed, error, params, title, severity, frameworks, note in rows:
        meta = catalog.get(rule_id)
        out.append(ReportRule(
            rule_id=rule_id, title=title or (meta.title if meta else rule_id),
            severity=severity or (meta.severity if meta else "info"), status=status,
            description=meta.description if meta else "", risk=meta.risk if meta else "",
            remediation=meta.remediation if meta else "", references=list(meta.references) if meta else [],
            frameworks=_loads(frameworks, None) or (dict(meta.frameworks) if meta else {}),
            rationale={fw: dict(v) for fw, v in meta.rationale.items()} if meta else {},
            families=list(meta.families) if meta else [], params=_loads(params, {}) or {},
            checked=int(checked or 0), failed=int(failed or 0), error=error, note=note))
    return out


def _findings(con: duckdb.DuckDBPyConnection, sid: int) -> list[ReportFinding]:
    rows = con.execute("""SELECT fingerprint, rule_id, title, severity, status, family, resource_id, resource_name,
                                 message, evidence, frameworks, snapshot_id, first_seen, waiver
                          FROM findings WHERE snapshot_id = ?""", [sid]).fetchall()
    out = [ReportFinding(fingerprint=r[0], rule_id=r[1], title=r[2], severity=r[3], status=r[4], family=r[5],
                   resource_id=r[6], resource_name=r[7], message=r[8], evidence=_loads(r[9], {}) or {},
                   frameworks=_loads(r[10], {}) or {}, snapshot_id=r[11], first_seen=r[12],
                   waiver=_loads(r[13], None)) for r in rows]
    out.sort(key=lambda f: (SEVERITY_RANK.get(f.severity, 9), f.status != "fail", f.rule_id,
                            f.resource_name or "", f.resource_id))
    return out


def _completeness(con: duckdb.DuckDBPyConnection, sid: int) -> list[FamilyCompleteness]:
    status = family_status(con, sid)
    out = []
    for family in fam.FAMILIES:
        st = status.get(family.name)
        if st is None:
            out.append(FamilyCompleteness(family.name, family.title, "failed", None, "not recorded in the snapshot"))
        else:
            out.append(FamilyCompleteness(family.name, family.title, st["status"], st["item_count"], st["error"]))
    return out


def _inventory(con: duckdb.DuckDBPyConnection, sid: int) -> list[Inventory]:
    out = []
    for family in fam.FAMILIES:
        view = ident(history_view(family.name))
        cols = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {view}").fetchall()
                if r[0] not in ("snapshot_id", "taken_at", "raw", "version_id")]
        select = ", ".join(ident(c) for c in cols)
        rows = con.execute(f"SELECT {select} FROM {view} WHERE snapshot_id = ? ORDER BY resource_key",
                           [sid]).fetchall()
        out.append(Inventory(family.name, family.title, cols, [list(r) for r in rows]))
    return out


def _trend(con: duckdb.DuckDBPyConnection, ids: list[int]) -> list[TrendPoint]:
    ids = sorted(set(ids))
    done = [sid for sid in ids if audited(con, sid)]
    if not done:
        return []
    counts: dict[int, dict[str, int]] = {sid: {} for sid in done}
    for sid, sev, n in con.execute("""SELECT snapshot_id, severity, count(*) FROM findings
                                      WHERE status = 'fail' AND snapshot_id IN (SELECT unnest(?))
                                      GROUP BY ALL""", [done]).fetchall():
        counts[sid][sev] = int(n)
    when = dict(con.execute("SELECT id, taken_at FROM snapshots WHERE id IN (SELECT unnest(?))", [done]).fetchall())
    points = [TrendPoint(sid, when[sid], counts[sid]) for sid in done]
    points.sort(key=lambda p: (p.taken_at, p.snapshot_id))
    return points


def _waivers(con: duckdb.DuckDBPyConnection, sid: int, findings: list[ReportFinding]) -> list[Waiver]:
    """The waivers the stored audit judged (``waivers`` table), with their state and the findings
    they waived; for an audit stored before that table existed, the waivers recorded on its findings."""
    rows = con.execute("""SELECT rule_id, coalesce(resource_id, resource_name), justification, owner, expires, state,
                                 findings FROM waivers WHERE snapshot_id = ? ORDER BY waiver_no""", [sid]).fetchall()
    if rows or con.execute("SELECT count(*) FROM audits WHERE snapshot_id = ?", [sid]).fetchone()[0]:
        return [Waiver(*row) for row in rows]
    matched: dict[tuple[str, str], int] = {}
    recorded: dict[tuple[str, str], dict[str, Any]] = {}
    for f in findings:
        if f.waiver:
            target = str(f.waiver.get("resource_id") or f.waiver.get("resource_name") or f.resource_id)
            key = (f.rule_id, target)
            matched[key] = matched.get(key, 0) + 1
            recorded.setdefault(key, f.waiver)
    return [Waiver(rule_id, target, str(w.get("justification", "")), str(w.get("owner", "")),
                   str(w.get("expires", "")), "active", matched[(rule_id, target)])
            for (rule_id, target), w in sorted(recorded.items())]


def _selection(con: duckdb.DuckDBPyConnection, sid: int, rules: list[ReportRule]) -> RuleSelection:
    """The rules the stored audit of ``sid`` ran: always the whole catalog it was made with (a
    partial audit is never stored as the snapshot's audit)."""
    row = con.execute("SELECT rules_loaded, selection FROM audits WHERE snapshot_id = ?", [sid]).fetchone()
    ids = sorted(r.rule_id for r in rules)
    chosen = _loads(row[1], None) if row else None
    return RuleSelection(rules_loaded=int(row[0]) if row else len(ids), rule_ids=ids,
                         only=list((chosen or {}).get("only") or []), skip=list((chosen or {}).get("skip") or []),
                         stored="audit")


def _fail_on(con: duckdb.DuckDBPyConnection, sid: int) -> Optional[str]:
    row = con.execute("SELECT fail_on FROM audits WHERE snapshot_id = ?", [sid]).fetchone()
    return row[0] if row and row[0] not in (None, "none") else None


# ---------------------------------------------------------------- access drift and exposure

def _access_changes(diff: Any) -> tuple[list[dict[str, Any]], Optional[str]]:
    if diff is None or diff.access is None:
        return [], None
    if diff.access.status != "compared":
        return [], f"Access changes are not shown: {diff.access.status}."
    return diff.access.summary(), None


def _exposures(con: duckdb.DuckDBPyConnection, sid: int) -> list[dict[str, Any]]:
    from ..access.query import top_exposures_on

    return top_exposures_on(con, sid, 10)


# ---------------------------------------------------------------- changes (diff)

def _person(who: Any) -> Optional[str]:
    if not who:
        return None
    if isinstance(who, str):
        return who
    name = who.get("email") or who.get("name") or who.get("id")
    at = who.get("at")
    return f"{name} ({at})" if name and at else (name or None)


def _changes(d: "Optional[SnapshotDiff]") -> tuple[list[ChangeRow], Optional[str]]:
    if d is None:
        return [], "No earlier snapshot: there is nothing to compare this one with, so no changes are shown."
    out: list[ChangeRow] = []
    not_compared = []
    for name, fd in d.families.items():
        if not fd.compared:
            not_compared.append(f"{name} ({fd.status})")
        for kind in ("added", "removed", "modified"):
            for rc in getattr(fd, kind):
                out.append(ChangeRow(family=name, kind=kind, key=str(rc.key), name=rc.name,
                                     changed_by=_person(rc.changed_by), changes=list(rc.changes)))
    note = None
    if not_compared:
        note = "Some families could not be compared: " + ", ".join(not_compared) + "."
    return out, note
