"""Questions about stored snapshots, asked on an open connection: which snapshot a reference
names (``latest``, ``previous``, an id, a date), what is recorded about it, and which families
it collected. :class:`gwaudit.db.Database` offers the same questions without a connection."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import duckdb

from ..errors import UsageError
from ..timeutil import parse_date_or_ts

SNAPSHOT_COLUMNS = ("id", "taken_at", "source", "status", "org_id", "base_url", "resource_count", "failed_families",
                    "manifest_sha256", "tool_version", "stored_at")


def list_snapshots(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Every snapshot, oldest first."""
    rows = con.execute(f"SELECT {', '.join(SNAPSHOT_COLUMNS)} FROM snapshots ORDER BY taken_at, id").fetchall()
    return [dict(zip(SNAPSHOT_COLUMNS, r)) for r in rows]


def resolve_snapshot(con: duckdb.DuckDBPyConnection, ref: str | int | None) -> int:
    """A snapshot id from ``latest``, ``previous``, an id, or a date (last taken on or before it)."""
    ref = "latest" if ref is None else str(ref).strip()
    ids = [r[0] for r in con.execute("SELECT id FROM snapshots ORDER BY taken_at DESC, id DESC").fetchall()]
    if not ids:
        raise UsageError("the database holds no snapshot yet",
                         hint="run gwaudit collect or gwaudit import first")
    if ref == "latest":
        return ids[0]
    if ref == "previous":
        if len(ids) < 2:
            raise UsageError("there is no previous snapshot (the database holds only one)")
        return ids[1]
    if ref.isdigit():
        if int(ref) not in ids:
            raise UsageError(f"no snapshot with id {ref}", hint="gwaudit snapshots lists them")
        return int(ref)
    try:
        when = parse_date_or_ts(ref)
    except ValueError:
        raise UsageError(f"{ref!r} is not a snapshot id, 'latest', 'previous' or a date",
                         hint="gwaudit snapshots lists the ids") from None
    row = con.execute("SELECT id FROM snapshots WHERE taken_at <= ? ORDER BY taken_at DESC, id DESC LIMIT 1",
                      [when]).fetchone()
    if row is None:
        raise UsageError(f"no snapshot was taken on or before {ref}")
    return int(row[0])


def previous_snapshot(con: duckdb.DuckDBPyConnection, sid: int) -> int | None:
    """The snapshot taken just before ``sid`` (ties broken by id), or None."""
    row = con.execute("""SELECT id FROM snapshots
                         WHERE taken_at < (SELECT taken_at FROM snapshots WHERE id = $sid)
                            OR (taken_at = (SELECT taken_at FROM snapshots WHERE id = $sid) AND id < $sid)
                         ORDER BY taken_at DESC, id DESC LIMIT 1""", {"sid": sid}).fetchone()
    return int(row[0]) if row else None


_INFO = ("id", "taken_at", "source", "base_url", "org_id", "status", "tool_version", "manifest_sha256",
         "resource_count", "failed_families")


def snapshot_info(con: duckdb.DuckDBPyConnection, sid: int) -> dict[str, Any]:
    row = con.execute(f"SELECT {', '.join(_INFO)} FROM snapshots WHERE id = ?", [sid]).fetchone()
    if row is None:
        raise UsageError(f"no snapshot with id {sid}", hint="gwaudit snapshots lists them")
    return dict(zip(_INFO, row))


def family_status(con: duckdb.DuckDBPyConnection, sid: int) -> dict[str, dict[str, Any]]:
    """Per family: collection ``status`` (ok/failed/unavailable), ``http_status``, ``error``,
    ``item_count``, ``request_count``, ``duration_ms``."""
    rows = con.execute("""SELECT family, status, http_status, error, item_count, request_count, duration_ms
                          FROM collection_status WHERE snapshot_id = ? ORDER BY family""", [sid]).fetchall()
    return {r[0]: {"status": r[1], "http_status": r[2], "error": r[3], "item_count": r[4],
                   "request_count": r[5], "duration_ms": r[6]} for r in rows}


def taken_at(con: duckdb.DuckDBPyConnection, sid: int) -> datetime:
    return con.execute("SELECT taken_at FROM snapshots WHERE id = ?", [sid]).fetchone()[0]
