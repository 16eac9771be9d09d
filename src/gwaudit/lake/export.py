"""``gwaudit export --lake DIR``: a database's snapshots, audits, changes and control results as
Parquet, Hive-partitioned by org and snapshot date (docs/lake.md).

Each (table, org, date) partition holds every snapshot of that org taken that day (UTC). Before a
partition is written its *key* is computed from what determines its content (the snapshots'
manifest hashes, their audits' times, their change pairs, the lake format and column layout) and
compared with the key in the partition's ``_manifest.json``: an unchanged partition is not
read from the database nor rewritten, so a daily export writes about one day's partitions. A
changed partition is written whole aside and renamed into place (:meth:`Lake.write_partition`).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Callable

import duckdb
import pyarrow as pa

from .. import __version__
from .. import families as fam
from ..db import Database
from ..db.layout import SYSTEM_COLUMNS, family_columns, version_table
from ..db.sql import ident, literal
from ..errors import UsageError
from .store import LAKE_FORMAT, Lake

# table -> (SELECT over the database for the snapshot ids in $ids, what its key depends on)
_TABLES: dict[str, tuple[str, str]] = {
    "snapshots": ("SELECT id AS snapshot_id, taken_at, stored_at, source, base_url, status, tool_version, "
                  "manifest_sha256, resource_count, failed_families, manifest FROM snapshots "
                  "WHERE id IN (SELECT unnest($ids)) ORDER BY taken_at, id", "snapshot"),
    "collection_status": ("SELECT * FROM collection_status WHERE snapshot_id IN (SELECT unnest($ids)) "
                          "ORDER BY snapshot_id, family", "snapshot"),
    "snapshot_files": ("SELECT * FROM snapshot_files WHERE snapshot_id IN (SELECT unnest($ids)) "
                       "ORDER BY snapshot_id, file_no", "snapshot"),
    "findings": ("SELECT * FROM findings WHERE snapshot_id IN (SELECT unnest($ids)) "
                 "ORDER BY snapshot_id, fingerprint", "audit"),
    "rule_results": ("SELECT * FROM rule_results WHERE snapshot_id IN (SELECT unnest($ids)) "
                     "ORDER BY snapshot_id, rule_id", "audit"),
    "audits": ("SELECT * FROM audits WHERE snapshot_id IN (SELECT unnest($ids)) ORDER BY snapshot_id", "audit"),
    "waivers": ("SELECT * FROM waivers WHERE snapshot_id IN (SELECT unnest($ids)) "
                "ORDER BY snapshot_id, waiver_no", "audit"),
    "control_results": ("SELECT * FROM control_results WHERE snapshot_id IN (SELECT unnest($ids)) "
                        "ORDER BY snapshot_id, framework, control", "audit"),
    "changes": ("SELECT * FROM snapshot_changes WHERE snapshot_id IN (SELECT unnest($ids)) "
                "ORDER BY snapshot_id, family, resource_key, path, change", "changes"),
}


def family_table(family: fam.Family | str) -> str:
    """The lake table of a family's resources: ``resources/<family>``."""
    return "resources/" + (family if isinstance(family, str) else family.name)


RESERVED = ("org_id", "date")
"""Partition columns: a family column of that name is ``resource_<name>`` in the lake."""


def lake_column(column: str) -> str:
    return "resource_" + column if column in RESERVED else column


def _family_select(family: fam.Family) -> str:
    cols = ", ".join(f"v.{ident(c)} AS {ident(lake_column(c))}"
                     for c in SYSTEM_COLUMNS + tuple(c for c, _t, _p in family_columns(family)))
    return (f"SELECT m.snapshot_id, m.file_no, m.ord, {cols} FROM snapshot_resources m "
            f"JOIN {version_table(family)} v ON v.vid = m.vid "
            f"WHERE m.family = {literal(family.name)} AND m.snapshot_id IN (SELECT unnest($ids)) "
            "ORDER BY m.snapshot_id, m.file_no, m.ord")


def all_tables() -> dict[str, tuple[str, str]]:
    out = dict(_TABLES)
    for family in fam.FAMILIES:
        out[family_table(family)] = (_family_select(family), "snapshot")
    return out


def _layout_tag() -> str:
    """Changes when a family's typed columns change (its partitions are then rewritten)."""
    text = repr([(f.name, family_columns(f)) for f in fam.FAMILIES])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def portable(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]) -> pa.Table:
    """A query's result as Arrow with JSON columns as text (every Parquet reader understands it)."""
    rel = con.sql(sql, params=params)
    cols = []
    for name, typ in zip(rel.columns, rel.types):
        q = ident(name)
        cols.append(f"CAST({q} AS VARCHAR) AS {q}" if str(typ) == "JSON" else q)
    return con.sql(f"SELECT {', '.join(cols)} FROM ({sql})", params=params).to_arrow_table()


@dataclass
class ExportResult:
    lake: str
    orgs: list[str]
    snapshots: int
    written: int = 0
    unchanged: int = 0
    rows: int = 0
    seconds: float = 0.0
    tables: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        return (f"exported {self.snapshots} snapshot(s) of {len(self.orgs)} org(s) to {self.lake}: "
                f"{self.written} partition(s) written ({self.rows} rows), {self.unchanged} unchanged")

    def to_dict(self) -> dict[str, Any]:
        return {"lake": self.lake, "orgs": self.orgs, "snapshots": self.snapshots, "written": self.written,
                "unchanged": self.unchanged, "rows": self.rows, "seconds": round(self.seconds, 3)}


def export(db: Database | Path | str, lake_dir: str | Path, *, org_id: str | None = None,
           progress: Callable[[str], None] | None = None) -> ExportResult:
    """Write every snapshot of ``db`` (with its audit, changes and control results) to the lake.
    ``org_id`` names the org when the snapshots do not (imported folders without one)."""
    started = time.monotonic()
    db = Database.of(db)
    lake = Lake.open(lake_dir)
    lake.ensure()
    tables = all_tables()
    layout = _layout_tag()
    with db.reader() as con:
        snaps = con.execute("""
            SELECT s.id, s.org_id, s.taken_at, s.manifest_sha256, s.status,
                   (SELECT max(evaluated_at) FROM audits a WHERE a.snapshot_id = s.id) AS audited,
                   (SELECT list((p.family, p.prev_snapshot_id, p.computed_at) ORDER BY p.family)
                      FROM snapshot_change_pairs p WHERE p.snapshot_id = s.id) AS pairs
            FROM snapshots s ORDER BY s.taken_at, s.id""").fetchall()
        groups: dict[tuple[str, date], list[tuple]] = defaultdict(list)
        for row in snaps:
            org = org_id or row[1]
            if not org:
                raise UsageError(f"snapshot {row[0]} names no org id, so the lake cannot place it",
                                 hint="give the org's id with --org")
            groups[(org, row[2].date())].append(row)
        result = ExportResult(lake.uri, sorted({o for o, _d in groups}), len(snaps))
        for (org, day), rows in sorted(groups.items()):
            ids = [r[0] for r in rows]
            parts = {
                "snapshot": [(r[0], r[3], r[4]) for r in rows],
                "audit": [(r[0], r[3], r[5]) for r in rows],
                "changes": [(r[0], r[3], r[6]) for r in rows],
            }
            for table, (sql, depends) in tables.items():
                key_text = json.dumps([LAKE_FORMAT, table, layout if table.startswith("resources/") else "",
                                       parts[depends]], default=str)
                key = hashlib.sha256(key_text.encode()).hexdigest()
                old = lake.manifest(table, org, day)
                if old is not None and old.get("key") == key:
                    result.unchanged += 1
                    continue
                data = portable(con, sql, {"ids": ids})
                if data.num_rows == 0 and old is None and table != "snapshots":
                    result.unchanged += 1  # nothing to say (e.g. an unaudited day): no empty partition
                    continue
                manifest = {"key": key, "table": table, "org_id": org, "date": str(day), "rows": data.num_rows,
                            "snapshots": [{"snapshot_id": r[0], "taken_at": r[2].isoformat(),
                                           "manifest_sha256": r[3]} for r in rows],
                            "lake_format": LAKE_FORMAT, "gwaudit": __version__}
                lake.write_partition(table, org, day, data, manifest)
                result.written += 1
                result.rows += data.num_rows
                result.tables[table] = result.tables.get(table, 0) + data.num_rows
            if progress:
                progress(f"{org} {day}")
    result.seconds = time.monotonic() - started
    return result
