"""The cat2 half of the rule catalog is complete and self-consistent.

Covers rules/{rate_limits,budgets,access,smart_models,governance,route_health}: every file has
every key, a remediation, framework mappings each with a one-line justification, declared params
match the SQL's ``$params``, declared families match the views the SQL reads, and every query
(``sql`` and ``checked_sql``) runs on an empty org and on the reference's example org.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest
import yaml

from gwaudit import families as fam
from gwaudit.resources import rules_dir
from gwaudit.store import Store, scope_to_snapshot, taken_at
from gwaudit.testing import store_snapshot
from tests.conftest import load_example

AREAS = ("rate_limits", "budgets", "access", "smart_models", "governance", "route_health")

# The ids and severities are contracts given by the catalog issue.
EXPECTED = {
    "GW-RL-001": "high", "GW-RL-002": "medium", "GW-RL-003": "low", "GW-RL-004": "medium",
    "GW-BUD-001": "high", "GW-BUD-002": "medium", "GW-BUD-003": "medium", "GW-BUD-004": "high",
    "GW-BUD-005": "low", "GW-BUD-006": "medium", "GW-BUD-007": "medium", "GW-BUD-008": "high",
    "GW-BUD-009": "info",
    "GW-ACC-001": "high", "GW-ACC-002": "medium", "GW-ACC-003": "high", "GW-ACC-004": "medium",
    "GW-ACC-005": "low", "GW-ACC-006": "medium",
    "GW-SMART-001": "high", "GW-SMART-002": "medium", "GW-SMART-003": "medium",
    "GW-GOV-001": "medium",
    "GW-HEALTH-001": "high", "GW-HEALTH-002": "critical", "GW-HEALTH-003": "medium", "GW-HEALTH-004": "low",
}
REQUIRED = ("id", "title", "severity", "families", "description", "risk", "remediation", "references",
            "frameworks", "sql")
OPTIONAL = ("params", "checked_sql")
FRAMEWORK_ID = {
    "soc2": re.compile(r"^(CC\d\.\d|A1\.\d|C1\.\d|PI1\.\d|P\d\.\d)$"),
    "iso27001": re.compile(r"^A\.[5-8]\.\d{1,2}$"),
    "nist_800_53": re.compile(r"^[A-Z]{2}-\d{1,2}(\(\d{1,2}\))?$"),
    "iso42001": re.compile(r"^A\.\d{1,2}(\.\d{1,2}){1,2}$"),
}
BUILTIN_BINDINGS = {"now", "snapshot_id"}


def _files() -> list[Path]:
    return sorted(p for area in AREAS for p in (rules_dir() / area).glob("*.yaml"))


FILES = _files()


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def _named_params(sql: str) -> set[str]:
    (stmt,) = duckdb.connect().extract_statements(sql)
    return set(stmt.named_parameters)


def test_catalog_holds_exactly_the_contracted_ids_with_their_severities():
    found = {}
    for path in FILES:
        rule = _load(path)
        assert path.stem == rule["id"], f"{path}: file name and id differ"
        assert path.parent.name in AREAS
        found[rule["id"]] = rule["severity"]
    assert found == EXPECTED


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_rule_file_is_complete(path):
    rule = _load(path)
    assert set(REQUIRED) <= set(rule), f"missing keys: {set(REQUIRED) - set(rule)}"
    assert set(rule) <= set(REQUIRED) | set(OPTIONAL), f"unknown keys: {set(rule) - set(REQUIRED) - set(OPTIONAL)}"
    for text in ("title", "description", "risk", "remediation"):
        assert isinstance(rule[text], str) and len(rule[text].strip()) >= 20, text
    # remediation names something a person can act on: an API call or a portal setting
    assert re.search(r"\b(PUT|POST|PATCH|DELETE|GET) /admin/", rule["remediation"]) or "LLM Controls" in rule[
        "remediation"]
    assert rule["references"] and all(r.startswith("https://") for r in rule["references"])
    assert any(r.startswith("https://docs.barndoor.ai/") for r in rule["references"])
    assert rule["families"] and all(f in fam.NAMES for f in rule["families"]), rule["families"]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_framework_mappings_are_well_formed_and_each_is_justified(path):
    rule = _load(path)
    frameworks = rule["frameworks"]
    assert set(frameworks) <= set(FRAMEWORK_ID), set(frameworks)
    assert sum(len(v) for v in frameworks.values()) >= 1
    lines = path.read_text().splitlines()
    for name, controls in frameworks.items():
        assert controls, f"{name}: empty list"
        for control in controls:
            assert FRAMEWORK_ID[name].match(control), f"{name}: {control!r}"
            line = next(ln for ln in lines if re.match(rf"^\s+- {re.escape(control)}\s", ln + " "))
            comment = line.partition("#")[2].strip()
            assert comment.startswith(control.split("(")[0]) and len(comment) > len(control) + 10, (
                f"{control}: needs a one-line '# {control}: why' comment")


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_params_used_in_sql_are_declared_and_vice_versa(path):
    rule = _load(path)
    used = _named_params(rule["sql"])
    if "checked_sql" in rule:
        used |= _named_params(rule["checked_sql"])
    declared = set(rule.get("params") or {})
    assert used - BUILTIN_BINDINGS == declared
    assert not declared & BUILTIN_BINDINGS


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_declared_families_are_exactly_the_views_the_sql_reads(path):
    rule = _load(path)
    text = rule["sql"] + "\n" + rule.get("checked_sql", "")
    read = {name for name in fam.NAMES if re.search(rf"\b(FROM|JOIN)\s+{name}\b", text)}
    assert read == set(rule["families"])


def _query(con, sql: str, params: dict, now, sid: int) -> list[dict]:
    """Bind like the engine (tests/rulekit.py run_sql) on an already scoped connection."""
    values = dict(params, now=now, snapshot_id=sid)
    (stmt,) = con.extract_statements(sql)
    cur = con.execute(sql, {name: values[name] for name in stmt.named_parameters})
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, row)) for row in cur.fetchall()]


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """Every cat2 rule's ``sql`` and ``checked_sql`` rows on an empty org and on the reference's
    example org, run once per module (one connection per org keeps this test fast)."""
    root = tmp_path_factory.mktemp("catalog")
    db = root / "catalog.duckdb"
    names = {
        "providers": "providers", "model_routes": "model_routes", "model_route_groups": "model_route_groups",
        "rate_limits": "rate_limits", "rate_limit_status": "rate_limits__status", "token_budgets": "token_budgets",
        "token_budget_status": "token_budgets__status", "model_access": "model_access",
        "smart_models": "smart_models", "routing_policies": "routing_policies",
        "governance_config": "governance_config", "route_health": "route_health", "api_keys": "api_keys",
        "user_api_keys": "user_api_keys",
    }
    example = {family: load_example(stem) for family, stem in names.items()}
    sids = {"empty": store_snapshot(db, {}, taken_at="2026-08-01T00:00:00Z", folder=root / "empty"),
            "example": store_snapshot(db, example, taken_at="2026-08-01T12:00:00Z", folder=root / "example")}
    out: dict = {}
    for org, sid in sids.items():
        with Store(db).writer() as con:
            scope_to_snapshot(con, sid)
            now = taken_at(con, sid)
            for path in FILES:
                rule = _load(path)
                params = dict(rule.get("params") or {})
                try:
                    rows = _query(con, rule["sql"], params, now, sid)
                    checked = (_query(con, rule["checked_sql"], params, now, sid)
                               if "checked_sql" in rule else None)
                except duckdb.Error as exc:  # reported by the test of that rule
                    rows, checked = exc, None
                out[(org, rule["id"])] = (rows, checked)
    return out


# What the example org (examples/ of the API reference) trips, as a regression net for the SQL.
EXAMPLE_FINDINGS = {
    "GW-RL-003": {"78132eb8-c1f9-4a54-8c77-ff2360567413"},
    "GW-BUD-007": {"ci"},
    "GW-BUD-009": {"48ffdd68-356c-4207-ac16-1eaf8e346a66"},
    "GW-ACC-003": {"governance_config"},
    "GW-HEALTH-001": {"59f11fe3-fa78-494a-8f39-4a28c9220d96/claude-sonnet-4-5"},
    "GW-HEALTH-002": {"claude-sonnet-4-5"},
}
EMPTY_FINDINGS = {"GW-RL-001": {"org"}, "GW-BUD-001": {"org"}, "GW-ACC-003": {"governance_config"},
                  "GW-GOV-001": {"governance_config"}}


@pytest.mark.parametrize("org", ["empty", "example"])
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_sql_runs_on_empty_and_example_orgs(path, org, results):
    rule = _load(path)
    rows, checked = results[(org, rule["id"])]
    assert not isinstance(rows, Exception), f"{rule['id']} failed on the {org} org: {rows}"
    for row in rows:
        assert row["resource_id"] and row["resource_name"] and row["message"], row
        assert row.get("family", rule["families"][0]) in fam.NAMES
    expected = (EMPTY_FINDINGS if org == "empty" else EXAMPLE_FINDINGS).get(rule["id"], set())
    assert {r["resource_id"] for r in rows} == expected
    assert len(rows) == len({r["resource_id"] for r in rows}), "one row per failing resource"
    if "checked_sql" in rule:
        assert len(checked) == 1 and len(checked[0]) == 1
        (value,) = checked[0].values()
        assert isinstance(value, int) and value >= 0
