"""gwaudit prune: retention policy, what goes with a snapshot, and a file that really shrinks."""
from __future__ import annotations

import os
import stat
from datetime import datetime, timedelta, timezone

import duckdb
import pytest

from gwaudit.cli import main
from gwaudit.errors import UsageError
from gwaudit.prune import Policy, plan, prune
from gwaudit.db.connect import BLOCK_SIZE
from gwaudit.testing import store_snapshot

UTC = timezone.utc


def _snaps(*stamps: str) -> list[tuple[int, datetime]]:
    return [(i, datetime.fromisoformat(s).replace(tzinfo=UTC)) for i, s in enumerate(stamps, start=1)]


def _kept(planned) -> dict[int, list[str]]:
    return {p.id: p.reasons for p in planned if p.keep}


def test_plan_keeps_newest_of_each_recent_period():
    # two a day for ten days: 2026-09-21 (Mon) .. 2026-09-30 (Wed)
    snaps = _snaps(*[f"2026-09-{d:02d}T{h:02d}:00:00" for d in range(21, 31) for h in (6, 18)])
    kept = _kept(plan(snaps, Policy(daily=3)))
    assert kept == {16: ["daily 2026-09-28"], 18: ["daily 2026-09-29"], 20: ["newest", "daily 2026-09-30"]}
    kept = _kept(plan(snaps, Policy(weekly=2)))
    # ISO week 39 ends on Sunday 27th (its newest: 27th 18:00 = id 14); week 40 is the current one
    assert kept == {14: ["weekly 2026-W39"], 20: ["newest", "weekly 2026-W40"]}
    assert _kept(plan(snaps, Policy())) == {20: ["newest"]}


def test_plan_months_and_quarters_count_periods_that_hold_snapshots():
    snaps = _snaps("2026-01-15T00:00:00", "2026-02-10T00:00:00", "2026-02-20T00:00:00", "2026-05-01T00:00:00",
                   "2026-07-31T23:59:59", "2026-08-01T00:00:00")
    # the three most recent months that hold a snapshot: August, July and May (not June)
    assert _kept(plan(snaps, Policy(monthly=3))) == {4: ["monthly 2026-05"], 5: ["monthly 2026-07"],
                                                     6: ["newest", "monthly 2026-08"]}
    # quarters: Q1 (newest: Feb 20th), Q2 (May), Q3 (Aug 1st); Q3 also holds Jul 31st
    assert _kept(plan(snaps, Policy(quarterly=2))) == {4: ["quarterly 2026-Q2"], 6: ["newest", "quarterly 2026-Q3"]}
    union = _kept(plan(snaps, Policy(daily=1, monthly=1, quarterly=3)))
    assert union == {3: ["quarterly 2026-Q1"], 4: ["quarterly 2026-Q2"],
                     6: ["newest", "daily 2026-08-01", "monthly 2026-08", "quarterly 2026-Q3"]}
    with pytest.raises(UsageError):
        Policy(daily=-1)


def _keys(day: int, n: int = 400) -> list[dict]:
    """n keys; every day a new name for each (so each snapshot holds n versions of its own), and one
    key that never changes (its single version is shared by every snapshot)."""
    import hashlib
    keys = [{"id": f"00000000-0000-4000-8000-{i:012d}",
             "name": f"key {i} of day {day} " + hashlib.sha256(f"{i}/{day}".encode()).hexdigest() * 2,
             "key_prefix": "bd-abcde", "scopes": [], "kind": "machine", "created_at": "2026-01-01T00:00:00Z"}
            for i in range(n)]
    keys.append({"id": "stable", "name": "never changes", "scopes": [], "created_at": "2026-01-01T00:00:00Z"})
    return keys


@pytest.fixture(scope="module")
def store_of_days(tmp_path_factory):
    db = tmp_path_factory.mktemp("prune") / "g.duckdb"
    start = datetime(2026, 9, 1, 6, tzinfo=UTC)
    ids = [store_snapshot(db, {"api_keys": _keys(d)}, taken_at=start + timedelta(days=d)) for d in range(8)]
    return db, ids


def _q(db, sql):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_prune_removes_what_the_policy_does_not_keep_and_the_file_shrinks(store_of_days, tmp_path):
    db, ids = store_of_days
    # a table a later feature might add, keyed by snapshot: its rows go with their snapshot
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE extra_per_snapshot (snapshot_id INTEGER, note VARCHAR)")
    con.executemany("INSERT INTO extra_per_snapshot VALUES (?, ?)", [(i, f"n{i}") for i in ids])
    con.close()

    preview = prune(db, Policy(daily=2), dry_run=True)
    assert [s.id for s in preview.removed] == ids[:6]
    assert len(_q(db, "SELECT * FROM snapshots")) == 8  # dry run changed nothing

    before = os.path.getsize(db)
    result = prune(db, Policy(daily=2))
    after = os.path.getsize(db)
    assert [s.id for s in result.kept] == ids[6:]
    assert result.versions_removed == 6 * 400
    assert after < before / 2, (before, after)
    assert (result.bytes_before, result.bytes_after) == (before, after)
    assert stat.S_IMODE(os.stat(db).st_mode) == 0o600
    assert _q(db, "PRAGMA database_size")[0][2] == BLOCK_SIZE  # the rewritten file keeps the small blocks
    assert not [p for p in db.parent.iterdir() if ".rewrite-" in p.name]

    assert [r[0] for r in _q(db, "SELECT id FROM snapshots ORDER BY id")] == ids[6:]
    for table in ("collection_status", "snapshot_files", "snapshot_resources", "extra_per_snapshot"):
        assert {r[0] for r in _q(db, f"SELECT DISTINCT snapshot_id FROM {table}")} == set(ids[6:]), table
    # the shared version stays; versions only pruned snapshots held are gone
    assert _q(db, "SELECT count(*) FROM rv_api_keys")[0][0] == 2 * 400 + 1
    assert _q(db, "SELECT count(*) FROM api_keys_history WHERE resource_key = 'stable'")[0][0] == 2
    assert _q(db, "SELECT count(*) FROM api_keys")[0][0] == 401

    # the database keeps working: ids continue, views answer, a diff runs
    new = store_snapshot(db, {"api_keys": _keys(99)}, taken_at="2026-09-20T00:00:00Z")
    assert new == ids[-1] + 1
    from gwaudit.diff import diff_snapshots
    assert len(diff_snapshots(db, ids[-1], new).families["api_keys"].modified) == 400


def test_cli_requires_a_policy_and_previews(tmp_path, capsys):
    db = tmp_path / "g.duckdb"
    a = store_snapshot(db, {"api_keys": _keys(1, 2)}, taken_at="2026-09-01T00:00:00Z")
    b = store_snapshot(db, {"api_keys": _keys(2, 2)}, taken_at="2026-09-02T00:00:00Z")
    assert main(["--db", str(db), "prune"]) == 2
    assert "--keep-daily" in capsys.readouterr().err
    assert main(["--db", str(db), "prune", "--keep-daily", "0", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert f"{a}   2026-09-01T00:00:00Z  remove" in out and "newest, daily" not in out
    assert main(["--db", str(db), "prune", "--keep-weekly", "1", "--format", "json"]) == 0
    import json
    res = json.loads(capsys.readouterr().out)
    assert (res["kept"], res["removed"]) == (1, 1) and res["snapshots"][1] == {
        "id": b, "taken_at": "2026-09-02T00:00:00Z", "action": "keep", "reasons": ["newest", "weekly 2026-W36"]}
