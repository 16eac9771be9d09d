"""What the templates need besides the data: groupings, caps, the charts, small formatters.

Both the HTML and the PDF build one :class:`View`; the PDF passes a per-rule ``cap``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from markupsafe import Markup

from .. import families as fam
from ..frameworks import NOTE, FrameworkResult, active_catalog, out_of_scope_text
from .charts import Chart, report_charts
from .model import (SEVERITIES, SEVERITY_RANK, ChangeRow, FamilyCompleteness, Inventory,
                    ReportData, ReportFinding, ReportRule, SnapshotRef)

SECTIONS = [("summary", "Executive summary"), ("compliance", "Compliance matrix"),
            ("findings", "Findings by rule"), ("changes", "Changes in the period"), ("exposure", "Spend exposure"),
            ("waivers", "Waivers"),
            ("inventory", "Inventory"), ("rules", "Rules and parameters")]


@dataclass
class RuleGroup:
    rule: ReportRule
    findings: list[ReportFinding]
    shown: list[ReportFinding]
    more: int


@dataclass
class ChangeGroup:
    family: str
    title: str
    counts: dict[str, int]
    shown: list[ChangeRow]
    more: int


@dataclass
class View:
    severities: tuple[str, ...]
    groups: list[RuleGroup]
    frameworks: list[FrameworkResult]
    """The compliance matrix, a framework each: heading, coverage, rows, what the scope leaves out."""
    change_groups: list[ChangeGroup]
    change_counts: dict[str, int]
    error_rules: list[ReportRule]
    rules_sorted: list[ReportRule]
    charts: list[Chart]
    inventory_status: list[tuple[Inventory, Optional[FamilyCompleteness]]] = field(default_factory=list)
    """Each family's inventory with its collection status (None: the snapshot recorded none)."""
    snapshot_rows: list[tuple[SnapshotRef, str]] = field(default_factory=list)
    """The baseline and the period's snapshots, oldest first, each with its role: ``baseline``,
    ``audited`` or ``in period``."""
    inline_charts: bool = True
    matrix_note: str = NOTE
    """What automated checks can and cannot establish (printed with the matrix)."""
    scope_text: Optional[str] = None
    """The SOC 2 categories in scope, when not all of them are."""
    extra: dict[str, Any] = field(default_factory=dict)

    @staticmethod
    def out_of_scope(framework: FrameworkResult) -> list[str]:
        return out_of_scope_text(framework)

    @staticmethod
    def mappings(rule: ReportRule) -> list[tuple[str, str, str]]:
        """A rule's mappings as (framework name, control id, why), frameworks in report order."""
        catalog = active_catalog()
        out = []
        for key, fw in catalog.frameworks.items():
            for cid in rule.frameworks.get(key, []):
                out.append((fw.name, cid, rule.rationale.get(key, {}).get(cid) or "no rationale given"))
        for key in sorted(set(rule.frameworks) - set(catalog.frameworks)):
            out += [(key, cid, rule.rationale.get(key, {}).get(cid) or "no rationale given")
                    for cid in rule.frameworks[key]]
        return out

    @staticmethod
    def opt(value: Optional[int]) -> str:
        return "n/a" if value is None else str(value)

    @staticmethod
    def days(value: Optional[float]) -> str:
        if value is None:
            return "n/a"
        return f"{value:.1f} days" if value < 100 else f"{value:.0f} days"

    def chart_markup(self, chart: Chart) -> Markup:
        if self.inline_charts:
            return Markup(chart.inline)
        return Markup('<img class="chart-img" src="{}" alt="{}">').format(chart.data_uri, chart.title)

    @property
    def chart_css(self) -> str:
        return "\n".join(c.css for c in self.charts)


def _rule_for(data: ReportData, rule_id: str, findings: list[ReportFinding]) -> ReportRule:
    known = data.rule(rule_id)
    if known is not None:
        return known
    first = findings[0]  # a finding from a rule not in the catalog (e.g. an engine rule)
    return ReportRule(rule_id=rule_id, title=first.title, severity=first.severity, status="fail",
                failed=len(findings), open=sum(f.status == "fail" for f in findings),
                waived=sum(f.status == "waived" for f in findings))


def _rule_order(rule: ReportRule) -> tuple[int, str]:
    return (SEVERITY_RANK.get(rule.severity, len(SEVERITIES)), rule.rule_id)


def _snapshot_rows(data: ReportData) -> list[tuple[SnapshotRef, str]]:
    period = data.period
    baseline_id = period.baseline.id if period.baseline else None
    rows = []
    if period.baseline and baseline_id not in {s.id for s in period.snapshots}:
        rows.append((period.baseline, "baseline"))
    for s in period.snapshots:
        rows.append((s, "audited" if s.id == data.snapshot.id else "baseline" if s.id == baseline_id else "in period"))
    return rows


def build_view(data: ReportData, *, cap: Optional[int] = None, inline_charts: bool = True) -> View:
    by_rule = data.findings_by_rule()
    groups = []
    for rule_id, items in by_rule.items():
        rule = _rule_for(data, rule_id, items)
        items = sorted(items, key=lambda f: (f.status != "fail", f.resource_name or "", f.resource_id))
        shown = items if cap is None else items[:cap]
        groups.append(RuleGroup(rule, items, shown, len(items) - len(shown)))
    groups.sort(key=lambda g: _rule_order(g.rule))

    frameworks = data.compliance_matrix()

    counts = {"added": 0, "removed": 0, "modified": 0}
    per_family: dict[str, list[ChangeRow]] = {}
    for ch in data.changes:
        counts[ch.kind] = counts.get(ch.kind, 0) + 1
        per_family.setdefault(ch.family, []).append(ch)
    order = {name: i for i, name in enumerate(fam.NAMES)}
    change_groups = []
    for family in sorted(per_family, key=lambda n: (order.get(n, len(order)), n)):
        items = per_family[family]
        fc = {k: sum(1 for c in items if c.kind == k) for k in ("added", "removed", "modified")}
        shown = items if cap is None else items[:cap]
        title = fam.BY_NAME[family].title if family in fam.BY_NAME else family
        change_groups.append(ChangeGroup(family, title, fc, shown, len(items) - len(shown)))

    rules_sorted = sorted(data.rules, key=_rule_order)
    status = {f.family: f for f in data.completeness}
    return View(severities=SEVERITIES, groups=groups, frameworks=frameworks, change_groups=change_groups,
                change_counts=counts, error_rules=[r for r in rules_sorted if r.status == "error"],
                rules_sorted=rules_sorted, charts=report_charts(data.summary, data.trend),
                inventory_status=[(inv, status.get(inv.family)) for inv in data.inventory],
                snapshot_rows=_snapshot_rows(data),
                inline_charts=inline_charts,
                scope_text=None if data.scope.all_soc2 else data.scope.describe())
