"""Quoting SQL text: identifiers, literals and JSON paths.

Every module that builds SQL from names (family views, typed columns, rule findings) uses these;
values from users or the API are bound as parameters, never spliced in.
"""

from __future__ import annotations

import json
import re
from typing import Any

_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def ident(name: str) -> str:
    """A double-quoted SQL identifier: ``api_keys`` -> ``"api_keys"``."""
    return '"' + name.replace('"', '""') + '"'


def literal(value: str) -> str:
    """A single-quoted SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def json_path(dotted: str) -> str:
    """A JSON path for a dotted member path: ``policy.id`` -> ``$.policy.id`` (members that are
    not plain identifiers are quoted)."""
    return "$." + ".".join(p if _PLAIN.fullmatch(p) else f'"{p}"' for p in dotted.split("."))


def json_text(value: Any) -> str:
    """Canonical JSON text (sorted keys) for values stored as JSON."""
    return json.dumps(value, sort_keys=True)
