"""Deterministic fault injection and the simulator's counters.

Each fault is decided from a hash of (seed, method, path+query, attempt number of that exact
request), so the outcome of a request does not depend on the order in which concurrent
requests arrive. After ``max_consecutive_faults`` faulted attempts at the same request the next
attempt succeeds, so a client that retries always converges.
"""

from __future__ import annotations

import hashlib
import struct
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable

from .. import families as fam
from ..errors import UsageError

KINDS = ("drop", "truncate", "error", "rate_limit")
"""Random fault kinds, in the order their rates are stacked on the unit interval."""


@dataclass(frozen=True)
class Faults:
    """What to break, and how often (rates are fractions of requests, 0..1)."""

    latency_ms: float = 0.0
    """Added to every response (faulted ones too)."""
    error_rate: float = 0.0
    """Answered 500, 502 or 503 with an error body."""
    rate_limit_rate: float = 0.0
    """Answered 429 with ``Retry-After`` (seconds and HTTP-date forms alternate)."""
    drop_rate: float = 0.0
    """Connection closed without a response."""
    truncate_rate: float = 0.0
    """Headers with the full Content-Length, part of the body, then the connection closes."""
    fail_families: frozenset[str] = frozenset()
    """Families whose endpoints always answer 503."""
    deny_families: frozenset[str] = frozenset()
    """Families whose endpoints always answer 403."""
    max_consecutive_faults: int | None = 2
    """After this many faulted attempts at the same request the next one succeeds (None: no cap)."""
    retry_after_s: int = 1
    """The wait a 429 asks for."""
    echo_authorization: bool = False
    """Every error body (4xx, 5xx) repeats the request's Authorization header in its message, as
    a misconfigured gateway or proxy debug page might: the client must not store or log it."""
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("error_rate", "rate_limit_rate", "drop_rate", "truncate_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise UsageError(f"fault {name} must be between 0 and 1, got {value}")
        if self.error_rate + self.rate_limit_rate + self.drop_rate + self.truncate_rate > 1.0 + 1e-9:
            raise UsageError("the fault rates add up to more than 1",
                             hint="error, rate-limit, drop and truncate rates share the same requests")
        if self.latency_ms < 0 or self.retry_after_s < 0:
            raise UsageError("latency and Retry-After must not be negative")
        if self.max_consecutive_faults is not None and self.max_consecutive_faults < 0:
            raise UsageError("max_consecutive_faults must be 0 or more (or None for no cap)")
        object.__setattr__(self, "fail_families", _families(self.fail_families, "fail_families"))
        object.__setattr__(self, "deny_families", _families(self.deny_families, "deny_families"))

    @property
    def random_rate(self) -> float:
        return self.error_rate + self.rate_limit_rate + self.drop_rate + self.truncate_rate


def _families(names: Iterable[str], what: str) -> frozenset[str]:
    if isinstance(names, str):
        names = [names]
    out = frozenset(names)
    unknown = sorted(out - set(fam.NAMES))
    if unknown:
        raise UsageError(f"{what}: unknown famil{'y' if len(unknown) == 1 else 'ies'} {', '.join(unknown)}",
                         hint=f"known families: {', '.join(fam.NAMES)}")
    return out


def unit_hash(seed: int, *parts: object) -> int:
    """A 64-bit integer hash of ``seed`` and ``parts`` (stable across runs and platforms)."""
    h = hashlib.blake2b(digest_size=8)
    h.update(str(seed).encode())
    for part in parts:
        h.update(b"\x1f")
        h.update(str(part).encode())
    return struct.unpack(">Q", h.digest())[0]


@dataclass(frozen=True)
class Decision:
    kind: str | None  # None (serve normally) or one of KINDS
    attempt: int
    bits: int  # the request's hash, for secondary choices (status code, header form)

    @property
    def faulted(self) -> bool:
        return self.kind is not None


class FaultPlan:
    """Decides each request's fault; thread-safe."""

    def __init__(self, faults: Faults):
        self.faults = faults
        self._lock = threading.Lock()
        self._attempts: dict[tuple[str, str], int] = {}
        self._streak: dict[tuple[str, str], int] = {}

    def decide(self, method: str, target: str) -> Decision:
        f = self.faults
        key = (method, target)
        with self._lock:
            attempt = self._attempts.get(key, 0)
            self._attempts[key] = attempt + 1
            bits = unit_hash(f.seed, method, target, attempt)
            kind = None
            capped = f.max_consecutive_faults is not None and self._streak.get(key, 0) >= f.max_consecutive_faults
            if f.random_rate > 0 and not capped:
                u = (bits >> 11) / float(1 << 53)
                edge = 0.0
                for name in KINDS:
                    edge += getattr(f, f"{name}_rate")
                    if u < edge:
                        kind = name
                        break
            self._streak[key] = self._streak.get(key, 0) + 1 if kind else 0
        return Decision(kind, attempt, bits)

    def attempts(self, method: str, target: str) -> int:
        with self._lock:
            return self._attempts.get((method, target), 0)


@dataclass
class Stats:
    """A copy of the simulator's counters at one moment."""

    total: int = 0
    requests: Counter = field(default_factory=Counter)
    """Requests per path (query string left out), faulted ones included."""
    faults: Counter = field(default_factory=Counter)
    """Faults injected by kind: drop, truncate, error, rate_limit, fail_family, deny_family."""
    statuses: Counter = field(default_factory=Counter)
    """Responses sent, by HTTP status (dropped connections are not responses)."""
    bytes_sent: int = 0
    """Body bytes written (a truncated body counts what was sent)."""

    def as_dict(self) -> dict:
        return {"total": self.total, "requests": dict(self.requests), "faults": dict(self.faults),
                "statuses": {str(k): v for k, v in self.statuses.items()}, "bytes_sent": self.bytes_sent}


class Counters:
    """Thread-safe live counters behind :class:`Stats`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stats = Stats()

    def request(self, path: str) -> None:
        with self._lock:
            self._stats.total += 1
            self._stats.requests[path] += 1

    def fault(self, kind: str) -> None:
        with self._lock:
            self._stats.faults[kind] += 1

    def response(self, status: int, body_bytes: int) -> None:
        with self._lock:
            self._stats.statuses[status] += 1
            self._stats.bytes_sent += body_bytes

    def snapshot(self) -> Stats:
        with self._lock:
            s = self._stats
            return Stats(s.total, Counter(s.requests), Counter(s.faults), Counter(s.statuses), s.bytes_sent)

    def reset(self) -> None:
        with self._lock:
            self._stats = Stats()
