"""Rendering rows for a terminal, CSV or JSON. No business logic here."""

from __future__ import annotations

import csv
import io
import json
import math
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Iterable, Protocol, Sequence

from .timeutil import format_ts


class Styler(Protocol):
    """How text renderers colour their output: ``style(text, fg="red", bold=True)``. The library
    renders plain text (:func:`plain`); the command line passes ``click.style`` on a terminal."""

    def __call__(self, text: str, **style: Any) -> str: ...


def plain(text: str, **_style: Any) -> str:
    """The styler that adds nothing."""
    return text


def jsonable(value: Any) -> Any:
    """Turn DuckDB/pandas values into plain JSON values (timestamps as RFC 3339)."""
    if isinstance(value, datetime):
        return format_ts(value) if value.tzinfo else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, bytes):
        return value.hex()
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):  # numpy scalars
        try:
            return value.item()
        except (AttributeError, ValueError):
            pass
    return value


def dumps(value: Any, *, indent: int | None = 2) -> str:
    return json.dumps(jsonable(value), indent=indent, ensure_ascii=False, sort_keys=False)


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return format_ts(value) if value.tzinfo else value.isoformat(sep=" ")
    if isinstance(value, (list, dict)):
        return json.dumps(jsonable(value), ensure_ascii=False)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def text_table(columns: Sequence[str], rows: Iterable[Sequence[Any]], *, max_width: int = 60) -> str:
    """A plain aligned table; long cells are cut with an ellipsis."""
    body = [[_clip(cell(v), max_width) for v in row] for row in rows]
    widths = [len(c) for c in columns]
    for row in body:
        for i, v in enumerate(row):
            widths[i] = max(widths[i], len(v))
    lines = ["  ".join(c.ljust(widths[i]) for i, c in enumerate(columns)).rstrip(),
             "  ".join("-" * w for w in widths)]
    for row in body:
        lines.append("  ".join(v.ljust(widths[i]) for i, v in enumerate(row)).rstrip())
    return "\n".join(lines)


def _clip(text: str, width: int) -> str:
    text = text.replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "…"


def csv_text(columns: Sequence[str], rows: Iterable[Sequence[Any]], *, neutralise: bool = True) -> str:
    """CSV with text cells that a spreadsheet would evaluate neutralised (numbers untouched)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([safe_cell(cell(v)) if neutralise and isinstance(v, str) else cell(v) for v in row])
    return buf.getvalue()


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(text: str) -> str:
    """Neutralise a spreadsheet formula: a cell starting with = + - @ tab or CR gets a ``'``."""
    if text and text.startswith(_FORMULA_START):
        return "'" + text
    return text


def records(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[dict[str, Any]]:
    return [dict(zip(columns, (jsonable(v) for v in row))) for row in rows]
