"""The rule engine: rule files, the catalog, evaluation, waivers, an audit's findings.

    from gwaudit.rules import audit, load_rules
    result = audit(db, "latest", waivers="waivers.yaml", fail_on="high")
    result.exit_code, result.findings, result.to_json()

What an audit stores (``findings``, ``rule_results``, ``audits``, ``waivers``) is described in
docs/architecture.md and README.
"""

from __future__ import annotations

from .catalog import load_rules
from .engine import AuditResult, RuleResult, audit, evaluate, select_rules
from .loader import Rule, effective_params, load_rule_file
from .stage import Finding, fingerprint
from .waivers import Waiver, load_waivers, parse_waivers

__all__ = ["AuditResult", "Finding", "Rule", "RuleResult", "Waiver", "audit", "effective_params", "evaluate",
           "fingerprint", "load_rule_file", "load_rules", "load_waivers", "parse_waivers", "select_rules"]
