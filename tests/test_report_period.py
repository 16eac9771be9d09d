"""Which snapshots a report audits and compares, on a real DuckDB file."""

from __future__ import annotations

from pathlib import Path

import pytest

from gwaudit.errors import UsageError
from gwaudit.report.period import parse_period, select
from gwaudit.db import Database
from gwaudit.testing import store_snapshot
from tests.conftest import load_example


@pytest.fixture
def history(tmp_path: Path) -> tuple[Path, dict[str, int]]:
    db = tmp_path / "g.duckdb"
    ids = {
        "june": store_snapshot(db, {}, taken_at="2026-06-20T00:00:00Z"),
        "july": store_snapshot(db, {}, taken_at="2026-07-03T00:00:00Z"),
        "aug": store_snapshot(db, {}, taken_at="2026-08-15T00:00:00Z"),
        "sep_incomplete": store_snapshot(db, {}, taken_at="2026-09-29T00:00:00Z", failed=["api_keys"]),
        "oct": store_snapshot(db, {}, taken_at="2026-10-02T00:00:00Z"),
    }
    return db, ids


def test_parse_period() -> None:
    start, end, label = parse_period("2026-q3")
    assert (start.isoformat(), label) == ("2026-07-01T00:00:00+00:00", "2026-Q3")
    assert end.isoformat() == "2026-09-30T23:59:59.999999+00:00"
    assert parse_period("2026-Q4")[1].isoformat().startswith("2026-12-31T23:59:59")
    assert parse_period("2026-02")[1].isoformat().startswith("2026-02-28")
    assert parse_period("2026")[2] == "2026"
    with pytest.raises(UsageError, match="quarter"):
        parse_period("Q3")


def test_a_quarter_audits_its_last_complete_snapshot_and_compares_with_its_first(history) -> None:
    db, ids = history
    with Database(db).reader() as con:
        sel = select(con, period="2026-Q3")
    assert sel.audited == ids["aug"]  # the September snapshot is incomplete
    assert sel.baseline == ids["july"]
    assert sel.in_period == [ids["july"], ids["aug"], ids["sep_incomplete"]]
    assert sel.label == "2026-Q3"


def test_a_period_with_one_snapshot_compares_with_the_last_one_before_it(history) -> None:
    db, ids = history
    with Database(db).reader() as con:
        sel = select(con, date_from="2026-08-01", date_to="2026-08-31")
    assert (sel.audited, sel.baseline) == (ids["aug"], ids["july"])


def test_a_period_with_only_incomplete_snapshots_says_so(history) -> None:
    db, ids = history
    with Database(db).reader() as con:
        sel = select(con, date_from="2026-09-01", date_to="2026-09-30")
    assert sel.audited == ids["sep_incomplete"]
    assert "No complete snapshot" in sel.notes[0]


def test_a_single_snapshot_compares_with_the_one_before(history) -> None:
    db, ids = history
    with Database(db).reader() as con:
        assert (select(con).audited, select(con).baseline) == (ids["oct"], ids["sep_incomplete"])
        first = select(con, snapshot=str(ids["june"]))
    assert (first.audited, first.baseline) == (ids["june"], None)


def test_bad_combinations_and_empty_periods_are_usage_errors(history) -> None:
    db, _ = history
    with Database(db).reader() as con:
        with pytest.raises(UsageError, match="not both"):
            select(con, snapshot="latest", period="2026-Q3")
        with pytest.raises(UsageError, match="no snapshot was taken in 2025-Q1"):
            select(con, period="2025-Q1")
        with pytest.raises(UsageError, match="before --from"):
            select(con, date_from="2026-09-01", date_to="2026-08-01")


def test_inventory_reads_each_family_of_the_audited_snapshot(tmp_path: Path, example_data) -> None:
    from gwaudit.report.data import _inventory

    db = tmp_path / "g.duckdb"
    old = store_snapshot(db, example_data, taken_at="2026-07-01T00:00:00Z")
    example_data["api_keys"] = example_data["api_keys"][:1]
    store_snapshot(db, example_data, taken_at="2026-08-01T00:00:00Z")
    with Database(db).reader() as con:
        inv = {i.family: i for i in _inventory(con, old)}
    assert inv["api_keys"].count == len(load_example("api_keys"))
    assert inv["model_pricing"].count == len(load_example("model_pricing"))
    assert "raw" not in inv["api_keys"].columns and "name" in inv["api_keys"].columns


def test_org_name_is_the_gateway_host_not_a_loopback_address() -> None:
    from gwaudit.report.data import org_name
    from tests.report_data import snapshot

    snap = snapshot(1, 0)
    assert org_name(snap) == "acme.platform.barndoor.ai"
    snap.base_url = "http://127.0.0.1:41234/api/llm-gateway"
    assert org_name(snap, ["http://localhost:1", "https://northwind.platform.barndoor.ai/api/llm-gateway"]) \
        == "northwind.platform.barndoor.ai"
    assert org_name(snap) == snap.org_id
