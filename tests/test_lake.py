"""gwaudit export --lake: layout, idempotence, unchanged partitions, crash safety, the run hook."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from gwaudit import families as fam
from gwaudit.cli import cli
from gwaudit.db.ingest import import_folder
from gwaudit.errors import UsageError
from gwaudit.lake import Lake, export
from gwaudit.lake.export import all_tables
from gwaudit.lake.store import PARTITIONING
from gwaudit.rules import audit, load_rules
from gwaudit.rules.engine import select_rules

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = [ROOT / "sample_snapshots" / "2026-08-28", ROOT / "sample_snapshots" / "2026-11-27"]
ORG = "0b59440c-9a38-46bd-b662-d0aee56ea54a"


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("lake") / "org.duckdb"
    for folder in SAMPLES:
        import_folder(db, folder)
    audit(db, "latest")
    audit(db, "previous")
    return db


def files(root: Path) -> dict[str, str]:
    """Every file under root (relative path -> SHA-256)."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_export_layout_and_contents(sample_db, tmp_path):
    lake = tmp_path / "lake"
    result = export(sample_db, lake)
    assert result.orgs == [ORG] and result.snapshots == 2 and result.written > 0
    for day in ("2026-08-28", "2026-11-27"):
        part = lake / "snapshots" / f"org_id={ORG}" / f"date={day}"
        assert (part / "data.parquet").is_file()
        manifest = json.loads((part / "_manifest.json").read_text())
        assert manifest["org_id"] == ORG and manifest["date"] == day and manifest["rows"] == 1
    # every table reads back through the Hive partitioning with the partition columns
    snaps = ds.dataset(lake / "snapshots", format="parquet", partitioning=PARTITIONING).to_table().to_pylist()
    assert sorted(str(r["date"]) for r in snaps) == ["2026-08-28", "2026-11-27"]
    assert {r["org_id"] for r in snaps} == {ORG}
    keys = ds.dataset(lake / "resources" / "api_keys", format="parquet", partitioning=PARTITIONING).to_table()
    assert "resource_org_id" in keys.column_names and "raw" in keys.column_names
    assert keys.schema.field("raw").type == "string"  # JSON is text: every Parquet reader understands it
    import duckdb

    with duckdb.connect(str(sample_db), read_only=True) as con:
        n_keys = con.execute("SELECT count(*) FROM api_keys_history").fetchone()[0]
        n_findings = con.execute("SELECT count(*) FROM findings").fetchone()[0]
        n_changes = con.execute("SELECT count(*) FROM snapshot_changes").fetchone()[0]
        n_controls = con.execute("SELECT count(*) FROM control_results").fetchone()[0]
    assert keys.num_rows == n_keys
    for table, n in (("findings", n_findings), ("changes", n_changes), ("control_results", n_controls)):
        assert ds.dataset(lake / table, format="parquet", partitioning=PARTITIONING).count_rows() == n, table
    assert (lake / "_lake.json").is_file()
    assert not list((lake / "_staging").iterdir())


def test_reexport_is_idempotent_and_rewrites_nothing(sample_db, tmp_path):
    lake = tmp_path / "lake"
    export(sample_db, lake)
    before = files(lake)
    mtimes = {p: p.stat().st_mtime_ns for p in lake.rglob("*.parquet")}
    again = export(sample_db, lake)
    assert again.written == 0 and again.unchanged == len(all_tables()) * 2
    assert files(lake) == before
    assert {p: p.stat().st_mtime_ns for p in lake.rglob("*.parquet")} == mtimes
    # an export into a fresh lake writes the very same bytes
    other = tmp_path / "other"
    export(sample_db, other)
    assert files(other) == before


def _key_rules():
    """The GW-KEY-* rules as a whole catalog: an audit with them is stored as the snapshot's audit
    (an ``only=`` selection is partial and would not be stored)."""
    return select_rules(load_rules(), ["GW-KEY-*"])


def test_a_new_audit_rewrites_only_its_day(sample_db, tmp_path):
    lake = tmp_path / "lake"
    export(sample_db, lake)
    old_day = lake / "findings" / f"org_id={ORG}" / "date=2026-08-28" / "data.parquet"
    new_day = lake / "findings" / f"org_id={ORG}" / "date=2026-11-27" / "data.parquet"
    old_m, new_m = old_day.stat().st_mtime_ns, new_day.stat().st_mtime_ns
    audit(sample_db, "latest", rules=_key_rules())  # a new audit of the newer day, with another catalog
    try:
        result = export(sample_db, lake)
        assert 0 < result.written <= 5  # findings, rule_results, audits, waivers, control_results of one day
        assert old_day.stat().st_mtime_ns == old_m and new_day.stat().st_mtime_ns != new_m
        rules = {r["rule_id"] for r in pq.read_table(new_day).to_pylist()}
        assert rules and all(r.startswith("GW-KEY-") for r in rules)
    finally:
        audit(sample_db, "latest")


def test_a_crash_mid_partition_leaves_the_old_partition(sample_db, tmp_path, monkeypatch):
    lake = tmp_path / "lake"
    export(sample_db, lake)
    before = files(lake)
    # the next export dies while writing its first changed partition's data file
    import gwaudit.lake.store as store

    def boom(*a, **k):
        raise OSError("disk full")

    audit(sample_db, "latest", rules=_key_rules())  # a new audit of the newer day, with another catalog
    try:
        monkeypatch.setattr(store.pq, "write_table", boom)
        with pytest.raises(OSError):
            export(sample_db, lake)
        monkeypatch.undo()
        visible = {k: v for k, v in files(lake).items() if not k.startswith("_staging")}
        assert visible == before  # nothing half-written is visible: the old partitions stand
        export(sample_db, lake)  # and the next export completes the job
        assert files(lake) != before
    finally:
        monkeypatch.undo()
        audit(sample_db, "latest")


def test_swap_crash_between_renames_loses_no_data_file(tmp_path):
    """A partition renamed aside but not yet replaced is missing (not half there); its manifest
    goes with it, so the next export writes it again."""
    lake = Lake.open(tmp_path / "lake")
    lake.ensure()
    import pyarrow as pa

    t = pa.table({"x": [1, 2]})
    lake.write_partition("t", "org", "2026-01-01", t, {"key": "a"})
    lake.write_partition("t", "org", "2026-01-01", pa.table({"x": [3]}), {"key": "b"})
    assert lake.manifest("t", "org", "2026-01-01")["key"] == "b"
    assert lake.read("t", "org").column("x").to_pylist() == [3]
    assert not list((tmp_path / "lake" / "_staging").iterdir())


def test_org_id_is_required_when_snapshots_name_none(tmp_path):
    from gwaudit.testing import write_folder

    db = tmp_path / "x.duckdb"
    import_folder(db, write_folder(tmp_path / "snap", {}, taken_at="2026-01-02T00:00:00Z", org_id=None))
    with pytest.raises(UsageError, match="names no org id"):
        export(db, tmp_path / "lake")
    assert export(db, tmp_path / "lake", org_id="acme prod/1").orgs == ["acme prod/1"]
    assert (tmp_path / "lake" / "snapshots" / "org_id=acme%20prod%2F1").is_dir()
    assert Lake.open(tmp_path / "lake").orgs() == ["acme prod/1"]


def test_every_family_has_a_table(sample_db, tmp_path):
    export(sample_db, tmp_path / "lake")
    tables = Lake.open(tmp_path / "lake").tables()
    with_rows = {t.split("/", 1)[1] for t in tables if t.startswith("resources/")}
    import duckdb

    with duckdb.connect(str(sample_db), read_only=True) as con:
        stored = {r[0] for r in con.execute("SELECT DISTINCT family FROM snapshot_resources").fetchall()}
    assert with_rows == stored and stored <= set(fam.NAMES)


def test_export_command_and_config(sample_db, tmp_path):
    lake = tmp_path / "lake"
    runner = CliRunner()
    res = runner.invoke(cli, ["--db", str(sample_db), "export", "--lake", str(lake), "--format", "json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["snapshots"] == 2
    res = runner.invoke(cli, ["--db", str(sample_db), "export"])
    assert isinstance(res.exception, UsageError) and "no lake given" in str(res.exception)
    conf = tmp_path / "gwaudit.toml"
    conf.write_text('[lake]\ndir = "lake2"\n')
    res = runner.invoke(cli, ["--db", str(sample_db), "--config", str(conf), "export"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "lake2" / "snapshots").is_dir()  # relative to the configuration file
    mode = os.stat(next((tmp_path / "lake2").rglob("data.parquet"))).st_mode & 0o777
    assert mode == 0o600


def test_run_exports_after_its_audit(tmp_path):
    """gwaudit run with [lake] dir: the run's snapshot and audit reach the lake."""
    from gwaudit.simulator import Simulator

    with Simulator.from_folder(SAMPLES[1]) as sim:
        cfg = tmp_path / "gwaudit.toml"
        cfg.write_text(f'[api]\nbase_url = "{sim.base_url}"\n[database]\npath = "a.duckdb"\n'
                       '[report]\nformats = ["json"]\nout = "reports"\n[lake]\ndir = "lake"\n')
        res = CliRunner().invoke(cli, ["--config", str(cfg), "run"], env={"GWAUDIT_TOKEN": sim.mint_token()})
    assert res.exit_code in (0, 1), res.output
    found = ds.dataset(tmp_path / "lake" / "findings", format="parquet", partitioning=PARTITIONING).to_table()
    assert found.num_rows > 0 and set(found.column("org_id").to_pylist()) == {ORG}


def test_readers_merge_the_columns_of_every_partition(sample_db, tmp_path):
    """docs/lake.md, "Versions": columns are only added within a lake format, so a partition written
    by an older gwaudit lacks a column and one written by a newer gwaudit has one more; the fleet
    views show every column, null where a partition lacks it, whichever file comes first."""
    from gwaudit.lake.fleet import run_fleet_query

    lake = tmp_path / "lake"
    export(sample_db, lake, org_id=ORG)
    days = sorted((lake / "snapshots" / f"org_id={ORG}").iterdir())
    assert len(days) == 2
    older, newer = (d / "data.parquet" for d in days)
    table = pq.read_table(older)  # the first partition: written "before" base_url existed
    pq.write_table(table.drop_columns(["base_url"]), older)
    table = pq.read_table(newer)  # the second: written "after" a column was added
    pq.write_table(table.append_column("added_later", table.column("source")), newer)
    rows = run_fleet_query(lake, "SELECT date, base_url IS NULL, added_later IS NULL FROM snapshots "
                                 "ORDER BY date").rows
    assert [r[1:] for r in rows] == [(True, True), (False, False)]
    assert Lake.open(lake).dataset("snapshots").to_table().num_rows == 2
