"""Text and CSV renderings of an audit (the ``table`` and ``csv`` formats of ``gwaudit audit``)
and of the rule catalog (``gwaudit rules list`` / ``show``)."""

from __future__ import annotations

import json
import textwrap
from typing import TYPE_CHECKING, Any, Callable, Sequence

from ..output import Styler, cell, csv_text, dumps, plain, terminal_text, text_table
from ..report.tables import finding_dict
from ..severity import SEVERITIES, at_or_above
from ..timeutil import format_ts
from .loader import FRAMEWORKS, RULE_CLASSES, Rule
from .stage import FINDING_FIELDS

if TYPE_CHECKING:
    from ..report.model import ReportData

WIDTH = 80
_COLOURS = {"critical": "magenta", "high": "red", "medium": "yellow", "low": "cyan", "info": "white"}


def _wrap(text: str, indent: int) -> list[str]:
    """``text`` wrapped to the width; bidi and control characters shown escaped (\\u202e)."""
    pad = " " * indent
    return textwrap.wrap(terminal_text(" ".join(text.split())), WIDTH, initial_indent=pad,
                         subsequent_indent=pad) or [pad]


def _hang(text: str, indent: int, hang: int, lead: str = "") -> list[str]:
    """``lead`` + ``text`` wrapped to WIDTH, the first line at ``indent``, the rest at ``hang``."""
    return textwrap.wrap(" ".join(text.split()), WIDTH, initial_indent=" " * indent + lead,
                         subsequent_indent=" " * hang) or [" " * indent + lead]


def _rule_section(rules: Sequence[Any], title: str, reason: Callable[[Any], str], style: Styler, *,
                  fg: str) -> list[str]:
    """A section of the audit table listing rules that were not evaluated to pass or fail (errors,
    skips): a coloured title with their count (``{n}``), then each rule's id and why."""
    if not rules:
        return []
    lines = ["", style(title.format(n=len(rules)), fg=fg, bold=True)]
    for r in rules:
        lines.append(f"  {r.rule_id}")
        lines += _wrap(reason(r), 6)
    return lines


def audit_table(data: "ReportData", ctx: Any = None) -> str:
    """``gwaudit audit --format table``: findings grouped by severity (critical first), then rule
    errors and notes; fits 80 columns. ``ctx.style`` colours it (the CLI passes click.style; click
    strips it when not on a terminal)."""
    style: Styler = ctx.style if ctx is not None else plain
    snap, summ = data.snapshot, data.summary
    rules = summ.rules
    missing = f"; not collected: {', '.join(data.missing_families)}" if data.incomplete else ""
    lines = [f"snapshot {snap.id} taken {format_ts(snap.taken_at)} ({snap.status}{missing})",
             f"rules: {rules['evaluated']} evaluated, {rules['passed']} pass, {rules['failed']} fail, "
             f"{rules['error']} error, {rules.get('skipped', 0)} skipped",
             f"findings: {summ.open} open, {summ.waived} waived"]
    sel = data.rule_selection
    if sel.partial:
        lines += _wrap(sel.describe(), 0)
    for sev in SEVERITIES:
        group = [f for f in data.findings if f.severity == sev]
        if not group:
            continue
        lines += ["", style(f"{sev.upper()} ({len(group)})", fg=_COLOURS[sev], bold=True)]
        for f in group:
            name = terminal_text(f.resource_name or f.resource_id)
            head = f"  {f.rule_id}  {f.family}: {name}"
            if len(head) > WIDTH:
                head = head[: WIDTH - 1] + "…"
            lines.append(style(head, bold=True) if f.status == "fail" else head)
            lines += _wrap(f.message, 6)
            if f.waiver:
                w = f.waiver
                lines += _wrap(f"waived by #{w['index']} until {w['expires']} (owner {w['owner']}): "
                               f"{w['justification']}", 6)
    if not data.findings:
        lines += ["", "no findings"]
    lines += _rule_section([r for r in data.rules if r.status == "error"], "RULE ERRORS ({n}): evidence incomplete",
                           lambda r: r.error or "error", style, fg="red")
    lines += _rule_section([r for r in data.rules if r.status == "skip"], "SKIPPED ({n}): not applied, not passed",
                           lambda r: r.note or "a precondition did not hold", style, fg="yellow")
    notes = [r for r in data.rules if r.note and r.status != "skip"]
    if notes:
        lines += ["", "NOTES"]
        for r in notes:
            lines += _wrap(f"{r.rule_id}: {r.note}", 2)
    if data.fail_on:
        over = [f for f in data.findings if f.status == "fail" and at_or_above(f.severity, data.fail_on)]
        lines += ["", f"--fail-on {data.fail_on}: {len(over)} open finding(s) at or above it"]
    return "\n".join(lines)


CSV_COLUMNS = FINDING_FIELDS


def frameworks_cell(frameworks: dict[str, Sequence[str]]) -> str:
    """``soc2:CC6.1;iso27001:A.5.17`` in the catalog's framework order."""
    keys = [k for k in FRAMEWORKS if k in frameworks] + sorted(k for k in frameworks if k not in FRAMEWORKS)
    return ";".join(f"{k}:{c}" for k in keys for c in frameworks[k])


def audit_csv(data: "ReportData", ctx: Any = None) -> str:
    """``gwaudit audit --format csv``: one row per finding; frameworks flattened; text cells a
    spreadsheet would run neutralised."""
    rows = []
    for f in data.findings:
        d = finding_dict(f)
        d["evidence"] = json.dumps(d["evidence"], ensure_ascii=False)
        d["frameworks"] = frameworks_cell(f.frameworks)
        d["waiver"] = json.dumps(d["waiver"], ensure_ascii=False) if d["waiver"] is not None else None
        rows.append([d[c] for c in CSV_COLUMNS])
    return csv_text(CSV_COLUMNS, rows)


# ---------------------------------------------------------------- catalog

_SHORT = {"soc2": "SOC2", "iso27001": "27001", "nist_800_53": "NIST", "iso42001": "42001"}


def rules_table(rules: Sequence[Rule]) -> str:
    """id, severity, title, frameworks (short names); titles cut to fit 80 columns."""
    rows = [(r.id, r.severity, r.title, ",".join(_SHORT[k] for k in FRAMEWORKS if r.frameworks.get(k)))
            for r in rules]
    fixed = sum(max([len(h)] + [len(row[i]) for row in rows]) for i, h in ((0, "id"), (1, "severity"),
                                                                          (3, "frameworks"))) + 6
    return text_table(["id", "severity", "title", "frameworks"], rows, max_width=max(20, WIDTH - fixed))


def rules_json(rules: Sequence[Rule]) -> str:
    return dumps([{"id": r.id, "severity": r.severity, "class": r.rule_class, "title": r.title, "families": r.families,
                   "frameworks": r.frameworks, "origin": r.origin} for r in rules])


def rule_text(rule: Rule, params: dict[str, Any]) -> str:
    """Everything about one rule, for ``rules show``."""
    d = rule.describe(params)
    lines = [f"{rule.id}  [{rule.severity}]  {rule.title}",
             f"origin: {d['origin']}" + (f" ({d['path']})" if d["path"] else ""),
             f"families: {', '.join(rule.families) or WAIVER_NOTE}"]
    if rule.rule_class:
        lines.append(f"class: {rule.rule_class} ({RULE_CLASSES[rule.rule_class]})")
    if rule.needs_previous:
        lines.append("needs_previous: true (compares with the previous snapshot: prev_<family> views)")
    if rule.requires:
        lines.append(f"requires: {', '.join(rule.requires)} (when one does not hold the rule is skipped, "
                     "with the reason: never passed)")
    for key in ("description", "risk", "remediation"):
        lines += ["", f"{key}:"] + _wrap(getattr(rule, key), 2)
    lines += ["", "references:"] + [f"  - {ref}" for ref in rule.references]
    lines += ["", "frameworks (each control with why this rule is evidence for it):"]
    heading = None
    for m in rule.mappings():
        if m["heading"] != heading:
            heading = m["heading"]
            lines.append(f"  {heading} [{m['framework']}]")
        lines += _hang(m["title"] or "(not in the catalog)", 4, 6, lead=f"{m['id']}  ")
        lines += _hang(m["why"] or "no rationale given", 6, 11, lead="why: ")
    if rule.params:
        lines += ["", "params (effective; default in brackets when overridden):"]
        for name, default in rule.params.items():
            value = params.get(name, default)
            extra = f"  [default {cell(default)}]" if value != default else ""
            lines.append(f"  {name} = {cell(value)}{extra}")
    if rule.is_engine:
        lines += ["", "sql: none (generated by the engine from the waiver file)"]
    else:
        lines += ["", "sql:"] + [f"  {ln}" for ln in rule.sql.rstrip().splitlines()]
        if rule.checked_sql:
            lines += ["", "checked_sql:"] + [f"  {ln}" for ln in rule.checked_sql.rstrip().splitlines()]
    return "\n".join(lines)


WAIVER_NOTE = "none (about the waiver file)"
