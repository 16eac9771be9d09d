"""The bundled sample organisation (sample_snapshots/): it loads, it is realistic and consistent,
and it is exactly what tools/build_sample.py produces. That it trips every built-in rule is
tested in tests/test_sample_rules.py.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path
from typing import Iterator

import pytest

from gwaudit.demo import run_demo
from gwaudit.db.ingest import import_folder
from gwaudit.snapshot import load_folder
from gwaudit.db import Database, scope_to_snapshot
from gwaudit.db.snapshots import taken_at

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_snapshots"
OLD, NEW = "2026-08-28", "2026-11-27"


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory) -> Iterator[dict]:
    """Both sample folders imported into one DuckDB file; per snapshot name, a read-only
    connection whose plain family views show that snapshot (plus ``now``: its taken_at)."""
    db = tmp_path_factory.mktemp("sample") / "sample.duckdb"
    ids = {}
    for name in (OLD, NEW):
        result = import_folder(db, SAMPLES / name)
        assert result.complete, result.summary()
        ids[name] = result.snapshot_id
    with ExitStack() as stack:
        out: dict = {"db": db, "ids": ids}
        for name, sid in ids.items():
            con = stack.enter_context(Database(db).reader())
            scoped(con, sid, name)
            out[name] = (con, taken_at(con, sid))
        yield out


def scoped(con, sid: int, name: str) -> None:
    """Point the plain family views at one snapshot.

    Work-around: the view ``model_pricing`` collides with the family ``model_pricing_history``
    (``model_pricing`` + ``_history``), so it is read from the snapshot's body file instead.
    """
    scope_to_snapshot(con, sid)
    path = str(SAMPLES / name / "model_pricing.json").replace("'", "''")
    con.execute(f"""CREATE OR REPLACE TEMP VIEW model_pricing AS
                    SELECT * REPLACE (CAST(id AS VARCHAR) AS id, CAST(provider_id AS VARCHAR) AS provider_id)
                    FROM read_json('{path}', format = 'array')""")


def rows(sample_db: dict, name: str, sql: str) -> list[tuple]:
    con, now = sample_db[name]
    (stmt,) = con.extract_statements(sql)
    return con.execute(sql, {"now": now} if "now" in stmt.named_parameters else {}).fetchall()


# ---------------------------------------------------------------- the folders themselves

def test_both_folders_load_complete_with_every_family():
    for name in (OLD, NEW):
        folder = load_folder(SAMPLES / name)
        assert folder.complete
        failed = [f for f, s in folder.families.items() if s.status != "ok" and f != "agent_runtime_profiles"]
        assert failed == []
        assert folder.families["agent_runtime_profiles"].status == "unavailable"
        assert folder.families["agent_runtime_profiles"].http_status == 404
        assert folder.manifest.base_url == "https://northwind.platform.barndoor.ai/api/llm-gateway"


def test_snapshots_are_a_quarter_apart_and_named_by_date(sample_db):
    old, new = sample_db[OLD][1], sample_db[NEW][1]
    orgs = {r[0] for r in rows(sample_db, NEW, "SELECT org_id FROM snapshots")}
    assert (old.date().isoformat(), new.date().isoformat()) == (OLD, NEW)
    assert timedelta(days=88) <= new - old <= timedelta(days=93)
    assert len(orgs) == 1


def test_the_org_is_mid_size(sample_db):
    for name in (OLD, NEW):
        (keys, kinds), = rows(sample_db, name, "SELECT count(*), list(DISTINCT kind ORDER BY kind) FROM api_keys")
        assert keys >= 100
        assert kinds == ["agent_session", "machine", "user"]
        (routes, aliases), = rows(sample_db, name, "SELECT count(*), count(DISTINCT model_alias) FROM model_routes")
        assert routes >= 48 and aliases >= 24
        (vendors,), = rows(sample_db, name, "SELECT list(DISTINCT model_provider ORDER BY model_provider) FROM providers")
        assert {"openai", "anthropic", "azure_openai", "bedrock", "vertex", "mistral", "custom"} <= set(vendors)
        (failover,), = rows(sample_db, name, """SELECT count(*) FROM (SELECT model_alias FROM model_routes
            WHERE model_alias <> upstream_model GROUP BY model_alias HAVING count(*) >= 2)""")
        assert failover >= 8


def test_attribution_is_filled_in_on_most_objects(sample_db):
    for family in ("credentials", "providers", "model_routes", "rate_limits", "token_budgets", "model_access",
                   "model_route_groups"):
        (share,), = rows(sample_db, NEW, f"SELECT avg(CASE WHEN created_by_email IS NOT NULL THEN 1 ELSE 0 END) "
                                         f"FROM {family}")
        assert share > 0.9, family
    (notes,), = rows(sample_db, NEW, "SELECT count(*) FROM model_access WHERE last_change_note IS NOT NULL")
    assert notes >= 3


# ---------------------------------------------------------------- references

# (label, query returning (label, offending resource name) for references that do not resolve)
REFERENCES = {
    "providers.connection_id": "SELECT name FROM providers WHERE connection_id NOT IN (SELECT id FROM credentials)",
    "model_routes.provider_id": "SELECT model_alias FROM model_routes WHERE provider_id NOT IN (SELECT id FROM providers)",
    "model_routes.pricing_rule_id": """SELECT model_alias FROM model_routes WHERE pricing_rule_id IS NOT NULL
        AND pricing_rule_id NOT IN (SELECT id FROM model_pricing)""",
    "model_pricing.provider_id": """SELECT model_pattern FROM (SELECT model_pattern, provider_id FROM model_pricing
        UNION ALL SELECT model_pattern, provider_id FROM model_pricing_archived
        UNION ALL SELECT model_pattern, provider_id FROM model_pricing_history)
        WHERE provider_id IS NOT NULL AND provider_id NOT IN (SELECT id FROM providers)""",
    "model_pricing_history.rule": """SELECT model_pattern FROM model_pricing_history h WHERE NOT EXISTS (
        SELECT 1 FROM (SELECT model_pattern, model_provider FROM model_pricing UNION ALL
                       SELECT model_pattern, model_provider FROM model_pricing_archived) r
        WHERE r.model_pattern = h.model_pattern AND r.model_provider IS NOT DISTINCT FROM h.model_provider)""",
    "token_budgets.target_provider_id": """SELECT name FROM token_budgets WHERE target_provider_id IS NOT NULL
        AND target_provider_id NOT IN (SELECT id FROM providers)""",
    "token_budgets.target_model_alias": """SELECT name FROM token_budgets WHERE target_model_alias IS NOT NULL
        AND target_model_alias NOT IN (SELECT model_alias FROM model_routes)""",
    "token_budgets.scope_id": """SELECT name FROM token_budgets WHERE scope_type = 'api_key'
        AND scope_id NOT IN (SELECT id FROM api_keys)""",
    "token_budget_status.budget_id": "SELECT budget_name FROM token_budget_status WHERE budget_id NOT IN (SELECT id FROM token_budgets)",
    "rate_limits.target_provider_id": """SELECT name FROM rate_limits WHERE target_provider_id IS NOT NULL
        AND target_provider_id NOT IN (SELECT id FROM providers)""",
    "rate_limits.target_model_alias": """SELECT name FROM rate_limits WHERE target_model_alias IS NOT NULL
        AND target_model_alias NOT IN (SELECT model_alias FROM model_routes)""",
    "rate_limits.scope_id": """SELECT name FROM rate_limits WHERE (scope_type = 'api_key' AND scope_id NOT IN
        (SELECT id FROM api_keys)) OR (scope_type = 'llm_provider' AND scope_id NOT IN (SELECT id FROM providers))""",
    "rate_limit_status.policy_id": "SELECT policy_name FROM rate_limit_status WHERE policy_id NOT IN (SELECT id FROM rate_limits)",
    "model_access.targets.provider": """SELECT name FROM model_access, unnest(CAST(targets AS JSON[])) AS u(t)
        WHERE t->>'kind' IN ('provider', 'provider_model') AND t->>'provider_id' NOT IN (SELECT id FROM providers)""",
    "model_access.targets.route_group": """SELECT name FROM model_access, unnest(CAST(targets AS JSON[])) AS u(t)
        WHERE t->>'kind' = 'route_group' AND t->>'group_id' NOT IN (SELECT id FROM model_route_groups)""",
    "model_access.targets.model_alias": """SELECT name FROM model_access, unnest(CAST(targets AS JSON[])) AS u(t)
        WHERE t->>'kind' = 'model_alias' AND NOT EXISTS (SELECT 1 FROM model_routes r WHERE r.model_alias = t->>'alias'
              OR ((t->>'alias') LIKE '%*' AND starts_with(r.model_alias, rtrim(t->>'alias', '*'))))""",
    "model_access.targets.model": """SELECT name FROM model_access, unnest(CAST(targets AS JSON[])) AS u(t)
        WHERE t->>'kind' IN ('model', 'provider_model') AND NOT EXISTS (SELECT 1 FROM model_routes r
              WHERE r.upstream_model = t->>'model'
                 OR ((t->>'model') LIKE '%*' AND starts_with(r.upstream_model, rtrim(t->>'model', '*'))))""",
    "model_access.scope_id": """SELECT name FROM model_access WHERE scope_type = 'api_key'
        AND scope_id NOT IN (SELECT id FROM api_keys)""",
    "model_route_groups.model_aliases": """SELECT name FROM model_route_groups, unnest(CAST(model_aliases AS VARCHAR[])) AS u(a)
        WHERE a NOT IN (SELECT model_alias FROM model_routes)""",
    "smart_models.slots": """SELECT model_alias FROM smart_models,
        unnest(list_append(CAST(slots->>'$[*].model_alias' AS VARCHAR[]), determiner_model_alias)) AS u(a)
        WHERE a NOT IN (SELECT model_alias FROM model_routes)""",
    "routing_policies.slots": """SELECT model_alias FROM routing_policies,
        unnest(list_append(CAST(slots->>'$[*].model_alias' AS VARCHAR[]), determiner_model_alias)) AS u(a)
        WHERE a IS NOT NULL AND a NOT IN (SELECT model_alias FROM model_routes)""",
    "routing_rules": """SELECT name FROM routing_rules WHERE policy_id NOT IN (SELECT id FROM routing_policies)
        OR target_model_alias NOT IN (SELECT model_alias FROM model_routes)""",
    "route_health.provider_id": """SELECT resource_name FROM route_health h WHERE NOT EXISTS (SELECT 1 FROM model_routes r
        WHERE r.provider_id = h.provider_id AND r.upstream_model = h.upstream_model)
        OR provider_id NOT IN (SELECT id FROM providers)""",
    "user_models.provider_id": """SELECT model_alias FROM user_models WHERE (provider_id IS NOT NULL
        AND provider_id NOT IN (SELECT id FROM providers))
        OR model_alias NOT IN (SELECT model_alias FROM model_routes UNION ALL SELECT model_alias FROM smart_models)""",
    "user_api_keys.id": "SELECT name FROM user_api_keys WHERE id NOT IN (SELECT id FROM api_keys)",
}

# The deliberately dangling references (sample_snapshots/README.md lists them): a credential
# deleted while a provider still names it, and an alias and a route group removed while a budget
# and an allowlist still point at them.
DANGLING = {
    OLD: set(),
    NEW: {("providers.connection_id", "Azure OpenAI Sweden Central (EU)"),
          ("token_budgets.target_model_alias", "Marketing on chat-legacy"),
          ("model_access.targets.route_group", "Marketing allowlist"),
          ("model_access.targets.model_alias", "Marketing allowlist")},
}


@pytest.mark.parametrize("name", [OLD, NEW])
def test_every_reference_resolves_except_the_documented_ones(sample_db, name):
    found = {(label, r[0]) for label, sql in REFERENCES.items() for r in rows(sample_db, name, sql)}
    assert found == DANGLING[name]


def test_effective_pricing_follows_the_pricing_rules(sample_db):
    """Every route bills at its rule's current version (or a default, or nothing) as the list says."""
    mismatched = rows(sample_db, NEW, """
        SELECT r.model_alias FROM model_routes r JOIN model_pricing p ON p.id = r.pricing_rule_id
        WHERE CAST(r.effective_pricing->>'input_cost_per_million_tokens' AS DOUBLE) <> p.input_cost_per_million_tokens
           OR CAST(r.effective_pricing->>'output_cost_per_million_tokens' AS DOUBLE) <> p.output_cost_per_million_tokens""")
    assert mismatched == []
    sources = dict(rows(sample_db, NEW, "SELECT effective_pricing_source, count(*) FROM model_routes GROUP BY 1"))
    assert set(sources) == {"org_instance", "org_catalog", "org_generic", "barndoor_default", "not_metered", "none"}


# ---------------------------------------------------------------- determinism

def test_committed_folders_are_what_the_generator_produces():
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "build_sample.py"), "--check"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_check_mode_names_a_changed_file(tmp_path):
    for name in (OLD, NEW):
        shutil.copytree(SAMPLES / name, tmp_path / name)
    governance = tmp_path / NEW / "governance_config.json"
    governance.write_text(governance.read_text().replace("false", "true", 1))
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "build_sample.py"), "--check", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert f"{NEW}/governance_config.json: differs" in done.stderr


# ---------------------------------------------------------------- changes between the dates

def test_planted_changes_between_the_two_snapshots(sample_db):
    def one(name, sql):
        (value,), = rows(sample_db, name, sql)
        return value

    org_rl = "SELECT bool_or(enabled) FROM rate_limits WHERE scope_type = 'org'"
    org_budget = "SELECT bool_or(enabled) FROM token_budgets WHERE scope_type = 'org'"
    assert (one(OLD, org_rl), one(NEW, org_rl)) == (True, False)
    assert (one(OLD, org_budget), one(NEW, org_budget)) == (True, False)
    gov = "SELECT require_pricing_for_mappings || '/' || default_model_access FROM governance_config"
    assert (one(OLD, gov), one(NEW, gov)) == ("true/deny", "false/allow")
    ds_budget = "SELECT token_limit FROM token_budgets WHERE name = 'Data science monthly'"
    assert one(NEW, ds_budget) > 2 * one(OLD, ds_budget)
    ds_rl = "SELECT tokens_per_minute FROM rate_limits WHERE name = 'Data science'"
    assert one(NEW, ds_rl) > 2 * one(OLD, ds_rl)
    for family in ("credentials", "providers", "token_budgets", "rate_limits", "model_access", "model_routes",
                   "model_route_groups"):
        ids = {name: {r[0] for r in rows(sample_db, name, f"SELECT id FROM {family}")} for name in (OLD, NEW)}
        assert ids[NEW] - ids[OLD] or ids[OLD] - ids[NEW], family
    # a price change: same rule, new current version, longer history
    price = "SELECT id || ' ' || version_count FROM model_pricing WHERE model_pattern = 'o3'"
    assert one(OLD, price).split()[0] != one(NEW, price).split()[0]
    assert int(one(NEW, price).split()[1]) == int(one(OLD, price).split()[1]) + 1
    # a route newly ejected
    ejected = "SELECT count(*) FROM route_health WHERE state = 'ejected'"
    assert (one(OLD, ejected), one(NEW, ejected)) == (0, 3)
    # changes carry attribution
    changed = rows(sample_db, NEW, """SELECT name, last_modified_by_email, last_change_note FROM model_access
                                      WHERE last_modified_at > TIMESTAMPTZ '2026-08-28 06:00:00Z'""")
    assert len(changed) == 3 and all(email and note for _, email, note in changed)


# ---------------------------------------------------------------- catalog sanity (stand-in for the rules)

def test_sample_readme_lists_every_rule_and_dangling_reference():
    readme = (SAMPLES / "README.md").read_text()
    from gwaudit.rules import load_rules

    missing = [r.id for r in load_rules() if r.id.startswith("GW-") and not r.id.startswith("GW-WAIVER")
               and r.id not in readme]
    assert missing == []
    for _label, resource in DANGLING[NEW]:
        assert resource in readme


def test_demo_runs_on_the_sample_snapshots(tmp_path):
    lines: list[str] = []
    db = run_demo(tmp_path / "demo", echo=lines.append)
    text = "\n".join(lines)
    assert text.count("(complete)") == 2
    assert "2026-08-28T06:00:00Z" in text and "2026-11-27T06:00:00Z" in text
    assert db.exists()
    # the demo ends with the newer snapshot's report in all four formats, with the older one as baseline
    written = [Path(line.strip()) for line in lines if line.startswith("  ") and "northwind-2026-11-27" in line]
    assert {p.name.rsplit("-", 1)[-1] for p in written} >= {"report.html", "report.pdf", "findings.csv", "report.json"}
    assert all(p.exists() for p in written)
