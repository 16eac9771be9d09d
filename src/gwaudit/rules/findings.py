"""Findings: what a failing rule row becomes, its fingerprint, and the tables that keep them.

Tables (added to every database by :data:`gwaudit.store.EXTRA_MIGRATIONS`; names in README):

* ``findings`` - one row per finding per audited snapshot (the fields of DESIGN.md's Finding);
* ``rule_results`` - one row per evaluated rule per audited snapshot;
* view ``latest_findings`` - the findings of the newest audited snapshot.

Re-auditing a snapshot replaces its rows in one transaction.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable, Sequence

import duckdb
import pandas as pd

from .. import store as _store
from ..output import jsonable
from .loader import Rule

FINDING_FIELDS = ("fingerprint", "rule_id", "title", "severity", "status", "family", "resource_id",
                  "resource_name", "message", "evidence", "frameworks", "snapshot_id", "first_seen", "waiver")
SPECIAL_COLUMNS = ("resource_id", "resource_name", "message", "resource_key", "family")

_DDL = """
CREATE TABLE IF NOT EXISTS findings (
    fingerprint VARCHAR NOT NULL,
    rule_id VARCHAR NOT NULL,
    title VARCHAR NOT NULL,
    severity VARCHAR NOT NULL,          -- critical | high | medium | low | info
    status VARCHAR NOT NULL,            -- fail | waived
    family VARCHAR NOT NULL,
    resource_id VARCHAR NOT NULL,
    resource_name VARCHAR,
    message VARCHAR NOT NULL,
    evidence JSON,
    frameworks JSON,
    snapshot_id INTEGER NOT NULL,
    first_seen TIMESTAMPTZ NOT NULL,
    waiver JSON
);
CREATE TABLE IF NOT EXISTS rule_results (
    snapshot_id INTEGER NOT NULL,
    rule_id VARCHAR NOT NULL,
    status VARCHAR NOT NULL,            -- pass | fail | error
    checked BIGINT NOT NULL,
    failed BIGINT NOT NULL,
    error VARCHAR,
    params JSON,
    evaluated_at TIMESTAMPTZ NOT NULL,
    title VARCHAR,
    severity VARCHAR,
    frameworks JSON,
    note VARCHAR
);
CREATE VIEW IF NOT EXISTS latest_findings AS
SELECT f.* FROM findings f
WHERE f.snapshot_id = (SELECT s.id FROM snapshots s WHERE s.id IN (SELECT snapshot_id FROM rule_results)
                       ORDER BY s.taken_at DESC, s.id DESC LIMIT 1);
"""


def migrate(con: duckdb.DuckDBPyConnection) -> None:
    """Idempotent DDL for the findings tables (run on every writer open)."""
    con.execute(_DDL)


if migrate not in _store.EXTRA_MIGRATIONS:
    _store.EXTRA_MIGRATIONS.append(migrate)


def fingerprint(rule_id: str, family: str, identity: str) -> str:
    """Stable across snapshots: the rule, the family and the resource's identity - not the row's
    position, message or evidence."""
    text = json.dumps([rule_id, family, identity], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass
class Finding:
    fingerprint: str
    rule_id: str
    title: str
    severity: str
    status: str
    family: str
    resource_id: str
    resource_name: str | None
    message: str
    evidence: dict[str, Any]
    frameworks: dict[str, list[str]]
    snapshot_id: int
    first_seen: datetime | None = None
    waiver: dict[str, Any] | None = None
    identity: str = field(default="", repr=False)
    """resource_key if the rule gave one, else resource_id (what the fingerprint hashes)."""

    def to_dict(self) -> dict[str, Any]:
        return {k: jsonable(getattr(self, k)) for k in FINDING_FIELDS}


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(jsonable(value))


def findings_from_rows(rule: Rule, columns: Sequence[str], json_columns: Iterable[str],
                       rows: Iterable[Sequence[Any]], snapshot_id: int) -> list[Finding]:
    """One finding per distinct resource identity (the first row by message wins when a rule
    returns several rows for one resource). Raises ValueError when a row has no resource_id."""
    rows = list(rows)
    if not rows:
        return []
    json_cols = set(json_columns)
    idx = {c: i for i, c in enumerate(columns)}
    evidence_cols = [(c, i, c in json_cols) for i, c in enumerate(columns) if c not in SPECIAL_COLUMNS]
    i_id, i_name, i_msg = idx["resource_id"], idx["resource_name"], idx["message"]
    i_key, i_fam = idx.get("resource_key"), idx.get("family")
    frameworks = {k: list(v) for k, v in rule.frameworks.items()}
    out: dict[str, Finding] = {}
    for row in rows:
        rid = _text(row[i_id])
        key = _text(row[i_key]) if i_key is not None else None
        if rid is None and key is None:
            raise ValueError("a result row has a NULL resource_id")
        identity = key if key is not None else rid
        family = _text(row[i_fam]) if i_fam is not None and row[i_fam] is not None else rule.family
        evidence = {}
        for name, i, is_json in evidence_cols:
            value = row[i]
            if is_json and isinstance(value, str):
                try:
                    value = json.loads(value)
                except ValueError:
                    pass
            evidence[name] = jsonable(value)
        fp = fingerprint(rule.id, family, identity)
        f = Finding(fp, rule.id, rule.title, rule.severity, "fail", family, rid if rid is not None else identity,
                    _text(row[i_name]), _text(row[i_msg]) or "", evidence, frameworks, snapshot_id,
                    identity=identity)
        prior = out.get(fp)
        if prior is None or f.message < prior.message:
            out[fp] = f
    return list(out.values())


# ---------------------------------------------------------------- storage

def save(con: duckdb.DuckDBPyConnection, snapshot_id: int, taken_at: datetime, findings: list[Finding],
         rule_rows: list[dict[str, Any]], evaluated_at: datetime) -> None:
    """Replace the snapshot's findings and rule results in one transaction; fills ``first_seen``
    (the earliest taken_at among stored snapshots holding the fingerprint, this one included) and
    corrects it on other snapshots' rows whose history this audit changes."""
    con.execute("BEGIN")
    try:
        old = {r[0] for r in con.execute("SELECT DISTINCT fingerprint FROM findings WHERE snapshot_id = ?",
                                         [snapshot_id]).fetchall()}
        con.execute("DELETE FROM findings WHERE snapshot_id = ?", [snapshot_id])
        con.execute("DELETE FROM rule_results WHERE snapshot_id = ?", [snapshot_id])
        fill_first_seen(con, snapshot_id, taken_at, findings)
        frame = pd.DataFrame({
            "fingerprint": [f.fingerprint for f in findings],
            "rule_id": [f.rule_id for f in findings],
            "title": [f.title for f in findings],
            "severity": [f.severity for f in findings],
            "status": [f.status for f in findings],
            "family": [f.family for f in findings],
            "resource_id": [f.resource_id for f in findings],
            "resource_name": [f.resource_name for f in findings],
            "message": [f.message for f in findings],
            "evidence": [json.dumps(f.evidence, ensure_ascii=False) for f in findings],
            "frameworks": [json.dumps(f.frameworks) for f in findings],
            "waiver": [json.dumps(jsonable(f.waiver)) if f.waiver is not None else None for f in findings],
        }, dtype=object)
        frame["first_seen"] = pd.Series([f.first_seen for f in findings], dtype="datetime64[us, UTC]")
        con.register("new_findings", frame)
        con.execute("""
            INSERT INTO findings SELECT fingerprint, rule_id, title, severity, status, family, resource_id,
                   resource_name, message, CAST(evidence AS JSON), CAST(frameworks AS JSON), $sid, first_seen,
                   CAST(waiver AS JSON)
            FROM new_findings""", {"sid": snapshot_id})
        con.unregister("new_findings")
        _repair_history(con, old | {f.fingerprint for f in findings})
        results = pd.DataFrame(rule_rows, columns=["rule_id", "status", "checked", "failed", "error", "params",
                                                    "title", "severity", "frameworks", "note"])
        con.register("new_results", results)
        con.execute("""
            INSERT INTO rule_results SELECT $sid, rule_id, status, checked, failed, error, CAST(params AS JSON),
                   $at, title, severity, CAST(frameworks AS JSON), note
            FROM new_results""", {"sid": snapshot_id, "at": evaluated_at})
        con.unregister("new_results")
        con.execute("COMMIT")
    except BaseException:
        try:
            con.execute("ROLLBACK")
        except duckdb.Error:
            pass
        raise


def fill_first_seen(con: duckdb.DuckDBPyConnection, snapshot_id: int, taken_at: datetime,
                    findings: list[Finding]) -> None:
    """Set each finding's ``first_seen``: the earliest taken_at of a stored snapshot (other than
    this one) holding its fingerprint, if earlier than this snapshot's."""
    earlier: dict[str, datetime] = {}
    if findings and has_tables(con):
        con.register("new_fps", pd.DataFrame({"fingerprint": pd.Series([f.fingerprint for f in findings],
                                                                        dtype=object)}))
        earlier = dict(con.execute("""
            SELECT f.fingerprint, min(s.taken_at) FROM findings f JOIN snapshots s ON s.id = f.snapshot_id
            WHERE f.snapshot_id <> ? AND f.fingerprint IN (SELECT fingerprint FROM new_fps)
            GROUP BY f.fingerprint""", [snapshot_id]).fetchall())
        con.unregister("new_fps")
    for f in findings:
        seen = earlier.get(f.fingerprint)
        f.first_seen = seen if seen is not None and seen < taken_at else taken_at


def _repair_history(con: duckdb.DuckDBPyConnection, fingerprints: set[str]) -> None:
    """Other snapshots' first_seen for these fingerprints, recomputed (an older snapshot audited
    after a newer one moves first_seen back; a re-audit that drops a finding moves it forward)."""
    if not fingerprints:
        return
    con.register("touched", pd.DataFrame({"fingerprint": sorted(fingerprints)}))
    con.execute("""
        UPDATE findings SET first_seen = m.first_seen
        FROM (SELECT f.fingerprint, min(s.taken_at) AS first_seen
              FROM findings f JOIN snapshots s ON s.id = f.snapshot_id
              WHERE f.fingerprint IN (SELECT fingerprint FROM touched) GROUP BY f.fingerprint) m
        WHERE findings.fingerprint = m.fingerprint AND findings.first_seen <> m.first_seen""")
    con.unregister("touched")


# ---------------------------------------------------------------- reading stored results

def has_tables(con: duckdb.DuckDBPyConnection) -> bool:
    return con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'rule_results'"
                       ).fetchall()[0][0] > 0


def audited(con: duckdb.DuckDBPyConnection, snapshot_id: int) -> bool:
    """Whether the snapshot has stored results (``audit()`` has run on it)."""
    return has_tables(con) and con.execute("SELECT count(*) FROM rule_results WHERE snapshot_id = ?",
                                           [snapshot_id]).fetchall()[0][0] > 0


def stored_findings(con: duckdb.DuckDBPyConnection, snapshot_id: int) -> list[dict[str, Any]]:
    """The stored findings of a snapshot as Finding dicts (JSON columns decoded)."""
    if not has_tables(con):
        return []
    cur = con.execute(f"SELECT {', '.join(FINDING_FIELDS)} FROM findings WHERE snapshot_id = ? "
                      "ORDER BY rule_id, resource_id", [snapshot_id])
    out = []
    for row in cur.fetchall():
        d = dict(zip(FINDING_FIELDS, row))
        for k in ("evidence", "frameworks", "waiver"):
            if isinstance(d[k], str):
                d[k] = json.loads(d[k])
        out.append(d)
    return out
