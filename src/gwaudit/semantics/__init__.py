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

import re
from dataclasses import dataclass
from typing import Iterable

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
    materialize: bool = True
    """Whether a rule's connection computes it once into a temporary table (:func:`materialize`);
    False for a concept whose rows are an expansion no rule reads whole (the access matrix)."""

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
    from . import controls, keys, pricing, urls

    return (*keys.CONCEPTS, *pricing.CONCEPTS, *controls.CONCEPTS, *urls.CONCEPTS, *access.CONCEPTS)


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


def _names_in(text: str, prefix: str) -> set[str]:
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text))
    return {c.name for c in CONCEPTS if prefix + c.name in words}


def materialize(con: duckdb.DuckDBPyConnection, sql_texts: Iterable[str], prefix: str = "") -> list[str]:
    """Compute once, as temporary tables shadowing the views, the concepts the given SQL reads
    (``<prefix><name>``) and every concept they read, in dependency order. DuckDB binds and plans
    a view each time a query names it, and the analysis concepts nest deeply: planning one query
    over the access views took seconds, for a handful of rows. With its inputs materialized each
    concept is planned over tables. A concept that fails to compute is left a view (the rule that
    reads it then reports the failure as before), as is every concept that reads it. Returns the
    names materialized. :func:`drop_materialized` removes them."""
    wanted: set[str] = set()
    for text in sql_texts:
        wanted |= _names_in(text, prefix)
    stack = list(wanted)
    while stack:
        for name in BY_NAME[stack.pop()].reads:
            if name in BY_NAME and name not in wanted:
                wanted.add(name)
                stack.append(name)
    done: list[str] = []
    failed: set[str] = set()
    for c in CONCEPTS:  # dependency order
        if c.reads & failed:  # reads a concept that failed: left a view, as it is
            failed.add(c.name)
            continue
        if c.name not in wanted or not c.materialize:
            continue
        target = ident(prefix + c.name)
        try:
            con.execute(f"DROP VIEW IF EXISTS temp.main.{target}")
            con.execute(f"CREATE OR REPLACE TEMP TABLE {target} AS {c.render(prefix)}")
        except duckdb.Error:
            failed.add(c.name)
            if prefix:  # put the view back: the rule reports the failure
                con.execute(f"CREATE OR REPLACE TEMP VIEW {target} AS {c.render(prefix)}")
            continue
        done.append(prefix + c.name)
    return done


def drop_materialized(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the temporary tables :func:`materialize` made on this connection (the views show
    through again)."""
    names = {c.name for c in CONCEPTS} | {"prev_" + c.name for c in CONCEPTS}
    for (name,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall():
        if name in names:
            con.execute(f"DROP TABLE temp.main.{ident(name)}")
