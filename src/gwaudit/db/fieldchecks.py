"""The API models' declared fields compiled into what the store checks and types.

:func:`field_checks` walks a model's annotations once: each top-level field becomes a typed
column of the family's version table (:mod:`gwaudit.db.layout`), and every field's documented
type, requiredness and enumeration becomes a drift check (:mod:`gwaudit.db.drift`). The models
stay the one definition of the schema.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Union

from pydantic import BaseModel

from ..models import Known


def _unwrap(annotation: Any) -> tuple[Any, tuple[Any, ...]]:
    """Strip Optional/Annotated; return (base type, metadata)."""
    meta: tuple[Any, ...] = ()
    while True:
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            args = typing.get_args(annotation)
            annotation, meta = args[0], meta + tuple(args[1:])
            continue
        if origin in (Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) == 1:
                annotation = args[0]
                continue
        return annotation, meta


def _known(meta: tuple[Any, ...]) -> Known | None:
    return next((m for m in meta if isinstance(m, Known)), None)


@dataclass(frozen=True)
class FieldCheck:
    """What the store checks about one declared field, compiled from the model.

    Bulk validation runs in DuckDB over every new version (vectorised): the models stay the
    one definition of the schema (:mod:`gwaudit.db.drift` compiles them).
    """

    field: str  # dotted path from the item root
    display: str  # path as shown in drift reports (lists as ``targets[].kind``)
    sql_type: str
    top_level: bool
    required: bool
    nullable: bool
    json_kind: str | None  # "ARRAY" / "OBJECT" for JSON-typed fields
    known: tuple[str, ...] | None
    list_path: str | None  # JSON path with [*] when the field sits inside a list

    @property
    def column(self) -> str:
        return self.field


def _sql_type(base: Any) -> str:
    if base is bool:
        return "BOOLEAN"
    if base is int:
        return "BIGINT"
    if base is float:
        return "DOUBLE"
    if base is datetime:
        return "TIMESTAMPTZ"
    if base is str:
        return "VARCHAR"
    return "JSON"


def _json_kind(base: Any) -> str | None:
    origin = typing.get_origin(base) or base
    if origin is list:
        return "ARRAY"
    if origin is dict or (isinstance(base, type) and issubclass(base, BaseModel)):
        return "OBJECT"
    return None


def _is_model(base: Any) -> bool:
    return isinstance(base, type) and issubclass(base, BaseModel)


def _walk(model: type[BaseModel], prefix: str, display: str, list_prefix: str | None,
          out: list[FieldCheck]) -> None:
    for name, field in model.model_fields.items():
        key = field.alias or name
        base, meta = _unwrap(field.annotation)
        nullable = _allows_none(field.annotation)
        known = _known(meta + tuple(field.metadata))
        top = not prefix and list_prefix is None
        path = prefix + key
        shown = display + key
        if top or known is not None:
            out.append(FieldCheck(
                field=path, display=shown, sql_type=_sql_type(base), top_level=top,
                required=field.is_required(), nullable=nullable, json_kind=_json_kind(base),
                known=known.values if known else None,
                list_path=(list_prefix + key) if list_prefix is not None else None))
        if _is_model(base):
            _walk(base, path + ".", shown + ".",
                  (list_prefix + key + ".") if list_prefix is not None else None, out)
        elif typing.get_origin(base) is list:
            (inner,) = typing.get_args(base) or (Any,)
            inner, _ = _unwrap(inner)
            if _is_model(inner):
                lp = (list_prefix if list_prefix is not None else "$.") + key + "[*]."
                _walk(inner, path + "[].", shown + "[].", lp, out)


def _allows_none(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _allows_none(typing.get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return any(a is type(None) or _allows_none(a) for a in typing.get_args(annotation))
    return annotation is type(None) or annotation is Any


_CHECKS: dict[type, list[FieldCheck]] = {}


def field_checks(model: type[BaseModel]) -> list[FieldCheck]:
    checks = _CHECKS.get(model)
    if checks is None:
        checks = []
        _walk(model, "", "", None, checks)
        _CHECKS[model] = checks
    return checks
