"""The compliance matrix: which controls the evaluated rules touch, and what those rules found.

:func:`control_results` is the one place the status of a control is decided; the HTML, PDF and
JSON reports print what it returns, and a SQL view over ``rule_results`` and ``findings`` that
implements the rules below gives the same figures.

Semantics (per framework, per control id that at least one evaluated rule maps to):

* Inputs per rule: ``status`` as evaluated (``pass``, ``fail``, ``error``, ``skip``), ``open``
  (its findings with status ``fail``: not waived) and ``waived`` (its findings with status
  ``waived``), and its mappings (``frameworks``: framework key -> control ids).
* A rule **fails** the control when ``open > 0``, or its status is ``fail`` with no waived
  finding (a failure whose findings were not counted). A rule with status ``error`` is **not
  evaluated**, whatever its counts. A rule with status ``skip`` (its precondition did not hold,
  e.g. no previous snapshot to compare with) is **skipped**: never counted as a check that found
  nothing. A ``fail`` whose findings are all waived (``open = 0``, ``waived > 0``) is **waived**.
  A ``pass`` is a **clean** check.
* The control's status is the first that applies, in this order:

  ================  ==============================================  =================================
  status            when                                            words
  ================  ==============================================  =================================
  open_findings     a mapped rule fails                             "N open findings"
  not_evaluated     else a mapped rule is not evaluated             "not evaluated"
  waived            else a mapped rule's findings are all waived    "waived (N findings)"
  skipped           else every mapped rule was skipped              "skipped"
  no_open_findings  else (at least one clean check)                 "no open findings in N mapped checks"
  ================  ==============================================  =================================

  N open findings is the sum of ``open`` over the control's rules; "N mapped checks" counts its
  clean rules. The words add what else holds, after a semicolon: "1 mapped check not evaluated",
  "2 skipped", "3 findings waived" (never a bare "pass": a check tests an aspect of a control,
  not the whole control).
* ``checks`` counts the rules that ran (pass or fail), ``not_evaluated`` the errors, ``skipped``
  the skips; ``open`` and ``waived`` sum the findings.
* Scope: for SOC 2 only the criteria of the categories in scope are rows; a criterion of another
  category is listed under ``excluded`` with the rules mapping to it, and a rule whose every SOC 2
  mapping is excluded is in ``rules_out_of_scope``. Other frameworks are always in scope.
* Coverage: ``touched`` counts the rows whose control is in the catalog and not withdrawn;
  ``in_catalog`` the catalog's controls in force (for SOC 2, those of the categories in scope).
* A mapped id the catalog does not know (a result stored before the catalog changed) is still a
  row, with ``known`` false and the title "(not in the catalog)"; a withdrawn one says so in its
  title. Neither counts toward coverage.
* Rows are in catalog order (unknown ids last, in natural order), frameworks in report order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Optional, Protocol, Sequence

from ..errors import ConfigError
from .catalog import FRAMEWORK_KEYS, SOC2_CATEGORIES, Catalog

STATUSES = ("open_findings", "not_evaluated", "waived", "skipped", "no_open_findings")
"""A control's status, worst first."""

NOTE = ("What this matrix shows: gwaudit ran automated checks on the gateway's configuration as "
        "collected in the audited snapshot, and each control lists the checks mapped to it. A check "
        "tests one aspect of a control at that moment; \"no open findings in N mapped checks\" means those "
        "checks found nothing to report, not that the control is designed or operating effectively. "
        "Automated checks cannot establish policies, procedures, approvals, reviews and training done by "
        "people, controls outside the gateway, or operation throughout the period: those need other "
        "evidence. \"Not evaluated\": a mapped check could not run (its evidence was not collected); "
        "\"skipped\": its precondition did not hold (for example no earlier snapshot to compare with); "
        "\"waived\": its findings are accepted by waivers with an owner and an expiry (section Waivers).")
"""The paragraph every format prints with the matrix."""


class RuleOutcome(Protocol):
    """What :func:`control_results` reads of an evaluated rule (``gwaudit.report.model.Rule`` has it)."""
    rule_id: str
    status: str
    open: int
    waived: int
    frameworks: Mapping[str, Sequence[str]]


@dataclass(frozen=True)
class Scope:
    """What the report covers: the SOC 2 categories in scope (default: all five)."""
    soc2_categories: tuple[str, ...] = SOC2_CATEGORIES

    @classmethod
    def parse(cls, values: Optional[Iterable[str]]) -> "Scope":
        """``["security", "availability"]`` or ``["security,availability"]``; None or empty: all.
        Unknown names, or a list without ``security``, are a ConfigError."""
        names: list[str] = []
        for v in values or ():
            for part in str(v).split(","):
                part = part.strip().lower().replace("-", "_").replace(" ", "_")
                if part and part not in names:
                    names.append(part)
        if not names:
            return cls()
        unknown = [n for n in names if n not in SOC2_CATEGORIES]
        if unknown:
            raise ConfigError(f"SOC 2 category {unknown[0]!r} is not one of {', '.join(SOC2_CATEGORIES)}",
                              hint="--soc2-categories / [report] soc2_categories take a comma-separated list")
        if "security" not in names:
            raise ConfigError("SOC 2 categories must include security: the common criteria are part of every "
                              "SOC 2 examination", hint="e.g. --soc2-categories security,availability")
        return cls(tuple(c for c in SOC2_CATEGORIES if c in names))

    @property
    def all_soc2(self) -> bool:
        return set(self.soc2_categories) == set(SOC2_CATEGORIES)

    def describe(self) -> str:
        """``SOC 2 categories in scope: security, availability (not in scope: ...)``."""
        text = "SOC 2 categories in scope: " + ", ".join(_cat(c) for c in self.soc2_categories)
        left = [c for c in SOC2_CATEGORIES if c not in self.soc2_categories]
        return text + (f" (not in scope: {', '.join(_cat(c) for c in left)})" if left else "")

    def to_dict(self) -> dict[str, Any]:
        return {"soc2_categories": list(self.soc2_categories)}


def _cat(name: str) -> str:
    return name.replace("_", " ")


@dataclass
class ControlRow:
    """One row of the matrix."""
    framework: str
    control: str
    rule_ids: list[str]
    status: str
    """open_findings | not_evaluated | waived | skipped | no_open_findings"""
    title: str = ""
    words: str = ""
    """What was tested, in words ("no open findings in 3 mapped checks")."""
    checks: int = 0
    open: int = 0
    waived: int = 0
    not_evaluated: int = 0
    skipped: int = 0
    known: bool = True
    withdrawn: bool = False


@dataclass
class ExcludedControl:
    """A SOC 2 criterion some rule maps to, outside the categories in scope."""
    control: str
    title: str
    category: str
    rule_ids: list[str]


@dataclass
class FrameworkResult:
    key: str
    heading: str
    name: str
    version: str
    source: str
    rows: list[ControlRow] = field(default_factory=list)
    touched: int = 0
    in_catalog: int = 0
    unit: str = "controls"
    scope_note: Optional[str] = None
    excluded: list[ExcludedControl] = field(default_factory=list)
    rules_out_of_scope: list[str] = field(default_factory=list)

    @property
    def coverage(self) -> str:
        """"Coverage: 14 of 93 controls in the catalog are touched by a mapped check (15%)"."""
        share = 100 * self.touched / self.in_catalog if self.in_catalog else None
        pct = "" if share is None else f" ({share:.1f}%)" if 0 < share < 1 else f" ({share:.0f}%)"
        where = "in scope" if self.scope_note else "in the catalog"
        verb = "is" if self.touched == 1 else "are"
        return (f"Coverage: {self.touched} of {self.in_catalog} {self.unit} {where} {verb} touched by a "
                f"mapped check{pct}.")

    def to_dict(self) -> dict[str, Any]:
        return {"framework": self.key, "heading": self.heading, "name": self.name, "version": self.version,
                "source": self.source, "controls_touched": self.touched, "controls_in_catalog": self.in_catalog,
                "coverage": self.coverage, "scope": self.scope_note,
                "excluded": [vars(e) for e in self.excluded], "rules_out_of_scope": list(self.rules_out_of_scope)}


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _outcome(rule: RuleOutcome) -> str:
    """fail | error | skip | waived | clean (see the module's semantics)."""
    status = rule.status
    if status == "error":
        return "error"
    if status == "skip":
        return "skip"
    if rule.open > 0 or (status == "fail" and rule.waived <= 0):
        return "fail"
    if status == "fail":
        return "waived"
    return "clean"


def _row(framework: str, control: str, rules: list[RuleOutcome], title: str, known: bool,
         withdrawn: bool) -> ControlRow:
    kinds = [_outcome(r) for r in rules]
    n_fail, n_error, n_skip = kinds.count("fail"), kinds.count("error"), kinds.count("skip")
    n_waived_rules, n_clean = kinds.count("waived"), kinds.count("clean")
    open_ = sum(max(int(r.open or 0), 0) for r in rules)
    waived = sum(max(int(r.waived or 0), 0) for r in rules)
    extra = []
    if n_fail:
        status = "open_findings"
        words = _plural(open_, "open finding") if open_ else "failing check"
    elif n_error:
        status = "not_evaluated"
        words = "not evaluated"
        if n_error < len(rules):
            words += f" ({n_error} of {len(rules)} mapped checks could not run)"
    elif n_waived_rules:
        status = "waived"
        words = f"waived ({_plural(waived, 'finding')})"
    elif n_skip == len(rules):
        status = "skipped"
        words = "skipped"
    else:
        status = "no_open_findings"
        words = f"no open findings in {_plural(n_clean, 'mapped check')}"
    if status == "open_findings" and n_error:
        extra.append(f"{_plural(n_error, 'mapped check')} not evaluated")
    if status in ("open_findings", "not_evaluated") and waived:
        extra.append(f"{_plural(waived, 'finding')} waived")
    if status != "skipped" and n_skip:
        extra.append(f"{n_skip} skipped")
    if extra:
        words += "; " + "; ".join(extra)
    return ControlRow(framework=framework, control=control, rule_ids=sorted(r.rule_id for r in rules),
                      status=status, title=title, words=words, checks=n_fail + n_waived_rules + n_clean,
                      open=open_, waived=waived, not_evaluated=n_error, skipped=n_skip, known=known,
                      withdrawn=withdrawn)


def natural_key(text: str) -> list[tuple[int, Any]]:
    """CC6.2 before CC6.10, AC-2(3) before AC-2(10)."""
    return [(0, int(p)) if p.isdigit() else (1, p) for p in re.split(r"(\d+)", text) if p]


def control_results(rules: Iterable[RuleOutcome], catalog: Catalog, scope: Optional[Scope] = None) -> list[FrameworkResult]:
    """The compliance matrix of ``rules`` (each evaluated rule once) against ``catalog``, within
    ``scope`` (default: everything). One :class:`FrameworkResult` per framework of the catalog, in
    report order, each with its rows; see the module's docstring for the rules."""
    scope = scope or Scope()
    rules = list(rules)
    by_control: dict[tuple[str, str], list[RuleOutcome]] = {}
    for rule in rules:
        for fw, ids in (rule.frameworks or {}).items():
            for cid in dict.fromkeys(ids):  # an id listed twice counts once
                by_control.setdefault((fw, cid), []).append(rule)
    keys = [k for k in FRAMEWORK_KEYS if k in catalog.frameworks]
    keys += sorted({fw for fw, _ in by_control} - set(keys))
    out = []
    for key in keys:
        fw = catalog.get(key)
        order = {cid: i for i, cid in enumerate(fw.controls)} if fw else {}
        in_scope_cat = set(scope.soc2_categories) if key == "soc2" else None
        result = FrameworkResult(key=key, heading=fw.heading if fw else key, name=fw.name if fw else key,
                                 version=fw.version if fw else "", source=fw.source if fw else "",
                                 unit=fw.unit if fw else "controls")
        if key == "soc2" and not scope.all_soc2:
            result.scope_note = scope.describe()
        ids = sorted((cid for f, cid in by_control if f == key),
                     key=lambda c: (0, order[c], []) if c in order else (1, 0, natural_key(c)))
        excluded_rules: dict[str, int] = {}
        for cid in ids:
            mapped = by_control[(key, cid)]
            cdef = fw.get(cid) if fw else None
            if in_scope_cat is not None and cdef is not None and cdef.category not in in_scope_cat:
                result.excluded.append(ExcludedControl(cid, cdef.title, cdef.category or "",
                                                       sorted(r.rule_id for r in mapped)))
                for r in mapped:
                    excluded_rules[r.rule_id] = excluded_rules.get(r.rule_id, 0) + 1
                continue
            if cdef is None:
                title, known, withdrawn = "(not in the catalog)", False, False
            else:
                title = cdef.title + (" (withdrawn)" if cdef.withdrawn else "")
                known, withdrawn = True, cdef.withdrawn
            result.rows.append(_row(key, cid, mapped, title, known, withdrawn))
        result.touched = sum(1 for r in result.rows if r.known and not r.withdrawn)
        if fw is not None:
            result.in_catalog = sum(1 for c in fw.in_force()
                                    if in_scope_cat is None or c.category in in_scope_cat)
        in_rows = {rid for row in result.rows for rid in row.rule_ids}
        result.rules_out_of_scope = sorted(rid for rid in excluded_rules if rid not in in_rows)
        out.append(result)
    return out


def flat_rows(results: Iterable[FrameworkResult]) -> list[ControlRow]:
    return [row for fr in results for row in fr.rows]


def out_of_scope_text(result: FrameworkResult) -> list[str]:
    """Sentences saying what the scope leaves out of ``result`` (empty when nothing is left out)."""
    lines = []
    for e in result.excluded:
        lines.append(f"{e.control} {e.title} ({_cat(e.category)}, not in scope): mapped by {', '.join(e.rule_ids)}.")
    if result.rules_out_of_scope:
        lines.append("Rules with no mapping in scope (they map only to the criteria above): "
                     + ", ".join(result.rules_out_of_scope) + ".")
    return lines
