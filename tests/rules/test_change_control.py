"""Change-control rules GW-DRIFT-001..005: each fires on a crafted pair of snapshots, names the
values before and after and who changed them, and stays silent on an unchanged pair."""
from __future__ import annotations

import copy
from pathlib import Path

import pytest

from gwaudit.db.ingest import import_folder
from gwaudit.rules import evaluate, load_rule_file
from tests.factories.access import access, t_alias
from tests.factories.budgets import budget
from tests.factories.credentials import credential
from tests.factories.governance import governance
from tests.factories.providers import provider
from tests.factories.rate_limits import rate_limit
from tests.factories.snapshots import edited, rows_of, run_pair
from tests.rulekit import rule_file

SAMPLES = Path(__file__).resolve().parents[2] / "sample_snapshots"


# ---------------------------------------------------------------- GW-DRIFT-001 model access widened

def _access(*policies, gov=None) -> dict:
    return {"model_access": list(policies), "governance_config": gov or governance()}


def test_drift001_fires_on_each_kind_of_widening(tmp_path):
    allow = access("Contractors", [t_alias("fast")], "allowlist")
    deny = access("Blocked", [t_alias("legacy-gpt4"), t_alias("o1-preview")], "denylist")
    off = access("Approved (org)", [t_alias("fast")], "allowlist", scope_type="org", scope_value=None)
    flip = access("Flip", [t_alias("coder")], "allowlist")
    gone = access("Hackathon", [t_alias("chat-premium")], "allowlist")
    before = _access(allow, deny, off, flip, gone)
    after = _access(edited(allow, targets=[t_alias("fast"), t_alias("coder")]),
                    edited(deny, who="dana@example.com", note="finance needs it", targets=[t_alias("o1-preview")]),
                    edited(off, enabled=False),
                    edited(flip, policy_type="denylist"),
                    gov=governance(default_model_access="allow"))
    rows = rows_of(run_pair(tmp_path, "GW-DRIFT-001", before, after))
    assert set(rows) == {allow["id"], deny["id"], off["id"], flip["id"], gone["id"], "governance_config"}
    assert "target(s) added to the allowlist: alias coder" in rows[allow["id"]]["message"]
    d = rows[deny["id"]]
    assert "target(s) removed from the denylist: alias legacy-gpt4" in d["message"]
    assert "changed by dana@example.com" in d["message"] and "(note: finance needs it)" in d["message"]
    assert d["changed_by"] == "dana@example.com" and d["change_note"] == "finance needs it"
    assert '"alias":"legacy-gpt4"' in d["before"] and '"alias":"legacy-gpt4"' not in d["after"]
    assert "disabled (enabled true -> false)" in rows[off["id"]]["message"]
    assert "policy_type allowlist -> denylist" in rows[flip["id"]]["message"]
    assert "was deleted" in rows[gone["id"]]["message"] and rows[gone["id"]]["resource_name"] == "Hackathon"
    g = rows["governance_config"]
    assert "from deny to allow" in g["message"] and g["family"] == "governance_config"
    assert (g["before"], g["after"]) == ('{"default_model_access":"deny"}', '{"default_model_access":"allow"}')


def test_drift001_silent_on_unchanged_and_narrowing_changes(tmp_path):
    allow = access("Contractors", [t_alias("fast"), t_alias("coder")], "allowlist")
    deny = access("Blocked", [t_alias("legacy-gpt4")], "denylist")
    was_off = access("Old", [t_alias("x")], "allowlist", enabled=False)
    before = _access(allow, deny, was_off,
                     access("Disabled and deleted", [t_alias("chat-default")], enabled=False))
    assert rows_of(run_pair(tmp_path, "GW-DRIFT-001", before, copy.deepcopy(before))) == {}
    after = _access(edited(allow, targets=[t_alias("fast")]),                        # narrowed
                    edited(deny, targets=[t_alias("legacy-gpt4"), t_alias("o1")]),     # narrowed
                    edited(was_off, targets=[t_alias("x"), t_alias("y")]),            # not in force
                    access("New denylist", [t_alias("chat-default")], "denylist"),    # additions narrow
                    gov=governance(default_model_access="deny"))
    assert rows_of(run_pair(tmp_path, "GW-DRIFT-001", before, after)) == {}


def test_drift001_missing_default_counts_as_allow_and_who_is_unknown_without_attribution(tmp_path):
    before = _access(gov=governance(default_model_access="deny"))
    after = _access(gov={"require_pricing_for_mappings": True})
    rows = rows_of(run_pair(tmp_path, "GW-DRIFT-001", before, after))
    assert "deny to unset (default allow)" in rows["governance_config"]["message"]
    assert "who changed it is not recorded" in rows["governance_config"]["message"]
    # a change whose attribution did not move is not pinned on the last person who edited it
    p = edited(access("P", [t_alias("a")], "allowlist"), who="old@example.com")
    later = copy.deepcopy(p)
    later["targets"] = [t_alias("a"), t_alias("b")]
    rows = rows_of(run_pair(tmp_path, "GW-DRIFT-001", _access(p), _access(later)))
    assert rows[p["id"]]["changed_by"] is None and "who changed it is not recorded" in rows[p["id"]]["message"]


def test_drift_rules_pass_with_a_note_without_previous_and_error_on_an_uncollected_one(tmp_path):
    result = run_pair(tmp_path, "GW-DRIFT-001", None, _access(access("P", [t_alias("chat-default")])))
    assert result.status == "skip" and result.note == "no previous snapshot to compare"
    result = run_pair(tmp_path, "GW-DRIFT-001", _access(access("P", [t_alias("chat-default")])),
                      _access(access("P", [t_alias("chat-default")])),
                      previous_failed=("model_access",))
    assert result.status == "error" and "previous snapshot" in result.error


# ---------------------------------------------------------------- GW-DRIFT-002 budgets

def _team_budget(name, **kw):
    """A budget of the data-science group capping tokens (300,000,000) and spend (15,000 USD)."""
    return budget(name, **{"scope_type": "group", "scope_value": "data-science", "token_limit": 300_000_000,
                           "cost_limit": 15000.0, **kw})


def test_drift002_budget_deleted_disabled_raised_or_removed(tmp_path):
    raised = _team_budget("Data science monthly")
    off = budget("Org monthly spend cap", token_limit=300_000_000, cost_limit=15000.0)
    gone = _team_budget("Hackathon September")
    uncapped = _team_budget("Cost cap removed")
    tokens_off = _team_budget("Token cap removed")
    before = {"token_budgets": [raised, off, gone, uncapped, tokens_off]}
    after = {"token_budgets": [edited(raised, who="elena@example.com", note="Q4 headroom", token_limit=800_000_000),
                               edited(off, enabled=False), edited(uncapped, cost_limit=None),
                               edited(tokens_off, token_limit=0)]}
    result = run_pair(tmp_path, "GW-DRIFT-002", before, after)
    rows = rows_of(result)
    assert set(rows) == {raised["id"], off["id"], gone["id"], uncapped["id"], tokens_off["id"]}
    r = rows[raised["id"]]
    assert "token_limit raised 2.67x (300000000 -> 800000000)" in r["message"]
    assert "changed by elena@example.com" in r["message"] and "(note: Q4 headroom)" in r["message"]
    assert r["before"] == '{"enabled":true,"token_limit":300000000,"cost_limit":15000.0}'
    assert "disabled (enabled true -> false)" in rows[off["id"]]["message"]
    assert "was deleted" in rows[gone["id"]]["message"]
    assert "cost_limit removed (15000.0 USD -> null)" in rows[uncapped["id"]]["message"]
    assert "token_limit removed (300000000 -> 0)" in rows[tokens_off["id"]]["message"]
    assert result.checked == 5


def test_drift002_boundary_factor_param_and_tightening(tmp_path):
    b = _team_budget("B", cost_limit=1000.0)
    exactly = {"token_budgets": [edited(b, token_limit=600_000_000, cost_limit=2000.0)]}  # exactly 2x
    assert rows_of(run_pair(tmp_path, "GW-DRIFT-002", {"token_budgets": [b]}, exactly)) == {}
    more = {"token_budgets": [edited(b, cost_limit=2500.0)]}
    assert set(rows_of(run_pair(tmp_path, "GW-DRIFT-002", {"token_budgets": [b]}, more))) == {b["id"]}
    assert rows_of(run_pair(tmp_path, "GW-DRIFT-002", {"token_budgets": [b]}, more,
                            params={"max_increase_factor": 3})) == {}
    lowered = {"token_budgets": [edited(b, token_limit=1000, cost_limit=10.0), _team_budget("new")]}
    assert rows_of(run_pair(tmp_path, "GW-DRIFT-002", {"token_budgets": [b]}, lowered)) == {}
    was_off = _team_budget("Off", enabled=False)
    assert rows_of(run_pair(tmp_path, "GW-DRIFT-002", {"token_budgets": [was_off]}, {"token_budgets": []})) == {}


# ---------------------------------------------------------------- GW-DRIFT-003 rate limits

def _team_limit(name, **kw):
    """A rate limit of the data-science group capping requests (600/min) and tokens (2,000,000/min)."""
    return rate_limit(name, **{"scope_type": "group", "scope_value": "data-science", "tokens_per_minute": 2_000_000,
                               **kw})


def test_drift003_rate_limit_deleted_disabled_raised_removed(tmp_path):
    ds = _team_limit("Data science")
    ceiling = rate_limit("Org-wide ceiling", tokens_per_minute=2_000_000)
    gone = _team_limit("Hackathon burst allowance")
    unlimited = _team_limit("No more tpm")
    zero = _team_limit("Frozen", requests_per_minute=0)
    before = {"rate_limits": [ds, ceiling, gone, unlimited, zero]}
    after = {"rate_limits": [edited(ds, who="tom@example.com", requests_per_minute=1500, tokens_per_minute=5_000_000),
                             edited(ceiling, enabled=False, note="load test LT-2211"),
                             edited(unlimited, tokens_per_minute=None), edited(zero, requests_per_minute=10)]}
    rows = rows_of(run_pair(tmp_path, "GW-DRIFT-003", before, after))
    assert set(rows) == {ds["id"], ceiling["id"], gone["id"], unlimited["id"], zero["id"]}
    m = rows[ds["id"]]["message"]
    assert "requests_per_minute raised 2.5x (600 -> 1500)" in m and "tokens_per_minute raised 2.5x" in m
    assert rows[ds["id"]]["changed_by"] == "tom@example.com"
    assert "disabled" in rows[ceiling["id"]]["message"] and "load test LT-2211" in rows[ceiling["id"]]["message"]
    assert "600 rpm, 2000000 tpm), enabled in the previous snapshot, was deleted" in rows[gone["id"]]["message"]
    assert "tokens_per_minute removed (2000000 -> null: no limit)" in rows[unlimited["id"]]["message"]
    assert "requests_per_minute raised from 0 to 10" in rows[zero["id"]]["message"]


def test_drift003_silent_when_unchanged_at_the_factor_or_tightened(tmp_path):
    rl = _team_limit("RL")
    same = {"rate_limits": [rl]}
    assert rows_of(run_pair(tmp_path, "GW-DRIFT-003", same, copy.deepcopy(same))) == {}
    after = {"rate_limits": [edited(rl, requests_per_minute=1200, tokens_per_minute=100)]}  # 2x exactly, lowered
    assert rows_of(run_pair(tmp_path, "GW-DRIFT-003", same, after)) == {}
    nothing_set = _team_limit("Unset", tokens_per_minute=None)  # null before: nothing to loosen
    assert rows_of(run_pair(tmp_path, "GW-DRIFT-003", {"rate_limits": [nothing_set]},
                            {"rate_limits": [edited(nothing_set, tokens_per_minute=None)]})) == {}


# ---------------------------------------------------------------- GW-DRIFT-004 providers and credentials

def test_drift004_new_provider_and_credential(tmp_path):
    old_p, old_c = provider("OpenAI"), credential("OpenAI key")
    groq = {"model_provider": "groq", "base_url": "https://api.groq.com/openai/v1"}
    cred = credential("Groq", **groq, created_at="2026-11-26T09:12:00Z", updated_at="2026-11-26T09:12:00Z",
                      last_modified_at=None, created_by_email="tom@example.com")
    prov = provider("Groq (pilot)", **groq, connection_id=cred["id"], created_at="2026-11-26T09:20:00Z",
                    created_by_email="tom@example.com")
    before = {"providers": [old_p], "credentials": [old_c]}
    after = {"providers": [old_p, prov], "credentials": [old_c, cred]}
    result = run_pair(tmp_path, "GW-DRIFT-004", before, after)
    rows = rows_of(result)
    assert set(rows) == {prov["id"], cred["id"]}
    p, c = rows[prov["id"]], rows[cred["id"]]
    assert (p["family"], c["family"]) == ("providers", "credentials")
    assert p["message"].startswith("provider 'Groq (pilot)' (groq, https://api.groq.com/openai/v1, "
                                   "auth bearer_api_key, "
                                   f"credential {cred['id']}, enabled) was added")
    assert "created by tom@example.com at 2026-11-26 09:20 UTC" in p["message"]
    assert c["created_by"] == "tom@example.com"
    assert result.checked == 4
    assert rows_of(run_pair(tmp_path, "GW-DRIFT-004", after, copy.deepcopy(after))) == {}
    # removals and edits are other rules' business
    assert rows_of(run_pair(tmp_path, "GW-DRIFT-004", after, {"providers": [edited(old_p, enabled=False)],
                                                              "credentials": []})) == {}


# ---------------------------------------------------------------- GW-DRIFT-005 governance

def test_drift005_any_setting_change_with_before_and_after(tmp_path):
    before = {"governance_config": governance()}
    after = {"governance_config": governance(require_pricing_for_mappings=False, default_model_access="allow",
                                             new_guard="strict")}
    rows = rows_of(run_pair(tmp_path, "GW-DRIFT-005", before, after))
    [row] = rows.values()
    assert row["resource_id"] == "governance_config"
    assert ('default_model_access "deny" -> "allow"; new_guard null -> "strict"; '
            "require_pricing_for_mappings true -> false") in row["message"]
    assert "who changed it is not recorded" in row["message"]
    import json
    assert json.loads(row["changes"])["require_pricing_for_mappings"] == {"before": True, "after": False}


def test_drift005_defaults_attribution_and_unchanged(tmp_path):
    explicit = {"governance_config": {"require_pricing_for_mappings": False, "default_model_access": "allow",
                                      "require_routing_policy": False}}
    implicit = {"governance_config": {"require_pricing_for_mappings": False}}  # the documented defaults
    assert rows_of(run_pair(tmp_path, "GW-DRIFT-005", explicit, implicit)) == {}
    attributed = {"governance_config": governance(require_routing_policy=True,
                                                  last_modified_by_email="dana@example.com",
                                                  last_modified_at="2026-11-26T10:00:00Z")}
    [row] = rows_of(run_pair(tmp_path, "GW-DRIFT-005", {"governance_config": governance()}, attributed)).values()
    assert "require_routing_policy false -> true; changed by dana@example.com at 2026-11-26T10:00:00Z" in row["message"]
    assert row["changed_by"] == "dana@example.com"
    only_attribution = {"governance_config": governance(last_modified_at="2026-11-26T11:00:00Z")}
    assert rows_of(run_pair(tmp_path, "GW-DRIFT-005", {"governance_config": governance()}, only_attribution)) == {}


# ---------------------------------------------------------------- the sample org's planted changes

@pytest.fixture(scope="module")
def sample_db(tmp_path_factory):
    db = tmp_path_factory.mktemp("cc-sample") / "sample.duckdb"
    import_folder(db, SAMPLES / "2026-08-28")
    return db, import_folder(db, SAMPLES / "2026-11-27").snapshot_id


@pytest.mark.parametrize("rule_id, expected", [
    # the two pipeline allowlists name the "Pipeline models" route group, which gained chat-premium
    ("GW-DRIFT-001", {"Approved models (org)", "Contractors allowlist", "Block retired and unreviewed models",
                      "Hackathon: general and premium", "governance configuration",
                      "CI pipelines: pipeline models only", "Data pipelines: pipeline models only"}),
    ("GW-DRIFT-002", {"Org monthly spend cap", "Data science monthly", "Hackathon September"}),
    ("GW-DRIFT-003", {"Org-wide ceiling", "Data science", "Hackathon burst allowance"}),
    ("GW-DRIFT-004", {"Groq (pilot)", "Groq"}),
    ("GW-DRIFT-005", {"governance configuration"}),
])
def test_the_sample_orgs_changes_trip_the_drift_rules(sample_db, rule_id, expected):
    db, new = sample_db
    result = evaluate(db, new, load_rule_file(rule_file(rule_id)))
    assert result.status != "error", result.error
    assert {r["resource_name"] for r in result.raw_rows()} == expected
