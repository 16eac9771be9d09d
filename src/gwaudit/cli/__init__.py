"""The command line: parse options, call one library function, map errors to exit codes.

No business logic lives here: each command opens the database once (:class:`gwaudit.db.Database`),
calls one library function and prints its result; styling (colour) is added here. Exit codes
(README, docs/architecture.md): 0 ok, 1 findings at or above --fail-on, 2 usage/configuration,
3 authentication/permission, 4 incomplete evidence, 5 other runtime failure, 6 no evidence collected.

This package holds the group and the entry point (:func:`main`, the ``gwaudit`` console script);
the commands live in one module per subject: :mod:`.collect` (collect, run), :mod:`.snapshots`
(import, snapshots, diff, history, prune), :mod:`.sql`, :mod:`.report`, :mod:`.audit` (audit,
formats), :mod:`.rules`, :mod:`.access` (access, exposure), :mod:`.ops` (config, demo, simulate)
and :mod:`.fleet` (export, fleet); :mod:`.context` has what they share.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from typing import Any, Callable

import click

from .. import __version__
from ..config import load_config
from ..db import Database
from ..errors import EXIT_RUNTIME, EXIT_USAGE, GwauditError
from . import access, audit, collect, fleet, ops, report, rules, snapshots, sql
from .context import DEFAULT_DB, Ctx


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
    from ..logsetup import setup

    setup(log_format, quiet=quiet)
    os.umask(0o077)  # everything gwaudit writes holds audit data: owner-only
    config = load_config(config_path, required=config_path is not None)
    from ..frameworks import use_catalog_dir

    use_catalog_dir(config.frameworks.catalog_dir)  # every command validates rules against it
    db_path = db or config.database.path or Path(DEFAULT_DB)
    ctx.obj = Ctx(db=Database(db_path, wait=config.database.wait if wait is None else wait), config=config,
                  quiet=quiet, extra={"log_format": log_format})


# Each module holds the commands of one subject; they are added here, once, in one place.
for _command in (collect.collect_cmd, collect.run_cmd, snapshots.import_cmd, snapshots.snapshots_cmd,
                 snapshots.diff_cmd, snapshots.history_cmd, snapshots.prune_cmd, sql.sql_cmd, report.report_cmd,
                 audit.audit_cmd, audit.formats_cmd, rules.rules_group, access.access_cmd, access.exposure_cmd,
                 ops.config_group, ops.demo_cmd, ops.simulate_cmd):
    cli.add_command(_command)
fleet.register(cli)  # export, fleet


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; every error is printed through :func:`gwaudit.redact.redact` (the log
    formatters redact :class:`GwauditError` messages, this function everything else). The
    catalog the configuration names is in force for this invocation only."""
    from ..frameworks import use_catalog_dir

    restore = _terminate_gracefully()
    restore_sigint = _interrupt_gracefully()
    try:
        return _main(argv)
    finally:
        use_catalog_dir(None)
        restore_sigint()
        restore()


_INTERRUPTED = threading.Event()
"""Set by the SIGINT handler: whatever the command raises after it is reported as the interrupt."""


def _interrupt_gracefully() -> Callable[[], None]:
    """SIGINT (Ctrl-C): remember it, then raise KeyboardInterrupt as Python would. In Python code
    that unwinds to :func:`_main` (exit 130); during a DuckDB query, DuckDB sees the signal,
    interrupts the query on its connection (``connection.interrupt()``) and raises its own error
    instead (``RuntimeError: Query interrupted``, or a library error wrapping it), which would
    otherwise be reported as an internal error (exit 5). Because the signal is remembered,
    :func:`_main` reports any failure after it as the interrupt: one line, exit 130. A write in
    progress is rolled back by its transaction, so the database is as it was before the command.
    A command that handles Ctrl-C itself (``simulate`` stops serving) still ends normally.
    Returns a function restoring the previous handler."""
    import signal

    _INTERRUPTED.clear()
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    try:
        previous = signal.getsignal(signal.SIGINT)
        if previous is not signal.default_int_handler:  # SIG_IGN (nohup, a background job) or an embedder's
            return lambda: None

        def handler(signum: int, frame: Any) -> None:
            _INTERRUPTED.set()
            raise KeyboardInterrupt
        signal.signal(signal.SIGINT, handler)
    except (ValueError, OSError):
        return lambda: None
    return lambda: signal.signal(signal.SIGINT, previous)


def _interrupted() -> int:
    click.echo("interrupted: nothing partial was stored", err=True)
    return 130


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
            from ..lock import terminate_cleanup

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
    from ..logsetup import get
    from ..redact import redact

    log = get()
    try:
        rv = cli.main(args=argv, prog_name="gwaudit", standalone_mode=False)
        # click returns the code of a click.exceptions.Exit raised by a command (audit's exit 1)
        return rv if isinstance(rv, int) else 0
    except GwauditError as exc:
        if _INTERRUPTED.is_set():  # e.g. a query failure that is DuckDB interrupted by Ctrl-C
            return _interrupted()
        if not log.handlers:
            from ..logsetup import setup
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
        if isinstance(exc.__cause__, KeyboardInterrupt) or _INTERRUPTED.is_set():  # Ctrl-C, made an Abort by click
            return _interrupted()
        click.echo("aborted", err=True)
        return 130
    except KeyboardInterrupt:
        return _interrupted()
    except BrokenPipeError:
        return 0
    except Exception as exc:  # an internal error: say so, with enough to report it
        if _INTERRUPTED.is_set():  # DuckDB's "Query interrupted" after Ctrl-C is not one
            return _interrupted()
        import traceback

        click.echo(redact(f"error: internal error: {type(exc).__name__}: {exc}"), err=True)
        if os.environ.get("GWAUDIT_DEBUG"):
            click.echo(redact(traceback.format_exc()), err=True, nl=False)
        else:
            click.echo("  hint: set GWAUDIT_DEBUG=1 for a traceback and report it", err=True)
        return EXIT_RUNTIME


def entry() -> None:  # pragma: no cover - console script
    sys.exit(main())
