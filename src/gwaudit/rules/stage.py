"""An audit's findings: what a failing rule row becomes, its fingerprint, and how an audit is
stored (``findings``, ``rule_results``, ``audits`` and ``waivers``: :mod:`gwaudit.db.schema`).

Each rule's rows are turned into findings by DuckDB, in a temporary stage on the audit's own
connection (fingerprints and evidence JSON included), fetched once for waivers and the result, and
written in one transaction by :func:`save`. Re-auditing a snapshot replaces its rows.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Sequence

import duckdb
import pandas as pd

from ..db import ident, literal, transaction
from ..output import dumps, jsonable
from ..severity import SEVERITY_RANK
from .engine_rules import ENGINE_RULE_IDS
from .loader import Rule

FINDING_FIELDS = ("fingerprint", "rule_id", "title", "severity", "status", "family", "resource_id",
                  "resource_name", "message", "evidence", "frameworks", "snapshot_id", "first_seen", "waiver")
SPECIAL_COLUMNS = ("resource_id", "resource_name", "message", "resource_key", "family")


def fingerprint(rule_id: str, family: str, identity: str) -> str:
    """Stable across snapshots: the rule, the family and the resource's identity - not the row's
    position, message or evidence. (The same formula runs in SQL in :func:`finding_query`.)"""
    return hashlib.sha256(f"{rule_id}\x1f{family}\x1f{identity}".encode()).hexdigest()[:32]


@dataclass(slots=True)
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
    evidence_json: str = field(repr=False)
    """The evidence object as JSON text (parsed on demand by :attr:`evidence`)."""
    frameworks: dict[str, list[str]] = field(default_factory=dict)
    snapshot_id: int = 0
    first_seen: datetime | None = None
    waiver: dict[str, Any] | None = None
    identity: str = field(default="", repr=False)
    """resource_key if the rule gave one, else resource_id (what the fingerprint hashes)."""

    @property
    def evidence(self) -> dict[str, Any]:
        return json.loads(self.evidence_json)

    def to_dict(self) -> dict[str, Any]:
        return {k: jsonable(getattr(self, k)) for k in FINDING_FIELDS}


def _evidence_expr(name: str, typ: str) -> str:
    col = ident(name)
    if typ in ("TIMESTAMP WITH TIME ZONE", "TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S"):
        zone = "Z" if typ == "TIMESTAMP WITH TIME ZONE" else ""  # RFC 3339, as output.jsonable writes it
        return (f"CASE WHEN epoch_us({col}) % 1000000 = 0 THEN strftime({col}, '%Y-%m-%dT%H:%M:%S{zone}') "
                f"ELSE strftime({col}, '%Y-%m-%dT%H:%M:%S.%f{zone}') END")
    return col


STAGE = "audit_rows"
_STAGE_DDL = f"""
CREATE OR REPLACE TEMP TABLE {STAGE} (
    rule_id VARCHAR, sev_rank INTEGER, fingerprint VARCHAR, resource_id VARCHAR, resource_name VARCHAR,
    message VARCHAR, identity VARCHAR, family VARCHAR, evidence JSON)"""
_STAGE_COLUMNS = ("rule_id", "sev_rank", "fingerprint", "resource_id", "resource_name", "message", "identity",
                  "family", "evidence")


def create_stage(con: duckdb.DuckDBPyConnection) -> None:
    """The temporary table an audit's finding rows collect in (this connection only)."""
    con.execute(_STAGE_DDL)


def finding_query(rule: Rule, columns: Sequence[str], types: Sequence[Any], view: str = "rule_rows") -> str:
    """SQL over the rule's result (as ``view``) giving the stage's columns, fingerprint and
    evidence JSON computed by DuckDB. A row without resource_id (and resource_key) fails the
    statement. Several rows for one identity are merged later by :func:`dedupe_stage`."""
    cols = set(columns)
    rid = "CAST(resource_id AS VARCHAR)"
    identity = f"COALESCE(CAST(resource_key AS VARCHAR), {rid})" if "resource_key" in cols else rid
    family = f"COALESCE(CAST(family AS VARCHAR), {literal(rule.family)})" if "family" in cols else literal(rule.family)
    evidence = [(c, str(t)) for c, t in zip(columns, types) if c not in SPECIAL_COLUMNS]
    ev = ("to_json(struct_pack(" + ", ".join(f"{ident(c)} := {_evidence_expr(c, t)}" for c, t in evidence) + "))"
          if evidence else "CAST('{}' AS JSON)")
    return f"""
        SELECT {literal(rule.id)}, {SEVERITY_RANK[rule.severity]},
               left(sha256({literal(rule.id)} || chr(31) || fam || chr(31) || ident), 32),
               COALESCE(rid, ident), rname, msg, ident, fam, ev
        FROM (SELECT {rid} AS rid, CAST(resource_name AS VARCHAR) AS rname,
                     COALESCE(CAST(message AS VARCHAR), '') AS msg,
                     CASE WHEN {identity} IS NULL THEN error('a result row has a NULL resource_id')
                          ELSE {identity} END AS ident,
                     {family} AS fam, {ev} AS ev
              FROM {view})"""


def stage_rule(rel: duckdb.DuckDBPyRelation, rule: Rule) -> None:
    """Append a rule's findings (its SQL as a bound relation) to the stage."""
    rel.query("rule_rows", finding_query(rule, rel.columns, rel.types)).insert_into(STAGE)


def dedupe_stage(con: duckdb.DuckDBPyConnection) -> None:
    """One finding per fingerprint: when a rule returned several rows for one resource identity,
    keep the first by message (then evidence). Cheap when there is nothing to merge."""
    if con.execute(f"SELECT 1 FROM {STAGE} GROUP BY fingerprint HAVING count(*) > 1 LIMIT 1").fetchall():
        con.execute(f"""DELETE FROM {STAGE} WHERE rowid IN (
            SELECT rowid FROM (SELECT rowid, row_number() OVER (PARTITION BY fingerprint
                                                                ORDER BY message, CAST(evidence AS VARCHAR)) AS n
                               FROM {STAGE}) WHERE n > 1)""")


def staged_findings(con: duckdb.DuckDBPyConnection, rules: dict[str, Rule], snapshot_id: int) -> list[Finding]:
    """The stage as Finding objects (status fail, no waiver yet), in report order (severity, rule,
    resource name, resource id). Repeated values (rule, family, identity equal to resource_id)
    are not fetched row by row: converting rows to Python is most of the cost of a large audit."""
    frameworks = {rid: {k: list(v) for k, v in r.frameworks.items()} for rid, r in rules.items()}
    dedupe_stage(con)
    order = list(rules)
    con.register("audit_rule_order", pd.DataFrame({"rule_id": order, "n": range(len(order)),
                                                   "family": [rules[r].family for r in order]}))
    rows = con.execute(f"""
        SELECT o.n, s.fingerprint, s.resource_id, s.resource_name, s.message,
               CASE WHEN s.identity <> s.resource_id THEN s.identity END,
               CASE WHEN s.family <> o.family THEN s.family END, s.evidence
        FROM {STAGE} s JOIN audit_rule_order o USING (rule_id)
        ORDER BY s.sev_rank, s.rule_id, COALESCE(s.resource_name, ''), s.resource_id""").fetchall()
    con.unregister("audit_rule_order")
    picked = [(r.id, r.title, r.severity, r.family, frameworks[r.id]) for r in (rules[rid] for rid in order)]
    out = []
    for n, fp, res_id, name, msg, identity, family, ev in rows:
        rid, title, severity, default_family, fw = picked[n]
        out.append(Finding(fp, rid, title, severity, "fail", family or default_family, res_id, name, msg, ev, fw,
                           snapshot_id, identity=identity or res_id))
    return out


# ---------------------------------------------------------------- storage

def save(con: duckdb.DuckDBPyConnection, snapshot_id: int, taken_at: datetime, findings: list[Finding],
         rule_rows: list[dict[str, Any]], evaluated_at: datetime, audit_row: dict[str, Any],
         waiver_rows: list[dict[str, Any]]) -> None:
    """Replace the snapshot's audit (findings, rule results, the audit's own row, the waivers it
    judged and its compliance matrix, ``control_results``) in one transaction.

    The rule findings are already in the stage (same connection); ``findings`` adds their status
    and waiver, and the engine's own findings (not staged). ``first_seen`` comes from
    :func:`fill_first_seen` (run it first); other snapshots' rows whose history this audit
    changes are corrected too."""
    waived = [f for f in findings if f.status != "fail"]
    marks = pd.DataFrame({"fingerprint": [f.fingerprint for f in waived], "status": [f.status for f in waived],
                          "waiver": [dumps(f.waiver, indent=None) for f in waived]}, dtype=object)
    results = pd.DataFrame(rule_rows, columns=["rule_id", "status", "checked", "failed", "error", "params",
                                                "title", "severity", "frameworks", "note"])
    with transaction(con):
        # Rows of snapshots taken later than this one may carry a first_seen this audit changes (an
        # older snapshot audited after a newer one moves it back; a re-audit that drops a finding
        # moves it forward). Auditing the newest snapshot, the usual case, changes nothing.
        later = con.execute("SELECT count(*) FROM rule_results r JOIN snapshots s ON s.id = r.snapshot_id "
                            "WHERE s.taken_at > ?", [taken_at]).fetchall()[0][0] > 0
        if later:
            con.execute("CREATE OR REPLACE TEMP TABLE audit_touched AS "
                        "SELECT DISTINCT fingerprint FROM findings WHERE snapshot_id = ?", [snapshot_id])
        con.execute("DELETE FROM findings WHERE snapshot_id = ?", [snapshot_id])
        for table in ("rule_results", "audits", "waivers"):
            con.execute(f"DELETE FROM {table} WHERE snapshot_id = ?", [snapshot_id])
        con.execute("""INSERT INTO audits VALUES ($sid, $at, $tool_version, $rules_loaded, $rules_evaluated,
                       CAST($selection AS JSON), $waivers_source, $waivers_sha256, $fail_on)""",
                    {"sid": snapshot_id, "at": evaluated_at, **audit_row})
        if waiver_rows:
            con.executemany("INSERT INTO waivers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            [[snapshot_id, w["waiver_no"], w["rule_id"], w["resource_id"], w["resource_name"],
                              w["owner"], w["justification"], w["expires"], w["expires_at"], w["state"],
                              w["findings"]] for w in waiver_rows])
        con.register("new_results", results)
        con.execute("""
            INSERT INTO rule_results SELECT $sid, rule_id, status, checked, failed, error, CAST(params AS JSON),
                   $at, title, severity, CAST(frameworks AS JSON), note
            FROM new_results""", {"sid": snapshot_id, "at": evaluated_at})
        con.unregister("new_results")
        _stage_engine_findings(con, [f for f in findings if f.rule_id in ENGINE_RULE_IDS])
        con.register("audit_marks", marks)
        con.execute(f"""
            INSERT INTO findings
            SELECT a.fingerprint, a.rule_id, r.title, r.severity, COALESCE(m.status, 'fail'), a.family,
                   a.resource_id, a.resource_name, a.message, a.evidence, r.frameworks, $sid,
                   COALESCE(e.first_seen, $taken), CAST(m.waiver AS JSON)
            FROM {STAGE} a
            JOIN rule_results r ON r.snapshot_id = $sid AND r.rule_id = a.rule_id
            LEFT JOIN audit_marks m ON m.fingerprint = a.fingerprint
            LEFT JOIN audit_seen e ON e.fingerprint = a.fingerprint""", {"sid": snapshot_id, "taken": taken_at})
        con.unregister("audit_marks")
        from . import controls

        controls.write(con, snapshot_id, controls.stored_outcomes(con, snapshot_id))  # the audit's matrix
        if later:
            con.execute(f"INSERT INTO audit_touched SELECT fingerprint FROM {STAGE}")
            con.execute("""
                UPDATE findings SET first_seen = m.first_seen
                FROM (SELECT f.fingerprint, min(s.taken_at) AS first_seen
                      FROM findings f JOIN snapshots s ON s.id = f.snapshot_id
                      WHERE f.fingerprint IN (SELECT fingerprint FROM audit_touched) GROUP BY f.fingerprint) m
                WHERE findings.fingerprint = m.fingerprint AND findings.first_seen <> m.first_seen""")


def save_partial(con: duckdb.DuckDBPyConnection, snapshot_id: int, findings: list[Finding],
                 rule_rows: list[dict[str, Any]], evaluated_at: datetime, audit_row: dict[str, Any]) -> int:
    """Store a partial audit (a selection of the catalog) apart from the snapshot's audit, in
    ``partial_audits``, ``partial_rule_results`` and ``partial_findings``, in one transaction;
    returns its ``partial_id``. The snapshot's own audit (``audits``, ``findings``,
    ``rule_results``, its compliance matrix) is left as it was: no report, diff or delta reads
    these tables."""
    waived = [f for f in findings if f.status != "fail"]
    marks = pd.DataFrame({"fingerprint": [f.fingerprint for f in waived], "status": [f.status for f in waived],
                          "waiver": [dumps(f.waiver, indent=None) for f in waived]}, dtype=object)
    seen = pd.DataFrame({"fingerprint": [f.fingerprint for f in findings],
                         "first_seen": [f.first_seen for f in findings]})
    results = pd.DataFrame(rule_rows, columns=["rule_id", "status", "checked", "failed", "error", "params",
                                                "title", "severity", "frameworks", "note"])
    with transaction(con):
        pid = con.execute("SELECT nextval('partial_audit_id_seq')").fetchone()[0]
        con.execute("""INSERT INTO partial_audits VALUES ($pid, $sid, $at, $tool_version, $rules_loaded,
                       $rules_evaluated, CAST($selection AS JSON), $rule_ids, $waivers_source, $waivers_sha256,
                       $fail_on, 'store-partial')""",
                    {"pid": pid, "sid": snapshot_id, "at": evaluated_at, **audit_row})
        con.register("new_results", results)
        con.execute("""
            INSERT INTO partial_rule_results SELECT $pid, $sid, rule_id, status, checked, failed, error,
                   CAST(params AS JSON), $at, title, severity, CAST(frameworks AS JSON), note
            FROM new_results""", {"pid": pid, "sid": snapshot_id, "at": evaluated_at})
        con.unregister("new_results")
        _stage_engine_findings(con, [f for f in findings if f.rule_id in ENGINE_RULE_IDS])
        con.register("audit_marks", marks)
        con.register("partial_seen", seen)
        con.execute(f"""
            INSERT INTO partial_findings
            SELECT $pid, a.fingerprint, a.rule_id, r.title, r.severity, COALESCE(m.status, 'fail'), a.family,
                   a.resource_id, a.resource_name, a.message, a.evidence, r.frameworks, $sid,
                   CAST(e.first_seen AS TIMESTAMPTZ), CAST(m.waiver AS JSON)
            FROM {STAGE} a
            JOIN partial_rule_results r ON r.partial_id = $pid AND r.rule_id = a.rule_id
            LEFT JOIN audit_marks m ON m.fingerprint = a.fingerprint
            LEFT JOIN partial_seen e ON e.fingerprint = a.fingerprint""", {"pid": pid, "sid": snapshot_id})
        con.unregister("audit_marks")
        con.unregister("partial_seen")
    return int(pid)


def _stage_engine_findings(con: duckdb.DuckDBPyConnection, findings: list[Finding]) -> None:
    if not findings:
        return
    frame = pd.DataFrame([(f.rule_id, SEVERITY_RANK[f.severity], f.fingerprint, f.resource_id, f.resource_name,
                           f.message, f.identity, f.family, f.evidence_json) for f in findings],
                         columns=list(_STAGE_COLUMNS))
    con.register("engine_rows", frame)
    con.execute(f"INSERT INTO {STAGE} SELECT * FROM engine_rows")
    con.unregister("engine_rows")


def fill_first_seen(con: duckdb.DuckDBPyConnection, snapshot_id: int, taken_at: datetime,
                    findings: list[Finding]) -> None:
    """Set each finding's ``first_seen``: the earliest taken_at of another stored snapshot holding
    its fingerprint, when earlier than this one's; else this snapshot's taken_at. Leaves the
    earlier dates in the temporary table ``audit_seen`` for :func:`save`."""
    con.execute("CREATE OR REPLACE TEMP TABLE audit_seen (fingerprint VARCHAR, first_seen TIMESTAMPTZ)")
    if findings:
        con.execute(f"""
            INSERT INTO audit_seen
            SELECT f.fingerprint, min(s.taken_at) FROM findings f JOIN snapshots s ON s.id = f.snapshot_id
            WHERE f.snapshot_id <> ? AND s.taken_at < ? AND f.fingerprint IN (SELECT fingerprint FROM {STAGE})
            GROUP BY f.fingerprint""", [snapshot_id, taken_at])
    earlier = dict(con.execute("SELECT fingerprint, first_seen FROM audit_seen").fetchall())
    for f in findings:
        f.first_seen = earlier.get(f.fingerprint, taken_at)
