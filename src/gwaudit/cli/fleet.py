"""The lake's commands: ``gwaudit export --lake DIR`` and ``gwaudit fleet sql|report|audit``.

Added to the main group by :func:`register` (called once by :mod:`gwaudit.cli`); like every
command, each parses its options, calls one library function (:mod:`gwaudit.lake`) and prints.
The context object is the main group's ``Ctx`` (``pass_obj``).
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import click

from ..sqlquery import FORMATS as SQL_FORMATS

_LAKE_HELP = "The lake: a folder, or a URI pyarrow opens (s3://bucket/lake) [config lake.dir]."


def _lake(c: Any, lake: str | None) -> str:
    from ..errors import UsageError

    value = lake or c.config.lake.dir
    if not value:
        raise UsageError("no lake given", hint="--lake DIR, or dir in the configuration's [lake] table")
    return value


@click.command("export")
@click.option("--lake", "lake", metavar="DIR", help=_LAKE_HELP)
@click.option("--org", "org_id", metavar="ID", help="The org's id, when its snapshots do not name one "
                                                    "[config lake.org_id].")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Output format; json goes to stdout alone.")
@click.pass_obj
def export_cmd(c: Any, lake: str | None, org_id: str | None, fmt: str) -> None:
    """Write the database's snapshots, audits, findings, changes and control results to a
    Parquet lake, partitioned by org_id and snapshot date (docs/lake.md).

    Re-exporting writes only partitions whose snapshots or audits changed; each partition is
    written aside and renamed into place, so a crash never leaves half of one.
    """
    from ..lake import export

    result = export(c.db, _lake(c, lake), org_id=org_id or c.config.lake.org_id)
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        click.echo(result.summary())


@click.group("fleet")
def fleet_cmd() -> None:
    """Many organisations in one lake: query, report and audit them together (docs/lake.md)."""


@fleet_cmd.command("sql")
@click.argument("query", required=False)
@click.option("--lake", "lake", metavar="DIR", help=_LAKE_HELP)
@click.option("-f", "--file", "file", metavar="FILE", help="Read the query from FILE (- for standard input).")
@click.option("--format", "fmt", type=click.Choice(list(SQL_FORMATS)), default="table", show_default=True,
              help="As gwaudit sql's.")
@click.pass_obj
def fleet_sql_cmd(c: Any, query: str | None, lake: str | None, file: str | None, fmt: str) -> None:
    """Run one read-only SQL statement over every org in the lake.

    Tables as in an org's database plus org_id and date on every row: snapshots, findings,
    rule_results, audits, changes, control_results, fleet_findings, one view per family (each
    org's latest snapshot) and <family>_history; views latest_snapshots, latest_findings,
    fleet_latest_findings. Writes, other files, network and settings are refused.
    """
    from ..lake.fleet import run_fleet_query
    from ..sqlquery import read_query, render

    result = run_fleet_query(_lake(c, lake), read_query(query, file))
    width = shutil.get_terminal_size().columns if fmt == "table" and sys.stdout.isatty() else None
    click.echo(render(result, fmt, width=width), nl=False)
    if fmt == "table":
        c.echo(f"({len(result.rows)} row{'s' if len(result.rows) != 1 else ''})")


@fleet_cmd.command("audit")
@click.option("--lake", "lake", metavar="DIR", help=_LAKE_HELP)
@click.option("--engine", type=click.Choice(["duckdb", "spark"]), default="duckdb", show_default=True,
              help="duckdb: this process; spark: a Spark cluster, one org per task (pip install 'gwaudit[spark]').")
@click.option("--master", default="local[*]", show_default=True, help="Spark master URL (with --engine spark).")
@click.option("--rules-dir", "rules_dirs", multiple=True, type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="Extra folder of rule files (repeatable) [config rules.dirs].")
@click.option("--org", "orgs", multiple=True, metavar="ID", help="Audit only this org (repeatable) [all].")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Output format; json goes to stdout alone.")
@click.pass_obj
def fleet_audit_cmd(c: Any, lake: str | None, engine: str, master: str, rules_dirs: tuple[Path, ...],
                    orgs: tuple[str, ...], fmt: str) -> None:
    """Evaluate the rule catalog on every org's latest snapshot in the lake and write the findings
    to the lake (fleet_findings, fleet_rule_results).

    The rules run unchanged, each org in its own DuckDB, so the fingerprints equal those of
    gwaudit audit on the org's own database. Exit 4 when an org could not be audited.
    """
    from ..lake.audit import fleet_audit

    result = fleet_audit(_lake(c, lake), engine=engine, master=master,
                         rules_dirs=[*c.config.rules.dirs, *rules_dirs], orgs=orgs, progress=c.echo)
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        click.echo(result.summary())
    if result.exit_code:
        raise click.exceptions.Exit(result.exit_code)


@fleet_cmd.command("report")
@click.option("--lake", "lake", metavar="DIR", help=_LAKE_HELP)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("reports"),
              show_default=True, help="Folder for the report files.")
@click.option("--format", "formats", type=click.Choice(["html", "pdf"]), multiple=True,
              help="html and/or pdf (repeatable) [both].")
@click.option("--stale-days", type=click.FloatRange(min=0), default=2.0, show_default=True,
              help="An org whose last complete snapshot is older than this many days is stale.")
@click.pass_obj
def fleet_report_cmd(c: Any, lake: str | None, out_dir: Path, formats: tuple[str, ...], stale_days: float) -> None:
    """One HTML (and PDF) report for the fleet: each org's posture and trend, the rules failing
    in most orgs, the worst exposures, and the orgs whose last complete snapshot is too old."""
    from ..lake.report import fleet_report

    paths = fleet_report(_lake(c, lake), out_dir, formats=list(formats) or ["html", "pdf"], stale_days=stale_days)
    for p in paths:
        click.echo(str(p))


def register(group: click.Group) -> None:
    """Add ``export`` and ``fleet`` to the main command group."""
    group.add_command(export_cmd)
    group.add_command(fleet_cmd)
