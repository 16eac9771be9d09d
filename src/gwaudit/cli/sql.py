"""``gwaudit sql``: one read-only statement over the database."""

from __future__ import annotations

import sys

import click

from ..sqlquery import FORMATS as SQL_FORMATS
from .context import Ctx, pass_ctx


@click.command("sql")
@click.argument("query", required=False)
@click.option("-f", "--file", "file", metavar="FILE", help="Read the query from FILE (- for standard input).")
@click.option("--format", "fmt", type=click.Choice(list(SQL_FORMATS)), default="table",
              show_default=True, help="table fits the terminal (nothing is cut when piped); json/jsonl give "
                                      "JSON columns as JSON.")
@pass_ctx
def sql_cmd(c: Ctx, query: str | None, file: str | None, fmt: str) -> None:
    """Run one read-only SQL statement over the database (QUERY, -f FILE, or - for stdin).

    Views: one per family for the latest snapshot (api_keys, providers, ...), the same name
    with _history for every snapshot, findings and their views, changes, actors, waivers;
    README, "Querying with SQL", lists them. Writes, files, network and settings are refused.
    """
    import shutil

    from ..sqlquery import read_query, render, run_query

    result = run_query(c.db, read_query(query, file))
    width = shutil.get_terminal_size().columns if fmt == "table" and sys.stdout.isatty() else None
    click.echo(render(result, fmt, width=width), nl=False)
    if fmt == "table":
        c.echo(f"({len(result.rows)} row{'s' if len(result.rows) != 1 else ''})")
