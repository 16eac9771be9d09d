"""Findings across snapshots: the diff's finding groups, the finding_lifecycle view and the
per-severity lifecycle figures (open counts, mean time to resolve)."""
from __future__ import annotations

from datetime import datetime, timezone

import duckdb
import pytest

from gwaudit.diff import diff_snapshots
from gwaudit.diffview import diff_text
from gwaudit.findings.lifecycle import lifecycle_figures
from gwaudit.rules import audit, load_rules
from gwaudit.testing import store_snapshot

UTC = timezone.utc


def key(name: str, expires: str | None = None) -> dict:
    return {"id": f"00000000-0000-4000-8000-{sum(map(ord, name)):012d}", "name": name, "key_prefix": "bd-" + name[:5],
            "scopes": [], "kind": "machine", "created_at": "2026-01-01T00:00:00Z", "expires_at": expires,
            "revoked_at": None, "disabled_at": None}


LATER = "2026-12-31T00:00:00Z"


def _audit(db, sid, **kw):
    # GW-KEY-001 alone as the catalog: stored as the snapshot's audit (an only= selection is partial: not stored)
    return audit(db, sid, rules=[r for r in load_rules() if r.id == "GW-KEY-001"], **kw)


def _at(day: int) -> datetime:
    return datetime(2026, 8, day, 6, tzinfo=UTC)


@pytest.fixture(scope="module")
def three(tmp_path_factory) -> dict:
    """Three audited daily snapshots. 'always' never expires; 'fixed' gets an expiry on day 3;
    'brief' exists only on day 2; 'flaky' is fixed on day 2 and broken again on day 3."""
    db = tmp_path_factory.mktemp("lifecycle") / "g.duckdb"
    days = [
        [key("always"), key("fixed"), key("flaky")],
        [key("always"), key("fixed"), key("brief"), key("flaky", LATER)],
        [key("always"), key("fixed", LATER), key("flaky")],
    ]
    ids = []
    for i, keys in enumerate(days, start=1):
        sid = store_snapshot(db, {"api_keys": keys}, taken_at=_at(i))
        _audit(db, sid)
        ids.append(sid)
    return {"db": db, "ids": ids}


def _lifecycle(db) -> dict[str, dict]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        cur = con.execute("SELECT * FROM finding_lifecycle")
        cols = [d[0] for d in cur.description]
        return {r["resource_name"]: r for r in (dict(zip(cols, row)) for row in cur.fetchall())}
    finally:
        con.close()


def test_finding_lifecycle_dates_across_three_snapshots(three):
    rows = _lifecycle(three["db"])
    assert set(rows) == {"always", "fixed", "brief", "flaky"}
    assert (rows["always"]["first_seen"], rows["always"]["last_seen"], rows["always"]["resolved_at"]) == (
        _at(1), _at(3), None)
    assert rows["always"]["state"] == "open" and rows["always"]["snapshots"] == 3
    assert (rows["fixed"]["first_seen"], rows["fixed"]["last_seen"], rows["fixed"]["resolved_at"]) == (
        _at(1), _at(2), _at(3))
    assert rows["fixed"]["state"] == "resolved"
    assert (rows["brief"]["first_seen"], rows["brief"]["last_seen"], rows["brief"]["resolved_at"]) == (
        _at(2), _at(2), _at(3))
    flaky = rows["flaky"]
    assert (flaky["first_seen"], flaky["last_seen"], flaky["resolved_at"], flaky["state"], flaky["episodes"]) == (
        _at(1), _at(3), None, "open", 2)
    assert rows["always"]["rule_id"] == "GW-KEY-001" and rows["always"]["severity"]


def test_lifecycle_figures_per_severity(three):
    sev = _lifecycle(three["db"])["always"]["severity"]
    now = lifecycle_figures(three["db"])
    assert now.snapshot["id"] == three["ids"][2]
    fig = now.by_severity[sev]
    assert (fig["open"], fig["waived"]) == (2, 0)  # always, flaky
    # resolved: flaky on day 2 (open 1 day), fixed and brief on day 3 (2 days, 1 day)
    assert fig["resolved"] == 3 and fig["mean_days_to_resolve"] == pytest.approx((1 + 2 + 1) / 3, abs=0.01)
    assert fig["opened"] == 5  # episodes: always, fixed, flaky (twice), brief
    assert fig["oldest_open_days"] == pytest.approx(2.0)
    assert now.total["open"] == 2 and now.to_dict()["by_severity"][sev]["open"] == 2
    # as of day 2 (later snapshots ignored): 'fixed' not resolved yet, flaky resolved after 1 day
    past = lifecycle_figures(three["db"], end="2026-08-02")
    assert past.snapshot["id"] == three["ids"][1]
    assert (past.by_severity[sev]["open"], past.by_severity[sev]["resolved"],
            past.by_severity[sev]["mean_days_to_resolve"]) == (3, 1, 1.0)
    # a period: only what was opened or resolved on day 3
    period = lifecycle_figures(three["db"], start="2026-08-03T00:00:00Z", end="2026-08-03")
    assert (period.by_severity[sev]["opened"], period.by_severity[sev]["resolved"]) == (1, 2)


def test_a_snapshot_whose_rule_errored_neither_resolves_nor_interrupts(tmp_path):
    db = tmp_path / "g.duckdb"
    a = store_snapshot(db, {"api_keys": [key("k")]}, taken_at=_at(1))
    _audit(db, a)
    b = store_snapshot(db, {}, taken_at=_at(2), failed=["api_keys"])
    assert _audit(db, b).rules[0].status == "error"
    c = store_snapshot(db, {"api_keys": [key("k")]}, taken_at=_at(3))
    _audit(db, c)
    row = _lifecycle(db)["k"]
    assert (row["episodes"], row["resolved_at"], row["snapshots"]) == (1, None, 2)
    d = diff_snapshots(db, a, b)
    assert [f["resource_name"] for f in d.findings.not_evaluated] == ["k"] and d.findings.resolved == []


def test_diff_groups_findings_new_resolved_deleted_open_waived(tmp_path):
    db = tmp_path / "g.duckdb"
    a = store_snapshot(db, {"api_keys": [key("open"), key("fixed"), key("gone"), key("waived")]}, taken_at=_at(1))
    b = store_snapshot(db, {"api_keys": [key("open"), key("fixed", LATER), key("waived"), key("new")]}, taken_at=_at(2))
    before = diff_snapshots(db, a, b)
    assert before.findings.status.startswith("not comparable") and "not audited" in before.findings.status
    _audit(db, a)
    waiver = {"rule_id": "GW-KEY-001", "resource_id": key("waived")["id"], "justification": "break-glass key",
              "owner": "secops@example.com", "expires": "2026-12-31"}
    _audit(db, b, waivers=[waiver])
    d = diff_snapshots(db, a, b)
    names = {g: [f["resource_name"] for f in getattr(d.findings, g)]
             for g in ("new", "resolved", "resolved_deleted", "open", "waived", "not_evaluated")}
    assert names == {"new": ["new"], "resolved": ["fixed"], "resolved_deleted": ["gone"], "open": ["open"],
                     "waived": ["waived"], "not_evaluated": []}
    out = d.to_dict()["findings"]
    assert out["status"] == "compared"
    assert set(out["new"][0]) >= {"fingerprint", "rule_id", "resource_id"}
    text = diff_text(d)
    assert "findings: 1 new, 1 resolved, 1 resolved (resource deleted), 1 still open, 1 newly waived" in text
    assert "resolved (resource deleted)" in text and "gone" in text
    # --family filters findings too
    assert diff_snapshots(db, a, b, families=["providers"]).findings.new == []


def test_prune_takes_the_findings_of_pruned_snapshots_and_keeps_first_seen(tmp_path):
    from gwaudit.prune import Policy, prune

    db = tmp_path / "g.duckdb"
    ids = []
    for day in (1, 2, 3):
        sid = store_snapshot(db, {"api_keys": [key("always")]}, taken_at=_at(day))
        _audit(db, sid)
        ids.append(sid)
    prune(db, Policy(daily=1))
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert {r[0] for r in con.execute("SELECT DISTINCT snapshot_id FROM findings").fetchall()} == {ids[-1]}
        assert {r[0] for r in con.execute("SELECT DISTINCT snapshot_id FROM rule_results").fetchall()} == {ids[-1]}
        # the finding was first seen on day 1, and says so after day 1's snapshot is gone
        assert con.execute("SELECT first_seen, last_seen FROM finding_lifecycle").fetchall() == [(_at(1), _at(3))]
    finally:
        con.close()
