"""prev_<family> views show the previous snapshot of the same family, including model_pricing
(whose all-snapshots view is model_pricing_rules_history, not the pricing-versions family)."""
from __future__ import annotations

import textwrap

from gwaudit.rules import audit, load_rules
from gwaudit.testing import store_snapshot

RULE = textwrap.dedent("""
    id: TEST-PREV-001
    title: Pricing rule scheduled count changed
    severity: low
    families: [model_pricing]
    description: test rule reading the previous snapshot's pricing list
    risk: none
    remediation: none
    references: []
    frameworks: {}
    needs_previous: true
    sql: |
      SELECT n.id AS resource_id, n.model_pattern AS resource_name,
             'scheduled ' || p.scheduled_count || ' -> ' || n.scheduled_count AS message
      FROM model_pricing n JOIN prev_model_pricing p USING (model_pattern)
      WHERE n.scheduled_count IS DISTINCT FROM p.scheduled_count
""")


def test_prev_model_pricing_is_the_pricing_list(tmp_path, example_data):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "TEST-PREV-001.yaml").write_text(RULE)
    db = tmp_path / "g.duckdb"
    store_snapshot(db, example_data, taken_at="2026-08-01T00:00:00Z")
    example_data["model_pricing"][0]["scheduled_count"] = 0
    sid = store_snapshot(db, example_data, taken_at="2026-09-01T00:00:00Z")
    catalog = [r for r in load_rules([rules]) if r.id == "TEST-PREV-001"]
    result = audit(db, sid, rules=catalog)
    (rule,) = [r for r in result.rules if r.rule_id == "TEST-PREV-001"]
    assert rule.status == "fail", rule.error
    assert [f.message for f in result.findings] == ["scheduled 1 -> 0"]
