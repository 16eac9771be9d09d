"""Read-only SQL over the database (``gwaudit sql``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from .errors import UsageError
from .db import Database

# Statement types a read-only query may use; everything else is refused before it runs.
_ALLOWED = {"SELECT", "EXPLAIN", "PRAGMA"}


@dataclass
class QueryResult:
    columns: list[str]
    rows: list[tuple[Any, ...]]


def run_query(db: Database | Path | str, query: str) -> QueryResult:
    """Run ``query`` on a read-only, sandboxed connection (no other files read or written).

    Several statements may be given; the result of the last one is returned.
    """
    with Database.of(db).reader(sandboxed=True) as con:
        try:
            statements = con.extract_statements(query)
        except duckdb.Error as exc:
            raise UsageError(f"the query does not parse: {_first_line(exc)}") from None
        if not statements:
            raise UsageError("the query is empty")
        for st in statements:
            kind = st.type.name
            if kind not in _ALLOWED:
                raise UsageError(f"{kind} statements are refused: gwaudit sql is read-only",
                                 hint="query the views with SELECT; writes go through gwaudit commands")
        result = None
        try:
            for st in statements:
                result = con.execute(st.query)
            assert result is not None
            columns = [d[0] for d in result.description or []]
            rows = result.fetchall() if result.description else []
        except duckdb.Error as exc:
            raise UsageError(f"the query failed: {_first_line(exc)}",
                             hint="README lists the tables and views; gwaudit sql \"SHOW TABLES\" too") from None
        return QueryResult(columns, rows)


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
