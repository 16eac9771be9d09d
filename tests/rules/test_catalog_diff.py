"""The change-control rules (rules/change_control/) are complete and self-consistent: every key,
an actionable remediation, justified framework mappings, params declared exactly as used, families
declared exactly as read (current and ``prev_`` views), and ``needs_previous: true``."""
from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest
import yaml

from gwaudit import families as fam
from gwaudit.resources import rules_dir
from gwaudit.rules import load_rule_file
from tests.rulekit import rule_file

EXPECTED = {"GW-DRIFT-001": "high", "GW-DRIFT-002": "high", "GW-DRIFT-003": "medium", "GW-DRIFT-004": "medium",
            "GW-DRIFT-005": "medium"}
REQUIRED = ("id", "title", "severity", "families", "description", "risk", "remediation", "references",
            "frameworks", "sql", "needs_previous")
OPTIONAL = ("params", "checked_sql")
FRAMEWORK_ID = {
    "soc2": re.compile(r"^(CC\d\.\d|A1\.\d|C1\.\d|PI1\.\d|P\d\.\d)$"),
    "iso27001": re.compile(r"^A\.[5-8]\.\d{1,2}$"),
    "nist_800_53": re.compile(r"^[A-Z]{2}-\d{1,2}(\(\d{1,2}\))?$"),
    "iso42001": re.compile(r"^A\.\d{1,2}(\.\d{1,2}){1,2}$"),
}
ENGINE_BINDINGS = {"now", "snapshot_id", "previous_snapshot_id"}
FILES = sorted((rules_dir() / "change_control").glob("*.yaml"))


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def _named_params(sql: str) -> set[str]:
    (stmt,) = duckdb.connect().extract_statements(sql)
    return set(stmt.named_parameters)


def test_the_contracted_ids_and_severities():
    assert {_load(p)["id"]: _load(p)["severity"] for p in FILES} == EXPECTED
    assert all(p.stem == _load(p)["id"] for p in FILES)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_rule_file_is_complete_and_loads(path):
    rule = _load(path)
    assert set(REQUIRED) <= set(rule) <= set(REQUIRED) | set(OPTIONAL)
    assert rule["needs_previous"] is True
    for text in ("title", "description", "risk", "remediation"):
        assert len(rule[text].strip()) >= 20, text
    assert re.search(r"\b(PUT|POST|PATCH|DELETE) /admin/", rule["remediation"])
    assert any(r.startswith("https://docs.barndoor.ai/") for r in rule["references"])
    assert "previous snapshot" in rule["description"]
    load_rule_file(rule_file(rule["id"]))  # the engine's loader validates it (SQL, bindings)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_framework_mappings_are_change_management_and_justified(path):
    rule = _load(path)
    lines = path.read_text().splitlines()
    assert "CC8.1" in rule["frameworks"]["soc2"]
    assert "A.8.32" in rule["frameworks"]["iso27001"]
    assert "CM-3" in rule["frameworks"]["nist_800_53"]
    for name, controls in rule["frameworks"].items():
        for control in controls:
            assert FRAMEWORK_ID[name].match(control), f"{name}: {control!r}"
            line = next(ln for ln in lines if re.match(rf"^\s+- {re.escape(control)}\s", ln + " "))
            comment = line.partition("#")[2].strip()
            assert comment.startswith(control.split("(")[0]) and len(comment) > len(control) + 10, control


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_params_and_families_match_the_sql(path):
    rule = _load(path)
    text = rule["sql"] + "\n" + rule.get("checked_sql", "")
    used = _named_params(rule["sql"]) | (_named_params(rule["checked_sql"]) if "checked_sql" in rule else set())
    assert used - ENGINE_BINDINGS == set(rule.get("params") or {})
    current = {n for n in fam.NAMES if re.search(rf"\b(FROM|JOIN)\s+{n}\b", text)}
    previous = {n for n in fam.NAMES if re.search(rf"\bprev_{n}\b", text)}
    assert current == set(rule["families"]) == previous
