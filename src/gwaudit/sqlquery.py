"""Read-only SQL over the database (``gwaudit sql``), for people and for scripts.

    from gwaudit.sqlquery import run_query, render
    result = run_query(db, "SELECT rule_id, evidence FROM latest_findings")
    print(render(result, "json"))          # evidence as JSON, not a string

One statement per call: a query runs on a read-only, sandboxed connection (no file, network or
extension access, no setting can change), and only statements that read (SELECT and its forms
SHOW / DESCRIBE / SUMMARIZE / FROM-first / VALUES, EXPLAIN, PRAGMA) are accepted. Several
statements are refused rather than silently showing the last result.

Formats (:data:`FORMATS`): ``table`` (aligned; fitted to ``width`` columns, cutting the widest
cells with an ellipsis, when a width is given - the command line gives the terminal's on a
terminal and none when piped, so nothing is ever cut in a pipe), ``csv``, ``json`` (one array),
``jsonl`` (one object per line) and ``markdown``. Columns of DuckDB type JSON are JSON values in
``json`` and ``jsonl``, not strings.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Callable, Sequence

import duckdb

from .db import Database
from .db.interrupt import interruptible
from .errors import UsageError
from .output import cell, csv_text, escape_bidi, jsonable, terminal_text

FORMATS = ("table", "csv", "json", "jsonl", "markdown")

# Statement types a read-only query may use; everything else is refused before it runs.
_ALLOWED = {"SELECT", "EXPLAIN", "PRAGMA"}
_READ_HINT = "README lists the tables and views; gwaudit sql \"SHOW TABLES\" too"


@dataclass
class QueryResult:
    columns: list[str]
    types: list[str]
    """DuckDB type of each column (``JSON``, ``VARCHAR``, ``TIMESTAMP WITH TIME ZONE``, ...)."""
    rows: list[tuple[Any, ...]]

    def records(self) -> list[dict[str, Any]]:
        """The rows as JSON-ready objects; JSON columns parsed."""
        parsers = [_json_parser(t) for t in self.types]
        return [{c: jsonable(p(v)) for c, p, v in zip(self.columns, parsers, row)} for row in self.rows]


def read_query(query: str | None, file: str | None, stdin: IO[str] | None = None) -> str:
    """The query text from the argument, ``-f FILE``, or standard input (``-`` for either)."""
    if query is not None and file is not None:
        raise UsageError("give the query as an argument or with -f FILE, not both")
    source = file if file is not None else query
    if source is None:
        raise UsageError("no query given", hint="gwaudit sql \"SELECT ...\", gwaudit sql -f query.sql, or "
                                                "gwaudit sql - < query.sql")
    if source == "-":
        return (stdin or sys.stdin).read()
    if file is None:
        return source
    try:
        return Path(file).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"-f {file}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"-f {file}: cannot read it ({getattr(exc, 'strerror', None) or exc})") from None


def run_query(db: Database | Path | str, query: str) -> QueryResult:
    """Run one read-only statement on a sandboxed connection (no other file read or written)."""
    with Database.of(db).reader(sandboxed=True) as con:
        return run_statement(con, query)


def run_statement(con: duckdb.DuckDBPyConnection, query: str, *, command: str = "gwaudit sql",
                  reads: str = "the database only", tables_hint: str = _READ_HINT) -> QueryResult:
    """Run ``query``, which must be one statement that reads, on ``con`` (a sandboxed connection:
    the database's, or the lake's for ``gwaudit fleet sql``). Anything else is a
    :class:`~gwaudit.errors.UsageError` naming ``command``; ``reads`` says what the connection may
    read, ``tables_hint`` where its tables are listed."""
    try:
        statements = con.extract_statements(query)
    except duckdb.Error as exc:
        raise UsageError(f"the query does not parse: {_first_line(exc)}") from None
    if not statements:
        raise UsageError("the query is empty")
    if len(statements) > 1:
        raise UsageError(f"{len(statements)} statements given; {command} runs one at a time",
                         hint=f"run each with its own {command}, or combine them into one SELECT "
                              "(UNION ALL, a WITH clause)")
    kind = statements[0].type.name
    if kind not in _ALLOWED:
        raise UsageError(f"{kind} statements are refused: {command} is read-only",
                         hint="query the views with SELECT; writes go through gwaudit commands")
    def run() -> tuple[list, list]:
        result = con.execute(statements[0].query)
        description = result.description or []
        return description, (result.fetchall() if description else [])

    try:
        description, rows = interruptible(con, run)
    except duckdb.Error as exc:
        if isinstance(exc, duckdb.PermissionException) or "configuration has been locked" in str(exc):
            raise UsageError(f"the query was refused: {_first_line(exc)}",
                             hint=f"{command} reads {reads}: no files, network, extensions or settings") from None
        raise UsageError(f"the query failed: {_first_line(exc)}", hint=tables_hint) from None
    return QueryResult([d[0] for d in description], [str(d[1]) for d in description], rows)


# ---------------------------------------------------------------- rendering

def render(result: QueryResult, fmt: str, *, width: int | None = None) -> str:
    """The result in ``fmt`` (:data:`FORMATS`); ``width`` fits a table to that many columns."""
    if fmt == "json":
        return json.dumps(result.records(), indent=2, ensure_ascii=False, default=str) + "\n"
    if fmt == "jsonl":
        return "".join(json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in result.records())
    if fmt == "csv":
        return csv_text(result.columns, result.rows)
    if fmt == "markdown":
        return markdown_table(result.columns, result.rows)
    if fmt == "table":
        return fitted_table(result.columns, result.rows, width=width) + "\n"
    raise UsageError(f"--format {fmt}: expected one of {', '.join(FORMATS)}")


def _json_parser(typ: str) -> Callable[[Any], Any]:
    def one(v: Any) -> Any:
        if not isinstance(v, str):
            return v
        try:
            return json.loads(v)
        except ValueError:
            return v

    if typ == "JSON":
        return one
    if typ == "JSON[]":
        return lambda v: [one(x) for x in v] if isinstance(v, list) else v
    return lambda v: v


def _text(value: Any) -> str:
    """A cell on one line: newlines and tabs shown as \\n and \\t, bidi and other control characters
    escaped (:func:`gwaudit.output.terminal_text`), nothing dropped."""
    return terminal_text(cell(value).replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t"))


def fitted_table(columns: Sequence[str], rows: Sequence[Sequence[Any]], *, width: int | None = None) -> str:
    """An aligned table. With ``width``, the widest columns are narrowed (cells cut with ``…``)
    until a line fits; without, nothing is cut."""
    body = [[_text(v) for v in row] for row in rows]
    heads = [_text(c) for c in columns]
    natural = [max([len(h)] + [len(r[i]) for r in body]) for i, h in enumerate(heads)]
    widths = natural if width is None else _fit(natural, width)

    def line(cells: Sequence[str]) -> str:
        return "  ".join(_clip(c, w).ljust(w) for c, w in zip(cells, widths)).rstrip()

    return "\n".join([line(heads), "  ".join("-" * w for w in widths)] + [line(r) for r in body])


def _fit(natural: list[int], width: int, floor: int = 8) -> list[int]:
    """Column widths no wider than ``natural`` whose line (with two-space gaps) fits ``width``:
    the widest columns give way first, none below ``floor`` (or its natural width)."""
    gaps = 2 * max(len(natural) - 1, 0)
    if sum(natural) + gaps <= width:
        return natural
    lo, hi = 1, max(natural)  # the largest cap that fits
    while lo < hi:
        cap = (lo + hi + 1) // 2
        if sum(min(w, max(cap, min(w, floor))) for w in natural) + gaps <= width:
            lo = cap
        else:
            hi = cap - 1
    return [min(w, max(lo, min(w, floor))) for w in natural]


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def markdown_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub-flavoured Markdown table (``|`` escaped, newlines as ``<br>``, bidi controls shown as
    ``\\u202e``), nothing cut."""
    def md(value: Any) -> str:
        text = escape_bidi(cell(value)).replace("\\", "\\\\").replace("|", "\\|")
        return text.replace("\r\n", "<br>").replace("\n", "<br>").replace("\r", "<br>")

    lines = ["| " + " | ".join(md(c) for c in columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(md(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
