"""The command line: parse options, call one library function, map errors to exit codes.

No business logic lives here: each command opens the database once (:class:`gwaudit.db.Database`),
calls one library function and prints its result; styling (colour) is added here. Exit codes
(README, docs/architecture.md): 0 ok, 1 findings at or above --fail-on, 2 usage/configuration,
3 authentication/permission, 4 incomplete evidence, 5 other runtime failure, 6 no evidence collected.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import click

from . import __version__
from .config import Config, load_config
from .db import Database
from .errors import EXIT_RUNTIME, EXIT_USAGE, GwauditError
from .formats import default_formats, stream_formats
from .output import Styler, plain
from .severity import FAIL_ON_CHOICES
from .sqlquery import FORMATS as SQL_FORMATS

DEFAULT_DB = "gwaudit.duckdb"


@dataclass
class Ctx:
    db: Database
    config: Config
    quiet: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def echo(self, message: str = "", **fields: Any) -> None:
        """Progress for people and log shippers (stderr, via logging; silenced by --quiet).
        Results for machines go to stdout with click.echo."""
        from .logsetup import get

        get().info(message, extra=fields)

    @property
    def interactive(self) -> bool:
        """Progress bars only for a person at a terminal."""
        return (not self.quiet and self.extra.get("log_format", "text") == "text"
                and sys.stderr.isatty())

    def progress(self, label: str) -> Callable[[int, int], None] | None:
        """A progress bar's (done, total) callback on a terminal; None otherwise."""
        return _progress_bar(label) if self.interactive else None


pass_ctx = click.make_pass_decorator(Ctx)


class FormatChoice(click.Choice):
    """A format from the registry (:mod:`gwaudit.formats`), read when the command line is parsed
    or its help shown, so a format registered after import is a choice too."""

    def __init__(self, names: Callable[[], list[str]]):
        self._names = names
        self.case_sensitive = False

    @property  # type: ignore[override]
    def choices(self) -> tuple[str, ...]:
        return tuple(self._names())

    @choices.setter
    def choices(self, value: Any) -> None:  # click's __init__ would set it
        pass


def format_option(*choices: str, default: str = "table") -> Callable:
    return click.option("--format", "fmt", type=click.Choice(list(choices)), default=default, show_default=True,
                        help="Output format; json goes to stdout alone.")


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="gwaudit")
@click.option("--db", "db", type=click.Path(dir_okay=False, path_type=Path), envvar="GWAUDIT_DB",
              help=f"DuckDB file [env GWAUDIT_DB; config database.path; default ./{DEFAULT_DB}].")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), envvar="GWAUDIT_CONFIG",
              help="TOML configuration file [env GWAUDIT_CONFIG; default ./gwaudit.toml if present].")
@click.option("--wait", type=click.FloatRange(min=0), default=None,
              help="Seconds to wait for another gwaudit process holding the database [default 30].")
@click.option("-q", "--quiet", is_flag=True, help="Print only results and errors.")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              envvar="GWAUDIT_LOG_FORMAT", help="Log lines on stderr: for people, or one JSON object per line.")
@click.pass_context
def cli(ctx: click.Context, db: Path | None, config_path: Path | None, wait: float | None, quiet: bool,
        log_format: str) -> None:
    """Audit a Barndoor LLM Gateway: snapshot its configuration into DuckDB, evaluate rules,
    render reports, and diff snapshots.

    Exit codes: 0 ok; 1 findings at or above --fail-on; 2 usage or configuration error;
    3 authentication or permission refused (nothing stored); 4 evidence incomplete;
    5 other runtime failure (database locked past --wait, disk, internal error);
    6 no evidence: collection reached no family (nothing stored).
    """
    from .logsetup import setup

    setup(log_format, quiet=quiet)
    os.umask(0o077)  # everything gwaudit writes holds audit data: owner-only
    config = load_config(config_path, required=config_path is not None)
    from .frameworks import use_catalog_dir

    use_catalog_dir(config.frameworks.catalog_dir)  # every command validates rules against it
    db_path = db or config.database.path or Path(DEFAULT_DB)
    ctx.obj = Ctx(db=Database(db_path, wait=config.database.wait if wait is None else wait), config=config,
                  quiet=quiet, extra={"log_format": log_format})


# ---------------------------------------------------------------- collect

def _remember(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    ctx.meta[f"gwaudit.{param.name}"] = value
    return value


def token_options(f: Callable) -> Callable:
    f = click.option("--strict-token-file", is_flag=True, expose_value=False, callback=_remember,
                     help="Refuse a token file that group or others may read (default: warn) "
                          "[config api.strict_token_file].")(f)
    f = click.option("--token-command", metavar="CMD",
                     help="Command that prints the token (run without a shell; e.g. a vault or OAuth CLI).")(f)
    f = click.option("--token-file", type=click.Path(dir_okay=False, path_type=Path),
                     help="File holding the token (keep it chmod 600).")(f)
    return f


def _set_wait(ctx: click.Context, param: click.Parameter, value: float | None) -> None:
    """``run --wait`` / ``collect --wait``: the same as the global ``--wait``, given after the command."""
    if value is None:
        return
    c = ctx.find_object(Ctx)
    if c is not None:
        c.db.wait = value
        c.db.lock.wait = value


def api_options(f: Callable) -> Callable:
    f = click.option("--wait", type=click.FloatRange(min=0), default=None, expose_value=False, callback=_set_wait,
                     help="Seconds to wait for another process holding the database before exit 5 "
                          "[config database.wait; default 30].")(f)
    f = click.option("--store-unreached", is_flag=True, expose_value=False, callback=_remember,
                     help="Store a collection that reached no family (an empty, incomplete snapshot) instead of "
                          "refusing it with exit 6.")(f)
    f = click.option("--max-retry-time", type=click.FloatRange(min=0), default=None,
                     help="Seconds one request keeps retrying before its family is marked failed [60].")(f)
    f = click.option("--timeout", type=click.FloatRange(min=0.1), default=None,
                     help="Seconds per HTTP request [config api.timeout, 30].")(f)
    f = click.option("--concurrency", type=click.IntRange(1, 64), default=None,
                     help="Requests in flight at once [config api.concurrency, 8].")(f)
    f = click.option("--base-url", envvar="GWAUDIT_BASE_URL",
                     help="API host root or .../api/llm-gateway root [env GWAUDIT_BASE_URL; config api.base_url].")(f)
    return token_options(f)


def collect_options_from(c: Ctx, base_url: str | None, concurrency: int | None, timeout: float | None,
                         max_retry_time: float | None) -> Any:
    from .collector import CollectOptions

    api = c.config.api
    return CollectOptions(
        base_url=base_url or api.base_url or "",
        concurrency=concurrency or api.concurrency,
        timeout=timeout or api.timeout,
        max_retry_seconds=api.max_retry_seconds if max_retry_time is None else max_retry_time,
        store_unreached=bool(click.get_current_context().meta.get("gwaudit.store_unreached")),
        limits=c.config.limits.limits())


def token_from(c: Ctx, token_file: Path | None, token_command: str | None) -> Any:
    from .auth import TokenOptions, resolve_token

    strict = click.get_current_context().meta.get("gwaudit.strict_token_file") or c.config.api.strict_token_file
    return resolve_token(TokenOptions(token_file=token_file, token_command=token_command,
                                      config_token_file=c.config.api.token_file,
                                      config_token_command=c.config.api.token_command, strict_file=strict))


@cli.command("collect")
@api_options
@click.option("--export-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Also keep the snapshot folder (manifest.json + bodies, SHA-256 per file) here.")
@click.option("--metrics-file", type=click.Path(dir_okay=False, path_type=Path), envvar="GWAUDIT_METRICS_FILE",
              help="Write a Prometheus textfile about this collection, atomically [env GWAUDIT_METRICS_FILE].")
@format_option("text", "json", default="text")
@pass_ctx
def collect_cmd(c: Ctx, base_url: str | None, token_file: Path | None, token_command: str | None,
                concurrency: int | None, timeout: float | None, max_retry_time: float | None,
                export_dir: Path | None, metrics_file: Path | None, fmt: str) -> None:
    """Snapshot every resource family from the admin API into the database.

    The token comes from GWAUDIT_TOKEN, --token-file or --token-command (never the command line).
    Exit 3 when the API refuses the token or role (nothing stored); exit 4 when a family could not
    be collected (the snapshot is stored, marked incomplete); exit 6 when no family at all could be
    collected (wrong URL, unreachable host, not a gateway: nothing stored).
    """
    from .collector import collect, incomplete_error
    from .output import dumps

    opts = collect_options_from(c, base_url, concurrency, timeout, max_retry_time)
    opts.api_root()  # validate before resolving the token
    token = token_from(c, token_file, token_command)
    opts.on_progress = c.progress("collecting")
    if metrics_file is None:
        result = collect(c.db, opts, token, export_dir=export_dir)
    else:
        import time

        from .metrics import write_collect_metrics

        started = time.monotonic()
        try:
            result = collect(c.db, opts, token, export_dir=export_dir)
        except GwauditError as exc:
            write_collect_metrics(metrics_file, c.db, exit_code=exc.exit_code, duration=time.monotonic() - started)
            raise
        err = incomplete_error(result)
        write_collect_metrics(metrics_file, c.db, exit_code=err.exit_code if err else 0,
                              duration=time.monotonic() - started, stored=result.stored)
    report = result.report
    if fmt == "json":
        click.echo(dumps({"snapshot_id": result.stored.snapshot_id, "taken_at": result.stored.taken_at,
                          "status": "complete" if result.stored.complete else "incomplete",
                          "resource_count": result.stored.resource_count,
                          "requests": report.requests, "retries": report.retries,
                          "seconds": round(report.seconds, 3), "families": result.stored.families,
                          "drift": result.stored.drift,
                          "export_dir": str(result.export_dir) if result.export_dir else None}))
    else:
        c.echo(f"collected {opts.api_root()} in {report.seconds:.1f}s: {report.requests} requests, "
               f"{report.retries} retries")
        c.echo(result.stored.summary())
        if result.export_dir:
            c.echo(f"snapshot folder: {result.export_dir}")
    err = incomplete_error(result)
    if err:
        raise err


# ---------------------------------------------------------------- import / snapshots / sql

@cli.command("import")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@pass_ctx
def import_cmd(c: Ctx, folder: Path) -> None:
    """Store a snapshot folder (manifest.json plus one file per endpoint).

    Every file's SHA-256 is checked against the manifest; a mismatch, a malformed file, a symbolic
    link, a file or folder over the [limits], a duplicate JSON key, a taken_at in the future or
    evidence that contradicts itself is an error (exit 2) naming the file, and nothing is stored.
    """
    from .db.ingest import import_folder

    result = import_folder(c.db, folder, limits=c.config.limits.limits())
    c.echo(result.summary())
    if not result.complete:
        raise_incomplete(result.failed)


def raise_incomplete(failed: list[str]) -> None:
    from .errors import IncompleteEvidence

    raise IncompleteEvidence.families(failed)


@cli.group("snapshots", invoke_without_command=True)
@format_option("table", "csv", "json")
@click.pass_context
def snapshots_cmd(ctx: click.Context, fmt: str) -> None:
    """List stored snapshots, oldest first, with status and counts (gwaudit snapshots delete ID
    removes one)."""
    if ctx.invoked_subcommand is not None:
        return
    from .output import csv_text, dumps, text_table

    c = ctx.find_object(Ctx)
    rows = c.db.snapshots()
    cols = ["id", "taken_at", "source", "status", "resource_count", "failed_families", "org_id"]
    if fmt == "json":
        click.echo(dumps(rows))
    elif fmt == "csv":
        click.echo(csv_text(cols, ([r[k] for k in cols] for r in rows)), nl=False)
    else:
        if not rows:
            c.echo("no snapshots yet: run gwaudit collect or gwaudit import")
            return
        click.echo(text_table(cols, ([r[k] for k in cols] for r in rows)))


@snapshots_cmd.command("delete")
@click.argument("ref", metavar="ID")
@click.option("--dry-run", is_flag=True, help="Say what would be deleted; change nothing.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (required when not on a terminal).")
@format_option("text", "json", default="text")
@pass_ctx
def snapshots_delete_cmd(c: Ctx, ref: str, dry_run: bool, yes: bool, fmt: str) -> None:
    """Delete one snapshot (an id, latest, previous or a date) with its findings and the resource
    versions only it held, in one transaction; the deletion is recorded in snapshot_deletions.

    Asks for confirmation on a terminal; elsewhere --yes is required. --dry-run changes nothing.
    """
    from .db.maintenance import delete_snapshot
    from .errors import UsageError
    from .output import dumps

    if not dry_run:
        preview = delete_snapshot(c.db, ref, dry_run=True)
        if not yes:
            if not sys.stdin.isatty():
                raise UsageError(f"refusing to delete snapshot {preview.snapshot['id']} without --yes",
                                 hint="add --yes (or --dry-run to see what would go)")
            click.echo(preview.summary().replace("would delete", "this deletes"), err=True)
            if not click.confirm("delete it?", err=True):
                raise click.Abort()
        ref = str(preview.snapshot["id"])  # the snapshot shown is the one deleted
    result = delete_snapshot(c.db, ref, dry_run=dry_run)
    if fmt == "json":
        click.echo(dumps(result.to_dict()))
    else:
        c.echo(result.summary())


@cli.command("sql")
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

    from .sqlquery import read_query, render, run_query

    result = run_query(c.db, read_query(query, file))
    width = shutil.get_terminal_size().columns if fmt == "table" and sys.stdout.isatty() else None
    click.echo(render(result, fmt, width=width), nl=False)
    if fmt == "table":
        c.echo(f"({len(result.rows)} row{'s' if len(result.rows) != 1 else ''})")


@cli.command("demo")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("gwaudit-demo"),
              show_default=True, help="Folder for the demo's database and reports.")
@pass_ctx
def demo_cmd(c: Ctx, out_dir: Path) -> None:
    """Run the whole pipeline offline on the bundled sample snapshots."""
    from .demo import run_demo

    run_demo(out_dir, echo=lambda m: click.echo(m))


# ---------------------------------------------------------------- report

@cli.command("report")
@click.option("--snapshot", metavar="ID", help="Snapshot to report on: an id, latest, previous or a date [latest].")
@click.option("--period", metavar="PERIOD", help="A quarter (2026-Q3), month (2026-08) or year: audits the last "
              "complete snapshot taken in it, with the changes of the period.")
@click.option("--from", "date_from", metavar="DATE", help="Start of a period (with --to).")
@click.option("--to", "date_to", metavar="DATE", help="End of a period, inclusive.")
@click.option("--format", "formats", multiple=True, metavar="LIST",
              help="Comma-separated formats [config report.formats; default: "
                   f"{','.join(default_formats())}]; gwaudit formats lists them.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the files [config report.out; ./reports].")
@click.option("--waivers", type=click.Path(dir_okay=False, path_type=Path),
              help="Waivers file; the snapshot is re-audited with it [config waivers.file].")
@click.option("--classification", metavar="TEXT", help="Marking for the cover and header [config; Internal].")
@click.option("--org-name", metavar="TEXT",
              help="The organisation's name in file names, headers and PDF metadata [config report.org_name; "
                   "the gateway's host name, else the org id].")
@click.option("--max-resources-per-rule", type=click.IntRange(min=1), default=None,
              help="Resources listed per rule in the PDF; the rest are in findings.csv [25].")
@click.option("--template-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Your templates, looked up before the built-in ones (extend them as default:NAME).")
@click.option("--soc2-categories", metavar="LIST",
              help="SOC 2 categories the compliance matrix covers, comma-separated, security always among them: "
                   "security,availability,processing_integrity,confidentiality,privacy [config "
                   "report.soc2_categories; all five].")
@pass_ctx
def report_cmd(c: Ctx, snapshot: str | None, period: str | None, date_from: str | None, date_to: str | None,
               formats: tuple[str, ...], out_dir: Path | None, waivers: Path | None, classification: str | None,
               org_name: str | None,
               max_resources_per_rule: int | None, template_dir: Path | None, soc2_categories: str | None) -> None:
    """Render the audit of a snapshot, or of a period, as HTML, PDF, CSV and JSON.

    A snapshot without stored findings is audited first. File names carry the org and the
    snapshot date; the paths written are printed, one per line.
    """
    from .report import ReportOptions, make_report

    cfg = c.config.report
    opts = ReportOptions(
        snapshot=snapshot, period=period, date_from=date_from, date_to=date_to,
        formats=list(formats) or list(cfg.formats), out=out_dir or cfg.out,
        waivers=waivers or c.config.waivers.file, classification=classification or cfg.classification,
        org_name=org_name or cfg.org_name,
        max_resources_per_rule=max_resources_per_rule or cfg.max_resources_per_rule, template_dir=template_dir,
        rules_dirs=c.config.rules.dirs, params=c.config.rule_params(),
        soc2_categories=_soc2_scope(soc2_categories, cfg.soc2_categories),
        on_pdf_progress=c.progress("rendering PDF (pages)"))
    result = make_report(c.db, opts)
    for path in result.paths:
        click.echo(str(path))
    if result.data.incomplete:
        from .errors import IncompleteEvidence

        raise IncompleteEvidence(f"the report is written, but snapshot {result.data.snapshot.id} is incomplete: "
                                 f"{', '.join(result.data.missing_families)} could not be collected",
                                 hint="every format says so; collect again for a complete report")


def _soc2_scope(flag: str | None, configured: list[str]) -> list[str]:
    """--soc2-categories (validated here, so a bad list is a usage error before any work) or the
    configuration's list."""
    from .frameworks import Scope

    return list(Scope.parse([flag]).soc2_categories) if flag is not None else list(configured)

# ---------------------------------------------------------------- run (cron)

@cli.command("run")
@api_options
@click.option("--rules-dir", "rules_dirs", multiple=True, type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="Folder of extra rule files (*.yaml), repeatable; added to config [rules] dirs.")
@click.option("--waivers", type=click.Path(dir_okay=False, path_type=Path), help="Waivers file [config waivers.file].")
@click.option("--fail-on", type=click.Choice(FAIL_ON_CHOICES), default=None,
              help="Exit 1 when an open finding is at or above this severity [config audit.fail_on; none].")
@click.option("--format", "formats", multiple=True, metavar="LIST",
              help=f"Report formats, comma-separated [config report.formats; default: {','.join(default_formats())}].")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Report folder; dated files plus latest/ copies [config report.out; ./reports].")
@click.option("--classification", metavar="TEXT", help="Report marking [config report.classification; Internal].")
@click.option("--org-name", metavar="TEXT", help="The organisation's name in reports [config report.org_name].")
@click.option("--notify-webhook", metavar="URL", help="POST a JSON summary here after the run [config notify.webhook].")
@click.option("--notify-format", type=click.Choice(["json", "slack"]), default=None,
              help="Webhook payload: plain JSON or a Slack-compatible message [config notify.format; json].")
@click.option("--notify-hmac-secret-file", type=click.Path(dir_okay=False, path_type=Path), expose_value=False,
              callback=_remember, help="Sign the webhook body with HMAC-SHA256 and this file's secret "
                                       "(header X-Gwaudit-Signature) [config notify.hmac_secret_file].")
@click.option("--export-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Also keep the collected snapshot folder here.")
@click.option("--metrics-file", type=click.Path(dir_okay=False, path_type=Path), envvar="GWAUDIT_METRICS_FILE",
              help="Write a Prometheus textfile (node_exporter textfile collector) about this run, atomically "
                   "[env GWAUDIT_METRICS_FILE].")
@click.option("--soc2-categories", metavar="LIST",
              help="SOC 2 categories the compliance matrix covers, comma-separated, security always among them: "
                   "security,availability,processing_integrity,confidentiality,privacy [config "
                   "report.soc2_categories; all five].")
@pass_ctx
def run_cmd(c: Ctx, base_url: str | None, token_file: Path | None, token_command: str | None,
            concurrency: int | None, timeout: float | None, max_retry_time: float | None,
            rules_dirs: tuple[Path, ...], waivers: Path | None, fail_on: str | None, formats: tuple[str, ...],
            out_dir: Path | None, classification: str | None, org_name: str | None, notify_webhook: str | None,
            notify_format: str | None, export_dir: Path | None, metrics_file: Path | None,
            soc2_categories: str | None) -> None:
    """Collect, audit (with waivers), report, prune and notify in one step, for cron.

    Holds the database for the whole run: an overlapping run waits --wait seconds, then exits 5
    naming the holder. Exit code: the worst that happened (5 runtime, 3 auth refused,
    4 evidence incomplete, 1 findings at or above --fail-on, 0 ok). Retention comes from the
    configuration's [retention] table; without one nothing is pruned.
    """
    from .formats import parse_formats
    from .runner import RunOptions, run

    cfg = c.config
    scope = _soc2_scope(soc2_categories, cfg.report.soc2_categories)
    opts = collect_options_from(c, base_url, concurrency, timeout, max_retry_time)
    opts.api_root()
    token = token_from(c, token_file, token_command)
    hmac_secret = _webhook_secret(c)
    opts.on_progress = c.progress("collecting")
    result = run(RunOptions(
        db=c.db, collect=opts, token=token, rules_dirs=[*cfg.rules.dirs, *rules_dirs],
        params=cfg.rule_params(), waivers=waivers or cfg.waivers.file, fail_on=fail_on or cfg.audit.fail_on,
        formats=parse_formats(formats) if formats else list(cfg.report.formats), out=out_dir or cfg.report.out,
        classification=classification or cfg.report.classification, org_name=org_name or cfg.report.org_name,
        max_resources_per_rule=cfg.report.max_resources_per_rule,
        soc2_categories=scope, retention=cfg.retention.model_dump(), webhook=notify_webhook or cfg.notify.webhook,
        webhook_format=notify_format or cfg.notify.format, webhook_timeout=cfg.notify.timeout,
        webhook_max_bytes=cfg.notify.max_bytes, webhook_hmac_secret=hmac_secret, export_dir=export_dir,
        metrics_file=metrics_file, on_pdf_progress=c.progress("rendering PDF (pages)"),
        lake_dir=cfg.lake.dir, lake_org_id=cfg.lake.org_id), echo=c.echo)
    if result.exit_code:
        raise click.exceptions.Exit(result.exit_code)


def _webhook_secret(c: Ctx) -> bytes | None:
    """The webhook signing secret (--notify-hmac-secret-file, else the configuration's), read now
    so that a bad file stops the run before anything is collected (exit 2)."""
    meta = click.get_current_context().meta
    path = meta.get("gwaudit.notify_hmac_secret_file") or c.config.notify.hmac_secret_file
    if path is None:
        return None
    from .notify import read_hmac_secret

    return read_hmac_secret(path, strict=bool(meta.get("gwaudit.strict_token_file") or c.config.api.strict_token_file))


def _progress_bar(label: str) -> Callable[[int, int], None]:
    """A click progress bar on stderr, fed by (done, total) callbacks whose total may grow."""
    state: dict[str, Any] = {}

    def update(done: int, total: int) -> None:
        bar = state.get("bar")
        if bar is None:
            bar = state["bar"] = click.progressbar(length=total, label=label, file=sys.stderr,
                                                   show_pos=True, width=30)
            bar.__enter__()
        bar.length = max(total, done)
        bar.update(done - bar.pos)
        if done >= total:
            bar.__exit__(None, None, None)
            state.clear()
    return update


# ---------------------------------------------------------------- config

@cli.group("config")
def config_group() -> None:
    """Inspect the configuration file (gwaudit.toml, --config, GWAUDIT_CONFIG)."""


@config_group.command("check")
@format_option("text", "json", default="text")
@pass_ctx
def config_check_cmd(c: Ctx, fmt: str) -> None:
    """Validate the configuration and print the effective settings (token redacted).

    Precedence, highest first: command-line flags, environment variables (GWAUDIT_DB,
    GWAUDIT_BASE_URL, GWAUDIT_TOKEN, GWAUDIT_CONFIG), the file, defaults. Unknown keys and bad
    values are errors naming the key (exit 2).
    """
    from .config import effective
    from .frameworks import load_catalog
    from .output import dumps

    load_catalog(c.config.frameworks.catalog_dir)  # a bad catalog folder or file fails here, naming it
    data = effective(c.config, db=c.db)
    if fmt == "json":
        click.echo(dumps(data))
        return
    click.echo(f"configuration: {data.pop('source')} (valid)")
    for section, values in data.items():
        if isinstance(values, dict):
            click.echo(f"[{section}]")
            for key, value in values.items():
                click.echo(f"  {key} = {value!r}")


# ---------------------------------------------------------------- diff / history / prune

def _styler() -> Styler:
    """click.style when stdout is a terminal (and NO_COLOR is unset), else plain text."""
    return click.style if sys.stdout.isatty() and not os.environ.get("NO_COLOR") else plain


@cli.command("diff")
@click.argument("old", default="previous")
@click.argument("new", default="latest")
@click.option("--family", "families", multiple=True, metavar="NAME",
              help="Compare only this family (repeat, or separate with commas).")
@click.option("--include-volatile", is_flag=True,
              help="Also show fields that change without anyone changing configuration (last_used_at, "
                   "usage figures, route-health state: the volatile fields listed in README).")
@format_option("text", "json", "csv", default="text")
@pass_ctx
def diff_cmd(c: Ctx, old: str, new: str, families: tuple[str, ...], include_volatile: bool, fmt: str) -> None:
    """Resources added, removed and modified, and findings new, resolved and waived, between
    snapshots OLD and NEW (ids, 'latest', 'previous', or a date meaning the last snapshot taken
    on or before it; default: previous latest).

    Exit 4 when a family cannot be compared because its collection failed in either snapshot
    (the rest of the diff is still printed).
    """
    from .diff import diff_snapshots
    from .diffview import diff_csv, diff_text
    from .output import dumps

    names = [n.strip() for value in families for n in value.split(",") if n.strip()]
    d = diff_snapshots(c.db, old, new, families=names or None, include_volatile=include_volatile)
    if fmt == "json":
        click.echo(dumps(d.to_dict()))
    elif fmt == "csv":
        click.echo(diff_csv(d), nl=False)
    else:
        click.echo(diff_text(d, style=_styler()))
    err = d.incomplete_error()
    if err:
        raise err


@cli.command("access")
@click.option("--principal", metavar="P", help="org, type:key (group:platform, role:intern, api_key:<id>) or a "
                                               "key's id or name: what it can reach.")
@click.option("--model", metavar="NAME", help="An alias, smart model or upstream model: who can reach it.")
@click.option("--decision", type=click.Choice(["allow", "deny"]), help="Only cells with this decision.")
@click.option("--include-keys", is_flag=True, help="List API and user keys too when --principal is not given.")
@click.option("--snapshot", metavar="ID", help="An id, latest, previous or a date [latest].")
@format_option("table", "json", "csv")
@pass_ctx
def access_cmd(c: Ctx, principal: str | None, model: str | None, decision: str | None, include_keys: bool,
               snapshot: str | None, fmt: str) -> None:
    """Effective access: for each principal and addressable model, allow or deny and the policy (or
    default) that decided it. README, "Effective access and spend exposure", states every reading
    taken where the API reference is silent."""
    from .access.query import access
    from .sqlquery import render

    click.echo(render(access(c.db, principal=principal, model=model, decision=decision,
                             include_keys=include_keys, snapshot=snapshot), fmt), nl=False)


@cli.command("exposure")
@click.option("--top", type=click.IntRange(min=1), default=None, metavar="N", help="Only the N largest.")
@click.option("--principal", metavar="P", help="Only this principal (as for gwaudit access).")
@click.option("--all-keys", is_flag=True, help="Also keys that are revoked, disabled or expired.")
@click.option("--snapshot", metavar="ID", help="An id, latest, previous or a date [latest].")
@format_option("table", "json", "csv")
@pass_ctx
def exposure_cmd(c: Ctx, top: int | None, principal: str | None, all_keys: bool, snapshot: str | None,
                 fmt: str) -> None:
    """Worst-case spend exposure per API key, user key, scope and org for 1 hour, 24 hours and the
    budget period: what could be spent before a rate limit or blocking budget stops it, which
    control binds, and unbounded when none does. Largest first."""
    from .access.query import exposure
    from .sqlquery import render

    click.echo(render(exposure(c.db, top=top, principal=principal, active_only=not all_keys,
                               snapshot=snapshot), fmt), nl=False)


@cli.command("history")
@click.argument("ident", metavar="ID")
@click.option("--family", help="The family of the resource, when ID names resources in several.")
@click.option("--include-volatile", is_flag=True, help="Also show versions that differ only in volatile fields.")
@format_option("text", "json", default="text")
@pass_ctx
def history_cmd(c: Ctx, ident: str, family: str | None, include_volatile: bool, fmt: str) -> None:
    """One resource's versions across the stored snapshots, with what changed each time.

    ID is a resource key as gwaudit diff shows it in [brackets]: the API id, the alias for user
    models, provider_id/upstream_model for route health, governance_config, and for pricing
    rules model_pattern/model_provider/provider_id (or any version id of the rule).
    """
    from .history import history_text, resource_history
    from .output import dumps

    h = resource_history(c.db, ident, family=family, include_volatile=include_volatile)
    if fmt == "json":
        click.echo(dumps(h.to_dict()))
    else:
        click.echo(history_text(h, style=_styler()))


@cli.command("prune")
@click.option("--keep-daily", type=click.IntRange(min=0), default=None, metavar="N",
              help="Keep the newest snapshot of each of the N most recent days that have one.")
@click.option("--keep-weekly", type=click.IntRange(min=0), default=None, metavar="N",
              help="... of each of the N most recent ISO weeks.")
@click.option("--keep-monthly", type=click.IntRange(min=0), default=None, metavar="N",
              help="... of each of the N most recent months.")
@click.option("--keep-quarterly", type=click.IntRange(min=0), default=None, metavar="N",
              help="... of each of the N most recent quarters.")
@click.option("--dry-run", is_flag=True, help="List what would be removed; change nothing.")
@format_option("text", "json", default="text")
@pass_ctx
def prune_cmd(c: Ctx, keep_daily: int | None, keep_weekly: int | None, keep_monthly: int | None,
              keep_quarterly: int | None, dry_run: bool, fmt: str) -> None:
    """Remove snapshots outside a retention policy (never the newest), with their findings and
    the resource versions no kept snapshot holds, then shrink the database file.

    Periods are UTC. A snapshot kept by any rule stays.
    """
    from .errors import UsageError
    from .output import dumps, text_table
    from .prune import Policy, prune

    given = {"daily": keep_daily, "weekly": keep_weekly, "monthly": keep_monthly, "quarterly": keep_quarterly}
    if all(v is None for v in given.values()):
        raise UsageError("say what to keep", hint="e.g. gwaudit prune --keep-daily 7 --keep-weekly 4 "
                                                  "--keep-monthly 12 --keep-quarterly 8 (add --dry-run to preview)")
    result = prune(c.db, Policy(**{k: v or 0 for k, v in given.items()}), dry_run=dry_run)
    if fmt == "json":
        click.echo(dumps(result.to_dict()))
        return
    if dry_run:
        rows = ([s.id, s.taken_at, "keep" if s.keep else "remove", ", ".join(s.reasons)] for s in result.snapshots)
        click.echo(text_table(["id", "taken_at", "action", "kept for"], rows))
    c.echo(result.summary())


# ---------------------------------------------------------------- simulate

_RATE = click.FloatRange(0.0, 1.0)


@cli.command("simulate")
@click.option("--snapshot", type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="Serve this snapshot folder [default: the newest bundled sample snapshot].")
@click.option("--generate", "generate", type=click.IntRange(min=1), metavar="N",
              help="Serve a generated org of scale N instead (N=1: ~1,900 resources; N=50: ~95,000).")
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="TCP port; 0 picks a free one.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Loopback address to bind (127.0.0.1, localhost or ::1); anything else is refused.")
@click.option("--latency-ms", type=click.FloatRange(min=0), default=0.0, help="Delay added to every response.")
@click.option("--error-rate", type=_RATE, default=0.0, help="Fraction of requests answered 500/502/503.")
@click.option("--rate-limit-rate", type=_RATE, default=0.0, help="Fraction answered 429 with Retry-After.")
@click.option("--drop-rate", type=_RATE, default=0.0, help="Fraction whose connection is closed without a response.")
@click.option("--truncate-rate", type=_RATE, default=0.0,
              help="Fraction whose body is cut short (full Content-Length, then the connection closes).")
@click.option("--fail-family", "fail_families", multiple=True, metavar="FAMILY",
              help="Answer 503 on every endpoint of this family (repeatable).")
@click.option("--deny-family", "deny_families", multiple=True, metavar="FAMILY",
              help="Answer 403 on every endpoint of this family (repeatable).")
@click.option("--max-consecutive-faults", type=click.IntRange(min=0), default=2, show_default=True,
              help="After this many faulted attempts at the same request the next one succeeds.")
@click.option("--error-style", type=click.Choice(["openai", "flat", "mixed"]), default="openai", show_default=True,
              help='JSON error bodies: openai {"error": {"message", "type"}}, flat {"error", "message"}, '
                   "or mixed (chosen per response from the seed).")
@click.option("--echo-authorization", is_flag=True,
              help="Repeat each request's Authorization header in every error body (a leaky gateway).")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed for fault decisions, the mixed error style and --generate.")
@click.option("--jwt-secret-file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="File holding the HS256 signing secret [default: a fixed, public development secret].")
@click.option("--print-token", is_flag=True, help="Print one token this simulator accepts to stdout and exit.")
@click.option("--role", type=click.Choice(["admin", "member"]), default="admin", show_default=True,
              help="Role claim of --print-token's token (member: /user/... only).")
@click.option("--expires-in", type=click.IntRange(min=1), default=3600, show_default=True, metavar="SECONDS",
              help="Lifetime of --print-token's token.")
@click.option("--access-log", is_flag=True, help="Log each request (method, path, status, time) to stderr.")
@pass_ctx
def simulate_cmd(c: Ctx, snapshot: Path | None, generate: int | None, port: int, host: str, latency_ms: float,
                 error_rate: float, rate_limit_rate: float, drop_rate: float, truncate_rate: float,
                 fail_families: tuple[str, ...], deny_families: tuple[str, ...], max_consecutive_faults: int,
                 error_style: str, echo_authorization: bool, seed: int, jwt_secret_file: Path | None,
                 print_token: bool, role: str, expires_in: int, access_log: bool) -> None:
    """Serve a simulated Barndoor admin API on loopback, from a snapshot folder or a generated org.

    Every GET endpoint of the reference is served under /api/llm-gateway with JWT auth (HS256,
    the simulator's secret) and optional, deterministic fault injection. Runs until Ctrl-C.
    Get a token with:

        export GWAUDIT_TOKEN="$(gwaudit simulate --print-token)"

    A simulator token is not a secret, but it is printed only to stdout and never logged.
    """
    from .simulator.command import serve, token_for
    from .simulator.faults import Faults

    if print_token:
        click.echo(token_for(snapshot=snapshot, generate=generate, seed=seed, secret_file=jwt_secret_file,
                             role=role, expires_in=expires_in))
        return
    faults = Faults(latency_ms=latency_ms, error_rate=error_rate, rate_limit_rate=rate_limit_rate,
                    drop_rate=drop_rate, truncate_rate=truncate_rate, fail_families=frozenset(fail_families),
                    deny_families=frozenset(deny_families), max_consecutive_faults=max_consecutive_faults,
                    echo_authorization=echo_authorization, seed=seed)
    serve(snapshot=snapshot, generate=generate, seed=seed, faults=faults, error_style=error_style, host=host,
          port=port, secret_file=jwt_secret_file, echo=lambda m: click.echo(m),
          access_log=(lambda m: click.echo(m, err=True)) if access_log else None)


# ---------------------------------------------------------------- audit / rules (engine branch)

_SEVERITY_CHOICES = click.Choice(FAIL_ON_CHOICES)


def _rules_dir_option(f: Callable) -> Callable:
    return click.option("--rules-dir", "rules_dirs", multiple=True,
                        type=click.Path(file_okay=False, exists=True, path_type=Path),
                        help="Folder of extra rule files (*.yaml), repeatable; added to config [rules] dirs.")(f)


@cli.command("audit")
@click.option("--snapshot", default="latest", show_default=True,
              help="Snapshot to evaluate: an id, latest, previous, or a date (last taken on or before it).")
@_rules_dir_option
@click.option("--waivers", "waivers", type=click.Path(dir_okay=False, path_type=Path),
              help="Waiver file (YAML) [config waivers.file].")
@click.option("--fail-on", type=_SEVERITY_CHOICES, default=None,
              help="Exit 1 when an open (not waived) finding is at or above this severity "
                   "[config audit.fail_on; default none].")
@click.option("--only", multiple=True, metavar="PATTERN",
              help="Evaluate only rules whose id matches (glob, e.g. 'GW-KEY-*') or that read this family; "
                   "repeatable, comma lists ok.")
@click.option("--skip", multiple=True, metavar="PATTERN", help="Leave out matching rules (as --only).")
@click.option("--store-partial", is_flag=True,
              help="With --only/--skip: keep this partial audit apart (partial_audits); it never replaces the "
                   "snapshot's audit. Without it a partial audit is printed, not stored.")
@click.option("--format", "fmt", type=FormatChoice(stream_formats), default="table", show_default=True,
              help="Output on stdout; gwaudit formats lists them.")
@pass_ctx
def audit_cmd(c: Ctx, snapshot: str, rules_dirs: tuple[Path, ...], waivers: Path | None, fail_on: str | None,
              only: tuple[str, ...], skip: tuple[str, ...], store_partial: bool, fmt: str) -> None:
    """Evaluate the rules on a snapshot, store the findings and print them.

    "Now" is the snapshot's taken_at, so re-auditing an old snapshot gives the same answer;
    re-auditing replaces that snapshot's stored findings. Exit 4 when a rule could not be
    evaluated (e.g. its family was not collected), else 1 when --fail-on is reached, else 0;
    the findings are printed and stored in every case.

    A partial audit (--only/--skip leave out some rule) is printed but not stored: it never
    replaces the snapshot's audit, which reports, diff and run read. --store-partial keeps it
    apart (partial_audits). A rule whose precondition does not hold (no previous snapshot to
    compare with) is skipped, with its reason: never counted as passed.
    """
    from .errors import IncompleteEvidence
    from .formats import REGISTRY, RenderContext
    from .report.data import from_audit
    from .rules import audit

    result = audit(c.db, snapshot, rules_dirs=[*c.config.rules.dirs, *rules_dirs], params=c.config.rule_params(),
                   waivers=waivers or c.config.waivers.file, only=only, skip=skip,
                   fail_on=fail_on or c.config.audit.fail_on, store_partial=store_partial)
    text = REGISTRY[fmt].render_stream(from_audit(result), RenderContext(style=click.style))
    click.echo(text, nl=not text.endswith("\n"))
    if result.partial:
        sel = result.selection
        where = (f"stored apart as partial audit {sel.partial_id} (partial_audits)" if result.stored == "partial"
                 else "not stored (--store-partial keeps it apart)")
        click.echo(f"partial audit: {sel.rules_evaluated} of {sel.rules_loaded} rules; {where}; the snapshot's "
                   "stored audit is unchanged", err=True)
    if result.errors:
        raise IncompleteEvidence.rules([r.rule.id for r in result.errors])
    if result.exit_code:
        raise click.exceptions.Exit(result.exit_code)


@cli.command("formats")
@format_option("table", "json")
def formats_cmd(fmt: str) -> None:
    """List the output formats: what each is, and whether audit prints it and report writes it."""
    from .formats import REGISTRY, default_formats
    from .output import dumps, text_table

    rows = [{"name": r.name, "audit": r.stream is not None, "report": r.files is not None,
             "default": r.name in default_formats(), "help": r.help} for r in REGISTRY.values()]
    if fmt == "json":
        click.echo(dumps(rows))
    else:
        click.echo(text_table(["name", "audit", "report", "default", "help"],
                              ([r["name"], "yes" if r["audit"] else "", "yes" if r["report"] else "",
                                "yes" if r["default"] else "", r["help"]] for r in rows), max_width=70))


@cli.group("rules")
def rules_group() -> None:
    """The rule catalog: built-in rules, --rules-dir rules and the engine's own."""


@rules_group.command("list")
@_rules_dir_option
@format_option("table", "json")
@pass_ctx
def rules_list_cmd(c: Ctx, rules_dirs: tuple[Path, ...], fmt: str) -> None:
    """List the rules: id, severity, title, frameworks."""
    from .rules import load_rules
    from .rules.render import rules_json, rules_table

    rules = load_rules([*c.config.rules.dirs, *rules_dirs])
    click.echo(rules_json(rules) if fmt == "json" else rules_table(rules))


@rules_group.command("show")
@click.argument("rule_id")
@_rules_dir_option
@format_option("text", "json", default="text")
@pass_ctx
def rules_show_cmd(c: Ctx, rule_id: str, rules_dirs: tuple[Path, ...], fmt: str) -> None:
    """Show everything about one rule: metadata, frameworks, effective params and its SQL."""
    from .errors import UsageError
    from .output import dumps
    from .rules import effective_params, load_rules
    from .rules.render import rule_text

    rules = load_rules([*c.config.rules.dirs, *rules_dirs])
    params = effective_params(rules, c.config.rule_params())
    rule = next((r for r in rules if r.id == rule_id.upper()), None)
    if rule is None:
        raise UsageError(f"no rule {rule_id}", hint="gwaudit rules list shows the ids")
    click.echo(dumps(rule.describe(params[rule.id])) if fmt == "json" else rule_text(rule, params[rule.id]))


# ---------------------------------------------------------------- entry point

from .cli_fleet import register as _register_lake; _register_lake(cli)  # noqa: E402,E702 export, fleet


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; every error is printed through :func:`gwaudit.redact.redact` (the log
    formatters redact :class:`GwauditError` messages, this function everything else). The
    catalog the configuration names is in force for this invocation only."""
    from .frameworks import use_catalog_dir

    restore = _terminate_gracefully()
    try:
        return _main(argv)
    finally:
        use_catalog_dir(None)
        restore()


def _terminate_gracefully() -> Callable[[], None]:
    """SIGTERM (systemd stopping the unit, a Kubernetes pod deleted, ``timeout``): remove this
    process's temporary files and lock holder file, say so, and exit 143 at once. Not an
    exception unwinding the stack: raised inside DuckDB or a thread pool it would surface as some
    other error. What was being written is discarded as after a crash (a snapshot is stored
    whole or not at all). Returns a function restoring the previous handler."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    try:
        previous = signal.getsignal(signal.SIGTERM)
        if previous not in (signal.SIG_DFL, None):
            return lambda: None

        def handler(signum: int, frame: Any) -> None:
            from .lock import terminate_cleanup

            try:
                terminate_cleanup()
                sys.stderr.write("terminated (SIGTERM): nothing partial was stored\n")
                sys.stderr.flush()
            finally:
                os._exit(128 + signal.SIGTERM)
        signal.signal(signal.SIGTERM, handler)
    except (ValueError, OSError):
        return lambda: None
    return lambda: signal.signal(signal.SIGTERM, previous)


def _main(argv: list[str] | None) -> int:
    from .logsetup import get
    from .redact import redact

    log = get()
    try:
        rv = cli.main(args=argv, prog_name="gwaudit", standalone_mode=False)
        # click returns the code of a click.exceptions.Exit raised by a command (audit's exit 1)
        return rv if isinstance(rv, int) else 0
    except GwauditError as exc:
        if not log.handlers:
            from .logsetup import setup
            setup()
        log.error(exc.message, extra={"hint": exc.hint, "exit_code": exc.exit_code,
                                      "error_type": type(exc).__name__})
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        import io

        buf = io.StringIO()
        exc.show(file=buf)
        click.echo(redact(buf.getvalue()), err=True, nl=False)
        return exc.exit_code if exc.exit_code != 1 else EXIT_USAGE
    except click.Abort as exc:
        if isinstance(exc.__cause__, KeyboardInterrupt):  # Ctrl-C, which click turns into Abort
            click.echo("interrupted: nothing partial was stored", err=True)
        else:
            click.echo("aborted", err=True)
        return 130
    except KeyboardInterrupt:
        click.echo("interrupted: nothing partial was stored", err=True)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # an internal error: say so, with enough to report it
        import traceback

        click.echo(redact(f"error: internal error: {type(exc).__name__}: {exc}"), err=True)
        if os.environ.get("GWAUDIT_DEBUG"):
            click.echo(redact(traceback.format_exc()), err=True, nl=False)
        else:
            click.echo("  hint: set GWAUDIT_DEBUG=1 for a traceback and report it", err=True)
        return EXIT_RUNTIME


def entry() -> None:  # pragma: no cover - console script
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    entry()
