"""Fill a :class:`ReportData` from the database (``build_report_data``), plus the pure
derivations every source of report data shares (controls, summary figures)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence
from urllib.parse import urlsplit

import duckdb

from .. import __version__
from .. import families as fam
from ..store import DEFAULT_WAIT, Store, family_status, history_view, snapshot_info
from ..timeutil import utcnow
from ..frameworks import Catalog, FrameworkResult, Scope, active_catalog, control_results, flat_rows
from .model import (SEVERITIES, SEVERITY_RANK, Change, Control, FamilyStatus, FieldChange, Finding,
                    Inventory, Period, ReportData, Rule, SnapshotRef, Summary, TrendPoint, Waiver)
from .period import Selection
from .period import select as period_select


def matrix_from_rules(rules: Iterable[Rule], catalog: Optional[Catalog] = None,
                      scope: Optional[Scope] = None) -> list[FrameworkResult]:
    """The compliance matrix (:func:`gwaudit.frameworks.control_results`) of evaluated rules."""
    return control_results(rules, catalog or active_catalog(), scope)


def controls_from_rules(rules: Iterable[Rule], catalog: Optional[Catalog] = None,
                        scope: Optional[Scope] = None) -> list[Control]:
    """Every control any rule maps to (within ``scope``), with its title, the rules testing it
    and its status in words; frameworks in report order, controls in catalog order."""
    return flat_rows(matrix_from_rules(rules, catalog, scope))


def summarise(findings: Iterable[Finding], rules: Iterable[Rule]) -> Summary:
    by_sev = {s: {"fail": 0, "waived": 0} for s in SEVERITIES}
    for f in findings:
        by_sev.setdefault(f.severity, {"fail": 0, "waived": 0})
        by_sev[f.severity][f.status if f.status in ("fail", "waived") else "fail"] += 1
    statuses = [r.status for r in rules]
    return Summary(by_severity=by_sev, open=sum(v["fail"] for v in by_sev.values()),
                   waived=sum(v["waived"] for v in by_sev.values()),
                   rules={"evaluated": len(statuses), "passed": statuses.count("pass"),
                          "failed": statuses.count("fail"), "error": statuses.count("error")})


# ---------------------------------------------------------------- from the database

def build_report_data(db: Path | str, *, snapshot: Optional[str] = None, period: Optional[str] = None,
                      date_from: Optional[str] = None, date_to: Optional[str] = None,
                      waivers: Optional[Path] = None, classification: str = "Internal",
                      rules_dirs: Sequence[Path] = (), params: Optional[dict[str, dict[str, Any]]] = None,
                      wait: float = DEFAULT_WAIT, now: Optional[datetime] = None,
                      soc2_categories: Optional[Sequence[str]] = None) -> ReportData:
    """Everything a report shows, read from ``db``.

    The audited snapshot (and the baseline the changes are counted from) is audited first when
    it has no stored results, or when ``waivers`` is given (so the report reflects that file).
    ``soc2_categories`` limits the SOC 2 criteria of the compliance matrix (default: all).
    """
    scope = Scope.parse(soc2_categories)
    store = Store(db, wait=wait)
    with store.reader() as con:
        sel = period_select(con, snapshot=snapshot, period=period, date_from=date_from, date_to=date_to)
    _ensure_audited(db, sel, waivers=waivers, rules_dirs=rules_dirs, params=params, wait=wait)
    catalog = _catalog(rules_dirs)
    with store.reader() as con:
        info = snapshot_info(con, sel.audited)
        snap = _ref(info)
        org = org_name(snap, _org_urls(con, snap.org_id))
        baseline = _ref(snapshot_info(con, sel.baseline)) if sel.baseline is not None else None
        in_period = [_ref(snapshot_info(con, s)) for s in sel.in_period]
        rules = _rules(con, sel.audited, catalog)
        findings = _findings(con, sel.audited)
        for r in rules:
            mine = [f for f in findings if f.rule_id == r.rule_id]
            r.open = sum(f.status == "fail" for f in mine)
            r.waived = sum(f.status == "waived" for f in mine)
        completeness = _completeness(con, sel.audited)
        inventory = _inventory(con, sel.audited)
        trend = _trend(con, [s for s in [sel.baseline, *sel.in_period] if s is not None])
        mttr = mean_time_to_resolve(con, [p.snapshot_id for p in trend])
    summary = summarise(findings, rules)
    summary.mean_time_to_resolve_days = mttr
    notes = list(sel.notes)
    diff = _diff(db, sel, wait)
    changes, changes_note = _changes(diff)
    lifecycle_note = _lifecycle(diff, summary, (db, sel, wait))
    if lifecycle_note:
        notes.append(lifecycle_note)
    _use_lifecycle_figures(db, sel, baseline, summary, wait)
    waiver_rows = _waivers(findings, waivers, snap.taken_at)
    matrix = matrix_from_rules(rules, scope=scope)
    return ReportData(
        org=org, snapshot=snap, generated_at=now or utcnow(), tool_version=__version__,
        summary=summary, classification=classification,
        period=Period(label=sel.label, start=sel.start, end=sel.end, baseline=baseline, snapshots=in_period),
        completeness=completeness, rules=rules, findings=findings, controls=flat_rows(matrix), matrix=matrix, scope=scope,
        changes=changes, changes_note=changes_note, waivers=waiver_rows, inventory=inventory, trend=trend,
        notes=notes)


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


def _audited(con: duckdb.DuckDBPyConnection, sid: int) -> bool:
    try:
        return con.execute("SELECT count(*) FROM rule_results WHERE snapshot_id = ?", [sid]).fetchone()[0] > 0
    except duckdb.CatalogException:
        return False


def _ensure_audited(db: Path | str, sel: Selection, *, waivers: Optional[Path], rules_dirs: Sequence[Path],
                    params: Optional[dict[str, dict[str, Any]]], wait: float) -> None:
    from ..rules import audit

    with Store(db, wait=wait).reader() as con:
        todo = [sid for sid in (sel.baseline, sel.audited)
                if sid is not None and (not _audited(con, sid) or (waivers is not None and sid == sel.audited))]
    for sid in todo:  # waivers are for the audited snapshot (they are checked against its date)
        audit(db, sid, rules_dirs=rules_dirs, params=params, waivers=waivers if sid == sel.audited else None,
              wait=wait, store=True)


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


def _rules(con: duckdb.DuckDBPyConnection, sid: int, catalog: dict[str, Any]) -> list[Rule]:
    rows = con.execute("""SELECT rule_id, status, checked, failed, error, params, title, severity, frameworks
                          FROM rule_results WHERE snapshot_id = ? ORDER BY rule_id""", [sid]).fetchall()
    out = []
    for rule_id, status, checked, failed, error, params, title, severity, frameworks in rows:
        meta = catalog.get(rule_id)
        out.append(Rule(
            rule_id=rule_id, title=title or (meta.title if meta else rule_id),
            severity=severity or (meta.severity if meta else "info"), status=status,
            description=meta.description if meta else "", risk=meta.risk if meta else "",
            remediation=meta.remediation if meta else "", references=list(meta.references) if meta else [],
            frameworks=_loads(frameworks, None) or (dict(meta.frameworks) if meta else {}),
            rationale={fw: dict(v) for fw, v in meta.rationale.items()} if meta else {},
            families=list(meta.families) if meta else [], params=_loads(params, {}) or {},
            checked=int(checked or 0), failed=int(failed or 0), error=error))
    return out


def _findings(con: duckdb.DuckDBPyConnection, sid: int) -> list[Finding]:
    rows = con.execute("""SELECT fingerprint, rule_id, title, severity, status, family, resource_id, resource_name,
                                 message, evidence, frameworks, snapshot_id, first_seen, waiver
                          FROM findings WHERE snapshot_id = ?""", [sid]).fetchall()
    out = [Finding(fingerprint=r[0], rule_id=r[1], title=r[2], severity=r[3], status=r[4], family=r[5],
                   resource_id=r[6], resource_name=r[7], message=r[8], evidence=_loads(r[9], {}) or {},
                   frameworks=_loads(r[10], {}) or {}, snapshot_id=r[11], first_seen=r[12],
                   waiver=_loads(r[13], None)) for r in rows]
    out.sort(key=lambda f: (SEVERITY_RANK.get(f.severity, 9), f.status != "fail", f.rule_id,
                            f.resource_name or "", f.resource_id))
    return out


def _completeness(con: duckdb.DuckDBPyConnection, sid: int) -> list[FamilyStatus]:
    status = family_status(con, sid)
    out = []
    for family in fam.FAMILIES:
        st = status.get(family.name)
        if st is None:
            out.append(FamilyStatus(family.name, family.title, "failed", None, "not recorded in the snapshot"))
        else:
            out.append(FamilyStatus(family.name, family.title, st["status"], st["item_count"], st["error"]))
    return out


def _inventory(con: duckdb.DuckDBPyConnection, sid: int) -> list[Inventory]:
    out = []
    for family in fam.FAMILIES:
        view = '"' + history_view(family.name) + '"'
        cols = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {view}").fetchall()
                if r[0] not in ("snapshot_id", "taken_at", "raw", "version_id")]
        select = ", ".join('"' + c.replace('"', '""') + '"' for c in cols)
        rows = con.execute(f"SELECT {select} FROM {view} WHERE snapshot_id = ? ORDER BY resource_key",
                           [sid]).fetchall()
        out.append(Inventory(family.name, family.title, cols, [list(r) for r in rows]))
    return out


def _trend(con: duckdb.DuckDBPyConnection, ids: list[int]) -> list[TrendPoint]:
    ids = sorted(set(ids))
    audited = [sid for sid in ids if _audited(con, sid)]
    if not audited:
        return []
    counts: dict[int, dict[str, int]] = {sid: {} for sid in audited}
    for sid, sev, n in con.execute("""SELECT snapshot_id, severity, count(*) FROM findings
                                      WHERE status = 'fail' AND snapshot_id IN (SELECT unnest(?))
                                      GROUP BY ALL""", [audited]).fetchall():
        counts[sid][sev] = int(n)
    when = dict(con.execute("SELECT id, taken_at FROM snapshots WHERE id IN (SELECT unnest(?))", [audited]).fetchall())
    points = [TrendPoint(sid, when[sid], counts[sid]) for sid in audited]
    points.sort(key=lambda p: (p.taken_at, p.snapshot_id))
    return points


def _waivers(findings: list[Finding], waivers_file: Optional[Path], taken_at: datetime) -> list[Waiver]:
    """The waivers in force: the entries of ``waivers_file`` with their state and the findings
    they waive, or (without a file) the waivers recorded on the stored findings."""
    matched: dict[tuple[str, str], int] = {}
    recorded: dict[tuple[str, str], dict[str, Any]] = {}
    for f in findings:
        if f.waiver:
            target = str(f.waiver.get("resource_id") or f.waiver.get("resource_name") or f.resource_id)
            key = (f.rule_id, target)
            matched[key] = matched.get(key, 0) + 1
            recorded.setdefault(key, f.waiver)
    if waivers_file is not None:
        from ..rules import load_waivers

        out = []
        for w in load_waivers(waivers_file, taken_at):
            target = w.resource_id if w.resource_id is not None else (w.resource_name or "")
            n = matched.get((w.rule_id, target), 0)
            state = "expired" if not w.active(taken_at) else ("active" if n else "stale")
            out.append(Waiver(w.rule_id, target, w.justification, w.owner, w.expires_text, state, n))
        return out
    return [Waiver(rule_id, target, str(w.get("justification", "")), str(w.get("owner", "")),
                   str(w.get("expires", "")), "active", matched[(rule_id, target)])
            for (rule_id, target), w in sorted(recorded.items())]


def mean_time_to_resolve(con: duckdb.DuckDBPyConnection, audited: list[int]) -> Optional[float]:
    """Mean days from first seen to resolved, over the findings resolved between consecutive
    audited snapshots of ``audited`` (resolved: open in one, absent from the next, its rule
    evaluated there; a finding waived in the next one is not resolved)."""
    if len(audited) < 2:
        return None
    row = con.execute("""
        WITH snaps AS (SELECT id, taken_at, lag(id) OVER (ORDER BY taken_at, id) AS prev
                       FROM snapshots WHERE id IN (SELECT unnest($ids))),
        resolved AS (
            SELECT s.taken_at AS resolved_at, o.first_seen
            FROM snaps s JOIN findings o ON o.snapshot_id = s.prev AND o.status = 'fail'
            WHERE s.prev IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM findings n WHERE n.snapshot_id = s.id AND n.fingerprint = o.fingerprint)
              AND NOT EXISTS (SELECT 1 FROM rule_results r WHERE r.snapshot_id = s.id AND r.rule_id = o.rule_id
                              AND r.status = 'error'))
        SELECT count(*), avg(epoch(resolved_at) - epoch(first_seen)) / 86400.0 FROM resolved""",
                      {"ids": audited}).fetchone()
    return None if not row or not row[0] else round(float(row[1]), 2)


def new_and_resolved(con: duckdb.DuckDBPyConnection, old: Optional[int], new: int) -> tuple[int, int]:
    """Open findings of ``new`` absent from ``old``, and open findings of ``old`` absent from
    ``new`` whose rule was evaluated there."""
    row = con.execute("""
        SELECT (SELECT count(*) FROM findings n WHERE n.snapshot_id = $new AND n.status = 'fail'
                AND NOT EXISTS (SELECT 1 FROM findings o WHERE o.snapshot_id = $old AND o.fingerprint = n.fingerprint)),
               (SELECT count(*) FROM findings o WHERE o.snapshot_id = $old AND o.status = 'fail'
                AND NOT EXISTS (SELECT 1 FROM findings n WHERE n.snapshot_id = $new AND n.fingerprint = o.fingerprint)
                AND NOT EXISTS (SELECT 1 FROM rule_results r WHERE r.snapshot_id = $new AND r.rule_id = o.rule_id
                                AND r.status = 'error'))""", {"old": old, "new": new}).fetchone()
    return int(row[0]), int(row[1])


# ---------------------------------------------------------------- changes and lifecycle (diff)

def _person(who: Any) -> Optional[str]:
    if not who:
        return None
    if isinstance(who, str):
        return who
    name = who.get("email") or who.get("name") or who.get("id")
    at = who.get("at")
    return f"{name} ({at})" if name and at else (name or None)


def _diff(db: Path | str, sel: Selection, wait: float) -> Any:
    """The diff of the baseline and the audited snapshot (None without a baseline).

    PENDING-DIFF: until :mod:`gwaudit.diff` is part of the build, resource changes are left out
    (with a note) and new/resolved findings come from the stored findings instead.
    """
    if sel.baseline is None:
        return None
    try:
        from ..diff import diff_snapshots
    except ImportError:
        return _NO_DIFF
    return diff_snapshots(db, sel.baseline, sel.audited, wait=wait)


_NO_DIFF = object()
NO_DIFF_NOTE = ("Resource changes are not shown: this build of gwaudit has no diff module (gwaudit.diff); "
                "new and resolved findings are counted from the stored findings.")


def _changes(d: Any) -> tuple[list[Change], Optional[str]]:
    if d is None:
        return [], "No earlier snapshot: there is nothing to compare this one with, so no changes are shown."
    if d is _NO_DIFF:
        return [], NO_DIFF_NOTE
    out: list[Change] = []
    not_compared = []
    for name, fd in d.families.items():
        if not fd.compared:
            not_compared.append(f"{name} ({fd.status})")
        for kind in ("added", "removed", "modified"):
            for rc in getattr(fd, kind):
                out.append(Change(family=name, kind=kind, key=str(rc.key), name=rc.name,
                                  changed_by=_person(rc.changed_by),
                                  changes=[FieldChange(c.path, c.before, c.after) for c in rc.changes]))
    note = None
    if not_compared:
        note = "Some families could not be compared: " + ", ".join(not_compared) + "."
    return out, note


def _use_lifecycle_figures(db: Path | str, sel: Selection, baseline: Optional[SnapshotRef], summary: Summary,
                           wait: float) -> None:
    """The period's figures from :mod:`gwaudit.lifecycle` when it is part of the build: findings
    opened and resolved since the start of the period (or since the baseline snapshot), and the
    mean time to resolve the ones resolved in it. Otherwise the figures computed above stay."""
    try:
        from ..lifecycle import lifecycle_figures
    except ImportError:  # PENDING-DIFF
        return
    start = sel.start or (baseline.taken_at + timedelta(microseconds=1) if baseline else None)
    total = lifecycle_figures(db, snapshot=sel.audited, start=start, wait=wait).total
    if start is not None:
        summary.new, summary.resolved = int(total["opened"]), int(total["resolved"])
        summary.mean_time_to_resolve_days = total["mean_days_to_resolve"]


def _lifecycle(d: Any, summary: Summary, con_args: tuple[Path | str, Selection, float]) -> Optional[str]:
    """New and resolved findings since the baseline."""
    if d is None:
        return None
    if d is _NO_DIFF:
        db, sel, wait = con_args
        with Store(db, wait=wait).reader() as con:
            summary.new, summary.resolved = new_and_resolved(con, sel.baseline, sel.audited)
        return None
    if d.findings.status != "compared":
        return f"New and resolved findings are not shown: {d.findings.status}."
    summary.new = len(d.findings.new)
    summary.resolved = len(d.findings.resolved) + len(d.findings.resolved_deleted)
    return None
