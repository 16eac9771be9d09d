"""GW-GOV-001: governance configuration, run on minimal snapshots through tests/rulekit.py."""

from __future__ import annotations

import pytest

from tests.rulekit import run_rule

from .factories_cat2 import governance, ids


def test_gov001_fires_when_pricing_guard_is_off(tmp_path):
    rows = run_rule(tmp_path, "GW-GOV-001", {"governance_config": governance(pricing=False)})
    assert ids(rows) == {"governance_config"}
    assert rows[0]["message"] == ("governance require_pricing_for_mappings is false: routes can be enabled "
                                  "for upstream models that have no pricing")


def test_gov001_silent_when_pricing_guard_is_on(tmp_path):
    assert run_rule(tmp_path, "GW-GOV-001", {"governance_config": governance(pricing=True)}) == []


def test_gov001_missing_field_means_the_documented_default_false(tmp_path):
    rows = run_rule(tmp_path, "GW-GOV-001", {"governance_config": governance(pricing=None)})
    assert ids(rows) == {"governance_config"}
    assert "not set (default false)" in rows[0]["message"]


@pytest.mark.parametrize("state", ["unavailable", "failed"])
def test_gov001_reports_nothing_when_governance_was_not_collected(tmp_path, state):
    # The engine turns a failed family into an `error` rule status; the SQL itself must not invent a finding.
    assert run_rule(tmp_path, "GW-GOV-001", {}, **{state: ["governance_config"]}) == []
