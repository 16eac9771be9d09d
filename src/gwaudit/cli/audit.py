"""``gwaudit audit`` (evaluate the rules on a snapshot) and ``gwaudit formats``."""

from __future__ import annotations

from pathlib import Path

import click

from ..formats import stream_formats
from ..severity import FAIL_ON_CHOICES
from .context import Ctx, FormatChoice, format_option, pass_ctx, rules_dir_option


_SEVERITY_CHOICES = click.Choice(FAIL_ON_CHOICES)


@click.command("audit")
@click.option("--snapshot", default="latest", show_default=True,
              help="Snapshot to evaluate: an id, latest, previous, or a date (last taken on or before it).")
@rules_dir_option
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
    from ..errors import IncompleteEvidence
    from ..formats import REGISTRY, RenderContext
    from ..report.data import from_audit
    from ..rules import audit

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


@click.command("formats")
@format_option("table", "json")
def formats_cmd(fmt: str) -> None:
    """List the output formats: what each is, and whether audit prints it and report writes it."""
    from ..formats import REGISTRY, default_formats
    from ..output import dumps, text_table

    rows = [{"name": r.name, "audit": r.stream is not None, "report": r.files is not None,
             "default": r.name in default_formats(), "help": r.help} for r in REGISTRY.values()]
    if fmt == "json":
        click.echo(dumps(rows))
    else:
        click.echo(text_table(["name", "audit", "report", "default", "help"],
                              ([r["name"], "yes" if r["audit"] else "", "yes" if r["report"] else "",
                                "yes" if r["default"] else "", r["help"]] for r in rows), max_width=70))
