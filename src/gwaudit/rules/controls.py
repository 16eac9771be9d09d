"""An audit's compliance matrix, stored with the audit (``control_results``).

The rows are exactly what :func:`gwaudit.frameworks.control_results` - the one definition of a
control's status - returns for the audit's rules against the active catalog, every SOC 2 category in
scope; the reports compute their matrix with the same function from the same stored rule results, so
``control_results`` and the compliance matrix give the same figures (a report scoped to fewer SOC 2
categories shows a subset of the rows).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import duckdb

from ..frameworks import active_catalog, control_results

COLUMNS = ("snapshot_id", "framework", "framework_heading", "control", "title", "status", "words", "rule_ids",
           "checks", "open_findings", "waived_findings", "not_evaluated", "skipped", "known", "withdrawn")


@dataclass
class Outcome:
    """An evaluated rule as the matrix reads it."""
    rule_id: str
    status: str
    open: int = 0
    waived: int = 0
    frameworks: Mapping[str, Sequence[str]] = field(default_factory=dict)


def rows(snapshot_id: int, outcomes: Iterable[Outcome]) -> list[list[Any]]:
    """The ``control_results`` rows of one audit."""
    out = []
    for fr in control_results(outcomes, active_catalog()):
        for r in fr.rows:
            out.append([snapshot_id, r.framework, fr.heading, r.control, r.title, r.status, r.words,
                        list(r.rule_ids), r.checks, r.open, r.waived, r.not_evaluated, r.skipped, r.known,
                        r.withdrawn])
    return out


def write(con: duckdb.DuckDBPyConnection, snapshot_id: int, outcomes: Iterable[Outcome]) -> None:
    """Replace the snapshot's rows (inside the audit's transaction)."""
    con.execute("DELETE FROM control_results WHERE snapshot_id = ?", [snapshot_id])
    data = rows(snapshot_id, outcomes)
    if data:
        con.executemany(f"INSERT INTO control_results VALUES ({', '.join('?' * len(COLUMNS))})", data)


def stored_outcomes(con: duckdb.DuckDBPyConnection, snapshot_id: int) -> list[Outcome]:
    """The outcomes of a stored audit, read back from ``rule_results`` and ``findings``."""
    counts = {(r, s): n for r, s, n in con.execute(
        "SELECT rule_id, status, count(*) FROM findings WHERE snapshot_id = ? GROUP BY ALL", [snapshot_id]).fetchall()}
    out = []
    for rule_id, status, frameworks in con.execute(
            "SELECT rule_id, status, frameworks FROM rule_results WHERE snapshot_id = ? ORDER BY rule_id",
            [snapshot_id]).fetchall():
        fw = json.loads(frameworks) if isinstance(frameworks, str) else (frameworks or {})
        out.append(Outcome(rule_id, status, counts.get((rule_id, "fail"), 0), counts.get((rule_id, "waived"), 0), fw))
    return out


def refill(con: duckdb.DuckDBPyConnection) -> int:
    """Fill ``control_results`` for every stored audit (a database from before the table); returns
    how many audits were filled."""
    ids = [r[0] for r in con.execute("SELECT DISTINCT snapshot_id FROM rule_results ORDER BY 1").fetchall()]
    for sid in ids:
        write(con, sid, stored_outcomes(con, sid))
    return len(ids)

