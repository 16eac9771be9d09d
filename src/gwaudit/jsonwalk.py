"""Comparing two JSON documents value by value (diffs and resource history).

``walk_json`` yields a :class:`FieldChange` for every value that differs; ``same`` is the
equality it uses (``true`` is not ``1``; a missing member equals ``null``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

from .output import jsonable


@dataclass
class FieldChange:
    path: str
    """JSON path of the changed value inside the resource, e.g. ``$.targets[0].alias``."""
    before: Any
    after: Any

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "before": jsonable(self.before), "after": jsonable(self.after)}


_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _child(path: str, key: str) -> str:
    return f"{path}.{key}" if _IDENT.fullmatch(key) else f"{path}[{json.dumps(key)}]"


def same(a: Any, b: Any) -> bool:
    """JSON equality that tells ``true`` from ``1`` and treats a missing member like ``null``."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return all(same(a.get(k), b.get(k)) for k in a.keys() | b.keys())
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, (dict, list)) or isinstance(b, (dict, list)):
        return False
    return a == b


_SCALARS = (str, int, float, type(None))


def walk_json(before: Any, after: Any, *, skip: Iterable[str] = (), path: str = "$",
              dotted: str = "") -> Iterator[FieldChange]:
    """Every changed value between two JSON documents as a :class:`FieldChange`.

    Objects are compared member by member (a missing member equals ``null``); lists of the same
    length element by element; a list whose length changed is one change of the whole list.
    ``skip`` holds dotted member paths (volatile fields) left out. Each value is visited once.
    """
    skip = skip if isinstance(skip, (set, frozenset)) else frozenset(skip)
    if isinstance(before, dict) and isinstance(after, dict):
        for k in list(before) + [k for k in after if k not in before]:
            a, b = before.get(k), after.get(k)
            if type(a) is type(b) and isinstance(a, _SCALARS) and a == b:
                continue  # the common case, decided without a call
            sub = f"{dotted}.{k}" if dotted else k
            if sub not in skip:
                yield from walk_json(a, b, skip=skip, path=_child(path, k), dotted=sub)
    elif isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        for i, (a, b) in enumerate(zip(before, after)):
            if not (type(a) is type(b) and isinstance(a, _SCALARS) and a == b):
                yield from walk_json(a, b, skip=skip, path=f"{path}[{i}]", dotted=dotted)
    elif not same(before, after):
        yield FieldChange(path, before, after)
