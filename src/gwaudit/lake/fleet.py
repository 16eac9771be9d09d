"""DuckDB over a whole lake: views that span every org (``gwaudit fleet sql``, the fleet report).

Each lake table is a pyarrow dataset registered on an in-memory DuckDB connection (DuckDB scans
it lazily, pushing column choices and partition filters down), named as in an org's own database:
``snapshots``, ``findings``, ``rule_results``, ``audits``, ``waivers``, ``control_results``,
``changes``, ``fleet_findings``, ``fleet_rule_results``, and per family ``<family>_history``
(every snapshot) and ``<family>`` (each org's latest snapshot). Every row carries ``org_id``
and the partition ``date``. Derived views (:data:`VIEWS`) answer the fleet's questions once.
The connection is then sandboxed like ``gwaudit sql``'s: no file, network or setting.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from .. import families as fam
from ..db.connect import in_memory, sandbox
from ..db.layout import history_view
from ..db.sql import ident
from ..errors import UsageError
from ..sqlquery import QueryResult, run_statement
from .store import Lake

VIEWS: dict[str, str] = {
    # each org's latest snapshot, and its latest complete one
    "latest_snapshots": """
        SELECT * EXCLUDE (rn) FROM (SELECT *, row_number() OVER (PARTITION BY org_id
                                    ORDER BY taken_at DESC, snapshot_id DESC) AS rn FROM snapshots) WHERE rn = 1""",
    "latest_complete_snapshots": """
        SELECT * EXCLUDE (rn) FROM (SELECT *, row_number() OVER (PARTITION BY org_id
                                    ORDER BY taken_at DESC, snapshot_id DESC) AS rn
                                    FROM snapshots WHERE status = 'complete') WHERE rn = 1""",
    # each org's latest audited snapshot (audits exported from the org's own database)
    "latest_audits": """
        SELECT * EXCLUDE (rn) FROM (SELECT a.*, s.taken_at, row_number() OVER (PARTITION BY a.org_id
                                    ORDER BY s.taken_at DESC, a.snapshot_id DESC) AS rn
                                    FROM audits a JOIN snapshots s USING (org_id, snapshot_id)) WHERE rn = 1""",
    "latest_findings": """
        SELECT f.* FROM findings f JOIN latest_audits l USING (org_id, snapshot_id)""",
    # the fleet audit's findings for each org's latest audited snapshot
    "fleet_latest_findings": """
        SELECT f.* FROM fleet_findings f JOIN (
            SELECT org_id, max(taken_at) AS taken_at FROM fleet_rule_results GROUP BY org_id) l
        USING (org_id, taken_at)""",
    "fleet_latest_rule_results": """
        SELECT r.* FROM fleet_rule_results r JOIN (
            SELECT org_id, max(taken_at) AS taken_at FROM fleet_rule_results GROUP BY org_id) l
        USING (org_id, taken_at)""",
}


def _register(con: duckdb.DuckDBPyConnection, lake: Lake) -> list[str]:
    names = []
    for table in lake.tables():
        data = lake.dataset(table)
        if data is None:
            continue
        if table.startswith("resources/"):
            family = table.split("/", 1)[1]
            if family not in fam.BY_NAME:
                continue
            name = history_view(family)
            con.register(name, data)
            names.append(name)
        else:
            con.register(table, data)
            names.append(table)
    return names


def connect(lake_dir: str | Path | Lake) -> duckdb.DuckDBPyConnection:
    """An in-memory, sandboxed DuckDB connection with the lake's tables and the fleet views."""
    lake = lake_dir if isinstance(lake_dir, Lake) else Lake.open(lake_dir)
    if not lake.exists(lake.path("snapshots")):
        raise UsageError(f"no snapshots in the lake {lake.uri}",
                         hint="gwaudit export --lake DIR (or [lake] dir for gwaudit run) writes them")
    con = in_memory()
    con.execute("SET TimeZone = 'UTC'")
    names = set(_register(con, lake))
    for name, sql in VIEWS.items():
        try:
            con.execute(f"CREATE TEMP VIEW {ident(name)} AS {sql}")
            con.execute(f"SELECT * FROM {ident(name)} LIMIT 0")
        except duckdb.Error:  # a table it reads is not in this lake (yet): no view
            con.execute(f"DROP VIEW IF EXISTS {ident(name)}")
    for family in fam.FAMILIES:
        if history_view(family.name) in names:
            con.execute(f"""CREATE TEMP VIEW {ident(family.name)} AS SELECT h.* FROM
                            {ident(history_view(family.name))} h JOIN latest_snapshots l USING (org_id, snapshot_id)""")
    sandbox(con)
    return con


def run_fleet_query(lake_dir: str | Path, query: str) -> QueryResult:
    """One read-only statement over every org in the lake (``gwaudit fleet sql``)."""
    con = connect(lake_dir)
    try:
        return run_statement(con, query, command="gwaudit fleet sql", reads="the lake's tables only",
                             tables_hint="docs/lake.md lists the tables and views; SHOW TABLES too")
    finally:
        con.close()


def fetch(con: duckdb.DuckDBPyConnection, sql: str, params: Any = None) -> list[dict[str, Any]]:
    cur = con.execute(sql, params or [])
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]

