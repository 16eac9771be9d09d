"""The report data model: what every renderer (HTML, PDF, CSV, JSON) takes.

``build_report_data`` (:mod:`gwaudit.report.data`) fills it from a database; tests and
benchmarks build it directly. Everything in it is plain data: strings from the API are kept
exactly as received (renderers escape or neutralise them), times are aware UTC datetimes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Optional

from ..jsonwalk import FieldChange
from ..severity import SEVERITIES, SEVERITY_RANK, at_or_above

from ..frameworks import STATUSES as CONTROL_STATUSES
from ..frameworks import ControlRow, FrameworkResult, Scope, control_results, flat_rows, shipped_catalog

__all__ = ["CONTROL_STATUSES", "SEVERITIES", "SEVERITY_RANK", "FieldChange"]  # with the classes below

FRAMEWORKS = shipped_catalog().headings()
"""Framework keys as rules spell them, in report order, with their headings from the shipped
catalogs ("ISO/IEC 27001:2022", "NIST SP 800-53 Rev. 5", ...)."""

Control = ControlRow
"""A row of the compliance matrix (:class:`gwaudit.frameworks.ControlRow`): framework, control,
rule_ids, status (open_findings, not_evaluated, waived, skipped, no_open_findings; worst first),
title, words, counts. Computed by :func:`gwaudit.frameworks.control_results`."""


@dataclass
class SnapshotRef:
    id: int
    taken_at: datetime
    status: str = "complete"
    """complete | incomplete"""
    source: str = "import"
    base_url: Optional[str] = None
    org_id: Optional[str] = None
    tool_version: Optional[str] = None
    manifest_sha256: str = ""
    resource_count: int = 0
    failed_families: list[str] = field(default_factory=list)


@dataclass
class FamilyCompleteness:
    """Collection completeness of one family in the audited snapshot."""
    family: str
    title: str
    status: str
    """ok | failed | unavailable"""
    item_count: Optional[int] = None
    error: Optional[str] = None


@dataclass
class Waiver:
    rule_id: str
    resource: str
    """The resource_id, or the resource_name glob, the entry names."""
    justification: str
    owner: str
    expires: str
    state: str = "active"
    """active | expired | unused (in force, matched no finding)"""
    matched: int = 0


@dataclass
class ReportFinding:
    """A stored finding, as every renderer shows it."""
    fingerprint: str
    rule_id: str
    title: str
    severity: str
    status: str
    """fail | waived"""
    family: str
    resource_id: str
    resource_name: Optional[str]
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)
    frameworks: dict[str, list[str]] = field(default_factory=dict)
    snapshot_id: int = 0
    first_seen: Optional[datetime] = None
    waiver: Optional[dict[str, Any]] = None


@dataclass
class ReportRule:
    """One evaluated rule: its metadata, the parameters it ran with, and its result."""
    rule_id: str
    title: str
    severity: str
    status: str
    """pass | fail | error | skip (as evaluated; see ``display_status``)"""
    description: str = ""
    risk: str = ""
    remediation: str = ""
    references: list[str] = field(default_factory=list)
    frameworks: dict[str, list[str]] = field(default_factory=dict)
    rationale: dict[str, dict[str, str]] = field(default_factory=dict)
    """framework -> control id -> why this rule is evidence for it (from the rule file)."""
    families: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    checked: int = 0
    failed: int = 0
    error: Optional[str] = None
    open: int = 0
    waived: int = 0
    note: Optional[str] = None
    """Why the rule was skipped (status ``skip``: a precondition it declares did not hold, e.g. no
    previous snapshot to compare with)."""

    @property
    def display_status(self) -> str:
        """``waived`` when it failed but every finding is waived; ``skipped`` when it was not
        applied (status ``skip``; the reason is ``note``)."""
        if self.status == "fail" and self.open == 0 and self.waived > 0:
            return "waived"
        if self.status == "skip":
            return "skipped"
        return self.status


@dataclass
class ChangeRow:
    """One added, removed or modified resource between the baseline and the audited snapshot."""
    family: str
    kind: str
    """added | removed | modified"""
    key: str
    name: Optional[str] = None
    changed_by: Optional[str] = None
    changes: list[FieldChange] = field(default_factory=list)


@dataclass
class TrendPoint:
    snapshot_id: int
    taken_at: datetime
    open_by_severity: dict[str, int]


@dataclass
class Inventory:
    family: str
    title: str
    columns: list[str]
    rows: list[list[Any]]

    @property
    def count(self) -> int:
        return len(self.rows)


@dataclass
class Period:
    label: Optional[str] = None
    """``2026-Q3``, ``2026-07-01 to 2026-09-30``, or None for a single snapshot."""
    start: Optional[datetime] = None
    end: Optional[datetime] = None
    baseline: Optional[SnapshotRef] = None
    """The snapshot the changes are counted from (None: no earlier snapshot)."""
    snapshots: list[SnapshotRef] = field(default_factory=list)
    """Snapshots taken in the period, oldest first."""


@dataclass
class Summary:
    by_severity: dict[str, dict[str, int]]
    """{severity: {"fail": n, "waived": n}}"""
    open: int = 0
    waived: int = 0
    new: Optional[int] = None
    resolved: Optional[int] = None
    mean_time_to_resolve_days: Optional[float] = None
    rules: dict[str, int] = field(default_factory=dict)
    """{"evaluated" (every rule the audit ran: the selection), "passed", "failed", "error", "skipped"}"""


@dataclass
class RuleSelection:
    """Exactly which rules an audit's findings come from, stated by every format: the whole
    catalog, or a selection (``--only`` / ``--skip``: a partial audit, never the snapshot's
    stored audit)."""
    rules_loaded: int
    """Rules in the catalog the audit ran with."""
    rule_ids: list[str] = field(default_factory=list)
    """The rules evaluated: the findings come from these alone."""
    only: list[str] = field(default_factory=list)
    skip: list[str] = field(default_factory=list)
    stored: Optional[str] = None
    """``audit`` (the snapshot's audit), ``partial`` (kept apart: ``partial_audits``) or None (not stored)."""
    partial_id: Optional[int] = None

    @property
    def partial(self) -> bool:
        return len(self.rule_ids) < self.rules_loaded

    @property
    def rules_evaluated(self) -> int:
        return len(self.rule_ids)

    def describe(self) -> str:
        """One sentence: ``all 112 rules of the catalog`` or ``PARTIAL AUDIT: 13 of 112 rules ...``."""
        if not self.partial:
            return f"Findings come from all {self.rules_loaded} rules of the catalog (listed under Rules)."
        how = "; ".join(x for x in (("--only " + ", ".join(self.only)) if self.only else "",
                                    ("--skip " + ", ".join(self.skip)) if self.skip else "") if x)
        ids = ", ".join(self.rule_ids) if len(self.rule_ids) <= 30 else \
            ", ".join(self.rule_ids[:30]) + f" and {len(self.rule_ids) - 30} more"
        return (f"PARTIAL AUDIT: findings come from {self.rules_evaluated} of {self.rules_loaded} rules"
                f"{' (' + how + ')' if how else ''}: {ids or 'none'}. The other rules were not evaluated; "
                "this is not the snapshot's full audit.")

    def to_dict(self) -> dict[str, Any]:
        return {"partial": self.partial, "rules_loaded": self.rules_loaded,
                "rules_evaluated": self.rules_evaluated, "only": list(self.only), "skip": list(self.skip),
                "rule_ids": list(self.rule_ids), "stored": self.stored, "partial_id": self.partial_id,
                "statement": self.describe()}


@dataclass
class ReportData:
    org: str
    """Display name of the organisation (org id or host when nothing better is known)."""
    snapshot: SnapshotRef
    generated_at: datetime
    tool_version: str
    summary: Summary
    period: Period = field(default_factory=Period)
    classification: str = "Internal"
    completeness: list[FamilyCompleteness] = field(default_factory=list)
    rules: list[ReportRule] = field(default_factory=list)
    findings: list[ReportFinding] = field(default_factory=list)
    controls: list[Control] = field(default_factory=list)
    """The matrix's rows, every framework (see ``compliance_matrix``)."""
    matrix: list[FrameworkResult] = field(default_factory=list)
    """The compliance matrix per framework (headings, coverage, rows, what the scope leaves out);
    empty: computed from ``rules`` by ``compliance_matrix``."""
    scope: Scope = field(default_factory=Scope)
    changes: list[ChangeRow] = field(default_factory=list)
    changes_note: Optional[str] = None
    """Why the changes are missing or partial (e.g. no earlier snapshot), else None."""
    access_changes: list[dict[str, Any]] = field(default_factory=list)
    """Who gained or lost which models since the baseline (:meth:`AccessDrift.summary`)."""
    access_note: Optional[str] = None
    exposures: list[dict[str, Any]] = field(default_factory=list)
    """The 10 largest worst-case spend exposures and what bounds each (``spend_exposure`` rows)."""
    waivers: list[Waiver] = field(default_factory=list)
    inventory: list[Inventory] = field(default_factory=list)
    trend: list[TrendPoint] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """Parts of the report that could not be filled, said plainly (shown in every format)."""
    delta: Optional[dict[str, Any]] = None
    """How the findings moved since the baseline (:meth:`FindingsDelta.to_dict`), None without one."""
    fail_on: Optional[str] = None
    """The ``--fail-on`` threshold the audit ran with (None: never exit 1)."""
    selection: Optional[RuleSelection] = None
    """Which rules the findings come from (None: not known; every renderer then counts ``rules``)."""

    @property
    def rule_selection(self) -> RuleSelection:
        """``selection``, or the rules listed as the whole of what was run."""
        if self.selection is not None:
            return self.selection
        ids = sorted(r.rule_id for r in self.rules)
        return RuleSelection(rules_loaded=len(ids), rule_ids=ids)

    @property
    def exit_code(self) -> int:
        """What ``gwaudit audit`` exits with for this audit: 4 when a rule was not evaluated, else 1
        when an open finding is at or above ``fail_on``, else 0."""
        if any(r.status == "error" for r in self.rules):
            return 4
        if any(f.status == "fail" and at_or_above(f.severity, self.fail_on) for f in self.findings):
            return 1
        return 0

    @property
    def incomplete(self) -> bool:
        return self.snapshot.status != "complete" or bool(self.missing_families)

    @property
    def missing_families(self) -> list[str]:
        names = {f.family for f in self.completeness if f.status == "failed"}
        names.update(self.snapshot.failed_families)
        return sorted(names)

    @property
    def incomplete_warning(self) -> Optional[str]:
        if not self.incomplete:
            return None
        fams = ", ".join(self.missing_families) or "unknown families"
        return (f"INCOMPLETE SNAPSHOT: these families could not be collected: {fams}. "
                "Rules reading them are reported as error, not pass; the findings below do not cover them.")

    def compliance_matrix(self) -> list[FrameworkResult]:
        """``matrix``, or (when it was not filled) the matrix of ``rules`` against the active
        catalog within ``scope``."""
        if not self.matrix:
            from ..frameworks import active_catalog

            self.matrix = control_results(self.rules, active_catalog(), self.scope)
            self.controls = flat_rows(self.matrix)
        return self.matrix

    def findings_by_rule(self) -> dict[str, list[ReportFinding]]:
        out: dict[str, list[ReportFinding]] = {}
        for f in self.findings:
            out.setdefault(f.rule_id, []).append(f)
        return out

    def rule(self, rule_id: str) -> Optional[ReportRule]:
        for r in self.rules:
            if r.rule_id == rule_id:
                return r
        return None
