"""The views auditors query with gwaudit sql, against the sample snapshots, with known answers:
severity_rank, natural_key on the history views, actors and the *_attributed views, waiver_expiry."""
from __future__ import annotations

from pathlib import Path

import pytest

from gwaudit.db import Database
from gwaudit.db.ingest import import_folder
from gwaudit.families import FAMILIES
from gwaudit.db.layout import history_view
from gwaudit.rules import audit
from gwaudit.severity import SEVERITIES

SAMPLES = Path(__file__).resolve().parents[1] / "sample_snapshots"
TAKEN = "2026-11-27T06:00:00Z"  # the newer sample's taken_at: waiver_expiry's default "now"

WAIVERS = """
- {rule_id: GW-KEY-001, resource_name: "Looker integration", owner: a@x.example, justification: due at once,
   expires: "2026-11-27T06:00:00Z"}
- {rule_id: GW-KEY-001, resource_name: "dana ipad", owner: b@x.example, justification: in 30 days exactly,
   expires: "2026-12-27T06:00:00Z"}
- {rule_id: GW-KEY-002, resource_name: "arjun desktop", owner: c@x.example, justification: a second too late,
   expires: "2026-12-27T06:00:01Z"}
- {rule_id: GW-KEY-005, resource_name: "nothing matches", owner: d@x.example, justification: "unused, soon",
   expires: 2026-12-01}
- {rule_id: GW-KEY-005, resource_name: "Jenkins*", owner: e@x.example, justification: expired,
   expires: "2026-11-27T05:59:59Z"}
"""


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Database:
    root = tmp_path_factory.mktemp("views")
    db = Database(root / "sample.duckdb")
    import_folder(db, SAMPLES / "2026-08-28")
    import_folder(db, SAMPLES / "2026-11-27")
    (root / "waivers.yaml").write_text(WAIVERS)
    audit(db, 1)
    audit(db, 2, waivers=root / "waivers.yaml")
    return db


def _q(db: Database, sql: str, params=None) -> list[tuple]:
    with db.reader(sandboxed=True) as con:
        return con.execute(sql, params or []).fetchall()


# ---------------------------------------------------------------- severity_rank

def test_severity_rank_sorts_worst_first_on_every_findings_view(sample):
    expected = {s: i for i, s in enumerate(SEVERITIES)}
    for view in ("latest_findings", "finding_lifecycle", "finding_episodes", "finding_delta(1, 2)"):
        rows = _q(sample, f"SELECT DISTINCT severity, severity_rank FROM {view}")
        assert {s for s, _ in rows} == set(SEVERITIES), view
        assert dict(rows) == expected, view
    # the table itself through the macro, and an unknown severity after info
    assert _q(sample, "SELECT severity FROM findings WHERE snapshot_id = 2 "
                      "ORDER BY severity_rank(severity), rule_id LIMIT 1") == [("critical",)]
    assert _q(sample, "SELECT severity_rank('bogus'), severity_rank(NULL)") == [(5, 5)]


def test_the_findings_open_longest_worst_first(sample):
    rows = _q(sample, """SELECT rule_id, severity FROM finding_lifecycle WHERE state = 'open'
                         ORDER BY severity_rank, first_seen, rule_id LIMIT 3""")
    ranks = [SEVERITIES.index(s) for _, s in rows]
    assert ranks == sorted(ranks) and rows[0][1] == "critical"


# ---------------------------------------------------------------- natural keys

def test_every_history_view_has_the_natural_key_diff_uses(sample):
    for family in FAMILIES:
        cols = [r[0] for r in _q(sample, f"DESCRIBE {history_view(family.name)}")]
        assert "natural_key" in cols, family.name
    # pricing: the version id changes with each price, the natural key does not
    rows = _q(sample, """SELECT natural_key, count(DISTINCT resource_key), list(DISTINCT input_cost_per_million_tokens
                                                                           ORDER BY input_cost_per_million_tokens)
                         FROM model_pricing_rules_history WHERE natural_key = 'o3/openai/' GROUP BY 1""")
    assert rows == [("o3/openai/", 2, [2.0, 10.0])]
    # a resource keyed by its id keeps it as natural key; route health by provider and model
    assert _q(sample, "SELECT count(*) FROM api_keys_history WHERE natural_key <> resource_key") == [(0,)]
    rh = _q(sample, "SELECT natural_key, provider_id, upstream_model FROM route_health LIMIT 1")[0]
    assert rh[0] == f"{rh[1]}/{rh[2]}"


# ---------------------------------------------------------------- actors

def test_actors_maps_every_user_id_to_the_email_recorded_with_it(sample):
    rows = _q(sample, "SELECT user_id, email, name FROM actors WHERE email IS NOT NULL ORDER BY email")
    assert [(e, n) for _, e, n in rows] == [
        ("dana.whitfield@northwind.example", "Dana Whitfield"), ("elena.sokolova@northwind.example", "Elena Sokolova"),
        ("marcus.chen@northwind.example", "Marcus Chen"), ("priya.raman@northwind.example", "Priya Raman"),
        ("terraform-platform@northwind.example", "Terraform (platform-infra)"),
        ("tom.okafor@northwind.example", "Tom Okafor")]
    # every id any key names is an actor (most only by id: the API records no e-mail for keys)
    assert _q(sample, """SELECT count(*) FROM (SELECT created_by_user_id u FROM api_keys_history UNION
                                               SELECT user_id FROM api_keys_history WHERE user_id IS NOT NULL)
                         WHERE u NOT IN (SELECT user_id FROM actors WHERE user_id IS NOT NULL)""") == [(0,)]
    # one row per id, and where it was seen
    assert _q(sample, "SELECT count(*) - count(DISTINCT user_id) FROM actors") == [(0,)]
    [seen] = _q(sample, "SELECT seen_as FROM actors WHERE email = 'tom.okafor@northwind.example'")
    assert {"api_keys:created_by", "rate_limits:updated_by", "model_pricing_history:created_by"} <= set(seen[0])


def test_a_user_scoped_budget_names_its_user(sample):
    [(uid,)] = _q(sample, "SELECT scope_id FROM token_budgets WHERE scope_type = 'user' AND scope_id IS NOT NULL")
    assert _q(sample, "SELECT family, role FROM actor_sightings WHERE user_id = ? AND role = 'scope'", [uid]) == [
        ("token_budgets", "scope")]


def test_keys_created_in_the_quarter_and_by_whom(sample):
    rows = _q(sample, """SELECT name, created_by_email, created_by_name FROM api_keys_attributed
                         WHERE created_at >= '2026-07-01' AND created_at < '2026-10-01'
                           AND created_by_email IS NOT NULL AND kind = 'machine' ORDER BY created_at""")
    # sample README: 20 Sep, Tom created "Data warehouse loader"; the key itself carries only his id
    assert ("Data warehouse loader", "tom.okafor@northwind.example", "Tom Okafor") in rows
    # api_keys has no e-mail column at all: that is what _attributed adds
    cols = [r[0] for r in _q(sample, "DESCRIBE api_keys")]
    assert "created_by_email" not in cols
    owner = _q(sample, "SELECT owner_email FROM api_keys_attributed WHERE name = 'dana ipad'")
    assert owner == [("dana.whitfield@northwind.example",)]


def test_attributed_views_keep_what_the_api_recorded_and_add_updated_by(sample):
    rows = _q(sample, """SELECT name, created_by_email, updated_by_email, updated_by_name, updated_at
                         FROM token_budgets_attributed WHERE name = 'Org monthly spend cap'""")
    assert rows[0][:4] == ("Org monthly spend cap", "dana.whitfield@northwind.example",
                           "elena.sokolova@northwind.example", "Elena Sokolova")
    assert rows[0][4].isoformat().startswith("2026-11-03")
    hist = _q(sample, """SELECT snapshot_id, created_by_name FROM model_pricing_history_history_attributed
                         WHERE model_pattern = 'o3' ORDER BY effective_from""")
    assert hist and all(n for _, n in hist)
    for view in ("api_keys", "user_api_keys", "model_pricing", "model_pricing_archived", "model_pricing_history",
                 "rate_limits", "token_budgets", "model_access"):
        for name in (view + "_attributed", history_view(view) + "_attributed"):
            cols = {r[0] for r in _q(sample, f"DESCRIBE {name}")}
            assert {"created_by_user_id", "created_by_email", "created_by_name", "updated_by_user_id",
                    "updated_by_email", "updated_by_name", "updated_at"} <= cols, name
    assert _q(sample, "SELECT actor_email(?), actor_name(?)", ["d12e8a93-e0e8-42af-85d2-23df1dab05ba"] * 2) == [
        ("tom.okafor@northwind.example", "Tom Okafor")]
    assert _q(sample, "SELECT actor_email('nobody')") == [(None,)]


# ---------------------------------------------------------------- waivers

def test_waiver_expiry_lists_the_waivers_of_the_latest_audit_expiring_within_n_days(sample):
    rows = _q(sample, "SELECT justification, state, days_left FROM waiver_expiry(30)")
    # in force at taken_at (the first expires at that very instant), up to and including 30 days later
    assert rows == [("due at once", "active", 0), ("unused, soon", "unused", 4), ("in 30 days exactly", "active", 30)]
    assert _q(sample, "SELECT justification FROM waiver_expiry(3)") == [("due at once",)]
    assert _q(sample, "SELECT count(*) FROM waiver_expiry(0)") == [(1,)]
    # from another instant (as_of := now() for the wall clock)
    later = _q(sample, "SELECT justification FROM waiver_expiry(30, as_of := TIMESTAMPTZ '2026-12-02 00:00:00+00')")
    assert later == [("in 30 days exactly",), ("a second too late",)]
    # the waivers table keeps every waiver each audit judged, expired ones too
    assert _q(sample, "SELECT state, count(*) FROM waivers WHERE snapshot_id = 2 GROUP BY ALL ORDER BY 1") == [
        ("active", 3), ("expired", 1), ("unused", 1)]
