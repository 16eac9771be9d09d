"""The drift compiler: the API models' documented schema turned into one SQL query per family
that lists, for the versions a snapshot adds, every value outside it (``schema_drift``): an
unknown enum value, a type mismatch, a missing required field. Drift is recorded, never refused.
"""

from __future__ import annotations

from .. import families as fam
from .fieldchecks import field_checks
from .layout import cast_text
from .sql import ident, literal

JSON_TYPES = {"BOOLEAN": "('BOOLEAN')", "BIGINT": "('BIGINT', 'UBIGINT')",
              "DOUBLE": "('DOUBLE', 'BIGINT', 'UBIGINT')", "VARCHAR": "('VARCHAR')"}
"""JSON value types (json_type) accepted for a typed column."""


def nested(path: str) -> tuple[str, str]:
    """(fragment column, JSON path inside it) for a dotted path below a top-level field."""
    from .sql import json_path

    top, rest = path.split(".", 1)
    return f"s.{ident(top)}", json_path(rest)


def drift_sql(family: fam.Family, source: str = "new_versions") -> str | None:
    """``INSERT INTO schema_drift`` of every drift in ``source`` (columns ``vid``, ``raw`` and the
    parsed top-level fragments ``s``), or None when the model documents nothing to check."""
    parts = []
    for check in field_checks(family.model):
        if check.top_level:
            ref = f"s.{ident(check.field)}"
            field = literal(check.field)
            if check.required:
                parts.append(f"SELECT vid, {field}, 'missing', NULL FROM {source} WHERE {ref} IS NULL")
            if check.sql_type == "TIMESTAMPTZ":
                parts.append(f"SELECT vid, {field}, 'type', left(CAST({ref} AS VARCHAR), 200) FROM {source} "
                             f"WHERE {ref} IS NOT NULL AND (json_type({ref}) <> 'VARCHAR' OR "
                             f"{cast_text('TIMESTAMPTZ', f'json_extract_string({ref}, {literal(chr(36))})')} IS NULL)")
            elif check.sql_type in JSON_TYPES or (check.sql_type == "JSON" and check.json_kind):
                allowed_types = JSON_TYPES.get(check.sql_type) or f"({literal(check.json_kind or '')})"
                parts.append(f"SELECT vid, {field}, 'type', left(CAST({ref} AS VARCHAR), 200) FROM {source} "
                             f"WHERE {ref} IS NOT NULL AND json_type({ref}) NOT IN {allowed_types}")
        if check.known:
            allowed = ", ".join(literal(v) for v in check.known)
            if check.list_path:
                top, inner = check.list_path[2:].split("[*]", 1)  # "$.targets[*].kind"
                values = (f"json_extract_string(s.{ident(top)}, {literal('$[*]' + inner)})" if "." not in top
                          else f"json_extract_string(raw, {literal(check.list_path)})")
                parts.append(
                    f"SELECT vid, {literal(check.display)}, 'unknown_enum', v FROM "
                    f"(SELECT vid, unnest({values}) AS v FROM {source}) "
                    f"WHERE v IS NOT NULL AND v NOT IN ({allowed})")
            else:
                if check.top_level:
                    expr = f"json_extract_string(s.{ident(check.field)}, '$')"
                else:
                    frag, inner = nested(check.field)
                    expr = f"json_extract_string({frag}, {literal(inner)})"
                parts.append(f"SELECT vid, {literal(check.display)}, 'unknown_enum', {expr} FROM {source} "
                             f"WHERE {expr} IS NOT NULL AND {expr} NOT IN ({allowed})")
    if not parts:
        return None
    return (f"INSERT INTO schema_drift SELECT vid, {literal(family.name)}, path, kind, value FROM ("
            + " UNION ALL ".join(parts) + ") AS d(vid, path, kind, value)")
