"""gwaudit history: one resource's versions across stored snapshots."""
from __future__ import annotations

import copy
import json

import pytest

from gwaudit.cli import main
from gwaudit.errors import UsageError
from gwaudit.history import history_text, resource_history
from gwaudit.testing import store_snapshot
from tests.conftest import load_example


@pytest.fixture(scope="module")
def timeline(tmp_path_factory) -> dict:
    """Six daily snapshots of one key, one pricing rule and one rate limit (with its status row):
    day 2 only last_used_at changes; day 3 the key is renamed and the price changes; day 4
    api_keys failed; day 5 the key is gone; day 6 it is back, disabled."""
    db = tmp_path_factory.mktemp("history") / "g.duckdb"
    key = load_example("api_keys")[0]
    rule = load_example("model_pricing")[0]
    limit = load_example("rate_limits")[0]
    status = load_example("rate_limits__status")[0]
    status = dict(status, policy=limit)
    data = {"api_keys": [key], "model_pricing": [rule], "rate_limits": [limit], "rate_limit_status": [status]}
    ids = [store_snapshot(db, data, taken_at="2026-08-01T00:00:00Z")]
    d = copy.deepcopy(data)
    d["api_keys"][0]["last_used_at"] = "2026-08-02T08:00:00Z"
    ids.append(store_snapshot(db, d, taken_at="2026-08-02T00:00:00Z"))
    d["api_keys"][0]["name"] = "renamed"
    d["model_pricing"][0].update(id="22222222-0000-4000-8000-000000000002", input_cost_per_million_tokens=0.3,
                                 created_by_email="carol@example.com", change_reason="rise")
    ids.append(store_snapshot(db, d, taken_at="2026-08-03T00:00:00Z"))
    gone = copy.deepcopy(d)
    gone["api_keys"] = []
    ids.append(store_snapshot(db, gone, taken_at="2026-08-04T00:00:00Z", failed=["api_keys"]))
    ids.append(store_snapshot(db, gone, taken_at="2026-08-05T00:00:00Z"))
    d["api_keys"][0]["disabled_at"] = "2026-08-05T10:00:00Z"
    ids.append(store_snapshot(db, d, taken_at="2026-08-06T00:00:00Z"))
    return {"db": db, "ids": ids, "key": key, "rule": rule, "limit": limit}


def test_versions_over_time_with_gaps_removal_and_return(timeline):
    h = resource_history(timeline["db"], timeline["key"]["id"])
    ids = timeline["ids"]
    events = [(e.event, e.snapshot_id) for e in h.events]
    assert events == [("added", ids[0]), ("modified", ids[2]), ("not collected", ids[3]), ("removed", ids[4]),
                      ("re-added", ids[5])]
    added, modified, _gap, _removed, back = h.events
    assert (added.until_snapshot_id, added.snapshots) == (ids[1], 2)  # the last_used_at change folded in
    assert [(c.path, c.before, c.after) for c in modified.changes] == [
        ("$.name", timeline["key"]["name"], "renamed")]
    assert [(c.path, c.after) for c in back.changes] == [("$.disabled_at", "2026-08-05T10:00:00Z")]
    assert h.versions == 3 and h.name == "renamed"
    text = history_text(h)
    assert "not collected" in text and 'name: "' + timeline["key"]["name"] + '" -> "renamed"' in text


def test_volatile_versions_on_request(timeline):
    h = resource_history(timeline["db"], timeline["key"]["id"], include_volatile=True)
    assert [e.event for e in h.events][:3] == ["added", "modified", "modified"]
    assert [c.path for c in h.events[1].changes] == ["$.last_used_at"]


def test_pricing_rule_by_identity_or_any_version_id(timeline):
    rule = timeline["rule"]
    ident = f"{rule['model_pattern']}/{rule['model_provider']}/"
    h = resource_history(timeline["db"], ident)
    assert h.family == "model_pricing" and h.key == ident
    assert [e.event for e in h.events] == ["added", "modified"]
    change = {c.path: (c.before, c.after) for c in h.events[1].changes}
    assert change["$.input_cost_per_million_tokens"] == (rule["input_cost_per_million_tokens"], 0.3)
    assert h.events[1].changed_by["email"] == "carol@example.com"
    # the new version's id names the same rule (model_pricing_history holds it too: ask for the family)
    with pytest.raises(UsageError, match="several families"):
        resource_history(timeline["db"], "22222222-0000-4000-8000-000000000002")
    same = resource_history(timeline["db"], "22222222-0000-4000-8000-000000000002", family="model_pricing")
    assert same.key == ident and len(same.events) == 2


def test_ambiguous_and_unknown_ids(timeline, capsys):
    limit_id = timeline["limit"]["id"]
    with pytest.raises(UsageError) as exc:
        resource_history(timeline["db"], limit_id)
    assert "rate_limit_status, rate_limits" in exc.value.message and "--family" in exc.value.hint
    assert resource_history(timeline["db"], limit_id, family="rate_limits").events[0].event == "added"
    with pytest.raises(UsageError, match="no resource"):
        resource_history(timeline["db"], "nope")
    assert main(["--db", str(timeline["db"]), "history", limit_id]) == 2
    assert "--family" in capsys.readouterr().err
    assert main(["--db", str(timeline["db"]), "history", limit_id, "--family", "rate_limits",
                 "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["family"] == "rate_limits" and out["versions"] == 1
    assert out["events"][0]["until_snapshot_id"] == timeline["ids"][-1]
