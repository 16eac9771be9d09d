"""Evaluate rules on one stored snapshot, apply waivers, store and return the findings.

One connection does it all: the writer's when findings are stored, a read-only one otherwise;
either way sandboxed first (rule SQL cannot read or write files or change settings). The plain
family names show the evaluated snapshot; "now" is its taken_at, never the wall clock, so
re-auditing an old snapshot gives the same answer. Each rule's findings are computed by DuckDB
into a temporary stage (fingerprints and evidence JSON included), fetched once for waivers and
the result, and written in one transaction by :func:`gwaudit.rules.stage.save`.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from fnmatch import fnmatchcase
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Sequence

import duckdb

from .. import __version__
from .. import families as fam

from ..db import Database, family_status, resolve_snapshot, scope_to_snapshot, snapshot_info
from ..db.connect import sandbox
from ..db.interrupt import interruptible
from ..db.snapshots import previous_snapshot
from ..errors import EXIT_FINDINGS, EXIT_INCOMPLETE, EXIT_OK, UsageError
from ..output import dumps
from ..semantics import drop_materialized, materialize, scope_previous
from ..severity import FAIL_ON_CHOICES, SEVERITIES, SEVERITY_RANK, at_or_above
from ..timeutil import utcnow
from . import stage as fnd
from .catalog import load_rules
from .engine_rules import EXPIRED_WAIVER, STALE_WAIVER, WAIVER_FAMILY
from .loader import OFFERED_PREFIX, PREVIOUS_BINDING, PREVIOUS_SNAPSHOT, Rule, effective_params, first_line
from .stage import Finding
from .waivers import Waiver, resolve_waivers

if TYPE_CHECKING:
    from ..report.model import RuleSelection

NO_PREVIOUS = "no previous snapshot to compare"
RULE_STATUSES = ("pass", "fail", "error", "skip")
"""``pass`` and ``fail``: evaluated; ``error``: could not be evaluated (its evidence is missing or
its SQL failed); ``skip``: not applied because a precondition the rule declares (``requires``)
does not hold, with the reason in ``note``. Only ``pass`` and ``fail`` are evaluations
(``rule_evaluations``); a skip is never counted as passed."""


@dataclass
class RuleResult:
    rule: Rule
    status: str = "pass"
    """pass | fail | error | skip (:data:`RULE_STATUSES`)"""
    checked: int = 0
    failed: int = 0
    error: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    note: str | None = None
    """Why the rule was skipped (status ``skip``): the precondition that did not hold."""
    columns: list[str] = field(default_factory=list, repr=False)
    """Columns of the rule's SQL result."""
    raw: list[tuple[Any, ...]] = field(default_factory=list, repr=False)
    """The SQL's own rows, when asked for (``keep_rows``)."""

    @property
    def rule_id(self) -> str:
        return self.rule.id

    def to_dict(self) -> dict[str, Any]:
        return {"rule_id": self.rule.id, "status": self.status, "checked": self.checked, "failed": self.failed,
                "error": self.error, "reason": self.note}

    def record(self) -> dict[str, Any]:
        """The ``rule_results`` row (without snapshot and time)."""
        return {"rule_id": self.rule.id, "status": self.status, "checked": self.checked, "failed": self.failed,
                "error": self.error, "params": dumps(self.params, indent=None), "title": self.rule.title,
                "severity": self.rule.severity, "frameworks": json.dumps(self.rule.frameworks),
                "note": self.note}

    def raw_rows(self) -> list[dict[str, Any]]:
        """The rule's SQL result as it came from DuckDB (with ``keep_rows``; tests, rulekit)."""
        return [dict(zip(self.columns, r)) for r in self.raw]


@dataclass
class Snapshot:
    """What evaluation needs to know about the evaluated snapshot and its predecessor."""

    id: int
    taken_at: datetime
    info: dict[str, Any]
    statuses: dict[str, dict[str, Any]]
    counts: dict[str, int]
    previous_id: int | None = None
    previous_statuses: dict[str, dict[str, Any]] = field(default_factory=dict)


# ---------------------------------------------------------------- evaluation on a connection

def open_snapshot(con: duckdb.DuckDBPyConnection, ref: str | int | None) -> Snapshot:
    sid = resolve_snapshot(con, ref)
    info = snapshot_info(con, sid)
    counts = dict(con.execute("SELECT family, count(*) FROM snapshot_resources WHERE snapshot_id = ? "
                              "GROUP BY family", [sid]).fetchall())
    prev_id = previous_snapshot(con, sid)
    return Snapshot(sid, info["taken_at"], info, family_status(con, sid), counts,
                    prev_id, family_status(con, prev_id) if prev_id is not None else {})


def prepare(con: duckdb.DuckDBPyConnection, snap: Snapshot, rules: Sequence[Rule]) -> None:
    """Scope the plain family names to the snapshot; ``prev_<family>`` to its predecessor when a
    rule needs it; an empty stage for the findings."""
    drop_materialized(con)
    scope_to_snapshot(con, snap.id)
    fnd.create_stage(con)
    texts = [t for r in rules for t in (r.sql, r.checked_sql) if t]
    if snap.previous_id is not None and any(r.needs_previous for r in rules):
        scope_to_snapshot(con, snap.previous_id, prefix="prev_")
        scope_previous(con)
        materialize(con, [t for r in rules if r.needs_previous for t in (r.sql, r.checked_sql) if t], "prev_")
    materialize(con, texts)


def _not_collected(family: str, statuses: dict[str, dict[str, Any]], where: str) -> str | None:
    st = statuses.get(family)
    if st is None:
        return f"family {family} has no collection record in {where}"
    if st["status"] == "failed":
        return f"family {family} was not collected{'' if where == 'this snapshot' else ' in ' + where}: " \
               f"{st.get('error') or 'error'}"
    if st["status"] == "unavailable" and family in fam.BY_NAME and not fam.get(family).optional:
        # every tenant has this family: an empty view would be a false pass (a snapshot stored
        # before imports refused such a claim)
        return f"family {family} is recorded unavailable{'' if where == 'this snapshot' else ' in ' + where}, " \
               "but every tenant has it: its evidence is missing"
    return None


def unmet_precondition(snap: Snapshot, rule: Rule) -> str | None:
    """Why ``rule`` cannot be applied to ``snap`` (the first of its ``requires`` that does not hold),
    or None. Decided from the declaration alone, the same way for every rule."""
    for item in rule.requires:
        if item == PREVIOUS_SNAPSHOT and snap.previous_id is None:
            return NO_PREVIOUS
        if item.startswith(OFFERED_PREFIX):
            family = item[len(OFFERED_PREFIX):]
            st = snap.statuses.get(family) or {}
            if st.get("status") == "unavailable":
                return f"family {family} is not offered by this tenant: {st.get('error') or 'unavailable'}"
    return None


def evaluate_rule(con: duckdb.DuckDBPyConnection, snap: Snapshot, rule: Rule, params: dict[str, Any], *,
                  keep_rows: bool = False) -> RuleResult:
    """Run one SQL rule on a prepared connection, appending its findings to the stage
    (:func:`findings.stage_rule`). Never raises for the rule's own failures: the result is
    ``error`` with the reason. ``keep_rows`` also keeps the SQL's own rows in ``res.raw``."""
    res = RuleResult(rule, params=dict(params))
    for family in rule.families:
        reason = _not_collected(family, snap.statuses, "this snapshot")
        if reason:
            res.status, res.error = "error", reason
            return res
    values: dict[str, Any] = {**params, "now": snap.taken_at, "snapshot_id": snap.id}
    reason = unmet_precondition(snap, rule)
    if reason:
        res.status, res.note = "skip", reason
        return res
    if rule.needs_previous:
        for family in rule.families:
            reason = _not_collected(family, snap.previous_statuses, f"the previous snapshot {snap.previous_id}")
            if reason:
                res.status, res.error = "error", reason
                return res
        values[PREVIOUS_BINDING] = snap.previous_id
    try:
        if rule.checked_sql:
            row = con.execute(rule.checked_sql, {k: values[k] for k in rule.bindings(checked=True)}).fetchall()
            if len(row) != 1 or len(row[0]) != 1 or not isinstance(row[0][0], int):
                res.status, res.error = "error", "checked_sql must return one integer"
                return res
            res.checked = row[0][0]
        else:
            res.checked = snap.counts.get(rule.families[0], 0)
        rel = con.sql(rule.sql, params={k: values[k] for k in rule.bindings()})  # bound, not yet run
        res.columns = list(rel.columns)
        missing = [c for c in ("resource_id", "resource_name", "message") if c not in res.columns]
        if missing:
            res.status, res.error = "error", f"the rule's SQL returns no {', '.join(missing)} column"
            return res
        if keep_rows:
            res.raw = rel.fetchall()
        fnd.stage_rule(rel, rule)  # one statement: all of the rule's findings, or none
    except duckdb.Error as exc:
        res.status, res.error, res.checked, res.raw = "error", f"the rule's SQL failed: {first_line(exc)}", 0, []
    return res


# ---------------------------------------------------------------- waivers

def _apply_waivers(snap: Snapshot, results: list[RuleResult], found: list[Finding], waivers: list[Waiver],
                   known_ids: set[str]) -> tuple[list[Finding], dict[int, int]]:
    """Mark waived findings; return the engine's findings about the waiver file (filling the
    GW-WAIVER-* results, if selected) and, per entry that matched a finding, how many it waived."""
    active = [w for w in waivers if w.active(snap.taken_at)]
    by_rule: dict[str, list[Waiver]] = {}
    for w in active:
        by_rule.setdefault(w.rule_id, []).append(w)
    used: dict[int, int] = {}
    for f in found:
        for w in by_rule.get(f.rule_id, ()):
            if w.matches(f.rule_id, f.resource_id, f.resource_name, f.identity):
                used.setdefault(w.index, 0)
                if f.status != "waived":
                    f.status, f.waiver = "waived", w.to_dict()
                    used[w.index] += 1
    judged = {r.rule.id for r in results if r.status not in ("error", "skip") and not r.rule.is_engine}
    extra: list[Finding] = []
    by_id = {r.rule.id: r for r in results}
    for rule_id, pick, text in (
        (EXPIRED_WAIVER, [w for w in waivers if not w.active(snap.taken_at)],
         lambda w: f"waiver #{w.index} for {w.rule_id} on {w.target} (owner {w.owner}) expired {w.expires_text}; "
                   "it no longer applies"),
        (STALE_WAIVER, [w for w in active if w.index not in used
                        and (w.rule_id in judged or w.rule_id not in known_ids)],
         lambda w: f"waiver #{w.index} for {w.rule_id} on {w.target} (owner {w.owner}) matches no finding"
                   + ("" if w.rule_id in known_ids else f": no rule {w.rule_id} is loaded")),
    ):
        res = by_id.get(rule_id)
        if res is None:  # not selected
            continue
        res.checked = len(waivers) if rule_id == EXPIRED_WAIVER else len(active)
        for w in pick:
            identity = w.resource_key
            extra.append(Finding(fnd.fingerprint(rule_id, WAIVER_FAMILY, identity), rule_id, res.rule.title,
                                 res.rule.severity, "fail", WAIVER_FAMILY, f"waiver:{w.index}",
                                 f"waiver #{w.index} ({w.rule_id})", text(w),
                                 dumps({"waiver": w.to_dict()}, indent=None), dict(res.rule.frameworks), snap.id,
                                 identity=identity))
    return extra, used


# ---------------------------------------------------------------- the audit

@dataclass
class AuditResult:
    snapshot: dict[str, Any]
    rules: list[RuleResult]
    findings: list[Finding]
    fail_on: str | None = None
    selection: RuleSelection | None = None
    """Which rules ran (of how many loaded), and whether and where the audit was stored."""

    @property
    def partial(self) -> bool:
        return self.selection is not None and self.selection.partial

    @property
    def stored(self) -> str | None:
        """``audit`` (the snapshot's audit), ``partial`` (kept apart) or None (not stored)."""
        return self.selection.stored if self.selection is not None else None

    @property
    def errors(self) -> list[RuleResult]:
        return [r for r in self.rules if r.status == "error"]

    def at_or_above_fail_on(self) -> list[Finding]:
        return [f for f in self.findings if f.status == "fail" and at_or_above(f.severity, self.fail_on)]

    @property
    def exit_code(self) -> int:
        """4 when a rule could not be evaluated, else 1 when an open finding is at or above
        ``fail_on``, else 0."""
        if self.errors:
            return EXIT_INCOMPLETE
        if self.at_or_above_fail_on():
            return EXIT_FINDINGS
        return EXIT_OK

    def summary(self) -> dict[str, Any]:
        by_sev = {s: {"fail": 0, "waived": 0} for s in SEVERITIES}
        for f in self.findings:
            by_sev[f.severity][f.status] += 1
        statuses = [r.status for r in self.rules]
        return {
            "findings": len(self.findings),
            "by_status": {"fail": sum(v["fail"] for v in by_sev.values()),
                          "waived": sum(v["waived"] for v in by_sev.values())},
            "by_severity": by_sev,
            "rules": {"evaluated": len(statuses), "passed": statuses.count("pass"),
                      "failed": statuses.count("fail"), "error": statuses.count("error"),
                      "skipped": statuses.count("skip")},
            "fail_on": self.fail_on or "none",
            "exit_code": self.exit_code,
        }

    def to_dict(self) -> dict[str, Any]:
        """The audit as JSON data: exactly what ``gwaudit audit --format json`` prints."""
        from ..report.data import from_audit
        from ..report.tables import audit_dict

        return audit_dict(from_audit(self))

    def to_json(self, *, indent: int | None = 2) -> str:
        return dumps(self.to_dict(), indent=indent)


def evaluate(db: Database | Path | str, snapshot: str | int | None, rule: Rule,
             params: dict[str, Any] | None = None) -> RuleResult:
    """Evaluate one SQL rule on a stored snapshot without storing anything; the result keeps the
    rule's raw rows (``raw_rows()``). ``params`` override the rule's defaults."""
    values = effective_params([rule], {rule.id: params} if params else None)[rule.id]
    with Database.of(db).reader(sandboxed=True) as con:
        snap = open_snapshot(con, snapshot)
        prepare(con, snap, [rule])
        return evaluate_rule(con, snap, rule, values, keep_rows=True)


def select_rules(rules: Sequence[Rule], only: Iterable[str] = (), skip: Iterable[str] = ()) -> list[Rule]:
    """Rules matching any ``only`` pattern (all when none) and no ``skip`` pattern. A pattern is a
    rule id glob (``GW-KEY-*``) or a family name; comma-separated lists are split."""
    def split(values: Iterable[str]) -> list[str]:
        return [p.strip() for v in values for p in str(v).split(",") if p.strip()]

    def hits(rule: Rule, pat: str) -> bool:
        return fnmatchcase(rule.id, pat) or pat in rule.families or (rule.is_engine and pat == WAIVER_FAMILY)

    only_p, skip_p = split(only), split(skip)
    for opt, pats in (("--only", only_p), ("--skip", skip_p)):
        for p in pats:
            if not any(hits(r, p) for r in rules):
                raise UsageError(f"{opt} {p}: matches no rule id and no family of a loaded rule",
                                 hint="gwaudit rules list shows the ids and families")
    return [r for r in rules if (not only_p or any(hits(r, p) for p in only_p))
            and not any(hits(r, p) for p in skip_p)]


def _order(f: Finding) -> tuple[Any, ...]:
    """Report order: severity, open before waived, rule, resource name, resource id."""
    return (SEVERITY_RANK[f.severity], f.status != "fail", f.rule_id, f.resource_name or "", f.resource_id)


def audit(db: Database | Path | str, snapshot: str | int | None = "latest", *,
          rules: Sequence[Rule] | None = None, rules_dirs: Iterable[Path | str] = (),
          params: dict[str, dict[str, Any]] | None = None, waivers: Path | str | Iterable[Any] | None = None,
          only: Iterable[str] = (), skip: Iterable[str] = (), fail_on: str | None = None,
          store: bool = True, store_partial: bool = False) -> AuditResult:
    """Evaluate ``rules`` (default: built-in + ``rules_dirs`` + the engine's own) on a snapshot,
    apply ``waivers`` (a file, parsed entries or Waiver objects), store the audit (unless
    ``store`` is false) and return it. ``params`` are per-rule overrides of the declared
    defaults (the configuration's ``[rules.<ID>]`` tables).

    A partial audit (``only``/``skip`` leave out some rule of the catalog) never replaces the
    snapshot's audit: it is not stored, unless ``store_partial`` (then it is kept apart, in
    ``partial_audits``, which no report, diff or delta reads). ``result.selection`` says which
    rules ran and where the audit went."""
    if fail_on is not None and fail_on not in FAIL_ON_CHOICES:
        raise UsageError(f"--fail-on {fail_on}: expected one of {', '.join(SEVERITIES)} or none")
    db = Database.of(db)
    catalog = list(rules) if rules is not None else load_rules(rules_dirs)
    values = effective_params(catalog, params)
    only, skip = list(only), list(skip)
    selected = select_rules(catalog, only, skip)
    from ..report.model import RuleSelection  # the report model holds it; imported late (no cycle)

    selection = RuleSelection(rules_loaded=len(catalog), rule_ids=sorted(r.id for r in selected), only=only,
                              skip=skip)
    mode = None if not store else ("audit" if not selection.partial else ("partial" if store_partial else None))
    db.require()
    with (db.writer() if mode else db.reader(sandboxed=True)) as con:
        if mode:
            sandbox(con)
        snap = open_snapshot(con, snapshot)
        waiver_list = resolve_waivers(waivers, snap.taken_at)

        def evaluate_all() -> tuple[list[RuleResult], list[Finding]]:
            prepare(con, snap, selected)
            results = [RuleResult(r, params={}) if r.is_engine else evaluate_rule(con, snap, r, values[r.id])
                       for r in selected]
            return results, fnd.staged_findings(con, {r.id: r for r in selected}, snap.id)  # sorted by _order

        results, found = interruptible(con, evaluate_all)  # Ctrl-C stops a long rule at once
        extra, waived_by = _apply_waivers(snap, results, found, waiver_list, {r.id for r in catalog})
        if extra or any(f.status != "fail" for f in found):
            found.extend(extra)
            found.sort(key=_order)
        counts = Counter(f.rule_id for f in found)
        for res in results:
            res.failed = counts.get(res.rule.id, 0)
            if res.status not in ("error", "skip"):
                res.status = "fail" if res.failed else "pass"
        fnd.fill_first_seen(con, snap.id, snap.taken_at, found)
        if mode:
            audit_row = {"tool_version": __version__, "rules_loaded": len(catalog), "rules_evaluated": len(selected),
                         "selection": json.dumps({"only": only, "skip": skip}) if (only or skip) else None,
                         **_waiver_source(waivers), "fail_on": fail_on}
            if mode == "audit":
                fnd.save(con, snap.id, snap.taken_at, found, [r.record() for r in results], utcnow(), audit_row,
                         _waiver_rows(waiver_list, waived_by, snap.taken_at))
            else:
                selection.partial_id = fnd.save_partial(con, snap.id, found, [r.record() for r in results],
                                                        utcnow(), {**audit_row, "rule_ids": selection.rule_ids})
            selection.stored = mode
    info = dict(snap.info)
    info["previous_id"] = snap.previous_id
    return AuditResult(info, results, found, fail_on if fail_on != "none" else None, selection)


def _waiver_source(waivers: Any) -> dict[str, Any]:
    if isinstance(waivers, (str, Path)):
        import hashlib

        path = Path(waivers)
        return {"waivers_source": str(path), "waivers_sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
    return {"waivers_source": None if waivers is None else "(given in code)", "waivers_sha256": None}


def waiver_state(w: Waiver, used: bool, taken_at: Any) -> str:
    """``expired`` (past its expiry at the snapshot's time), ``active`` (matched a finding) or
    ``unused`` (in force, but matched no finding)."""
    if not w.active(taken_at):
        return "expired"
    return "active" if used else "unused"


def _waiver_rows(waivers: list[Waiver], waived_by: dict[int, int | None], taken_at: Any) -> list[dict[str, Any]]:
    """One ``waivers`` row per entry. ``waived_by`` maps an entry to the findings it waived (None:
    it matched findings another entry waived first)."""
    return [{"waiver_no": w.index, "rule_id": w.rule_id, "resource_id": w.resource_id,
             "resource_name": w.resource_name, "owner": w.owner, "justification": w.justification,
             "expires": w.expires_text, "expires_at": w.expires,
             "state": waiver_state(w, w.index in waived_by, taken_at), "findings": waived_by.get(w.index) or 0}
            for w in waivers]
