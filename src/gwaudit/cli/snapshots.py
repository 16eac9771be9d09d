"""The stored snapshots: ``import``, ``snapshots`` (list, delete), ``diff``, ``history`` and ``prune``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .context import Ctx, format_option, pass_ctx, styler


@click.command("import")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@pass_ctx
def import_cmd(c: Ctx, folder: Path) -> None:
    """Store a snapshot folder (manifest.json plus one file per endpoint).

    Every file's SHA-256 is checked against the manifest; a mismatch, a malformed file, a symbolic
    link, a file or folder over the [limits], a duplicate JSON key, a taken_at in the future or
    evidence that contradicts itself is an error (exit 2) naming the file, and nothing is stored.
    """
    from ..db.ingest import import_folder

    result = import_folder(c.db, folder, limits=c.config.limits.limits())
    c.echo(result.summary())
    if not result.complete:
        raise_incomplete(result.failed)


def raise_incomplete(failed: list[str]) -> None:
    from ..errors import IncompleteEvidence

    raise IncompleteEvidence.families(failed)


@click.group("snapshots", invoke_without_command=True)
@format_option("table", "csv", "json")
@click.pass_context
def snapshots_cmd(ctx: click.Context, fmt: str) -> None:
    """List stored snapshots, oldest first, with status and counts (gwaudit snapshots delete ID
    removes one)."""
    if ctx.invoked_subcommand is not None:
        return
    from ..output import csv_text, dumps, text_table

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
    from ..db.maintenance import delete_snapshot
    from ..errors import UsageError
    from ..output import dumps

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


@click.command("diff")
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
    from ..diff import diff_snapshots
    from ..diffview import diff_csv, diff_text
    from ..output import dumps

    names = [n.strip() for value in families for n in value.split(",") if n.strip()]
    d = diff_snapshots(c.db, old, new, families=names or None, include_volatile=include_volatile)
    if fmt == "json":
        click.echo(dumps(d.to_dict()))
    elif fmt == "csv":
        click.echo(diff_csv(d), nl=False)
    else:
        click.echo(diff_text(d, style=styler()))
    err = d.incomplete_error()
    if err:
        raise err


@click.command("history")
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
    from ..history import history_text, resource_history
    from ..output import dumps

    h = resource_history(c.db, ident, family=family, include_volatile=include_volatile)
    if fmt == "json":
        click.echo(dumps(h.to_dict()))
    else:
        click.echo(history_text(h, style=styler()))


@click.command("prune")
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
    from ..errors import UsageError
    from ..output import dumps, text_table
    from ..prune import Policy, prune

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

