"""Finding lifecycle across stored snapshots: when each finding was first seen, last seen and
resolved, and per severity the open count and the mean time to resolve.

Views (created in every database that has the findings tables; names in README):

* ``finding_episodes`` - one row per uninterrupted run of a finding: ``opened_at`` (first
  snapshot holding it), ``last_seen``, ``resolved_at`` (the first later snapshot in which its rule
  was evaluated and the finding was gone; NULL while open), ``snapshots``;
* ``finding_lifecycle`` - one row per fingerprint: ``first_seen``, ``last_seen``, ``resolved_at``
  (of the latest episode; NULL while open), ``state`` (open / waived / resolved), ``episodes``,
  ``snapshots``, and the latest rule id, title, severity, family, resource id and name.

Only snapshots in which the finding's rule was evaluated (``pass`` or ``fail``) count: a snapshot
that was not audited, or in which the rule was ``error`` (its families not collected), neither
resolves nor interrupts a finding.

    from gwaudit.lifecycle import lifecycle_figures
    lifecycle_figures("gwaudit.duckdb", start="2026-07-01", end="2026-09-30")
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from . import store as _store
from .errors import UsageError
from .output import jsonable
from .store import Store, resolve_snapshot, snapshot_info
from .timeutil import parse_date_or_ts

SEVERITIES = ("critical", "high", "medium", "low", "info")


def _episodes_sql(cutoff: str) -> str:
    """The episodes of every finding among snapshots taken at or before ``cutoff`` (SQL)."""
    return f"""
    WITH ev AS (
        SELECT r.rule_id, r.snapshot_id, s.taken_at
        FROM rule_results r JOIN snapshots s ON s.id = r.snapshot_id
        WHERE r.status IN ('pass', 'fail') AND s.taken_at <= {cutoff}),
    f AS (
        SELECT f.fingerprint, f.rule_id, f.snapshot_id, s.taken_at
        FROM findings f JOIN snapshots s ON s.id = f.snapshot_id
        WHERE s.taken_at <= {cutoff}),
    fp AS (SELECT fingerprint, min(rule_id) AS rule_id, min(taken_at) AS first_at FROM f GROUP BY fingerprint),
    grid AS (
        SELECT fp.fingerprint, ev.snapshot_id, ev.taken_at, f.fingerprint IS NOT NULL AS present
        FROM fp JOIN ev ON ev.rule_id = fp.rule_id AND ev.taken_at >= fp.first_at
        LEFT JOIN f ON f.fingerprint = fp.fingerprint AND f.snapshot_id = ev.snapshot_id
        UNION ALL  -- a finding in a snapshot without a rule result still counts as seen there
        SELECT f.fingerprint, f.snapshot_id, f.taken_at, TRUE FROM f
        WHERE NOT EXISTS (SELECT 1 FROM ev WHERE ev.rule_id = f.rule_id AND ev.snapshot_id = f.snapshot_id)),
    numbered AS (
        SELECT *, row_number() OVER (PARTITION BY fingerprint ORDER BY taken_at, snapshot_id)
                  - row_number() OVER (PARTITION BY fingerprint, present ORDER BY taken_at, snapshot_id) AS run
        FROM grid),
    runs AS (
        SELECT fingerprint, run, min(taken_at) AS opened_at, max(taken_at) AS last_seen, count(*) AS snapshots
        FROM numbered WHERE present GROUP BY fingerprint, run),
    episodes AS (
        SELECT r.fingerprint, r.opened_at, r.last_seen,
               (SELECT min(g.taken_at) FROM grid g
                WHERE g.fingerprint = r.fingerprint AND NOT g.present AND g.taken_at > r.last_seen) AS resolved_at,
               r.snapshots
        FROM runs r),
    latest AS (
        SELECT f.fingerprint, arg_max(f.rule_id, s.taken_at) AS rule_id, arg_max(f.title, s.taken_at) AS title,
               arg_max(f.severity, s.taken_at) AS severity, arg_max(f.family, s.taken_at) AS family,
               arg_max(f.resource_id, s.taken_at) AS resource_id,
               arg_max(f.resource_name, s.taken_at) AS resource_name, arg_max(f.status, s.taken_at) AS status,
               min(f.first_seen) AS recorded_first_seen
        FROM findings f JOIN snapshots s ON s.id = f.snapshot_id
        WHERE s.taken_at <= {cutoff}
        GROUP BY f.fingerprint)
    SELECT e.fingerprint, l.rule_id, l.title, l.severity, l.family, l.resource_id, l.resource_name,
           l.status AS last_status, l.recorded_first_seen, e.opened_at, e.last_seen, e.resolved_at, e.snapshots
    FROM episodes e JOIN latest l USING (fingerprint)"""


def _lifecycle_sql(episodes: str) -> str:
    return f"""
    SELECT fingerprint, any_value(rule_id) AS rule_id, any_value(title) AS title, any_value(severity) AS severity,
           any_value(family) AS family, any_value(resource_id) AS resource_id,
           any_value(resource_name) AS resource_name,
           least(min(opened_at), min(recorded_first_seen)) AS first_seen,
           max(last_seen) AS last_seen,
           max({{'opened': opened_at, 'resolved': resolved_at}}).resolved AS resolved_at,  -- of the latest episode
           CASE WHEN max({{'opened': opened_at, 'resolved': resolved_at}}).resolved IS NOT NULL THEN 'resolved'
                WHEN any_value(last_status) = 'waived' THEN 'waived' ELSE 'open' END AS state,
           count(*) AS episodes, sum(snapshots) AS snapshots
    FROM ({episodes}) e
    GROUP BY fingerprint"""


_INFINITY = "CAST('infinity' AS TIMESTAMPTZ)"
_VIEWS = {
    "finding_episodes": _episodes_sql(_INFINITY),
    "finding_lifecycle": _lifecycle_sql("SELECT * FROM finding_episodes"),
}
_VIEWS_KEY = hashlib.sha256(repr(sorted(_VIEWS.items())).encode()).hexdigest()


def has_findings(con: duckdb.DuckDBPyConnection) -> bool:
    return con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'main' "
                       "AND table_name IN ('findings', 'rule_results')").fetchone()[0] == 2


def migrate(con: duckdb.DuckDBPyConnection) -> None:
    """Create (or update) the lifecycle views once the findings tables exist (run on every writer
    open, after the rule engine's own migration)."""
    if not has_findings(con):
        return
    stored = con.execute("SELECT value FROM gwaudit_meta WHERE key = 'lifecycle_views'").fetchone()
    present = con.execute("SELECT count(*) FROM duckdb_views() WHERE NOT internal AND schema_name = 'main' "
                          "AND view_name IN ('finding_episodes', 'finding_lifecycle')").fetchone()[0]
    if stored is not None and stored[0] == _VIEWS_KEY and present == len(_VIEWS):
        return
    for name, sql in _VIEWS.items():
        con.execute(f"CREATE OR REPLACE VIEW {name} AS {sql}")
    con.execute("INSERT OR REPLACE INTO gwaudit_meta VALUES ('lifecycle_views', ?)", [_VIEWS_KEY])


if migrate not in _store.EXTRA_MIGRATIONS:
    _store.EXTRA_MIGRATIONS.append(migrate)


# ---------------------------------------------------------------- figures for reports

@dataclass
class LifecycleFigures:
    snapshot: dict[str, Any] | None
    """The audited snapshot the open counts are taken from (the last one at or before ``end``)."""
    start: datetime | None
    end: datetime | None
    by_severity: dict[str, dict[str, Any]] = field(default_factory=dict)
    total: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return jsonable({"snapshot": self.snapshot, "start": self.start, "end": self.end,
                         "by_severity": self.by_severity, "total": self.total})


def lifecycle_figures(db: Path | str | duckdb.DuckDBPyConnection, *, snapshot: str | int | None = None,
                      start: datetime | str | None = None, end: datetime | str | None = None,
                      wait: float = 30.0) -> LifecycleFigures:
    """Per severity: ``open`` and ``waived`` (findings of the reference snapshot), ``opened`` and
    ``resolved`` (episodes that began / were resolved in the period), ``mean_days_to_resolve``
    (over the episodes resolved in the period; None if none), ``oldest_open_days``.

    The reference snapshot is ``snapshot`` if given, else the last audited snapshot taken at or
    before ``end`` (default: the latest audited one). The period runs from ``start`` (default: the
    beginning) to that snapshot's ``taken_at``; only snapshots up to it are considered, so the
    figures for a past quarter do not change when later snapshots are added.
    """
    if isinstance(db, duckdb.DuckDBPyConnection):
        return _figures(db, snapshot, start, end)
    with Store(db, wait=wait).reader() as con:
        return _figures(con, snapshot, start, end)


def _when(value: datetime | str | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    try:
        return parse_date_or_ts(value)
    except ValueError:
        raise UsageError(f"{value!r} is not a date or timestamp", hint="use e.g. 2026-09-30") from None


def _figures(con: duckdb.DuckDBPyConnection, snapshot: str | int | None, start: Any, end: Any) -> LifecycleFigures:
    start, end = _when(start), _when(end)
    empty = {s: {"open": 0, "waived": 0, "opened": 0, "resolved": 0, "mean_days_to_resolve": None,
                 "oldest_open_days": None} for s in SEVERITIES}
    if not has_findings(con):
        return LifecycleFigures(None, start, end, empty, _total(empty))
    if snapshot is not None:
        sid = resolve_snapshot(con, snapshot)
    else:
        row = con.execute("""SELECT s.id FROM snapshots s WHERE s.id IN (SELECT snapshot_id FROM rule_results)
                             AND ($end IS NULL OR s.taken_at <= $end) ORDER BY s.taken_at DESC, s.id DESC LIMIT 1""",
                          {"end": end}).fetchone()
        if row is None:
            return LifecycleFigures(None, start, end, empty, _total(empty))
        sid = row[0]
    info = snapshot_info(con, sid)
    cutoff = info["taken_at"]
    params = {"cutoff": cutoff, "start": start, "sid": sid}
    episodes = _episodes_sql("$cutoff")
    out = {s: dict(v) for s, v in empty.items()}
    for sev, status, n, oldest in con.execute("""
            SELECT severity, status, count(*), max(date_diff('second', first_seen, $cutoff)) / 86400.0
            FROM findings WHERE snapshot_id = $sid GROUP BY ALL""", {"sid": sid, "cutoff": cutoff}).fetchall():
        if sev in out:
            out[sev]["open" if status == "fail" else "waived"] += n
            if status == "fail":
                out[sev]["oldest_open_days"] = round(oldest, 2) if oldest is not None else None
    for sev, opened, resolved, mean_days in con.execute(f"""
            WITH e AS ({episodes})
            SELECT severity,
                   count(*) FILTER (WHERE $start IS NULL OR opened_at >= $start),
                   count(*) FILTER (WHERE resolved_at IS NOT NULL AND ($start IS NULL OR resolved_at >= $start)),
                   avg(date_diff('second', opened_at, resolved_at) / 86400.0)
                       FILTER (WHERE resolved_at IS NOT NULL AND ($start IS NULL OR resolved_at >= $start))
            FROM e GROUP BY severity""", {k: params[k] for k in ("cutoff", "start")}).fetchall():
        if sev in out:
            out[sev].update(opened=opened, resolved=resolved,
                            mean_days_to_resolve=round(mean_days, 2) if mean_days is not None else None)
    return LifecycleFigures(jsonable(info), start, cutoff, out, _total(out))


def _total(by: dict[str, dict[str, Any]]) -> dict[str, Any]:
    total: dict[str, Any] = {k: sum(v[k] for v in by.values()) for k in ("open", "waived", "opened", "resolved")}
    weighted = [(v["mean_days_to_resolve"], v["resolved"]) for v in by.values()
                if v["mean_days_to_resolve"] is not None]
    n = sum(w for _m, w in weighted)
    total["mean_days_to_resolve"] = round(sum(m * w for m, w in weighted) / n, 2) if n else None
    ages = [v["oldest_open_days"] for v in by.values() if v["oldest_open_days"] is not None]
    total["oldest_open_days"] = max(ages) if ages else None
    return total
