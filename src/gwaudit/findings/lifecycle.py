"""Finding lifecycle over a period: per severity the open count, the findings opened and
resolved, the mean time to resolve and the oldest open finding.

The figures come from the episodes of :mod:`gwaudit.findings.views` (``finding_episodes``, one
row per uninterrupted run of a finding; ``finding_lifecycle``, one row per fingerprint), which
count only the snapshots in which the finding's rule was evaluated.

    from gwaudit.findings.lifecycle import lifecycle_figures
    lifecycle_figures(db, start="2026-07-01", end="2026-09-30")
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from ..db import Database, resolve_snapshot, snapshot_info
from ..errors import UsageError
from ..output import jsonable
from ..severity import SEVERITIES
from ..timeutil import parse_date_or_ts
from .views import episodes_sql


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


def lifecycle_figures(db: Database | Path | str | duckdb.DuckDBPyConnection, *, snapshot: str | int | None = None,
                      start: datetime | str | None = None, end: datetime | str | None = None) -> LifecycleFigures:
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
    with Database.of(db).reader() as con:
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
    episodes = episodes_sql("$cutoff")
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
