"""The cat1 half of the rule catalog (keys, credentials, providers, routes, pricing) is complete
and well-formed: every file has the fixed keys, remediation, framework mappings with a reason,
declared params that match the SQL, and SQL that runs on the reference's example org."""

from __future__ import annotations

import re

import duckdb
import pytest
import yaml

from gwaudit import families as fam
from gwaudit.resources import rules_dir
from gwaudit.testing import store_snapshot
from tests.rulekit import run_sql

AREAS = {"KEY": "keys", "CRED": "credentials", "PROV": "providers", "ROUTE": "routes", "PRICE": "pricing"}

# Ids and severities are contracts (the catalog).
EXPECTED = {
    "GW-KEY-001": "high", "GW-KEY-002": "high", "GW-KEY-003": "medium", "GW-KEY-004": "low",
    "GW-KEY-005": "medium", "GW-KEY-006": "medium", "GW-KEY-007": "low",
    "GW-CRED-001": "high", "GW-CRED-002": "low", "GW-CRED-003": "medium", "GW-CRED-004": "high",
    "GW-PROV-001": "high", "GW-PROV-002": "medium", "GW-PROV-003": "medium", "GW-PROV-004": "high",
    "GW-PROV-005": "medium", "GW-PROV-006": "info",
    "GW-ROUTE-001": "medium", "GW-ROUTE-002": "high", "GW-ROUTE-003": "low", "GW-ROUTE-004": "low",
    "GW-ROUTE-005": "medium",
    "GW-PRICE-001": "high", "GW-PRICE-002": "medium", "GW-PRICE-003": "low", "GW-PRICE-004": "info",
    "GW-PRICE-005": "low",
}
RULE_KEYED = {"GW-PRICE-002", "GW-PRICE-003", "GW-PRICE-004", "GW-PRICE-005"}  # resource_key = pricing rule

REQUIRED = ("id", "title", "severity", "families", "description", "risk", "remediation", "references",
            "frameworks", "sql")
ALLOWED = set(REQUIRED) | {"params", "checked_sql"}
FRAMEWORK_ID = {
    "soc2": re.compile(r"^(CC[1-9]\.[0-9]+|A1\.[1-3]|PI1\.[1-5]|C1\.[12]|P[1-8]\.[0-9])$"),
    "iso27001": re.compile(r"^A\.[5-8]\.[0-9]+$"),
    "nist_800_53": re.compile(r"^[A-Z]{2}-[0-9]+(\([0-9]+\))?$"),
    "iso42001": re.compile(r"^A\.[2-9]\.[0-9]+(\.[0-9]+)?$"),
}


def _files():
    out = []
    for area in AREAS.values():
        out += sorted((rules_dir() / area).glob("*.yaml"))
    return out


FILES = _files()


def _load(path):
    return yaml.safe_load(path.read_text())


def test_catalog_holds_exactly_the_cat1_rules():
    assert sorted(p.stem for p in FILES) == sorted(EXPECTED)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_rule_file_has_the_fixed_keys(path):
    rule = _load(path)
    assert set(REQUIRED) <= set(rule), f"{path.name}: missing {set(REQUIRED) - set(rule)}"
    assert set(rule) <= ALLOWED, f"{path.name}: unknown keys {set(rule) - ALLOWED}"
    assert rule["id"] == path.stem
    assert path.parent.name == AREAS[rule["id"].split("-")[1]]
    assert rule["severity"] == EXPECTED[rule["id"]]
    for field in ("description", "risk", "remediation"):
        assert isinstance(rule[field], str) and len(rule[field].strip()) > 40, (path.name, field)
    assert isinstance(rule["title"], str) and rule["title"].strip() and not rule["title"].endswith(".")
    assert re.search(r"\b(GET|POST|PUT|PATCH|DELETE) /", rule["remediation"]), "remediation names the API call"
    assert rule["references"] and all(r.startswith("https://") for r in rule["references"])
    assert any("docs.barndoor.ai" in r for r in rule["references"])


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_every_framework_mapping_is_well_formed_and_explained(path):
    rule = _load(path)
    frameworks = rule["frameworks"]
    assert set(frameworks) <= set(FRAMEWORK_ID)
    mapped = [(name, cid) for name, ids in frameworks.items() for cid in ids]
    assert mapped, f"{path.name}: no framework mapping"
    text = path.read_text()
    for name, cid in mapped:
        assert FRAMEWORK_ID[name].match(cid), f"{path.name}: {name} id {cid!r}"
        line = next(ln for ln in text.splitlines() if re.match(rf"\s*- {re.escape(cid)}\s", ln + " "))
        assert "#" in line and len(line.split("#", 1)[1].strip()) > 10, f"{path.name}: {cid} needs a reason comment"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_params_used_in_sql_are_declared_and_vice_versa(path):
    rule = _load(path)
    declared = set(rule.get("params") or {})
    used = set()
    for key in ("sql", "checked_sql"):
        if key in rule:
            (stmt,) = duckdb.connect().extract_statements(rule[key])
            used |= set(stmt.named_parameters)
    assert used - {"now", "snapshot_id"} == declared
    assert all(isinstance(v, (int, float)) and v > 0 for v in (rule.get("params") or {}).values())


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_sql_reads_declared_families_and_never_the_wall_clock(path):
    rule = _load(path)
    sql = rule["sql"] + "\n" + rule.get("checked_sql", "")
    assert all(f in fam.NAMES for f in rule["families"])
    read = {f for f in fam.NAMES if re.search(rf"\b{f}\b", sql)}
    assert read == set(rule["families"]), f"{path.name}: reads {read}, declares {rule['families']}"
    assert not re.search(r"\b(now\s*\(|current_timestamp|current_date|get_current_time|today\s*\()", sql, re.I)


@pytest.fixture(scope="module")
def example_org(tmp_path_factory):
    """The reference's example org, stored once: (database, snapshot id)."""
    from tests.conftest import load_example

    data = {family: load_example(stem) for family, stem in {
        "credentials": "credentials", "providers": "providers", "model_routes": "model_routes",
        "model_pricing": "model_pricing", "model_pricing_archived": "model_pricing__archived",
        "model_pricing_defaults": "model_pricing__defaults", "rate_limits": "rate_limits",
        "token_budgets": "token_budgets", "api_keys": "api_keys", "user_api_keys": "user_api_keys"}.items()}
    db = tmp_path_factory.mktemp("example") / "example.duckdb"
    return db, store_snapshot(db, data, taken_at="2026-08-01T12:00:00Z")


def test_every_rule_runs_on_the_reference_example_org(example_org):
    db, sid = example_org
    seen = {}
    for path in FILES:
        rule = _load(path)
        rows = run_sql(db, sid, rule["sql"], dict(rule.get("params") or {}))
        for row in rows:
            assert row["resource_id"] and row["resource_name"] and row["message"], rule["id"]
            if rule["id"] in RULE_KEYED:
                assert row["resource_key"].count("|") == 2
        seen[rule["id"]] = len(rows)
    # The example org is meant to show a few problems; these are the ones it has (a regression net).
    assert {k: v for k, v in seen.items() if v} == {
        "GW-KEY-001": 1, "GW-KEY-002": 2, "GW-PROV-002": 1, "GW-PROV-003": 1, "GW-PROV-006": 1,
        "GW-ROUTE-001": 2, "GW-ROUTE-003": 1, "GW-PRICE-003": 1, "GW-PRICE-004": 1,
    }


@pytest.mark.parametrize("path", [p for p in FILES if "checked_sql" in _load(p)], ids=lambda p: p.stem)
def test_checked_sql_returns_one_integer(example_org, path):
    db, sid = example_org
    rows = run_sql(db, sid, _load(path)["checked_sql"], {})
    assert len(rows) == 1 and len(rows[0]) == 1
    (value,) = rows[0].values()
    assert isinstance(value, int) and value > 0
