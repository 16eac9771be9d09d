"""The rule engine: rule files, evaluation, waivers, findings.

    from gwaudit.rules import audit, load_rules
    result = audit("gwaudit.duckdb", "latest", waivers="waivers.yaml", fail_on="high")
    result.exit_code, result.findings, result.to_json()

Stored results (``findings``, ``rule_results``, ``latest_findings``) are described in
:mod:`gwaudit.rules.findings` and README.
"""

from __future__ import annotations

from .engine import AuditResult, RuleResult, audit, evaluate, select_rules
from .findings import Finding, audited, fingerprint, stored_findings
from .loader import Rule, effective_params, load_rule_file, load_rules
from .waivers import Waiver, load_waivers, parse_waivers
from .. import lifecycle as _lifecycle  # noqa: E402,F401 - finding_lifecycle views, after the findings tables

__all__ = ["AuditResult", "Finding", "Rule", "RuleResult", "Waiver", "audit", "audited", "effective_params",
           "evaluate", "fingerprint", "load_rule_file", "load_rules", "load_waivers", "parse_waivers",
           "select_rules", "stored_findings"]
