"""``gwaudit fleet audit --engine spark``: the fleet audit on a Spark cluster.

Spark reads the lake's ``snapshots`` table (``spark.read.parquet``), groups it by ``org_id`` and
hands each org's rows to one task (``applyInPandas``): orgs are the unit of parallelism. The task
converts them to Arrow and runs :func:`gwaudit.lake.audit.audit_org` - DuckDB inside the task,
on that org's partitions of the lake, with the unchanged rule SQL. The tasks' rows come back as
one DataFrame that Spark itself writes to the lake (``fleet_findings`` and
``fleet_rule_results``, partitioned by ``org_id`` and ``date``, dynamic partition overwrite: only
the audited orgs' partitions are replaced, through Spark's commit protocol).

pyspark is an optional extra (``pip install 'gwaudit[spark]'``) and needs Java 17.
"""

from __future__ import annotations

import os
import shutil
import sys
from typing import Any, Sequence

from ..errors import UsageError
from .store import Lake

_COLUMNS = [
    ("kind", "string"), ("org_id", "string"), ("date", "date"), ("snapshot_id", "int"),
    ("manifest_sha256", "string"), ("taken_at", "timestamp"), ("fingerprint", "string"), ("rule_id", "string"),
    ("title", "string"), ("severity", "string"), ("status", "string"), ("family", "string"),
    ("resource_id", "string"), ("resource_name", "string"), ("message", "string"), ("evidence", "string"),
    ("frameworks", "string"), ("checked", "long"), ("failed", "long"), ("error", "string"),
]
SCHEMA = ", ".join(f"{n} {t}" for n, t in _COLUMNS)


def unavailable_reason() -> str | None:
    """Why Spark cannot run here (None when it can): pyspark not installed, or no Java."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed (pip install 'gwaudit[spark]')"
    java_home = os.environ.get("JAVA_HOME")
    if not (java_home and os.path.exists(os.path.join(java_home, "bin", "java"))) and not shutil.which("java"):
        return "no Java runtime found (Spark needs Java 17; set JAVA_HOME or put java on PATH)"
    return None


def session(master: str = "local[*]", app: str = "gwaudit fleet audit") -> Any:
    """A SparkSession for the fleet (UTC, dynamic partition overwrite, Arrow transfers)."""
    reason = unavailable_reason()
    if reason:
        raise UsageError(f"--engine spark: {reason}", hint="or use the default engine, --engine duckdb")
    import warnings

    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    return (SparkSession.builder.master(master).appName(app)
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.sources.partitionOverwriteMode", "dynamic")
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", "8")
            .getOrCreate())


_RULES: dict[tuple[str, ...], Any] = {}


def _audit_group(lake_uri: str, rules_dirs: tuple[str, ...]):
    """The function each task runs on one org's snapshot rows (a pandas frame)."""

    def run(pdf: Any) -> Any:
        import pandas as pd
        import pyarrow as pa

        from ..rules.catalog import load_rules
        from .audit import Workspace, safe_audit_org

        if rules_dirs not in _RULES:  # once per Python worker
            _RULES[rules_dirs] = (load_rules(rules_dirs), Workspace())
        rules, work = _RULES[rules_dirs]
        org = str(pdf["org_id"].iloc[0])
        snaps = pa.Table.from_pandas(pdf.drop(columns=["org_id"]), preserve_index=False)
        snaps = snaps.append_column("org_id", pa.array([org] * snaps.num_rows, pa.string()))
        res = safe_audit_org(Lake.open(lake_uri), org, rules, work, snaps)
        frames = []
        for kind, table in (("finding", res.findings), ("rule_result", res.rule_results)):
            frame = table.to_pandas()
            frame["kind"] = kind
            frames.append(frame)
        if res.error:
            frames.append(pd.DataFrame([{"kind": "error", "error": res.error}]))
        out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        out["org_id"] = org
        out["date"] = res.day
        for name, _t in _COLUMNS:
            if name not in out.columns:
                out[name] = None
        if "taken_at" in out and len(out):
            out["taken_at"] = pd.to_datetime(out["taken_at"], utc=True).dt.tz_localize(None)
        out = out[[n for n, _t in _COLUMNS]]
        for name, typ in _COLUMNS:  # plain objects: pandas 3's Arrow-backed strings confuse pyspark
            if typ == "string":
                out[name] = out[name].astype(object).where(out[name].notna(), None)
        return out

    return run


def spark_fleet_audit(lake: Lake, orgs: Sequence[str], rules_dirs: Sequence[str], *, master: str = "local[*]",
                      spark: Any = None):
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    from .audit import FINDING_SCHEMA, FINDINGS_TABLE, RULE_RESULT_SCHEMA, RULE_RESULTS_TABLE, FleetAuditResult

    spark = spark or session(master)
    snaps = spark.read.parquet(lake.path("snapshots")).where(F.col("org_id").isin(list(orgs)))
    snaps = snaps.repartition(max(1, len(orgs)), "org_id")
    rows = (snaps.groupBy("org_id").applyInPandas(_audit_group(lake.uri, tuple(rules_dirs)), schema=SCHEMA)
            .persist(StorageLevel.MEMORY_AND_DISK))
    try:
        for kind, table, schema in (("finding", FINDINGS_TABLE, FINDING_SCHEMA),
                                    ("rule_result", RULE_RESULTS_TABLE, RULE_RESULT_SCHEMA)):
            cols = [F.col(n) for n in schema.names] + [F.col("org_id"), F.col("date")]
            (rows.where(F.col("kind") == kind).select(*cols)
             .sortWithinPartitions("org_id", "snapshot_id", *(["fingerprint"] if kind == "finding" else ["rule_id"]))
             .write.mode("overwrite").partitionBy("org_id", "date").parquet(lake.path(table)))
        out = FleetAuditResult(lake.uri, "spark")
        counts = {r["org_id"]: r["n"] for r in rows.groupBy("org_id").agg(
            F.sum(F.when(F.col("kind") == "finding", 1).otherwise(0)).alias("n")).collect()}
        out.counts = {org: int(counts.get(org, 0)) for org in orgs}
        out.errors = {r["org_id"]: r["error"] for r in rows.where(F.col("kind") == "error").collect()}
    finally:
        rows.unpersist()
    return out
