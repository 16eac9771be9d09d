"""Shared concepts as views: what "an active key", "the effective price of a route", "the LLM
traffic a policy covers" mean, defined once in SQL, read by every rule, report and command.

A concept is a :class:`Concept`: a name and a ``SELECT`` over the family views and earlier
concepts, written as a template in which every family or concept it reads is a placeholder:
``{api_keys}``, ``{active_keys}`` (a literal brace is doubled). ``now`` is each row's
``taken_at`` (the snapshot's), never the wall clock.

The same template gives three things:

* a persistent view ``<name>`` over the latest snapshot (``gwaudit sql``, reports), created with
  the database's derived objects (:mod:`gwaudit.db.schema`);
* on a rule's connection, where temporary views scope the plain family names to the evaluated
  snapshot, that persistent view follows the scoping (DuckDB resolves the names inside a view
  when it is queried, temporary views first);
* ``prev_<name>`` over the previous snapshot for change-control rules (:func:`scope_previous`).

:data:`CONCEPTS` is the whole list, in dependency order; each module contributes its tuple.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from .. import families as fam
from ..db.sql import ident


@dataclass(frozen=True)
class Concept:
    name: str
    sql: str
    """A SELECT template; families and concepts it reads as ``{name}`` placeholders."""
    doc: str
    """What the concept means, at its edges too (README and rules/README quote it)."""

    @property
    def reads(self) -> frozenset[str]:
        """The families and concepts the template names directly."""
        import string

        return frozenset(f for _, f, _, _ in string.Formatter().parse(self.sql) if f)

    def families(self) -> frozenset[str]:
        """Every family this concept reads, through the concepts it reads too."""
        out: set[str] = set()
        for name in self.reads:
            out |= BY_NAME[name].families() if name in BY_NAME else {name}
        return frozenset(out)

    def render(self, prefix: str = "") -> str:
        """The SELECT over ``<prefix><name>`` for every family and concept."""
        return self.sql.format_map(_Names(prefix))


class _Names(dict):
    def __init__(self, prefix: str):
        super().__init__()
        self.prefix = prefix

    def __missing__(self, key: str) -> str:
        if key not in _KNOWN:
            raise KeyError(f"{{{key}}} is neither a family nor a concept")
        return ident(self.prefix + key)


def _all() -> tuple[Concept, ...]:
    from ..access import concepts as access
    from . import keys, pricing

    return (*keys.CONCEPTS, *pricing.CONCEPTS, *access.CONCEPTS)


CONCEPTS: tuple[Concept, ...] = _all()
_KNOWN = frozenset(fam.NAMES) | {c.name for c in CONCEPTS}
BY_NAME = {c.name: c for c in CONCEPTS}

if len({c.name for c in CONCEPTS}) != len(CONCEPTS):  # pragma: no cover - a programming error
    raise RuntimeError("a concept is defined twice")


def definitions() -> list[tuple[str, str]]:
    """(name, CREATE VIEW) of every concept over the latest snapshot, for the derived objects."""
    return [(c.name, f"CREATE OR REPLACE VIEW {ident(c.name)} AS {c.render()}") for c in CONCEPTS]


def scope_previous(con: duckdb.DuckDBPyConnection) -> None:
    """``prev_<concept>`` temporary views over the ``prev_<family>`` views of this connection."""
    for c in CONCEPTS:
        con.execute(f"CREATE OR REPLACE TEMP VIEW {ident('prev_' + c.name)} AS {c.render('prev_')}")
