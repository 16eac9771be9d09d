"""Identical answers over a generated fleet of 20 orgs: gwaudit audit org by org, fleet audit with
DuckDB and fleet audit with Spark give the same findings (fingerprints); Spark SQL reads the lake
as it is and finds DuckDB's figures. The Spark tests skip, saying why, without pyspark or Java."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from gwaudit.db.ingest import import_folder
from gwaudit.lake import export
from gwaudit.lake.audit import fleet_audit, lake_fingerprints
from gwaudit.lake.fleet import run_fleet_query
from gwaudit.lake.spark import unavailable_reason
from gwaudit.rules import audit
from gwaudit.rules.catalog import load_rules
from gwaudit.simulator.generate import generated_identity, write_generated

T0 = datetime(2026, 10, 1, 6, tzinfo=timezone.utc)
ORGS = 20
SEEDS = range(300, 300 + ORGS)
BIGGER = {300}               # two units (~3,800 resources); the others one (~1,900)
TWO_SNAPSHOTS = {302, 303}  # a second snapshot a day later: change-control rules compare

SPARK_MISSING = unavailable_reason()
needs_spark = pytest.mark.skipif(SPARK_MISSING is not None, reason=f"Spark unavailable: {SPARK_MISSING}")


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    """20 generated orgs (different seeds and sizes), each in its own database, audited by
    gwaudit audit (the expected fingerprints), all exported to one lake."""
    root = tmp_path_factory.mktemp("fleet20")
    lake = root / "lake"
    rules = load_rules()
    expected: dict[str, set[str]] = {}
    for seed in SEEDS:
        db = root / f"org{seed}.duckdb"
        days = [T0, T0 + timedelta(days=1)] if seed in TWO_SNAPSHOTS else [T0]
        for i, when in enumerate(days):
            import_folder(db, write_generated(2 if seed in BIGGER else 1, root / f"s{seed}-{i}", seed=seed,
                                              taken_at=when))
        expected[generated_identity(seed)[0]] = {f.fingerprint for f in audit(db, "latest", rules=rules).findings}
        export(db, lake)
    assert len(expected) == ORGS
    return lake, expected


@pytest.fixture(scope="module")
def spark():
    if SPARK_MISSING:
        pytest.skip(f"Spark unavailable: {SPARK_MISSING}")
    from gwaudit.lake.spark import session

    s = session("local[2]", app="gwaudit tests")
    s.sparkContext.setLogLevel("ERROR")
    yield s
    s.stop()


@pytest.fixture(scope="module")
def duckdb_rows(fleet):
    """The DuckDB fleet audit, run once: its rows as stored in the lake."""
    lake, _expected = fleet
    result = fleet_audit(lake)
    assert not result.errors
    return result, run_fleet_query(lake, ROWS).rows


ROWS = "SELECT org_id, fingerprint, rule_id, severity, status, message FROM fleet_findings ORDER BY ALL"


@pytest.fixture(scope="module")
def spark_audit(fleet, duckdb_rows, spark):
    """The Spark fleet audit, run once, after the DuckDB one (it replaces those partitions)."""
    return fleet_audit(fleet[0], engine="spark", master="local[2]")


def test_fleet_audit_duckdb_equals_gwaudit_audit_org_by_org(fleet, duckdb_rows):
    lake, expected = fleet
    result, _rows = duckdb_rows
    assert result.counts == {org: len(fps) for org, fps in expected.items()}
    assert lake_fingerprints(lake) == expected
    assert all(expected.values())  # every org has findings: the comparison says something


@needs_spark
def test_fleet_audit_spark_equals_duckdb_and_gwaudit_audit(fleet, duckdb_rows, spark_audit):
    lake, expected = fleet
    assert not spark_audit.errors
    assert spark_audit.counts == {org: len(fps) for org, fps in expected.items()}
    assert lake_fingerprints(lake) == expected
    # whole rows too, not only fingerprints; and no duplicate left by the engine switch
    assert run_fleet_query(lake, ROWS).rows == duckdb_rows[1]


@needs_spark
def test_spark_sql_reads_the_lake_as_it_is(fleet, spark, spark_audit):
    lake, expected = fleet
    from pyspark.sql import functions as F

    findings = spark.read.parquet(str(lake / "fleet_findings"))
    got = {(r["org_id"], r["severity"]): r["n"] for r in
           findings.where(F.col("status") == "fail").groupBy("org_id", "severity").agg(F.count("*").alias("n"))
           .collect()}
    want = {(o, s): n for o, s, n in run_fleet_query(
        lake, "SELECT org_id, severity, count(*) FROM fleet_findings WHERE status = 'fail' GROUP BY ALL").rows}
    assert got == want and len({o for o, _s in got}) == ORGS
    snaps = {r["org_id"]: r["count"] for r in spark.read.parquet(str(lake / "snapshots")).groupBy("org_id")
             .count().collect()}
    assert snaps == dict(run_fleet_query(lake, "SELECT org_id, count(*) FROM snapshots GROUP BY ALL").rows)
    spark.read.parquet(str(lake / "resources" / "api_keys")).createOrReplaceTempView("api_keys_history")
    by_day = spark.sql("SELECT org_id, date, count(*) AS n FROM api_keys_history GROUP BY org_id, date").collect()
    assert {(r["org_id"], r["date"], r["n"]) for r in by_day} == set(run_fleet_query(
        lake, "SELECT org_id, date, count(*) FROM api_keys_history GROUP BY ALL").rows)
