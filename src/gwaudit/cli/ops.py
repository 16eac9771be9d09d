"""Operating gwaudit: ``config check``, ``demo`` and ``simulate`` (the simulated admin API)."""

from __future__ import annotations

from pathlib import Path

import click

from .context import Ctx, format_option, pass_ctx


@click.group("config")
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
    from ..config import effective
    from ..frameworks import load_catalog
    from ..output import dumps

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


@click.command("demo")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("gwaudit-demo"),
              show_default=True, help="Folder for the demo's database and reports.")
@pass_ctx
def demo_cmd(c: Ctx, out_dir: Path) -> None:
    """Run the whole pipeline offline on the bundled sample snapshots."""
    from ..demo import run_demo

    run_demo(out_dir, echo=lambda m: click.echo(m))


_RATE = click.FloatRange(0.0, 1.0)


@click.command("simulate")
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
    from ..simulator.command import serve, token_for
    from ..simulator.faults import Faults

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

