"""Text and CSV renderings of an audit and of the rule catalog (JSON is ``AuditResult.to_json``)."""

from __future__ import annotations

import json
import textwrap
from typing import Any, Callable, Sequence

import click

from ..output import cell, csv_text, dumps, terminal_text, text_table
from ..timeutil import format_ts
from .engine import AuditResult
from .findings import FINDING_FIELDS
from .loader import FRAMEWORKS, SEVERITIES, Rule

WIDTH = 80
_COLOURS = {"critical": "magenta", "high": "red", "medium": "yellow", "low": "cyan", "info": "white"}


def _styler(color: bool) -> Callable[..., str]:
    if color:
        return click.style
    return lambda text, **_: text


def _wrap(text: str, indent: int) -> list[str]:
    """``text`` wrapped to the width; bidi and control characters shown escaped (\\u202e)."""
    pad = " " * indent
    return textwrap.wrap(terminal_text(" ".join(text.split())), WIDTH, initial_indent=pad,
                         subsequent_indent=pad) or [pad]


def audit_table(result: AuditResult, *, color: bool = False) -> str:
    """Findings grouped by severity (critical first), then rule errors and notes; fits 80 columns.
    ``color`` adds ANSI styles (the CLI passes it; click strips them when not on a terminal)."""
    style = _styler(color)
    snap, summ = result.snapshot, result.summary()
    rules = summ["rules"]
    lines = [f"snapshot {snap['id']} taken {format_ts(snap['taken_at'])} ({snap['status']})",
             f"rules: {rules['evaluated']} evaluated, {rules['passed']} pass, {rules['failed']} fail, "
             f"{rules['error']} error; findings: {summ['by_status']['fail']} open, "
             f"{summ['by_status']['waived']} waived"]
    for sev in SEVERITIES:
        group = [f for f in result.findings if f.severity == sev]
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
    if not result.findings:
        lines += ["", "no findings"]
    if result.errors:
        lines += ["", style(f"RULE ERRORS ({len(result.errors)}): evidence incomplete", fg="red", bold=True)]
        for r in result.errors:
            lines.append(f"  {r.rule.id}")
            lines += _wrap(r.error or "error", 6)
    notes = [r for r in result.rules if r.note]
    if notes:
        lines += ["", "NOTES"]
        for r in notes:
            lines += _wrap(f"{r.rule.id}: {r.note}", 2)
    over = result.at_or_above_fail_on()
    if result.fail_on:
        lines += ["", f"--fail-on {result.fail_on}: {len(over)} open finding(s) at or above it"]
    return "\n".join(lines)


CSV_COLUMNS = FINDING_FIELDS


def frameworks_cell(frameworks: dict[str, Sequence[str]]) -> str:
    """``soc2:CC6.1;iso27001:A.5.17`` in the catalog's framework order."""
    keys = [k for k in FRAMEWORKS if k in frameworks] + sorted(k for k in frameworks if k not in FRAMEWORKS)
    return ";".join(f"{k}:{c}" for k in keys for c in frameworks[k])


def audit_csv(result: AuditResult) -> str:
    """One row per finding; frameworks flattened; text cells a spreadsheet would run neutralised."""
    rows = []
    for f in result.findings:
        d = f.to_dict()
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
    return dumps([{"id": r.id, "severity": r.severity, "title": r.title, "families": r.families,
                   "frameworks": r.frameworks, "origin": r.origin} for r in rules])


def rule_text(rule: Rule, params: dict[str, Any]) -> str:
    """Everything about one rule, for ``rules show``."""
    d = rule.describe(params)
    lines = [f"{rule.id}  [{rule.severity}]  {rule.title}",
             f"origin: {d['origin']}" + (f" ({d['path']})" if d["path"] else ""),
             f"families: {', '.join(rule.families) or WAIVER_NOTE}"]
    if rule.needs_previous:
        lines.append("needs_previous: true (compares with the previous snapshot: prev_<family> views)")
    for key in ("description", "risk", "remediation"):
        lines += ["", f"{key}:"] + _wrap(getattr(rule, key), 2)
    lines += ["", "references:"] + [f"  - {ref}" for ref in rule.references]
    lines += ["", "frameworks:"] + [f"  {k}: {', '.join(rule.frameworks[k])}" for k in FRAMEWORKS
                                    if rule.frameworks.get(k)]
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
