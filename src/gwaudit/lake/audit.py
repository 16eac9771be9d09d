"""``gwaudit fleet audit``: the unchanged rule engine on every org's latest snapshot in a lake.

For each org, its latest snapshot (and the one before it, for the change-control rules) is read
from the lake as Arrow and loaded into a private, temporary gwaudit database (a copy of an empty,
migrated one): the same tables, family views and concepts ``gwaudit audit`` reads. Then
:func:`gwaudit.rules.engine.audit` runs on it, unchanged; its findings carry the same
fingerprints as ``gwaudit audit`` on the org's own database. The engine that spreads orgs over
workers is DuckDB in this process (default) or Spark (:mod:`.spark`); both call
:func:`audit_org` and write the same rows to the lake's ``fleet_findings`` and
``fleet_rule_results`` tables.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import pyarrow as pa
import pyarrow.compute as pc

from .. import families as fam
from ..db import Database
from ..db.layout import version_table
from ..db.sql import ident
from ..errors import UsageError
from ..rules.catalog import load_rules
from ..rules.engine import audit
from ..rules.loader import Rule
from .export import RESERVED, family_table
from .store import Lake, table_key

FINDINGS_TABLE = "fleet_findings"
RULE_RESULTS_TABLE = "fleet_rule_results"

FINDING_SCHEMA = pa.schema([
    ("snapshot_id", pa.int32()), ("manifest_sha256", pa.string()), ("taken_at", pa.timestamp("us", tz="UTC")),
    ("fingerprint", pa.string()), ("rule_id", pa.string()), ("title", pa.string()), ("severity", pa.string()),
    ("status", pa.string()), ("family", pa.string()), ("resource_id", pa.string()),
    ("resource_name", pa.string()), ("message", pa.string()), ("evidence", pa.string()),
    ("frameworks", pa.string()),
])
RULE_RESULT_SCHEMA = pa.schema([
    ("snapshot_id", pa.int32()), ("manifest_sha256", pa.string()), ("taken_at", pa.timestamp("us", tz="UTC")),
    ("rule_id", pa.string()), ("title", pa.string()), ("severity", pa.string()), ("status", pa.string()),
    ("checked", pa.int64()), ("failed", pa.int64()), ("error", pa.string()),
])


@dataclass
class OrgAudit:
    org_id: str
    day: date | None
    findings: pa.Table
    rule_results: pa.Table
    error: str | None = None


@dataclass
class FleetAuditResult:
    lake: str
    engine: str
    counts: dict[str, int] = field(default_factory=dict)
    """Findings per org."""
    errors: dict[str, str] = field(default_factory=dict)
    """Orgs that could not be audited, and why."""
    seconds: float = 0.0

    @property
    def findings(self) -> int:
        return sum(self.counts.values())

    @property
    def exit_code(self) -> int:
        from ..errors import EXIT_INCOMPLETE, EXIT_OK

        return EXIT_INCOMPLETE if self.errors else EXIT_OK

    def summary(self) -> str:
        text = (f"fleet audit ({self.engine}): {len(self.counts)} org(s), {self.findings} finding(s) written to "
                f"{self.lake} ({FINDINGS_TABLE}) in {self.seconds:.1f}s")
        return text + "".join(f"\n  {org}: {err}" for org, err in sorted(self.errors.items()))

    def to_dict(self) -> dict[str, Any]:
        return {"lake": self.lake, "engine": self.engine, "findings": self.findings, "orgs": self.counts,
                "errors": self.errors, "seconds": round(self.seconds, 3)}


def lake_fingerprints(lake_dir: str | Path | Lake) -> dict[str, set[str]]:
    """Every org's fleet-audit finding fingerprints, as stored in the lake."""
    lake = lake_dir if isinstance(lake_dir, Lake) else Lake.open(lake_dir)
    data = lake.dataset(FINDINGS_TABLE)
    out: dict[str, set[str]] = {}
    if data is None:
        return out
    for row in data.to_table(columns=["org_id", "fingerprint"]).to_pylist():
        out.setdefault(row["org_id"], set()).add(row["fingerprint"])
    return out


# ---------------------------------------------------------------- one org

class Workspace:
    """A private folder with an empty, migrated gwaudit database to copy per org."""

    def __init__(self, root: Path | str | None = None):
        self._tmp = None if root else tempfile.TemporaryDirectory(prefix="gwaudit-fleet-")
        self.root = Path(root or self._tmp.name)
        self.root.mkdir(parents=True, exist_ok=True)
        self.template = self.root / "template.duckdb"
        if not self.template.exists():
            Database(self.template).initialise()

    def fresh(self, name: str) -> Database:
        path = self.root / f"{name}.duckdb"
        for p in (path, Path(str(path) + ".wal"), Path(str(path) + ".lock")):
            p.unlink(missing_ok=True)
        shutil.copyfile(self.template, path)
        return Database(path)

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()


def latest_pair(snapshots: pa.Table) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The org's latest snapshot and the one before it (``gwaudit audit``'s order: taken_at, id)."""
    rows = sorted(snapshots.to_pylist(), key=lambda r: (r["taken_at"], r["snapshot_id"]))
    return rows[-1], (rows[-2] if len(rows) > 1 else None)


def _insert(con: Any, table: str, data: pa.Table | None, drop: tuple[str, ...] = ("org_id", "date")) -> None:
    if data is None or data.num_rows == 0:
        return
    data = data.drop_columns([c for c in drop if c in data.column_names])
    con.register("lake_rows", data)
    try:
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM lake_rows")
    finally:
        con.unregister("lake_rows")


def load_org(lake: Lake, org_id: str, snapshots: pa.Table, db: Database) -> tuple[int, date]:
    """Load the org's latest snapshot (and its predecessor) from the lake into ``db``; returns the
    latest snapshot's id and date."""
    latest, previous = latest_pair(snapshots)
    picked = [r for r in (previous, latest) if r is not None]
    ids = pa.array([r["snapshot_id"] for r in picked], pa.int32())
    days = sorted({r["date"] for r in picked})

    def rows(table: str) -> pa.Table | None:
        data = lake.read(table, org_id, days)
        if data is None:
            return None
        return data.filter(pc.is_in(pc.cast(data.column("snapshot_id"), pa.int32()), value_set=ids))

    snap_rows = snapshots.filter(pc.is_in(pc.cast(snapshots.column("snapshot_id"), pa.int32()), value_set=ids))
    snap_rows = snap_rows.rename_columns(["id" if c == "snapshot_id" else c for c in snap_rows.column_names])
    with db.writer() as con:
        con.execute("BEGIN")
        _insert(con, "snapshots", snap_rows, drop=("date",))
        _insert(con, "collection_status", rows("collection_status"))
        _insert(con, "snapshot_files", rows("snapshot_files"))
        for family in fam.FAMILIES:
            data = rows(family_table(family))
            if data is None or data.num_rows == 0:
                continue
            data = data.drop_columns(["org_id", "date"])
            data = data.rename_columns([c.removeprefix("resource_") if c.removeprefix("resource_") in RESERVED
                                        else c for c in data.column_names])
            con.register("lake_rows", data)
            try:
                con.execute("INSERT INTO snapshot_resources SELECT snapshot_id, ?, file_no, ord, vid FROM lake_rows",
                            [family.name])
                cols = [c for c in data.column_names if c not in ("snapshot_id", "file_no", "ord")]
                sel = ", ".join(ident(c) for c in cols)
                con.execute(f"INSERT INTO {version_table(family)} ({sel}) "
                            f"SELECT {sel} FROM (SELECT DISTINCT ON (vid) {sel} FROM lake_rows)")
            finally:
                con.unregister("lake_rows")
        con.execute("COMMIT")
    return latest["snapshot_id"], latest["date"]


def audit_org(lake: Lake, org_id: str, rules: Sequence[Rule], work: Workspace,
              snapshots: pa.Table | None = None) -> OrgAudit:
    """Audit one org's latest snapshot in the lake with ``rules``; never raises for the org's own
    problems (the result's ``error`` says what went wrong)."""
    snapshots = snapshots if snapshots is not None else lake.read("snapshots", org_id)
    if snapshots is None or snapshots.num_rows == 0:
        return OrgAudit(org_id, None, FINDING_SCHEMA.empty_table(), RULE_RESULT_SCHEMA.empty_table(),
                        "no snapshot in the lake")
    db = work.fresh("org")
    sid, day = load_org(lake, org_id, snapshots, db)
    result = audit(db, sid, rules=rules, store=False)
    info = result.snapshot
    base = {"snapshot_id": sid, "manifest_sha256": info["manifest_sha256"], "taken_at": info["taken_at"]}
    findings = [{**base, "fingerprint": f.fingerprint, "rule_id": f.rule_id, "title": f.title,
                 "severity": f.severity, "status": f.status, "family": f.family, "resource_id": f.resource_id,
                 "resource_name": f.resource_name, "message": f.message, "evidence": f.evidence_json,
                 "frameworks": json.dumps(f.frameworks, sort_keys=True)} for f in result.findings]
    findings.sort(key=lambda r: (r["fingerprint"], r["status"]))
    results = [{**base, "rule_id": r.rule.id, "title": r.rule.title, "severity": r.rule.severity,
                "status": r.status, "checked": r.checked, "failed": r.failed, "error": r.error}
               for r in sorted(result.rules, key=lambda r: r.rule.id)]
    return OrgAudit(org_id, day, pa.Table.from_pylist(findings, FINDING_SCHEMA),
                    pa.Table.from_pylist(results, RULE_RESULT_SCHEMA))


def safe_audit_org(lake: Lake, org_id: str, rules: Sequence[Rule], work: Workspace,
                   snapshots: pa.Table | None = None) -> OrgAudit:
    """:func:`audit_org`, with any failure recorded as the org's error (one bad org does not stop
    the fleet)."""
    try:
        return audit_org(lake, org_id, rules, work, snapshots)
    except Exception as exc:  # noqa: BLE001 - reported per org, the fleet goes on
        from ..redact import redact

        return OrgAudit(org_id, None, FINDING_SCHEMA.empty_table(), RULE_RESULT_SCHEMA.empty_table(),
                        redact(f"{type(exc).__name__}: {exc}"))


def write_org_audit(lake: Lake, res: OrgAudit) -> None:
    """The org's fleet findings and rule results, each partition replaced whole."""
    if res.day is None:
        return
    for table, data in ((FINDINGS_TABLE, res.findings), (RULE_RESULTS_TABLE, res.rule_results)):
        lake.write_partition(table, res.org_id, res.day, data,
                             {"key": table_key(data), "table": table, "org_id": res.org_id, "date": str(res.day),
                              "rows": data.num_rows})


# ---------------------------------------------------------------- the fleet

def fleet_audit(lake_dir: str | Path, *, engine: str = "duckdb", master: str = "local[*]",
                rules_dirs: Iterable[Path | str] = (), orgs: Iterable[str] = (),
                progress: Callable[[str], None] | None = None) -> FleetAuditResult:
    """Audit every org's latest snapshot in the lake (or only ``orgs``) and write the findings
    back to the lake. ``engine`` is ``duckdb`` (this process) or ``spark`` (``master``)."""
    started = time.monotonic()
    lake = Lake.open(lake_dir)
    known = lake.orgs()
    if not known:
        raise UsageError(f"no snapshots in the lake {lake.uri}", hint="gwaudit export --lake DIR writes them")
    wanted = list(orgs) or known
    missing = [o for o in wanted if o not in known]
    if missing:
        raise UsageError(f"org {missing[0]} has no snapshot in the lake {lake.uri}")
    rules_dirs = [str(p) for p in rules_dirs]
    if engine == "spark":
        from .spark import spark_fleet_audit

        out = spark_fleet_audit(lake, wanted, rules_dirs, master=master)
    elif engine == "duckdb":
        rules = load_rules(rules_dirs)
        work = Workspace()
        out = FleetAuditResult(lake.uri, "duckdb")
        try:
            for org in wanted:
                res = safe_audit_org(lake, org, rules, work)
                write_org_audit(lake, res)
                out.counts[org] = res.findings.num_rows
                if res.error:
                    out.errors[org] = res.error
                if progress:
                    progress(f"{org}: {res.findings.num_rows} finding(s)")
        finally:
            work.close()
    else:
        raise UsageError(f"--engine {engine}: expected duckdb or spark")
    out.seconds = time.monotonic() - started
    return out
