"""``gwaudit rules list|show``: the rule catalog."""

from __future__ import annotations

from pathlib import Path

import click

from .context import Ctx, format_option, pass_ctx, rules_dir_option


@click.group("rules")
def rules_group() -> None:
    """The rule catalog: built-in rules, --rules-dir rules and the engine's own."""


@rules_group.command("list")
@rules_dir_option
@format_option("table", "json")
@pass_ctx
def rules_list_cmd(c: Ctx, rules_dirs: tuple[Path, ...], fmt: str) -> None:
    """List the rules: id, severity, title, frameworks."""
    from ..rules import load_rules
    from ..rules.render import rules_json, rules_table

    rules = load_rules([*c.config.rules.dirs, *rules_dirs])
    click.echo(rules_json(rules) if fmt == "json" else rules_table(rules))


@rules_group.command("show")
@click.argument("rule_id")
@rules_dir_option
@format_option("text", "json", default="text")
@pass_ctx
def rules_show_cmd(c: Ctx, rule_id: str, rules_dirs: tuple[Path, ...], fmt: str) -> None:
    """Show everything about one rule: metadata, frameworks, effective params and its SQL."""
    from ..errors import UsageError
    from ..output import dumps
    from ..rules import effective_params, load_rules
    from ..rules.render import rule_text

    rules = load_rules([*c.config.rules.dirs, *rules_dirs])
    params = effective_params(rules, c.config.rule_params())
    rule = next((r for r in rules if r.id == rule_id.upper()), None)
    if rule is None:
        raise UsageError(f"no rule {rule_id}", hint="gwaudit rules list shows the ids")
    click.echo(dumps(rule.describe(params[rule.id])) if fmt == "json" else rule_text(rule, params[rule.id]))

