"""One redaction function for every string that leaves the process or reaches the database.

:func:`redact` removes, from any text:

- every secret registered with :func:`register` (the API token, and for a JWT its payload
  segment and its signature on their own, since either can leak without the rest; the webhook
  HMAC secret); a :class:`gwaudit.auth.Token` registers itself when it is created;
- the credential after ``Bearer`` and after ``Authorization:`` / ``authorization=`` /
  ``"authorization": "..."`` (any scheme), whoever's it is;
- anything shaped like a JWT (``eyJ...`` header, a dot, a payload).

It is applied where text leaves the process or is stored, not at each call site: the log
formatters (text and JSON), the CLI's error printer, a family's collection status before it is
stored (:class:`gwaudit.snapshot.FamilyStatus`), an HTTP error message as the collector builds it,
the report data before any renderer sees it, and the webhook payload.

What it cannot know: a secret that was never registered and is not in one of those shapes
(an opaque token quoted bare by someone else, or a credential that holds only letters), and a
secret after a transformation (base64 of ``user:token`` in a Basic header is caught by the
``Authorization`` rule, a token re-encoded some other way is not).
"""

from __future__ import annotations

import functools
import re
import threading
from datetime import date, datetime
from decimal import Decimal
from dataclasses import fields, is_dataclass, replace
from typing import Any, Iterable

REDACTED = "[REDACTED]"

MIN_SECRET = 8
"""Shorter registered strings are ignored: redacting them would shred ordinary text."""

# RFC 6750 b64token / RFC 7235 token68: what may follow an auth scheme in a header. It holds no
# quote, backslash, space or angle bracket, so cutting it out of JSON or HTML text keeps the
# text well formed. A credential must be 8+ characters with a digit or a symbol, so prose like
# "Bearer authentication" is left alone.
_CRED = r"(?=[A-Za-z]*[0-9\-._~+/=])[A-Za-z0-9\-._~+/]{8,}=*"
_GENERIC = (
    # Authorization: Bearer x / "authorization": "Basic x" / authorization=x (the key is kept)
    r"(?P<akey>\b(?:proxy-)?authorization\b[\"']?\s*[:=]\s*[\"']?)(?:[A-Za-z][A-Za-z0-9_-]*\s+)?" + _CRED,
    # Bearer x (also inside repr() of bytes: b'Bearer x\x00')
    r"(?P<bkey>\bbearer\s+)" + _CRED,
)
# a JWT or the start of one: header (always base64 of '{"', so "eyJ", case and all) . payload [. signature]
_JWT = r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]*)?"

_lock = threading.Lock()
_secrets: tuple[str, ...] = ()
_pattern: re.Pattern[str]


def _compile(secrets: Iterable[str]) -> re.Pattern[str]:
    # Longest first, so a token is removed whole rather than a registered part of it.
    literal = sorted(set(secrets), key=len, reverse=True)
    parts = [f"(?:{'|'.join(re.escape(s) for s in literal)})"] if literal else []
    return re.compile("|".join([*parts, *(f"(?ai:{g})" for g in _GENERIC), _JWT]))


def _maybe(text: str) -> bool:
    """Whether ``text`` could match the pattern at all: a few substring tests, eight times faster
    than the search on the clean strings that are nearly all there is. A superset of the pattern:
    its case-insensitive parts are ASCII-only, so a match means these words are in ``text.lower()``."""
    if "eyJ" in text:
        return True
    low = text.lower()
    if "bearer" in low or "authorization" in low:
        return True
    return any(secret in text for secret in _secrets)


_pattern = _compile(())


def register(*secrets: str | None) -> None:
    """Remember secrets for every later :func:`redact` in this process (idempotent)."""
    global _secrets, _pattern
    new = [s for s in secrets if isinstance(s, str) and len(s) >= MIN_SECRET]
    if not new:
        return
    with _lock:
        merged = tuple(dict.fromkeys([*_secrets, *new]))
        if merged != _secrets:
            _secrets, _pattern = merged, _compile(merged)


def token_parts(value: str) -> list[str]:
    """A bearer token and, for a JWT, its payload and its signature: each can leak on its own
    (the header is the same for every token a server signs, so it is no secret)."""
    parts = value.split(".")
    return [value, *(parts[1:] if len(parts) == 3 else ())]


def register_token(value: str) -> None:
    """Register a bearer token (:func:`token_parts`) for every later :func:`redact`."""
    register(*token_parts(value))


def _replace(match: re.Match[str]) -> str:
    key = match.group("akey") or match.group("bkey")
    return f"{key}{REDACTED}" if key else REDACTED


def redact(text: Any, extra: Iterable[str] = ()) -> Any:
    """``text`` with every secret removed; non-strings are returned unchanged.

    ``extra``: secrets known only to this call (e.g. a failed token command's stdout lines)."""
    if not isinstance(text, str) or not text:
        return text
    if extra:
        for secret in sorted((s for s in extra if isinstance(s, str) and len(s) >= MIN_SECRET), key=len, reverse=True):
            text = text.replace(secret, REDACTED)
    return _pattern.sub(_replace, text) if _maybe(text) else text


def redact_bytes(body: bytes) -> bytes:
    """``body`` with the registered secrets removed (literal secrets only: an API body is
    evidence and is otherwise kept byte for byte)."""
    for secret in _secrets:
        raw = secret.encode("utf-8", "surrogateescape")
        if raw in body:
            body = body.replace(raw, REDACTED.encode())
    return body


def redact_obj(value: Any) -> Any:
    """A copy of ``value`` (str, dict, list, tuple, dataclass) with :func:`redact` applied to
    every string in it, keys included. Unchanged parts are shared, not copied, so a clean
    object comes back as itself."""
    def walk(v: Any) -> Any:
        t = type(v)
        if t is str:
            return _pattern.sub(_replace, v) if _maybe(v) else v
        if t is dict:
            changed = None
            for k, item in v.items():
                k2, item2 = walk(k), walk(item)
                if k2 is not k or item2 is not item:
                    changed = changed or {}
                    changed[k] = (k2, item2)
            if not changed:
                return v
            return dict(changed.get(k, (k, item)) for k, item in v.items())
        if t is list or t is tuple:
            out = None
            for i, item in enumerate(v):
                item2 = walk(item)
                if item2 is not item:
                    out = out or list(v)
                    out[i] = item2
            return v if out is None else (out if t is list else tuple(out))
        if t in _ATOMS:
            return v
        if isinstance(v, str):  # a str subclass (an enum value, Markup): its type kept unless it changes
            return v if not _maybe(v) else _pattern.sub(_replace, str(v))
        names = _init_fields(t)
        if names is not None:
            changed = {}
            for name in names:
                old = getattr(v, name)
                new = walk(old)
                if new is not old:
                    changed[name] = new
            return replace(v, **changed) if changed else v
        if isinstance(v, dict):
            return walk(dict(v))
        if isinstance(v, (list, tuple)):
            return walk(list(v))
        return v

    return walk(value)


_ATOMS = frozenset({int, float, bool, type(None), bytes, datetime, date, Decimal})


@functools.lru_cache(maxsize=None)
def _init_fields(cls: type) -> tuple[str, ...] | None:
    """The names a dataclass takes in ``__init__`` (None for anything else)."""
    if not is_dataclass(cls):
        return None
    return tuple(f.name for f in fields(cls) if f.init)
