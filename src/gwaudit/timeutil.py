"""Timestamps: RFC 3339 in, aware UTC datetimes out."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

UTC = timezone.utc

_FRACTION = re.compile(r"(\.\d+)")
_LEAP_SECOND = re.compile(r"^(\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d):60(\.\d+)?")


def parse_ts(value: str | datetime) -> datetime:
    """Parse an RFC 3339 timestamp (``Z``, ``+00:00``, fractional seconds of any length, a leap
    second ``:60`` read as ``:59.999999``).

    A value without an offset is taken as UTC. Raises ``ValueError`` on anything else.
    """
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str):
        raise ValueError(f"not a timestamp: {value!r}")
    text = value.strip()
    # RFC 3339 allows a leap second (23:59:60); datetime does not: the last microsecond of its minute
    text = _LEAP_SECOND.sub(r"\1:59.999999", text)
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    # Python < 3.11 accepts only 3 or 6 fractional digits: normalise to 6.
    m = _FRACTION.search(text)
    if m:
        digits = m.group(1)[1:]
        text = text[: m.start()] + "." + (digits + "000000")[:6] + text[m.end():]
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not an RFC 3339 timestamp: {value!r}") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def format_ts(dt: datetime) -> str:
    """RFC 3339 with a ``Z`` suffix, seconds precision unless there are microseconds."""
    dt = dt.astimezone(UTC)
    if dt.microsecond:
        return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def utcnow() -> datetime:
    return datetime.now(UTC)


def parse_date_or_ts(value: str) -> datetime:
    """A date (``2026-09-30``: end of that day, UTC) or a full timestamp."""
    value = value.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        d = date.fromisoformat(value)
        return datetime(d.year, d.month, d.day, tzinfo=UTC) + timedelta(days=1) - timedelta(microseconds=1)
    return parse_ts(value)
