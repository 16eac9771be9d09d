"""Run one built-in rule against a snapshot built from Python data.

Used by the per-rule tests (fires on a fixture built to trip it, silent on the clean variant).
It goes through the engine (:func:`gwaudit.rules.evaluate`), so the rule file is validated by the
same loader and its SQL runs exactly as ``gwaudit audit`` runs it: the rule's declared defaults
(overridden by ``params``), plus ``$now`` (the snapshot's taken_at) and ``$snapshot_id``, on a
connection where the plain family names show that snapshot.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from gwaudit.resources import rules_dir
from gwaudit.rules import RuleResult, evaluate, load_rule_file
from gwaudit.rules.engine import open_snapshot, prepare
from gwaudit.db import Database
from gwaudit.testing import store_snapshot
from tests.factories.ids import NOW


def rule_file(rule_id: str, root: Path | None = None) -> Path:
    matches = list((root or rules_dir()).rglob(f"{rule_id}.yaml"))
    assert len(matches) == 1, f"expected one rules/**/{rule_id}.yaml, found {matches}"
    return matches[0]


def load_rule(rule_id: str, root: Path | None = None) -> dict[str, Any]:
    """The rule file's mapping, after the engine's loader validated it (a ConfigError names the
    file and field when it is not valid)."""
    path = rule_file(rule_id, root)
    load_rule_file(path)
    return yaml.safe_load(path.read_text())


def run_sql(db: Path, sid: int, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Run one statement (a rule's sql or checked_sql) as the engine does: sandboxed, the plain
    family names showing snapshot ``sid``, ``$now`` = its taken_at, ``$snapshot_id``, and the
    ``params`` the statement uses. Returns the rows as dicts."""
    with Database(db).reader(sandboxed=True) as con:
        snap = open_snapshot(con, sid)
        prepare(con, snap, [])
        values = {**params, "now": snap.taken_at, "snapshot_id": snap.id}
        (stmt,) = con.extract_statements(sql)
        cur = con.execute(sql, {name: values[name] for name in stmt.named_parameters})
        columns = [d[0] for d in cur.description]
        return [dict(zip(columns, row)) for row in cur.fetchall()]


def rule_result(tmp_path: Path, rule_id: str, data: dict[str, Any], *,
                taken_at: str | datetime = NOW, params: dict[str, Any] | None = None,
                rules_root: Path | None = None, **snapshot_kw: Any) -> RuleResult:
    """Store ``data`` as a snapshot in a fresh database under ``tmp_path`` and evaluate the rule:
    the engine's result (``status``, ``error``, ``checked``, ``raw_rows()``)."""
    rule = load_rule_file(rule_file(rule_id, rules_root))
    db = tmp_path / f"{rule_id}.duckdb"
    sid = store_snapshot(db, data, taken_at=taken_at, folder=tmp_path / f"{rule_id}-{len(list(tmp_path.iterdir()))}",
                         **snapshot_kw)
    return evaluate(db, sid, rule, params)


def run_rule(tmp_path: Path, rule_id: str, data: dict[str, Any], *,
             taken_at: str | datetime = NOW, params: dict[str, Any] | None = None,
             rules_root: Path | None = None, **snapshot_kw: Any) -> list[dict[str, Any]]:
    """Store ``data`` as a snapshot in a fresh database under ``tmp_path``; return the rule's rows.

    A rule that evaluates to ``error`` (SQL failure, a row without resource_id, a family given
    in ``failed=``) fails the test with the engine's reason: use :func:`rule_result` to assert
    on it. ``rules_root`` replaces the built-in rules folder.
    """
    result = rule_result(tmp_path, rule_id, data, taken_at=taken_at, params=params, rules_root=rules_root,
                         **snapshot_kw)
    assert result.status != "error", f"{rule_id} evaluated to error: {result.error}"
    return result.raw_rows()
