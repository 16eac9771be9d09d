"""Run one built-in rule against a snapshot built from Python data.

Used by the per-rule tests (fires on a fixture built to trip it, silent on the clean variant).
It binds parameters the way the engine does: the rule's declared defaults (overridden by
``params``), plus ``$now`` (the snapshot's taken_at) and ``$snapshot_id``; only the names the
SQL uses are bound.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import yaml

from gwaudit.resources import rules_dir
from gwaudit.store import Store, scope_to_snapshot, taken_at
from gwaudit.testing import store_snapshot


def rule_file(rule_id: str) -> Path:
    matches = list(rules_dir().rglob(f"{rule_id}.yaml"))
    assert len(matches) == 1, f"expected one rules/**/{rule_id}.yaml, found {matches}"
    return matches[0]


def load_rule(rule_id: str) -> dict[str, Any]:
    return yaml.safe_load(rule_file(rule_id).read_text())


def run_sql(db: Path, sid: int, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    with Store(db).writer() as con:
        scope_to_snapshot(con, sid)
        values = dict(params)
        values["now"] = taken_at(con, sid)
        values["snapshot_id"] = sid
        (stmt,) = con.extract_statements(sql)
        used = {name: values[name] for name in stmt.named_parameters}
        cur = con.execute(sql, used)
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, row)) for row in cur.fetchall()]


def run_rule(tmp_path: Path, rule_id: str, data: dict[str, Any], *,
             taken_at: str | datetime = "2026-11-27T06:00:00Z", params: dict[str, Any] | None = None,
             **snapshot_kw: Any) -> list[dict[str, Any]]:
    """Store ``data`` as a snapshot in a fresh database under ``tmp_path``; return the rule's rows."""
    rule = load_rule(rule_id)
    db = tmp_path / f"{rule_id}.duckdb"
    sid = store_snapshot(db, data, taken_at=taken_at, folder=tmp_path / f"{rule_id}-{len(list(tmp_path.iterdir()))}",
                         **snapshot_kw)
    merged = dict(rule.get("params") or {})
    merged.update(params or {})
    rows = run_sql(db, sid, rule["sql"], merged)
    for row in rows:
        for col in ("resource_id", "resource_name", "message"):
            assert col in row, f"{rule_id}: result has no {col} column"
    return rows
