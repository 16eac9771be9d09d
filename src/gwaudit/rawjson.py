"""Verbatim slices of JSON text: each item of an array exactly as the server sent it.

Evidence is kept byte for byte, so items are cut out of the body rather than re-serialised.
Bare arrays are cut by DuckDB (``read_json_objects``); this module handles the envelope and
singleton bodies, which are small.
"""

from __future__ import annotations

import json
import re
from typing import Any

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


# ---------------------------------------------------------------- strict parsing of untrusted JSON

class JSONRefused(ValueError):
    """A body gwaudit will not store: not UTF-8, not JSON, nested too deeply, a duplicate key."""


_KEEP_STRUCTURE = bytes(c for c in range(256) if c not in b'"[]{}')
_STRING = re.compile(rb'"[^"]*"')
_PAIR = re.compile(rb'\[\]|\{\}')


def nesting_depth(data: bytes, limit: int) -> int:
    """How deeply arrays and objects nest in ``data`` (a JSON text), counted up to ``limit + 1``.

    Iterative and linear (a few passes at C speed), so a 100,000-deep body costs nothing and
    never recurses. Brackets inside strings do not count. The text is not validated here: for a
    malformed text the answer is only an estimate (the parser rejects it anyway)."""
    if b"\\" in data:  # escaped backslashes and quotes cannot end a string
        data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    # Keep quotes and brackets only; a string without brackets becomes '""' and goes. Removing
    # two adjacent quotes keeps every remaining character's side (inside or outside a string).
    s = data.translate(None, _KEEP_STRUCTURE).replace(b'""', b"")
    if b'"' in s:
        s = _STRING.sub(b"", s)
    depth = 0
    while s:
        depth += 1
        if depth > limit:
            return depth
        shorter = _PAIR.sub(b"", s)
        if len(shorter) == len(s):  # unbalanced: malformed, the parser will say where
            return depth
        s = shorter
    return depth


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise JSONRefused(f"duplicate key {key!r} in one object (refused: readers would disagree "
                                  "on which value counts)")
            seen.add(key)
    return obj


_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")


def _lone_surrogate(value: Any) -> bool:
    """Whether any string (key or value) holds an unpaired UTF-16 surrogate (iterative walk)."""
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            try:
                v.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(v, dict):
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    return False


def _no_constant(name: str) -> Any:
    raise JSONRefused(f"{name} is not JSON")


def loads_strict(data: bytes, *, max_depth: int) -> Any:
    """Parse an untrusted JSON body the one way every reader of it agrees with.

    Refused (:class:`JSONRefused`, a ValueError): text that is not UTF-8, nesting deeper than
    ``max_depth`` arrays/objects, an object with the same key twice (DuckDB's JSON functions take
    the first value, Python's the last: neither is stored), ``NaN``/``Infinity``, a ``\\uD800``
    escape without its pair, and anything that is not one JSON value."""
    if data[:3] == b"\xef\xbb\xbf":
        raise JSONRefused("starts with a byte order mark (JSON bodies are UTF-8 without one)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise JSONRefused(f"not UTF-8 text (byte {exc.start})") from None
    depth = nesting_depth(data, max_depth)
    if depth > max_depth:
        raise JSONRefused(f"nested deeper than {max_depth} levels of arrays and objects")
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
        if _SURROGATE.search(data) and _lone_surrogate(value):  # rare: only then walk the value
            raise JSONRefused("a string holds an unpaired UTF-16 surrogate escape (not Unicode text; "
                              "DuckDB refuses it where Python would accept it)")
        return value
    except JSONRefused:
        raise
    except RecursionError:  # defence in depth: nesting_depth said otherwise
        raise JSONRefused(f"nested deeper than {max_depth} levels of arrays and objects") from None
    except ValueError as exc:  # JSONDecodeError, and integers too long to convert
        raise JSONRefused(f"not valid JSON ({exc})") from None
