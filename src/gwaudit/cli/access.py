"""``gwaudit access`` and ``gwaudit exposure``: effective access and worst-case spend."""

from __future__ import annotations

import click

from .context import Ctx, format_option, pass_ctx


@click.command("access")
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
    from ..access.query import access
    from ..sqlquery import render

    click.echo(render(access(c.db, principal=principal, model=model, decision=decision,
                             include_keys=include_keys, snapshot=snapshot), fmt), nl=False)


@click.command("exposure")
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
    control binds, and unbounded when none does. A reachable route with no price is billable at an
    unknown price: unpriced_model names it and the figures are a lower bound. Largest first."""
    from ..access.query import exposure
    from ..sqlquery import render

    click.echo(render(exposure(c.db, top=top, principal=principal, active_only=not all_keys,
                               snapshot=snapshot), fmt), nl=False)
