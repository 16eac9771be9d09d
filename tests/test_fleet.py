"""gwaudit fleet sql / report / audit (DuckDB engine) over a lake of a few orgs."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from gwaudit.cli import cli
from gwaudit.db.ingest import import_folder
from gwaudit.errors import UsageError
from gwaudit.lake import export
from gwaudit.lake.audit import fleet_audit, lake_fingerprints
from gwaudit.lake.fleet import run_fleet_query
from gwaudit.lake.report import fleet_data, fleet_report
from gwaudit.rules import audit
from gwaudit.simulator.generate import generated_identity, write_generated

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = [ROOT / "sample_snapshots" / "2026-08-28", ROOT / "sample_snapshots" / "2026-11-27"]
SAMPLE_ORG = "0b59440c-9a38-46bd-b662-d0aee56ea54a"
T0 = datetime(2026, 12, 1, 6, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    """A lake of three orgs: the sample org (two snapshots, audited) and two generated orgs
    (one snapshot each; one audited, one never audited)."""
    root = tmp_path_factory.mktemp("fleet")
    lake = root / "lake"
    expected = {}
    dbs = {}
    db = root / "sample.duckdb"
    for folder in SAMPLES:
        import_folder(db, folder)
    expected[SAMPLE_ORG] = {f.fingerprint for f in audit(db, "latest").findings}
    audit(db, "previous")
    dbs[SAMPLE_ORG] = db
    for seed, audited in ((11, True), (12, False)):
        org = generated_identity(seed)[0]
        db = root / f"gen{seed}.duckdb"
        import_folder(db, write_generated(1, root / f"snap{seed}", seed=seed, taken_at=T0))
        found = audit(db, "latest", store=audited).findings
        expected[org] = {f.fingerprint for f in found}
        dbs[org] = db
    for db in dbs.values():
        export(db, lake)
    return lake, expected, dbs


def test_fleet_sql_spans_every_org(fleet):
    lake, expected, _ = fleet
    res = run_fleet_query(lake, "SELECT org_id, count(*) AS n FROM snapshots GROUP BY org_id ORDER BY org_id")
    assert dict(res.rows) == {org: (2 if org == SAMPLE_ORG else 1) for org in expected}
    # a family view shows each org's latest snapshot; _history every snapshot
    latest = dict(run_fleet_query(lake, "SELECT org_id, count(DISTINCT snapshot_id) FROM api_keys GROUP BY 1").rows)
    assert set(latest.values()) == {1} and set(latest) == set(expected)
    hist = dict(run_fleet_query(lake, "SELECT org_id, count(DISTINCT snapshot_id) FROM api_keys_history "
                                      "GROUP BY 1").rows)
    assert hist[SAMPLE_ORG] == 2
    # findings exported by each org's own audit: the latest audited snapshot per org
    got = run_fleet_query(lake, "SELECT org_id, fingerprint FROM latest_findings").rows
    by_org: dict[str, set[str]] = {}
    for org, fp in got:
        by_org.setdefault(org, set()).add(fp)
    audited = {o: fps for o, fps in expected.items() if o != generated_identity(12)[0]}
    assert by_org == audited


@pytest.mark.parametrize("query, words", [
    ("SELECT * FROM read_parquet('/etc/passwd')", "refused"),
    ("COPY (SELECT 1) TO '/tmp/x.csv'", "refused"),
    ("SET enable_external_access = true", "refused"),
    ("SELECT 1; SELECT 2", "2 statements"),
    ("SELEC nonsense", "does not parse"),
])
def test_fleet_sql_is_read_only_and_sandboxed(fleet, query, words):
    with pytest.raises(UsageError, match=words):
        run_fleet_query(fleet[0], query)


def test_fleet_sql_command(fleet):
    res = CliRunner().invoke(cli, ["fleet", "sql", "--lake", str(fleet[0]), "--format", "csv",
                                   "SELECT count(DISTINCT org_id) AS orgs FROM snapshots"])
    assert res.exit_code == 0, res.output
    assert res.output.splitlines() == ["orgs", "3"]


def test_fleet_audit_gives_the_fingerprints_of_gwaudit_audit(fleet, tmp_path):
    lake, expected, _ = fleet
    result = fleet_audit(lake)
    assert not result.errors
    assert result.counts == {org: len(fps) for org, fps in expected.items()}
    assert lake_fingerprints(lake) == expected
    # re-running replaces the partitions: no duplicate findings
    fleet_audit(lake, orgs=[SAMPLE_ORG])
    n = run_fleet_query(lake, f"SELECT count(*) FROM fleet_findings WHERE org_id = '{SAMPLE_ORG}'").rows[0][0]
    assert n == len(expected[SAMPLE_ORG])
    with pytest.raises(UsageError, match="no snapshot"):
        fleet_audit(lake, orgs=["nope"])
    with pytest.raises(UsageError, match="no snapshots in the lake"):
        fleet_audit(tmp_path / "empty")


def test_fleet_report(fleet, tmp_path):
    lake, expected, _ = fleet
    fleet_audit(lake)
    now = T0 + timedelta(days=1)
    data = fleet_data(lake, stale_days=2, now=now)
    assert data.source == "gwaudit fleet audit"
    assert {o["org_id"] for o in data.orgs} == set(expected)
    for o in data.orgs:
        assert o["open"] == run_fleet_query(
            lake, f"SELECT count(*) FROM fleet_latest_findings WHERE org_id = '{o['org_id']}' "
                  "AND status = 'fail'").rows[0][0]
    # rules ranked by the number of orgs failing them
    counts = [r["orgs"] for r in data.rules]
    assert counts == sorted(counts, reverse=True) and counts[0] == 3
    assert data.exposures and all(e["severity"] in ("critical", "high") for e in data.exposures)
    assert [s["org_id"] for s in data.stale] == [SAMPLE_ORG]  # its last snapshot is 2026-11-27; the others, a day old
    paths = fleet_report(lake, tmp_path / "out", now=now)
    assert sorted(p.suffix for p in paths) == [".html", ".pdf"]
    html = next(p for p in paths if p.suffix == ".html").read_text()
    for org in expected:
        assert org in html
    text = "".join(page.extract_text() for page in PdfReader(next(p for p in paths if p.suffix == ".pdf")).pages)
    assert "Rules failing across most organisations" in text and "Stale organisations" in text
    assert "GW-" in text
