"""The questions the ``access`` and ``exposure`` commands, ``diff`` and the reports ask of the
access and exposure views, on any stored snapshot."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from contextlib import contextmanager

import duckdb

from ..db import Database, resolve_snapshot, scope_to_snapshot
from ..db.interrupt import interruptible
from ..errors import UsageError
from ..semantics import materialize, scope_previous
from ..sqlquery import QueryResult

ACCESS_COLUMNS = ("principal", "principal_name", "key_state", "model", "model_kind", "decision", "decided_by",
                  "routes_allowed", "via_slots")
EXPOSURE_COLUMNS = ("principal", "principal_name", "key_state", "currency", "exposure_1h", "binding_1h",
                    "exposure_24h", "binding_24h", "period_hours", "exposure_period", "binding_period",
                    "unbounded", "priciest_model", "max_price_per_million", "unpriced_model")
KEY_TYPES = ("api_key", "user_key")


@contextmanager
def snapshot_connection(db: Database | Path | str, snapshot: str | int | None = None,
                        previous: str | int | None = None, reads: tuple[str, ...] = ()
                        ) -> Iterator[duckdb.DuckDBPyConnection]:
    """A sandboxed reader on which the family names and concepts show ``snapshot`` (and the
    ``prev_`` ones ``previous``, when given); the concepts ``reads`` names are computed once
    (:func:`gwaudit.semantics.materialize`)."""
    with Database.of(db).reader(sandboxed=True) as con:
        sid = resolve_snapshot(con, snapshot)
        scope_to_snapshot(con, sid)
        if previous is not None:
            scope_to_snapshot(con, resolve_snapshot(con, previous), prefix="prev_")
            scope_previous(con)
        interruptible(con, lambda: materialize(con, reads))
        yield con


def _result(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> QueryResult:
    def run() -> QueryResult:
        cur = con.execute(sql, params)
        return QueryResult([d[0] for d in cur.description], [str(d[1]) for d in cur.description], cur.fetchall())
    return interruptible(con, run)


def _principal_filter(principal: str | None, alias: str = "") -> tuple[str, list[Any]]:
    if principal is None:
        return "", []
    a = alias + "." if alias else ""
    return (f" AND (lower({a}principal) = lower(?) OR lower({a}principal_key) = lower(?) "
            f"OR lower({a}principal_name) = lower(?))"), [principal] * 3


def access(db: Database | Path | str, *, principal: str | None = None, model: str | None = None,
           decision: str | None = None, include_keys: bool = False,
           snapshot: str | int | None = None) -> QueryResult:
    """Cells of the access matrix: ``principal`` (``group:platform``, ``org``, a key's id or name),
    ``model``, ``decision`` (allow|deny) filter; keys are listed when ``principal`` names one or
    ``include_keys``."""
    if decision is not None and decision not in ("allow", "deny"):
        raise UsageError(f"--decision {decision}: expected allow or deny")
    where, params = _principal_filter(principal)
    if principal is None and not include_keys:
        where += f" AND principal_type NOT IN {KEY_TYPES}"
    if model is not None:
        where += " AND model = ?"
        params.append(model)
    if decision is not None:
        where += " AND decision = ?"
        params.append(decision)
    with snapshot_connection(db, snapshot, reads=("access_matrix", "access_principals")) as con:
        result = _result(con, f"SELECT {', '.join(ACCESS_COLUMNS)} FROM access_matrix WHERE true{where} "
                              "ORDER BY principal_type, principal, model", params)
        if principal is not None and not result.rows:
            known = con.execute("SELECT count(*) FROM (SELECT principal_type || CASE WHEN principal_key = '' "
                                "THEN '' ELSE ':' || principal_key END AS principal, principal_key, principal_name "
                                "FROM access_principals) WHERE true"
                                + _principal_filter(principal)[0], [principal] * 3).fetchone()[0]
            if not known:
                raise UsageError(f"--principal {principal}: no such principal in the snapshot",
                                 hint="name one as type:key (org, group:platform, role:intern, api_key:<id>) "
                                      "or a key's id or name; gwaudit access lists the scopes")
    return result


def exposure(db: Database | Path | str, *, top: int | None = None, principal: str | None = None,
             active_only: bool = True, snapshot: str | int | None = None) -> QueryResult:
    """Worst-case spend, largest first (unbounded first): every principal, keys only when active
    (unless ``active_only`` is false), ``top`` rows."""
    where, params = _principal_filter(principal)
    if active_only:
        where += " AND (key_state IS NULL OR key_state = 'active')"
    limit = f" LIMIT {int(top)}" if top is not None else ""
    with snapshot_connection(db, snapshot, reads=("spend_exposure",)) as con:
        return _result(con, f"SELECT {', '.join(EXPOSURE_COLUMNS)} FROM spend_exposure WHERE true{where} "
                            "ORDER BY unbounded DESC, exposure_24h DESC NULLS LAST, max_price_per_million DESC, "
                            f"principal{limit}", params)


# ---------------------------------------------------------------- drift between two snapshots

DRIFT_SQL = """
WITH pairs AS (
    SELECT n.principal_type, n.principal_key, o.signature AS old_sig, n.signature AS new_sig
    FROM {n}access_signatures n JOIN {o}access_signatures o USING (principal_type, principal_key)
),
sig_pairs AS (SELECT DISTINCT old_sig, new_sig FROM pairs),
changed AS (
    SELECT sp.old_sig, sp.new_sig, coalesce(n.model, o.model) AS model,
           CASE WHEN n.decision = 'allow' THEN 'gained' ELSE 'lost' END AS change,
           coalesce(o.decided_by, 'not addressable') AS old_decided_by,
           coalesce(n.decided_by, 'not addressable') AS new_decided_by
    FROM sig_pairs sp
    JOIN {n}access_signature_decisions n ON n.signature = sp.new_sig
    FULL JOIN {o}access_signature_decisions o ON o.signature = sp.old_sig AND o.model = n.model
    WHERE (n.decision = 'allow') IS DISTINCT FROM (o.decision = 'allow')
      AND (n.decision = 'allow' OR o.decision = 'allow')
)
SELECT p.principal_type, p.principal_type || CASE WHEN p.principal_key = '' THEN '' ELSE ':' || p.principal_key END
         AS principal,
       np.principal_name, c.model, c.change, c.old_decided_by, c.new_decided_by
FROM pairs p JOIN changed c ON c.old_sig = p.old_sig AND c.new_sig = p.new_sig
JOIN {n}access_principals np ON np.principal_type = p.principal_type AND np.principal_key = p.principal_key
JOIN {o}access_principals op ON op.principal_type = p.principal_type AND op.principal_key = p.principal_key
WHERE np.key_state IS NULL OR np.key_state = 'active' OR op.key_state = 'active'
ORDER BY p.principal_type, principal, c.model
"""
"""Principals in both snapshots whose decision for a model changed; keys only while active on
either side. A principal in one snapshot only is not listed: it appears or disappears with its
key or scope, which the resource diff shows. ``{n}``/``{o}``: prefixes of the new and old views."""

_NEW, _OLD = "acc_new_", "acc_old_"


def scope_concepts(con: duckdb.DuckDBPyConnection, sid: int, prefix: str, reads: tuple[str, ...] = ()) -> None:
    """Temporary ``<prefix><family>`` and ``<prefix><concept>`` views showing snapshot ``sid``,
    shadowing nothing (the caller's plain names keep their meaning); the concepts the SQL in
    ``reads`` names are computed once (:func:`gwaudit.semantics.materialize`)."""
    from ..db.sql import ident
    from ..semantics import CONCEPTS

    scope_to_snapshot(con, sid, prefix=prefix)
    for c in CONCEPTS:
        con.execute(f"CREATE OR REPLACE TEMP VIEW {ident(prefix + c.name)} AS {c.render(prefix)}")
    materialize(con, reads, prefix)


@dataclass
class AccessDrift:
    """Principals that gained or lost models between two snapshots, and what decided each side."""
    rows: list[dict[str, Any]] = field(default_factory=list)
    status: str = "compared"

    @property
    def gained(self) -> list[dict[str, Any]]:
        return [r for r in self.rows if r["change"] == "gained"]

    @property
    def lost(self) -> list[dict[str, Any]]:
        return [r for r in self.rows if r["change"] == "lost"]

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "changes": self.rows}

    def summary(self) -> list[dict[str, Any]]:
        """One line per (change, model, what decides now, what decided before): the scopes by
        name (org, group:x, ...) and how many keys."""
        groups: dict[tuple, dict[str, Any]] = {}
        for r in self.rows:
            k = (r["change"], r["model"], r["new_decided_by"], r["old_decided_by"])
            g = groups.setdefault(k, {"change": k[0], "model": k[1], "new_decided_by": k[2],
                                      "old_decided_by": k[3], "scopes": [], "keys": 0})
            if r["principal_type"] in KEY_TYPES:
                g["keys"] += 1
            else:
                g["scopes"].append(r["principal"])
        return sorted(groups.values(), key=lambda g: (g["change"], g["model"], g["new_decided_by"]))


def access_drift_on(con: duckdb.DuckDBPyConnection, old_id: int, new_id: int) -> AccessDrift:
    """Access drift from snapshot ``old_id`` to ``new_id`` on any connection (see DRIFT_SQL)."""
    scope_concepts(con, new_id, _NEW, (DRIFT_SQL.format(n=_NEW, o=_OLD),))
    scope_concepts(con, old_id, _OLD, (DRIFT_SQL.format(n=_NEW, o=_OLD),))
    cur = con.execute(DRIFT_SQL.format(n=_NEW, o=_OLD))
    cols = [d[0] for d in cur.description]
    rows = [dict(zip(cols, r)) for r in cur.fetchall()]
    for r in rows:
        r["cause"] = (f"now allowed by {r['new_decided_by']} (was denied by {r['old_decided_by']})"
                      if r["change"] == "gained" else
                      f"now denied by {r['new_decided_by']} (was allowed by {r['old_decided_by']})")
    return AccessDrift(rows)


def access_drift(db: Database | Path | str, old: str | int, new: str | int) -> AccessDrift:
    with Database.of(db).reader(sandboxed=True) as con:
        return access_drift_on(con, resolve_snapshot(con, old), resolve_snapshot(con, new))


def top_exposures_on(con: duckdb.DuckDBPyConnection, sid: int, n: int = 10) -> list[dict[str, Any]]:
    """The ``n`` largest exposures of snapshot ``sid`` (unbounded first; keys only when active),
    on any connection (temporary prefixed views, as for drift)."""
    prefix = "acc_rep_"
    scope_concepts(con, sid, prefix, (prefix + "spend_exposure",))
    cur = con.execute(f"SELECT {', '.join(EXPOSURE_COLUMNS)} FROM {prefix}spend_exposure "
                      "WHERE key_state IS NULL OR key_state = 'active' "
                      "ORDER BY unbounded DESC, exposure_24h DESC NULLS LAST, max_price_per_million DESC, principal "
                      f"LIMIT {int(n)}")
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]
