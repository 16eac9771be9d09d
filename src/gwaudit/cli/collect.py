"""Collection from the admin API: ``collect`` and ``run`` (collect, audit, report, prune, notify), and
the API and token options they share."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import click

from ..errors import GwauditError
from ..formats import default_formats
from ..severity import FAIL_ON_CHOICES
from .context import Ctx, format_option, pass_ctx, remember, soc2_scope


def token_options(f: Callable) -> Callable:
    f = click.option("--strict-token-file", is_flag=True, expose_value=False, callback=remember,
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
    f = click.option("--store-unreached", is_flag=True, expose_value=False, callback=remember,
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
    from ..collector import CollectOptions

    api = c.config.api
    return CollectOptions(
        base_url=base_url or api.base_url or "",
        concurrency=concurrency or api.concurrency,
        timeout=timeout or api.timeout,
        max_retry_seconds=api.max_retry_seconds if max_retry_time is None else max_retry_time,
        store_unreached=bool(click.get_current_context().meta.get("gwaudit.store_unreached")),
        limits=c.config.limits.limits())


def token_from(c: Ctx, token_file: Path | None, token_command: str | None) -> Any:
    from ..auth import TokenOptions, resolve_token

    strict = click.get_current_context().meta.get("gwaudit.strict_token_file") or c.config.api.strict_token_file
    return resolve_token(TokenOptions(token_file=token_file, token_command=token_command,
                                      config_token_file=c.config.api.token_file,
                                      config_token_command=c.config.api.token_command, strict_file=strict))


@click.command("collect")
@api_options
@click.option("--export-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Also keep the snapshot folder (manifest.json + bodies, SHA-256 per file) here.")
@click.option("--metrics-file", type=click.Path(dir_okay=False, path_type=Path), envvar="GWAUDIT_METRICS_FILE",
              help="Write a Prometheus textfile about this collection, atomically [env GWAUDIT_METRICS_FILE; "
                   "config monitoring.metrics_file].")
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
    from ..collector import collect, incomplete_error
    from ..output import dumps

    opts = collect_options_from(c, base_url, concurrency, timeout, max_retry_time)
    opts.api_root()  # validate before resolving the token
    token = token_from(c, token_file, token_command)
    opts.on_progress = c.progress("collecting")
    metrics_file = metrics_file or c.config.monitoring.metrics_file
    if metrics_file is None:
        result = collect(c.db, opts, token, export_dir=export_dir)
    else:
        import time

        from ..metrics import write_collect_metrics

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


@click.command("run")
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
              callback=remember, help="Sign the webhook body with HMAC-SHA256 and this file's secret "
                                       "(header X-Gwaudit-Signature) [config notify.hmac_secret_file].")
@click.option("--export-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Also keep the collected snapshot folder here.")
@click.option("--metrics-file", type=click.Path(dir_okay=False, path_type=Path), envvar="GWAUDIT_METRICS_FILE",
              help="Write a Prometheus textfile (node_exporter textfile collector) about this run, atomically "
                   "[env GWAUDIT_METRICS_FILE; config monitoring.metrics_file].")
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
    from ..formats import parse_formats
    from ..runner import RunOptions, run

    cfg = c.config
    scope = soc2_scope(soc2_categories, cfg.report.soc2_categories)
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
        metrics_file=metrics_file or cfg.monitoring.metrics_file, on_pdf_progress=c.progress("rendering PDF (pages)"),
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
    from ..notify import read_hmac_secret

    return read_hmac_secret(path, strict=bool(meta.get("gwaudit.strict_token_file") or c.config.api.strict_token_file))
