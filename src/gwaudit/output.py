"""Rendering rows for a terminal, CSV or JSON. No business logic here."""

from __future__ import annotations

import csv
import io
import json
import math
import re
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


BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
"""Characters that change the display order of the text around them: ALM, LRM, RLM, the
embeddings and overrides (LRE RLE PDF LRO RLO) and the isolates (LRI RLI FSI PDI)."""

_BIDI_RE = re.compile(f"[{BIDI_CONTROLS}]")
_TERMINAL_UNSAFE = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{BIDI_CONTROLS}]")
_RTL_OR_BIDI = re.compile(f"[{BIDI_CONTROLS}\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc\U00010800-\U00010fff"
                          f"\U0001e800-\U0001efff]")


def has_bidi(text: str) -> bool:
    """Whether ``text`` can reorder the text around it: a bidi control or a right-to-left letter."""
    return _RTL_OR_BIDI.search(text) is not None


def escape_bidi(text: str) -> str:
    """Bidi controls shown as ``\\u202e`` (for places that cannot isolate them: titles, attributes)."""
    return _BIDI_RE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def terminal_text(text: str) -> str:
    """``text`` safe to print on a terminal: bidi controls, escape sequences and other control
    characters (tab and line break excepted) shown as ``\\u202e`` / ``\\x1b``."""
    if not _TERMINAL_UNSAFE.search(text):
        return text
    return _TERMINAL_UNSAFE.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                                else f"\\u{ord(m.group()):04x}", text)


def text_table(columns: Sequence[str], rows: Iterable[Sequence[Any]], *, max_width: int = 60) -> str:
    """A plain aligned table; long cells are cut with an ellipsis; bidi and control characters
    are shown escaped (:func:`terminal_text`)."""
    body = [[_clip(terminal_text(cell(v)), max_width) for v in row] for row in rows]
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
_NUMBER = re.compile(r"\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*")


def safe_cell(text: str) -> str:
    """Neutralise a spreadsheet formula: a cell that starts with = + - @ tab or CR, or whose first
    character after leading whitespace (spaces, tabs, line breaks) is one of = + - @, gets a
    ``'`` in front. A plain number (``-12.5``, ``+3``) is left as it is."""
    if not text:
        return text
    if text.startswith(_FORMULA_START) or text.lstrip().startswith(_FORMULA_START[:4]):
        if _NUMBER.fullmatch(text):
            return text
        return "'" + text
    return text


def records(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[dict[str, Any]]:
    return [dict(zip(columns, (jsonable(v) for v in row))) for row in rows]
