"""What every command shares: the context object (:class:`Ctx`, the one :class:`~gwaudit.db.Database`
and the configuration), the ``--format`` and ``--rules-dir`` options, colour and progress bars."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import click

from ..config import Config
from ..db import Database
from ..output import Styler, plain

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
        from ..logsetup import get

        get().info(message, extra=fields)

    @property
    def interactive(self) -> bool:
        """Progress bars only for a person at a terminal."""
        return (not self.quiet and self.extra.get("log_format", "text") == "text"
                and sys.stderr.isatty())

    def progress(self, label: str) -> Callable[[int, int], None] | None:
        """A progress bar's (done, total) callback on a terminal; None otherwise."""
        return progress_bar(label) if self.interactive else None


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


def rules_dir_option(f: Callable) -> Callable:
    return click.option("--rules-dir", "rules_dirs", multiple=True,
                        type=click.Path(file_okay=False, exists=True, path_type=Path),
                        help="Folder of extra rule files (*.yaml), repeatable; added to config [rules] dirs.")(f)


def remember(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    ctx.meta[f"gwaudit.{param.name}"] = value
    return value


def styler() -> Styler:
    """click.style when stdout is a terminal (and NO_COLOR is unset), else plain text."""
    return click.style if sys.stdout.isatty() and not os.environ.get("NO_COLOR") else plain


def progress_bar(label: str) -> Callable[[int, int], None]:
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


def soc2_scope(flag: str | None, configured: list[str]) -> list[str]:
    """--soc2-categories (validated here, so a bad list is a usage error before any work) or the
    configuration's list."""
    from ..frameworks import Scope

    return list(Scope.parse([flag]).soc2_categories) if flag is not None else list(configured)
