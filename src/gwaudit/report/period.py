"""Which snapshots a report covers: one snapshot, a named period, or a date range.

* ``--snapshot ID`` (default ``latest``): that snapshot; changes since the one before it.
* ``--period 2026-Q3`` (also ``2026-08``, ``2026``) or ``--from DATE --to DATE``: the last
  *complete* snapshot taken in the period is audited (the last one at all, with a warning, when
  none is complete); changes are counted from the first snapshot of the period or, when that is
  the audited one, from the last snapshot taken before the period.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Optional

import duckdb

from ..errors import UsageError
from ..db import resolve_snapshot
from ..timeutil import UTC, parse_date_or_ts, parse_ts


@dataclass
class Selection:
    audited: int
    baseline: Optional[int]
    label: Optional[str] = None
    start: Optional[datetime] = None
    end: Optional[datetime] = None
    in_period: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def parse_period(text: str) -> tuple[datetime, datetime, str]:
    """``2026-Q3`` / ``2026-08`` / ``2026`` -> (start, end inclusive, label)."""
    t = text.strip().upper()
    m = re.fullmatch(r"(\d{4})-?Q([1-4])", t)
    if m:
        year, q = int(m.group(1)), int(m.group(2))
        start = date(year, 3 * q - 2, 1)
        end = date(year + (q == 4), 1 if q == 4 else 3 * q + 1, 1)
        label = f"{year}-Q{q}"
    elif re.fullmatch(r"\d{4}-\d{2}", t):
        year, month = int(t[:4]), int(t[5:])
        if not 1 <= month <= 12:
            raise UsageError(f"--period {text}: month {month} does not exist")
        start = date(year, month, 1)
        end = date(year + (month == 12), 1 if month == 12 else month + 1, 1)
        label = t
    elif re.fullmatch(r"\d{4}", t):
        start, end, label = date(int(t), 1, 1), date(int(t) + 1, 1, 1), t
    else:
        raise UsageError(f"--period {text}: expected a quarter (2026-Q3), a month (2026-08) or a year (2026)")
    return (datetime(start.year, start.month, start.day, tzinfo=UTC),
            datetime(end.year, end.month, end.day, tzinfo=UTC) - timedelta(microseconds=1), label)


def _start_of(text: str) -> datetime:
    text = text.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        d = date.fromisoformat(text)
        return datetime(d.year, d.month, d.day, tzinfo=UTC)
    return parse_ts(text)


def select(con: duckdb.DuckDBPyConnection, *, snapshot: Optional[str] = None, period: Optional[str] = None,
           date_from: Optional[str] = None, date_to: Optional[str] = None) -> Selection:
    ranged = period is not None or date_from is not None or date_to is not None
    if snapshot is not None and ranged:
        raise UsageError("give either --snapshot or a period (--period, --from/--to), not both")
    if period is not None and (date_from is not None or date_to is not None):
        raise UsageError("give either --period or --from/--to, not both")
    if not ranged:
        sid = resolve_snapshot(con, snapshot)
        prev = con.execute("""SELECT p.id FROM snapshots p, snapshots s WHERE s.id = ?
                              AND (p.taken_at < s.taken_at OR (p.taken_at = s.taken_at AND p.id < s.id))
                              ORDER BY p.taken_at DESC, p.id DESC LIMIT 1""", [sid]).fetchone()
        return Selection(audited=sid, baseline=prev[0] if prev else None, in_period=[sid])

    if period is not None:
        start, end, label = parse_period(period)
    else:
        try:
            start = _start_of(date_from) if date_from else datetime(1970, 1, 1, tzinfo=UTC)
            end = parse_date_or_ts(date_to) if date_to else datetime(9999, 12, 31, tzinfo=UTC)
        except ValueError as exc:
            raise UsageError(f"--from/--to: {exc}", hint="use dates like 2026-07-01 or RFC 3339 timestamps") from None
        if end < start:
            raise UsageError("--to is before --from")
        label = f"{date_from or 'start'} to {date_to or 'now'}"
    rows = con.execute("""SELECT id, status FROM snapshots WHERE taken_at BETWEEN ? AND ?
                          ORDER BY taken_at, id""", [start, end]).fetchall()
    if not rows:
        raise UsageError(f"no snapshot was taken in {label}",
                         hint="gwaudit snapshots lists what is stored; collect or import one first")
    ids = [r[0] for r in rows]
    notes = []
    complete = [r[0] for r in rows if r[1] == "complete"]
    if complete:
        audited = complete[-1]
    else:
        audited = ids[-1]
        notes.append(f"No complete snapshot was taken in {label}: the last one (#{audited}) is audited, "
                     "and it is incomplete.")
    baseline: Optional[int] = ids[0] if ids[0] != audited else None
    if baseline is None:
        before = con.execute("SELECT id FROM snapshots WHERE taken_at < ? ORDER BY taken_at DESC, id DESC LIMIT 1",
                             [start]).fetchone()
        baseline = before[0] if before else None
    return Selection(audited=audited, baseline=baseline, label=label, start=start,
                     end=end if end.year < 9999 else None, in_period=ids, notes=notes)
