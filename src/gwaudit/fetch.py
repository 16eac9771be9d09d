"""One request to the admin API, with retries: the HTTP side of collection.

:class:`Fetcher` GETs one endpoint within the collection's concurrency, retrying 5xx, connection
errors, timeouts, truncated bodies and 429 (honouring ``Retry-After``) with exponential backoff and
full jitter, inside a per-request time cap; a 401/403 aborts the whole collection
(:class:`Abort`). :func:`describe_error` turns any of the API's error bodies into one line.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import random
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from . import families as fam
from .errors import AuthError
from .rawjson import loads_strict
from .redact import redact
from .snapshot import DEFAULT_LIMITS
from .timeutil import utcnow

if TYPE_CHECKING:
    from .collector import CollectOptions

RETRY_STATUSES = {500, 502, 503, 504, 429}


# ---------------------------------------------------------------- error bodies

def describe_error(response: httpx.Response, body: bytes | None = None) -> str:
    """The message of any documented error body shape, on one line (``body``: the body read
    within the size cap, when the response was streamed)."""
    content = response.content if body is None else body
    text = content.decode(response.encoding or "utf-8", "replace").strip() if content else ""
    message = ""
    try:
        body = json.loads(text) if text else None
    except ValueError:
        body = None
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):  # {"error": {"message", "type"}}  (OpenAI-style, Terraform)
            message = ": ".join(str(x) for x in (err.get("type"), err.get("message")) if x)
        elif isinstance(err, str) and body.get("message"):  # {"error": "NotFound", "message": "..."}
            message = f"{err}: {body['message']}"
        elif body.get("title") or body.get("detail"):  # RFC 7807
            message = ": ".join(str(x) for x in (body.get("title"), body.get("detail")) if x)
        else:
            for k in ("message", "error", "detail"):
                if isinstance(body.get(k), str):
                    message = body[k]
                    break
    if not message:
        message = text  # plain-text framework rejection
    message = redact(" ".join(message.split()))  # before cutting, so no piece of a credential survives
    if len(message) > 300:
        message = message[:297] + "..."
    reason = response.reason_phrase or ""
    return f"HTTP {response.status_code} {reason}".strip() + (f": {message}" if message else "")


# ---------------------------------------------------------------- one request, with retries

@dataclass
class Outcome:
    status: int | None  # final HTTP status, None when no response
    body: bytes | None
    error: str | None
    attempts: int
    duration_ms: float
    items: list[Any] | None = None  # the family's items, parsed once

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.error is None


class BodyTooLarge(Exception):
    def __init__(self, status: int, size: str, cap: int):
        super().__init__(f"HTTP {status}: the response body is {size} bytes; gwaudit accepts at most {cap:,} "
                         "bytes from one response ([limits] max_file_mb); not stored")
        self.status = status


async def read_capped(response: httpx.Response, cap: int) -> bytes:
    """The response's (decoded) body, refused (:class:`BodyTooLarge`) past ``cap`` bytes: the
    declared Content-Length is checked first, then the bytes as they arrive, so an oversized body
    is never held in memory."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap and not response.headers.get("content-encoding"):
        raise BodyTooLarge(response.status_code, f"{int(declared):,}", cap)
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > cap:
            raise BodyTooLarge(response.status_code, f"over {cap:,}", cap)
        chunks.append(chunk)
    return b"".join(chunks)


class Abort(Exception):
    def __init__(self, error: AuthError):
        self.error = error


def retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        from .timeutil import UTC
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - utcnow()).total_seconds())


class Fetcher:
    def __init__(self, client: httpx.AsyncClient, opts: CollectOptions):
        self.client = client
        self.opts = opts
        self.sem = asyncio.Semaphore(opts.concurrency)
        self.rng = random.Random(opts.seed)
        self.requests = 0
        self.retries = 0
        limits = getattr(opts, "limits", None) or DEFAULT_LIMITS
        self.max_body = limits.max_file_bytes
        self.max_depth = limits.max_json_depth

    async def get(self, family: fam.Family, params: dict[str, str] | None = None) -> Outcome:
        """GET one endpoint of ``family``; a 200 whose body is not the family's JSON shape (a
        truncated body, say) is retried like a 5xx."""
        path = family.path
        opts = self.opts
        started = time.monotonic()
        attempt = 0
        last_error = "no attempt made"
        last_status: int | None = None
        while True:
            attempt += 1
            wait: float | None = None
            async with self.sem:
                self.requests += 1
                try:
                    async with self.client.stream("GET", path, params=params) as response:
                        content = await read_capped(response, self.max_body)
                except httpx.TimeoutException as exc:
                    last_error, last_status = f"timed out ({type(exc).__name__})", None
                except httpx.TransportError as exc:
                    last_error, last_status = f"connection error: {type(exc).__name__}: {exc}", None
                except BodyTooLarge as exc:
                    # deterministic: retrying would fetch the same body again
                    return Outcome(exc.status, None, str(exc), attempt, (time.monotonic() - started) * 1000)
                else:
                    last_status = response.status_code
                    if response.status_code == 200:
                        body = content
                        try:
                            items = await parse_body(family, body, self.max_depth)
                        except ValueError as exc:
                            last_error = f"HTTP 200 with an unexpected body ({exc})"
                        else:
                            return Outcome(200, body, None, attempt, (time.monotonic() - started) * 1000, items)
                    elif response.status_code in (401, 403):
                        raise Abort(auth_error(response, path, content))
                    elif response.status_code in RETRY_STATUSES:
                        last_error = describe_error(response, content)
                        if response.status_code == 429:
                            wait = retry_after(response)
                    else:
                        # 4xx other than 401/403/429: not transient, do not retry
                        return Outcome(response.status_code, content, describe_error(response, content), attempt,
                                       (time.monotonic() - started) * 1000)
            elapsed = time.monotonic() - started
            backoff = self.rng.uniform(0, min(opts.backoff_max, opts.backoff_base * (2 ** (attempt - 1))))
            delay = max(backoff, wait or 0.0)
            if attempt >= opts.max_attempts or elapsed + delay > opts.max_retry_seconds:
                why = "attempts" if attempt >= opts.max_attempts else "retry time"
                return Outcome(last_status, None,
                               f"{last_error} (gave up after {attempt} attempt{'s' if attempt > 1 else ''}, "
                               f"{elapsed:.1f}s; limit on {why})", attempt, elapsed * 1000)
            self.retries += 1
            await asyncio.sleep(delay)


_BIG_BODY = 1 << 20
PARENTS = {p for f in fam.per_item() for p in f.parents}
"""Families whose items per-item requests need (their bodies are always parsed here)."""


async def parse_body(family: fam.Family, body: bytes, max_depth: int = DEFAULT_LIMITS.max_json_depth
                     ) -> list[Any] | None:
    """The body's items, parsed as strictly as ``gwaudit import`` parses a file
    (:func:`gwaudit.rawjson.loads_strict`: no duplicate keys, bounded nesting), so a body the
    store would refuse marks its family failed instead. A large bare array that no per-item
    request depends on is checked off the event loop and its items dropped; DuckDB counts them
    after the network phase (``collector._count_deferred``)."""
    if len(body) > _BIG_BODY and family.shape == "array" and family.name not in PARENTS and not family.per_item:
        if body.lstrip()[:1] != b"[" or body.rstrip()[-1:] != b"]":
            raise ValueError("not a complete JSON array (truncated?)")

        def check() -> None:
            try:
                family.items_of(loads_strict(body, max_depth=max_depth))
            except ValueError as exc:
                raise ValueError(f"not a JSON {family.shape}: {str(exc)[:120]}") from None
        await asyncio.to_thread(check)
        return None

    def parse() -> list[Any]:
        try:
            return family.items_of(loads_strict(body, max_depth=max_depth))
        except ValueError as exc:  # JSONRefused, and a body of the wrong shape
            raise ValueError(f"not a JSON {family.shape}: {str(exc)[:120]}") from None
    if len(body) > _BIG_BODY:
        return await asyncio.to_thread(parse)
    return parse()



_ROLE_HINT = ("the admin API (/admin/...) needs a token of a user or service account with the admin "
              "role in the Barndoor org; /user/... needs any signed-in user")


def auth_error(response: httpx.Response, path: str, body: bytes | None = None) -> AuthError:
    endpoint = f"GET {fam.API_ROOT}{path}"
    detail = describe_error(response, body)
    if response.status_code == 401:
        return AuthError(f"{endpoint} refused the token ({detail}); nothing was stored",
                         hint="the token is missing, expired, revoked or for another org: fetch a fresh one")
    return AuthError(f"{endpoint} refused access ({detail}); nothing was stored", hint=_ROLE_HINT)



class NoCookies(httpx.Cookies):
    """The admin API is bearer-authenticated; an audit client keeps no cookies. (Parsing each
    response's Set-Cookie through http.cookiejar also cost ~0.5 ms per request.)"""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None


class Client(httpx.AsyncClient):
    @property  # type: ignore[override]
    def cookies(self) -> httpx.Cookies:
        return NO_COOKIES

    @cookies.setter
    def cookies(self, value: Any) -> None:
        pass


NO_COOKIES = NoCookies()


# ---------------------------------------------------------------- summarising failures

_GAVE_UP = re.compile(r" \(gave up after \d+ attempts?, [\d.]+s; limit on [a-z ]+\)$")
_PATHS = re.compile(r"/[\w\-./{}%=&?]+")


def group_errors(errors: list[tuple[str, str | None]]) -> list[tuple[list[str], str]]:
    """``(family, error)`` pairs grouped by the kind of error, so that 22 identical connection
    errors (or 17 "no route for GET <path>") are said once with the families they hit. Texts that
    differ only in the retry tally ("gave up after 6 attempts, 1.2s"), the family's name or the
    endpoint path are the same error; the first family's text is kept."""
    groups: dict[str, tuple[list[str], str]] = {}
    for name, error in errors:
        text = error or "error"
        key = _PATHS.sub("<path>", _GAVE_UP.sub("", text)).replace(name, "<family>")
        if key in groups:
            groups[key][0].append(name)
        else:
            groups[key] = ([name], text)
    return list(groups.values())


def failure_lines(errors: list[tuple[str, str | None]], *, prefix: str = "failed: ") -> list[str]:
    """One line per kind of error: ``failed: api_keys: ...`` or
    ``failed (17 families: a, b, ...), e.g. a: ...``."""
    lines = []
    for names, text in group_errors(errors):
        if len(names) == 1:
            lines.append(f"{prefix}{names[0]}: {text}")
        else:
            shown = ", ".join(names[:6]) + (f" and {len(names) - 6} more" if len(names) > 6 else "")
            lines.append(f"{prefix.rstrip(': ')} ({len(names)} families: {shown}), e.g. {names[0]}: {text}")
    return lines
