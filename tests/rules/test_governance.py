"""GW-GOV-001: governance configuration, run on minimal snapshots through tests/rulekit.py."""

from __future__ import annotations

import pytest

from gwaudit.errors import SnapshotFormatError
from tests.factories.governance import governance
from tests.factories.ids import DROP
from tests.factories.snapshots import ids
from tests.rulekit import rule_result, run_rule


def test_gov001_fires_when_pricing_guard_is_off(tmp_path):
    rows = run_rule(tmp_path, "GW-GOV-001", {"governance_config": governance(require_pricing_for_mappings=False)})
    assert ids(rows) == {"governance_config"}
    assert rows[0]["message"] == ("governance require_pricing_for_mappings is false: routes can be enabled "
                                  "for upstream models that have no pricing")


def test_gov001_silent_when_pricing_guard_is_on(tmp_path):
    assert run_rule(tmp_path, "GW-GOV-001", {"governance_config": governance(require_pricing_for_mappings=True)}) == []


def test_gov001_missing_field_means_the_documented_default_false(tmp_path):
    rows = run_rule(tmp_path, "GW-GOV-001", {"governance_config": governance(require_pricing_for_mappings=DROP)})
    assert ids(rows) == {"governance_config"}
    assert "not set (default false)" in rows[0]["message"]


def test_gov001_never_passes_on_governance_declared_unavailable(tmp_path):
    # Every tenant has a governance configuration: a folder claiming it 'unavailable' would make
    # the rule pass on an empty view, so it is refused at import (issue 14, class 3).
    with pytest.raises(SnapshotFormatError, match="governance_config is declared 'unavailable'"):
        run_rule(tmp_path, "GW-GOV-001", {}, unavailable=["governance_config"])


def test_gov001_is_an_error_when_governance_was_not_collected(tmp_path):
    # The engine turns a failed family into an `error` rule status, never a pass or a finding.
    result = rule_result(tmp_path, "GW-GOV-001", {}, failed=["governance_config"])
    assert result.status == "error" and result.raw_rows() == []
    assert result.error == "family governance_config was not collected: simulated failure"
