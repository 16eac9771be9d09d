"""gwaudit diff: resources added, removed and modified between two stored snapshots."""
from __future__ import annotations

import copy
import csv
import io
import json
from pathlib import Path

import click
import pytest

from gwaudit import families as fam
from gwaudit.cli import main
from gwaudit.diff import diff_snapshots
from gwaudit.jsonwalk import walk_json
from gwaudit.diffview import diff_csv, diff_text
from gwaudit.errors import IncompleteEvidence, UsageError
from gwaudit.testing import store_snapshot
from tests.conftest import EXAMPLES

OLD_AT, NEW_AT = "2026-08-01T12:00:00Z", "2026-08-02T12:00:00Z"


def _change(data: dict) -> dict:
    """The example org a day later: one change of each kind a reviewer cares about."""
    d = copy.deepcopy(data)
    # a price change: the rule gets a new version id, the rule identity stays
    rule = d["model_pricing"][0]
    rule.update(id="11111111-2222-4333-8444-555555555555", input_cost_per_million_tokens=0.2,
                created_by_email="pricing@example.com", change_reason="vendor price rise", change_source="admin_edit")
    # a policy widened, attributed
    pol = d["model_access"][0]
    pol["targets"].append({"kind": "model_alias", "alias": "claude-*"})
    pol.update(last_modified_by_email="alice@example.com", last_modified_at="2026-08-02T09:00:00Z",
               last_change_note="CHG-42 allow claude")
    # a provider removed, a credential added
    removed_provider = d["providers"].pop()
    new_cred = dict(d["credentials"][0], id="99999999-0000-4000-8000-000000000001", name="Spare key",
                    created_by_email="bob@example.com", created_by_name="Bob")
    d["credentials"].append(new_cred)
    # governance flipped (singleton)
    d["governance_config"]["default_model_access"] = "deny"
    # volatile only: usage, last use, route health counters
    d["api_keys"][0]["last_used_at"] = "2026-08-02T11:00:00Z"
    d["route_health"]["routes"][0]["in_flight"] = 99
    d["route_health"]["routes"][0]["consecutive_failures"] = 3
    d["token_budget_status"][0]["tokens_used"] = 123456789
    # a real change on a route-health row, matched by provider and upstream model
    d["route_health"]["routes"][1]["concurrency_cap"] = 5
    # a user model by alias
    d["user_models"]["models"][0]["upstream_model"] = "gpt-4o-mini-2026"
    return {"new_data": d, "removed_provider": removed_provider, "new_cred": new_cred}


@pytest.fixture(scope="module")
def pair(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("diff")
    data = example_bodies()
    db = tmp / "gwaudit.duckdb"
    old = store_snapshot(db, data, taken_at=OLD_AT)
    changed = _change(data)
    new = store_snapshot(db, changed["new_data"], taken_at=NEW_AT)
    return {"db": db, "old": old, "new": new, "data": data, **changed}


def example_bodies() -> dict:
    """The reference's example org, one response body per family (envelopes as served)."""
    files = {
        "credentials": "credentials", "providers": "providers", "model_routes": "model_routes",
        "model_pricing": "model_pricing", "model_pricing_archived": "model_pricing__archived",
        "rate_limits": "rate_limits", "token_budgets": "token_budgets", "token_budget_status": "token_budgets__status",
        "model_access": "model_access", "governance_config": "governance_config", "route_health": "route_health",
        "api_keys": "api_keys", "user_models": "user_models",
    }
    return {family: json.loads((EXAMPLES / f"{stem}.json").read_text()) for family, stem in files.items()}


def test_price_change_is_a_modification_of_the_rule(pair):
    d = diff_snapshots(pair["db"], pair["old"], pair["new"]).to_dict()
    pricing = d["families"]["model_pricing"]
    assert pricing["added"] == [] and pricing["removed"] == []
    [mod] = pricing["modified"]
    rule = pair["data"]["model_pricing"][0]
    assert mod["key"] == f"{rule['model_pattern']}/{rule['model_provider']}/"
    changes = {c["path"]: (c["before"], c["after"]) for c in mod["changes"]}
    assert changes["$.input_cost_per_million_tokens"] == (0.15, 0.2)
    assert changes["$.id"] == (rule["id"], "11111111-2222-4333-8444-555555555555")
    assert mod["changed_by"]["email"] == "pricing@example.com"
    assert "vendor price rise" in mod["changed_by"]["note"]


def test_added_removed_modified_with_who_changed_it(pair):
    d = diff_snapshots(pair["db"], "previous", "latest").to_dict()
    fams = d["families"]
    assert fams["providers"]["removed"] == [{"key": pair["removed_provider"]["id"],
                                             "name": pair["removed_provider"]["name"]}]
    [added] = fams["credentials"]["added"]
    assert added["key"] == pair["new_cred"]["id"] and added["changed_by"]["email"] == "bob@example.com"
    [pol] = fams["model_access"]["modified"]
    assert pol["changed_by"] == {"email": "alice@example.com", "name": None, "at": "2026-08-02T09:00:00Z",
                                 "note": "CHG-42 allow claude"}
    targets = next(c for c in pol["changes"] if c["path"] == "$.targets")
    assert targets["after"][-1] == {"kind": "model_alias", "alias": "claude-*"}
    [gov] = fams["governance_config"]["modified"]
    assert gov["key"] == "governance_config"
    assert gov["changes"] == [{"path": "$.default_model_access", "before": "allow", "after": "deny"}]
    [um] = fams["user_models"]["modified"]
    assert um["key"] == pair["data"]["user_models"]["models"][0]["model_alias"]
    assert fams["api_keys"] == {"status": "compared", "added": [], "removed": [], "modified": []}


def test_route_health_matched_by_provider_and_upstream_model(pair):
    d = diff_snapshots(pair["db"], pair["old"], pair["new"], families=["route_health"]).to_dict()
    assert list(d["families"]) == ["route_health"]
    rh = d["families"]["route_health"]
    route = pair["data"]["route_health"]["routes"][1]
    assert rh["added"] == [] and rh["removed"] == []
    [mod] = rh["modified"]  # the in_flight/consecutive_failures row is volatile-only
    assert mod["key"] == f"{route['provider_id']}/{route['upstream_model']}"
    assert mod["changes"] == [{"path": "$.concurrency_cap", "before": route["concurrency_cap"], "after": 5}]


def test_volatile_fields_left_out_unless_asked(pair):
    d = diff_snapshots(pair["db"], pair["old"], pair["new"])
    assert d.families["api_keys"].modified == [] and d.families["api_keys"].volatile_only == 1
    assert d.families["token_budget_status"].modified == []
    assert "last_used_at" in d.to_dict()["volatile_fields"]["api_keys"]
    assert "volatile" in diff_text(d)

    v = diff_snapshots(pair["db"], pair["old"], pair["new"], include_volatile=True).to_dict()["families"]
    [key] = v["api_keys"]["modified"]
    assert key["changes"] == [{"path": "$.last_used_at", "before": pair["data"]["api_keys"][0]["last_used_at"],
                               "after": "2026-08-02T11:00:00Z"}]
    assert v["token_budget_status"]["modified"][0]["changes"][0]["path"] == "$.tokens_used"
    paths = {c["path"] for m in v["route_health"]["modified"] for c in m["changes"]}
    assert {"$.in_flight", "$.consecutive_failures", "$.concurrency_cap"} <= paths


def test_volatile_fields_are_declared_in_the_family_registry_only():
    declared = {f.name: f.volatile for f in fam.FAMILIES if f.volatile}
    assert {"last_used_at"} <= set(declared["api_keys"])
    assert {"eject_remaining_secs", "in_flight", "consecutive_failures", "recent_transitions", "state"} <= set(
        declared["route_health"])
    assert "health_checked_at" in declared["providers"]
    assert {"rpm_used", "tpm_used"} <= set(declared["rate_limit_status"])
    assert {"tokens_used", "cost_used"} <= set(declared["token_budget_status"])
    # README's table lists exactly these (docs that cannot drift)
    import re
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme[readme.index("**Volatile fields.**"):]
    section = section[: section.index("\n\n", section.index("| family |"))]
    table = {m.group(1): tuple(re.findall(r"`([^`]+)`", m.group(2)))
             for m in re.finditer(r"^\| `(\w+)` \| (.*) \|$", section, flags=re.M)}
    assert table == declared


@pytest.fixture(scope="module")
def trio(tmp_path_factory, pair) -> dict:
    """Three more snapshots of the unchanged org: api_keys failed in the second; a key renamed to a
    spreadsheet formula in the third."""
    db = tmp_path_factory.mktemp("trio") / "g.duckdb"
    data = copy.deepcopy(pair["data"])
    a = store_snapshot(db, data, taken_at=OLD_AT)
    b = store_snapshot(db, data, taken_at=NEW_AT, failed=["api_keys"])
    data["api_keys"][1]["name"] = "=HYPERLINK(\"http://x\")"
    c = store_snapshot(db, data, taken_at="2026-08-03T12:00:00Z")
    return {"db": db, "a": a, "b": b, "c": c}


def test_failed_family_is_not_comparable_instead_of_all_removed(trio):
    d = diff_snapshots(trio["db"], trio["a"], trio["b"])
    keys = d.to_dict()["families"]["api_keys"]
    assert keys["status"] == f"not comparable: collection failed in snapshot {trio['b']} (simulated failure)"
    assert keys["removed"] == [] and keys["added"] == []
    # every other family compared, and nothing else changed
    assert all(x.compared and not x.changed for n, x in d.families.items() if n != "api_keys")
    err = d.incomplete_error()
    assert isinstance(err, IncompleteEvidence) and "api_keys" in err.message
    assert "api_keys: not comparable" in diff_text(d)
    # the command prints the diff and exits 4
    assert main(["--db", str(trio["db"]), "diff", str(trio["a"]), str(trio["b"]), "--format", "json"]) == 4


def test_csv_neutralises_formulas(trio):
    text = diff_csv(diff_snapshots(trio["db"], trio["a"], trio["c"]))
    assert ",=HYPERLINK" not in text and "'=HYPERLINK" in text


def test_dates_and_unknown_names(pair):
    d = diff_snapshots(pair["db"], "2026-08-01", "2026-08-02")
    assert (d.old["id"], d.new["id"]) == (pair["old"], pair["new"])
    with pytest.raises(UsageError, match="unknown family"):
        diff_snapshots(pair["db"], families=["keys"])
    with pytest.raises(UsageError):
        diff_snapshots(pair["db"], "2020-01-01", "latest")


def test_cli_formats(pair, capsys):
    db = str(pair["db"])
    assert main(["--db", db, "diff", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) >= {"old", "new", "families", "findings"}
    assert set(out["findings"]) >= {"new", "resolved", "resolved_deleted", "open", "waived"}
    for f in out["families"].values():
        assert set(f) == {"status", "added", "removed", "modified"}

    assert main(["--db", db, "diff", "previous", "latest", "--format", "csv",
                 "--family", "model_access,providers"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert {r["family"] for r in rows if r["section"] == "resource"} == {"model_access", "providers"}
    target = next(r for r in rows if r["path"] == "$.targets")
    assert "claude-*" in target["after"] and target["changed_by"].startswith("alice@example.com")

    assert main(["--db", db, "diff"]) == 0
    text = capsys.readouterr().out
    assert "\x1b[" not in text  # not a terminal: no colour
    assert "model_pricing  (1 modified)" in text and "input_cost_per_million_tokens: 0.15 -> 0.2" in text
    assert "+ {\"alias\": \"claude-*\", \"kind\": \"model_alias\"}" in text
    assert "\x1b[" in diff_text(diff_snapshots(pair["db"]), style=click.style)


def test_walk_json_paths_and_equality():
    before = {"a": 1, "b": {"c": True, "d": [1, 2]}, "e": None, "odd key": 1, "l": [1]}
    after = {"a": 1, "b": {"c": 1, "d": [1, 3]}, "odd key": 2, "l": [1, 2], "new": "x"}
    changes = {c.path: (c.before, c.after) for c in walk_json(before, after)}
    assert changes == {"$.b.c": (True, 1), "$.b.d[1]": (2, 3), '$["odd key"]': (1, 2),
                       "$.l": ([1], [1, 2]), "$.new": (None, "x")}  # missing "e" equals null
    assert list(walk_json(before, after, skip={"b.c", "l", "new", "odd key", "b.d"})) == []


def test_stable_hash_is_added_to_older_databases_and_follows_the_volatile_fields(tmp_path, pair):
    """A database written before stable_sha256 existed gets the column, backfilled; the value is
    recomputed whenever a family's declared volatile fields differ from the ones it was built with."""
    import duckdb

    from gwaudit.db import Database

    db = tmp_path / "g.duckdb"
    old = store_snapshot(db, pair["data"], taken_at=OLD_AT)
    new = store_snapshot(db, pair["new_data"], taken_at=NEW_AT)
    con = duckdb.connect(str(db))
    expected = con.execute("SELECT vid, stable_sha256 FROM rv_api_keys ORDER BY vid").fetchall()
    assert all(len(h) == 32 for _v, h in expected)
    con.execute("ALTER TABLE rv_api_keys DROP COLUMN stable_sha256")
    con.execute("UPDATE rv_route_health SET stable_sha256 = NULL")
    con.execute("DELETE FROM gwaudit_meta WHERE key = 'derived'")  # as an older gwaudit left it
    con.close()
    # the first reader brings the database up to date, then answers as before
    d = diff_snapshots(db, old, new)
    assert d.families["api_keys"].volatile_only == 1 and d.families["api_keys"].modified == []
    con = duckdb.connect(str(db))
    con.execute("UPDATE gwaudit_meta SET value = '[\"in_flight\"]' WHERE key = 'volatile:route_health'")
    con.execute("DELETE FROM gwaudit_meta WHERE key = 'derived'")
    con.close()
    Database(db).initialise()
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT vid, stable_sha256 FROM rv_api_keys ORDER BY vid").fetchall() == expected
    assert con.execute("SELECT count(*) FROM rv_route_health WHERE stable_sha256 IS NULL").fetchone()[0] == 0
    con.close()
    d = diff_snapshots(db, old, new)
    assert d.families["api_keys"].volatile_only == 1 and d.families["api_keys"].modified == []
