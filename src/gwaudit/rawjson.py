"""Verbatim slices of JSON text: each item of an array exactly as the server sent it.

Evidence is kept byte for byte, so items are cut out of the body rather than re-serialised.
Bare arrays are cut by DuckDB (``read_json_objects``); this module handles the envelope and
singleton bodies, which are small.
"""

from __future__ import annotations

import json
import re

_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


def _skip(text: str, i: int) -> int:
    return _WS.match(text, i).end()  # type: ignore[union-attr]


def array_items(text: str, start: int = 0) -> list[str]:
    """Verbatim item texts of the JSON array that begins at ``text[start]`` (after whitespace)."""
    i = _skip(text, start)
    if i >= len(text) or text[i] != "[":
        raise ValueError(f"expected a JSON array at offset {i}")
    i = _skip(text, i + 1)
    items: list[str] = []
    if i < len(text) and text[i] == "]":
        return items
    while True:
        _value, end = _DECODER.raw_decode(text, i)
        items.append(text[i:end])
        i = _skip(text, end)
        if i < len(text) and text[i] == ",":
            i = _skip(text, i + 1)
            continue
        if i < len(text) and text[i] == "]":
            return items
        raise ValueError(f"expected ',' or ']' at offset {i}")


def member_span(text: str, key: str) -> tuple[int, int] | None:
    """(start, end) of the value of top-level member ``key`` of the JSON object in ``text``."""
    i = _skip(text, 0)
    if i >= len(text) or text[i] != "{":
        raise ValueError("expected a JSON object")
    i = _skip(text, i + 1)
    if i < len(text) and text[i] == "}":
        return None
    while True:
        name, i = _DECODER.raw_decode(text, i)
        if not isinstance(name, str):
            raise ValueError(f"expected a member name at offset {i}")
        i = _skip(text, i)
        if i >= len(text) or text[i] != ":":
            raise ValueError(f"expected ':' at offset {i}")
        vstart = _skip(text, i + 1)
        _value, vend = _DECODER.raw_decode(text, vstart)
        if name == key:
            return vstart, vend
        i = _skip(text, vend)
        if i < len(text) and text[i] == ",":
            i = _skip(text, i + 1)
            continue
        if i < len(text) and text[i] == "}":
            return None
        raise ValueError(f"expected ',' or '}}' at offset {i}")


def envelope_items(text: str, items_key: str) -> list[str]:
    span = member_span(text, items_key)
    if span is None:
        raise ValueError(f"the object has no {items_key!r} member")
    return array_items(text, span[0])


def whole(text: str) -> str:
    """The single JSON value in ``text`` without surrounding whitespace (validated)."""
    i = _skip(text, 0)
    _value, end = _DECODER.raw_decode(text, i)
    if _skip(text, end) != len(text):
        raise ValueError(f"extra data after the JSON value at offset {end}")
    return text[i:end]
