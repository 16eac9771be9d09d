"""The rule catalog (every ``rules/**/*.yaml``, all areas) is complete and self-consistent.

Every rule file has its contracted id and severity and sits in its area's folder; has exactly the
keys the loader knows (change-control rules also ``needs_previous: true``); says what to do (an API
call in the remediation, docs.barndoor.ai references); maps to frameworks with control ids the shipped
catalogs hold and have not withdrawn, each with its rationale as data (``{id, why}``); declares its params exactly as its SQL uses them and its families
exactly as its SQL reads them (and, for change control, their ``prev_`` views); never reads the
wall clock; loads with the engine's loader; and its ``sql`` and ``checked_sql`` run on an empty org
and on the reference's example org with the findings pinned below.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import duckdb
import pytest
import yaml

from gwaudit import families as fam
from gwaudit.semantics import CONCEPTS
from gwaudit.frameworks import shipped_catalog
from gwaudit.resources import rules_dir
from gwaudit.rules import load_rule_file
from gwaudit.rules.engine import open_snapshot, prepare
from gwaudit.rules.loader import RULE_CLASSES, Rule, rule_files
from gwaudit.db import Database
from gwaudit.testing import store_snapshot
from tests.conftest import example_org

# Rule id area code -> folder under rules/.
AREAS = {
    "KEY": "keys", "CRED": "credentials", "PROV": "providers", "ROUTE": "routes", "PRICE": "pricing",
    "RL": "rate_limits", "BUD": "budgets", "ACC": "access", "SMART": "smart_models", "GOV": "governance",
    "HEALTH": "route_health", "DRIFT": "change_control", "SPEND": "spend", "ACCESS": "change_control",
}
# GW-ACCESS rules that compare with the previous snapshot live in change_control/, the others
# (analysis of one snapshot's effective access) in effective_access/.
SINGLE_SNAPSHOT_AREAS = {"ACCESS": "effective_access"}
CHANGE_CONTROL = "change_control"  # rules comparing with the previous snapshot: needs_previous, prev_ views

# Ids and severities are contracts: findings, waivers and users' configuration name them.
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
    "GW-RL-001": "high", "GW-RL-002": "medium", "GW-RL-003": "low", "GW-RL-004": "medium",
    "GW-BUD-001": "high", "GW-BUD-002": "medium", "GW-BUD-003": "medium", "GW-BUD-004": "high",
    "GW-BUD-005": "low", "GW-BUD-006": "medium", "GW-BUD-007": "medium", "GW-BUD-008": "high",
    "GW-BUD-009": "info",
    "GW-ACC-001": "high", "GW-ACC-002": "medium", "GW-ACC-003": "high", "GW-ACC-004": "medium",
    "GW-ACC-005": "low", "GW-ACC-006": "medium",
    "GW-SMART-001": "high", "GW-SMART-002": "medium", "GW-SMART-003": "medium",
    "GW-GOV-001": "medium",
    "GW-HEALTH-001": "high", "GW-HEALTH-002": "critical", "GW-HEALTH-003": "medium", "GW-HEALTH-004": "low",
    "GW-DRIFT-001": "high", "GW-DRIFT-002": "high", "GW-DRIFT-003": "medium", "GW-DRIFT-004": "medium",
    "GW-DRIFT-005": "medium",
    "GW-ACCESS-001": "high", "GW-ACCESS-002": "medium", "GW-ACCESS-003": "high", "GW-ACCESS-004": "high",
    "GW-SPEND-001": "high", "GW-SPEND-002": "medium",
}
RULE_KEYED = {"GW-PRICE-002", "GW-PRICE-003", "GW-PRICE-004", "GW-PRICE-005"}  # resource_key = pricing rule

# The keys of a rule file (the fields of gwaudit.rules.loader.Rule; checked against it below).
# needs_previous is required in rules/change_control/ and absent everywhere else.
REQUIRED = ("id", "title", "severity", "families", "description", "risk", "remediation", "references",
            "frameworks", "sql")
OPTIONAL = ("params", "checked_sql", "needs_previous", "rationale", "requires", "class")
CLASSES = ("exposure", "availability", "hygiene", "change-control")
ENGINE_BINDINGS = {"now", "snapshot_id"}
PREVIOUS_BINDING = "previous_snapshot_id"  # bound only for needs_previous rules

# What change-control rules map to, whatever else they map.
CHANGE_MANAGEMENT = {"soc2": "CC8.1", "iso27001": "A.8.32", "nist_800_53": "CM-3"}

WALL_CLOCK = re.compile(r"\b(now\s*\(|current_timestamp|current_date|get_current_time|today\s*\()", re.I)
API_WRITE = re.compile(r"\b(POST|PUT|PATCH|DELETE) /admin/")

FILES = sorted(rules_dir().rglob("*.yaml"))


@cache
def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def _area(rule_id: str) -> str:
    return AREAS[rule_id.split("-")[1]]


@cache
def _parser() -> duckdb.DuckDBPyConnection:
    return duckdb.connect()


def _named_params(sql: str) -> set[str]:
    (stmt,) = _parser().extract_statements(sql)
    return set(stmt.named_parameters)


def _sql_text(rule: dict) -> str:
    return rule["sql"] + "\n" + rule.get("checked_sql", "")


# ---------------------------------------------------------------- the catalog as a whole

def test_catalog_holds_exactly_the_contracted_ids_with_their_severities():
    found = {}
    for path in FILES:
        rule = _load(path)
        assert path.stem == rule["id"], f"{path}: file name and id differ"
        area = _area(rule["id"]) if rule.get("needs_previous") else \
            SINGLE_SNAPSHOT_AREAS.get(rule["id"].split("-")[1], _area(rule["id"]))
        assert path.parent.name == area, f"{path}: belongs in rules/{area}/"
        found[rule["id"]] = rule["severity"]
    assert found == EXPECTED
    assert rule_files(rules_dir()) == FILES, "the loader reads exactly these files"
    assert RULE_KEYED <= set(EXPECTED)
    assert {rid for org in FINDINGS.values() for rid in org} <= set(EXPECTED)


def test_the_key_sets_are_the_loaders():
    fields = Rule.model_fields
    keys = {field.alias or name: field for name, field in fields.items()}  # the file's keys
    assert set(REQUIRED) == {key for key, field in keys.items() if field.is_required()}
    assert set(REQUIRED) | set(OPTIONAL) == set(keys)
    assert set(CLASSES) == set(RULE_CLASSES)


# ---------------------------------------------------------------- each rule file

@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_rule_file_is_complete_and_loads(path):
    rule = _load(path)
    area = path.parent.name
    # a built-in rule always says what makes it fire (the catalog-wide property test reads it)
    required = set(REQUIRED) | {"class"} | ({"needs_previous", "requires"} if area == CHANGE_CONTROL else set())
    assert required <= set(rule), f"missing keys: {required - set(rule)}"
    assert set(rule) <= set(REQUIRED) | set(OPTIONAL), f"unknown keys: {set(rule) - set(REQUIRED) - set(OPTIONAL)}"
    assert rule.get("needs_previous") is (True if area == CHANGE_CONTROL else None)
    if area == CHANGE_CONTROL:  # skipped, with the reason, when there is nothing to compare with
        assert "previous_snapshot" in rule["requires"]
    title = rule["title"]
    assert isinstance(title, str) and len(title.strip()) >= 20 and not title.endswith("."), title
    for field in ("description", "risk", "remediation"):
        assert isinstance(rule[field], str) and len(rule[field].strip()) > 40, field
    assert API_WRITE.search(rule["remediation"]), "remediation names the API call that fixes it"
    assert rule["references"] and all(r.startswith("https://") for r in rule["references"])
    assert any(r.startswith("https://docs.barndoor.ai/") for r in rule["references"])
    assert rule["families"] and all(f in fam.NAMES for f in rule["families"]), rule["families"]
    if area == CHANGE_CONTROL:
        assert "previous snapshot" in rule["description"]
    load_rule_file(path)  # the engine's loader validates it too (types, SQL, bindings)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_framework_mappings_name_catalog_controls_each_with_its_rationale(path):
    """Every mapping is ``{id, why}``: an id the shipped catalog holds and has not withdrawn (not a
    look-alike such as A.8.99 or CM-8.1), and one line saying why this rule is evidence for it."""
    rule = _load(path)
    frameworks = rule["frameworks"]
    catalog = shipped_catalog()
    assert frameworks and set(frameworks) <= set(catalog.frameworks), set(frameworks)
    assert "rationale" not in rule, "give the reasons inline, as {id, why} items"
    for name, items in frameworks.items():
        assert items, f"{name}: empty list"
        ids = []
        for item in items:
            assert isinstance(item, dict) and set(item) == {"id", "why"}, f"{name}: {item!r} is not {{id, why}}"
            control, why = item["id"], item["why"]
            assert catalog.problem(name, control) is None, catalog.problem(name, control)
            assert isinstance(why, str) and "\n" not in why and len(why) >= 40, f"{name} {control}: {why!r}"
            assert not re.match(rf"{re.escape(control)}\s*:", why), f"{name} {control}: the why repeats the id"
            ids.append(control)
        assert len(ids) == len(set(ids)), f"{name}: an id is listed twice"
    security = [i["id"] for i in frameworks.get("soc2", [])
                if catalog["soc2"].get(i["id"]).category == "security"]
    assert security, "maps to a SOC 2 common criterion (in scope of a Security-only SOC 2)"
    if path.parent.name == CHANGE_CONTROL:
        for name, control in CHANGE_MANAGEMENT.items():
            assert control in [i["id"] for i in frameworks.get(name, [])], f"{name}: {control}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_params_used_in_sql_are_declared_and_vice_versa(path):
    rule = _load(path)
    used = _named_params(rule["sql"])
    if "checked_sql" in rule:
        used |= _named_params(rule["checked_sql"])
    bound = ENGINE_BINDINGS | ({PREVIOUS_BINDING} if rule.get("needs_previous") else set())
    params = rule.get("params") or {}
    assert used - bound == set(params)
    assert not set(params) & (ENGINE_BINDINGS | {PREVIOUS_BINDING})
    assert all(isinstance(v, (int, float)) and v > 0 for v in params.values()), params


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_sql_reads_exactly_the_declared_families_and_never_the_wall_clock(path):
    rule = _load(path)
    text = _sql_text(rule)
    declared = set(rule["families"])
    # a shared concept (gwaudit.semantics) read by the rule stands for the families it reads
    via = {n for c in CONCEPTS if re.search(rf"\b(FROM|JOIN)\s+{c.name}\b", text) for n in c.families()}
    prev_via = {n for c in CONCEPTS if re.search(rf"\bprev_{c.name}\b", text) for n in c.families()}
    read = {n for n in fam.NAMES if re.search(rf"\b(FROM|JOIN)\s+{n}\b", text)} | via
    mentioned = {n for n in fam.NAMES if re.search(rf"\b{n}\b", text)} | via
    previous = {n for n in fam.NAMES if re.search(rf"\bprev_{n}\b", text)} | prev_via
    assert read == declared, f"reads {read}, declares {declared}"
    assert mentioned == declared, f"mentions {mentioned}, declares {declared}"
    assert previous == (declared if rule.get("needs_previous") else set()), f"prev_ views: {previous}"
    assert not WALL_CLOCK.search(text)


# ---------------------------------------------------------------- the SQL on an empty and the example org


# What each org trips (resource ids), as a regression net for the SQL; every other rule finds nothing.
# The previous snapshot of each org holds the same data, so change-control rules find nothing.
FINDINGS = {
    "empty": {
        "GW-RL-001": {"org"}, "GW-BUD-001": {"org"}, "GW-ACC-003": {"governance_config"},
        "GW-GOV-001": {"governance_config"},
    },
    "example": {
        "GW-KEY-001": {"eba21eaf-b903-4c55-8370-6b9883ae0f1b"},
        "GW-KEY-002": {"eba21eaf-b903-4c55-8370-6b9883ae0f1b", "f278f927-f4ef-45ea-9e97-3fb553ecf3f6"},
        "GW-PROV-002": {"59f11fe3-fa78-494a-8f39-4a28c9220d96"},
        "GW-PROV-003": {"59f11fe3-fa78-494a-8f39-4a28c9220d96"},
        "GW-PROV-006": {"8b951d6a-b414-4354-bc02-e4f456b4b6a7"},
        "GW-ROUTE-001": {"claude-sonnet-4-5", "team-coder"},
        "GW-ROUTE-003": {"67235a7d-85df-4d7f-9144-1bc106c96269"},
        "GW-PRICE-003": {"ee2bd8a9-2fe2-492f-8060-dff7dab69932"},
        "GW-PRICE-004": {"85cc31f4-a346-4754-94d9-c02a2cac02a6"},
        "GW-RL-003": {"78132eb8-c1f9-4a54-8c77-ff2360567413"},
        "GW-BUD-007": {"ci"},
        "GW-BUD-009": {"48ffdd68-356c-4207-ac16-1eaf8e346a66"},
        "GW-ACC-003": {"governance_config"},
        "GW-HEALTH-001": {"59f11fe3-fa78-494a-8f39-4a28c9220d96/claude-sonnet-4-5"},
        "GW-HEALTH-002": {"claude-sonnet-4-5"},
        # "Block Bedrock for everyone" names only Bedrock, whose one route is disabled: it blocks nothing
        "GW-ACCESS-002": {"0246815e-d705-4eb7-9140-f99e587839f0"},
        # both active example keys could spend more than 1000 in 24 hours (spend_exposure)
        "GW-SPEND-002": {"eba21eaf-b903-4c55-8370-6b9883ae0f1b", "f278f927-f4ef-45ea-9e97-3fb553ecf3f6"},
    },
}


def _query(con: duckdb.DuckDBPyConnection, sql: str, values: dict) -> list[dict]:
    (stmt,) = con.extract_statements(sql)
    cur = con.execute(sql, {name: values[name] for name in stmt.named_parameters})
    columns = [d[0] for d in cur.description]
    return [dict(zip(columns, row)) for row in cur.fetchall()]


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """Every rule's ``sql`` and ``checked_sql`` rows on the empty org and on the reference's example
    org, run once per module. Each org is stored twice (the earlier copy is the later one's previous
    snapshot) and evaluated as the engine does (tests/rulekit.py run_sql): a sandboxed reader, the
    plain family names and the ``prev_`` views scoped by the engine, ``$now`` = taken_at,
    ``$snapshot_id`` and, for needs_previous rules, ``$previous_snapshot_id``."""
    root = tmp_path_factory.mktemp("catalog")
    db = root / "catalog.duckdb"
    example = example_org()
    sids = {}
    for org, data, previous, taken in (("empty", {}, "2026-07-31T18:00:00Z", "2026-08-01T00:00:00Z"),
                                       ("example", example, "2026-08-01T06:00:00Z", "2026-08-01T12:00:00Z")):
        store_snapshot(db, data, taken_at=previous, folder=root / f"{org}-previous")
        sids[org] = store_snapshot(db, data, taken_at=taken, folder=root / org)
    change_control = [load_rule_file(p) for p in FILES if _load(p).get("needs_previous")]
    out: dict = {}
    for org, sid in sids.items():
        with Database(db).reader(sandboxed=True) as con:
            snap = open_snapshot(con, sid)
            assert snap.previous_id is not None
            prepare(con, snap, change_control)
            for path in FILES:
                rule = _load(path)
                values = {**(rule.get("params") or {}), "now": snap.taken_at, "snapshot_id": snap.id}
                if rule.get("needs_previous"):
                    values[PREVIOUS_BINDING] = snap.previous_id
                try:
                    rows = _query(con, rule["sql"], values)
                    checked = _query(con, rule["checked_sql"], values) if "checked_sql" in rule else None
                except duckdb.Error as exc:  # reported by the test of that rule
                    rows, checked = exc, None
                out[(org, rule["id"])] = (rows, checked)
    return out


@pytest.mark.parametrize("org", ["empty", "example"])
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_sql_runs_on_the_empty_and_the_example_org(path, org, results):
    rule = _load(path)
    rows, checked = results[(org, rule["id"])]
    assert not isinstance(rows, Exception), f"{rule['id']} failed on the {org} org: {rows}"
    for row in rows:
        assert row["resource_id"] and row["resource_name"] and row["message"], row
        assert row.get("family", rule["families"][0]) in fam.NAMES
        if rule["id"] in RULE_KEYED:
            assert row["resource_key"].count("|") == 2, row["resource_key"]
    assert {r["resource_id"] for r in rows} == FINDINGS[org].get(rule["id"], set())
    assert len(rows) == len({r["resource_id"] for r in rows}), "one row per failing resource"
    if "checked_sql" in rule:
        assert len(checked) == 1 and len(checked[0]) == 1, checked
        (value,) = checked[0].values()
        assert isinstance(value, int) and value >= 0
        if org == "example":
            assert value > 0, "the example org has something to check"
