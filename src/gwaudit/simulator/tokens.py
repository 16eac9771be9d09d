"""Simulator tokens: HS256 JWTs signed with the simulator's secret.

The default secret is a fixed development string, public by design: a simulator token grants
nothing anywhere else. ``--jwt-secret-file`` replaces it when a test wants tokens the default
secret cannot forge.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt

from ..errors import UsageError

DEV_SECRET = "gwaudit-simulator-development-secret--NOT-A-SECRET"
"""Default signing secret (public; at least 32 bytes so PyJWT does not warn)."""

DEFAULT_ORG_ID = "00000000-0000-4000-8000-000000000001"
DEFAULT_ADMIN_SUB = "5e1f0a2b-0c3d-4e5f-8a9b-0c1d2e3f4a5b"
ROLES = ("admin", "member")
ALGORITHM = "HS256"


def mint_token(role: str = "admin", expires_in: int = 3600, secret: str = DEV_SECRET, *,
               org_id: str = DEFAULT_ORG_ID, sub: str | None = None, now: float | None = None,
               **claims: Any) -> str:
    """A signed JWT with ``sub``, ``org_id``, ``role``, ``iat`` and ``exp`` (``iat + expires_in``).

    A negative ``expires_in`` gives an already expired token (for tests)."""
    if role not in ROLES:
        raise UsageError(f"unknown role {role!r}", hint=f"use one of: {', '.join(ROLES)}")
    issued = int(now if now is not None else time.time())
    payload = {"sub": sub or (DEFAULT_ADMIN_SUB if role == "admin" else str(uuid.uuid4())),
               "org_id": org_id, "role": role, "iat": issued, "exp": issued + int(expires_in)}
    payload.update(claims)
    return jwt.encode(payload, secret, algorithm=ALGORITHM)


def read_secret_file(path: Path | str) -> str:
    """The secret held in ``path`` (surrounding whitespace stripped)."""
    try:
        secret = Path(path).read_text().strip()
    except OSError as exc:
        raise UsageError(f"cannot read the JWT secret file {path}: {exc.strerror or exc}",
                         hint="pass a readable file holding the signing secret") from None
    if len(secret.encode()) < 32:
        raise UsageError(f"the JWT secret in {path} is shorter than 32 bytes",
                         hint="HS256 needs a secret of at least 32 bytes")
    return secret


@dataclass(frozen=True)
class Principal:
    sub: str
    org_id: str
    role: str
    exp: float


class Rejected(Exception):
    """The request's credentials were refused: ``status`` 401 or 403, ``message`` for the body."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def authenticate(header: str | None, secret: str) -> Principal:
    """Check an ``Authorization`` header; raise :class:`Rejected` (401) when it does not hold a
    valid simulator JWT. Messages never repeat the token."""
    if not header:
        raise Rejected(401, "missing bearer token: send 'Authorization: Bearer <JWT>'")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Rejected(401, "the Authorization header must be 'Bearer <JWT>'")
    if token.startswith("bd-"):
        raise Rejected(401, "runtime API keys (bd-...) are rejected on the admin and user APIs; "
                            "authenticate with a user or service-account JWT")
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM],
                            options={"require": ["sub", "org_id", "role", "exp", "iat"]})
    except jwt.ExpiredSignatureError:
        raise Rejected(401, "the token has expired") from None
    except jwt.InvalidSignatureError:
        raise Rejected(401, "the token signature is invalid") from None
    except jwt.MissingRequiredClaimError as exc:
        raise Rejected(401, f"the token lacks the {exc.claim!r} claim") from None
    except jwt.InvalidTokenError:
        raise Rejected(401, "the token is not a valid JWT") from None
    return Principal(sub=str(claims["sub"]), org_id=str(claims["org_id"]), role=str(claims["role"]),
                     exp=float(claims["exp"]))


class TokenCache:
    """Remembers tokens already verified (a benchmark sends the same one thousands of times);
    an entry is used only until the token's ``exp``."""

    def __init__(self, secret: str, size: int = 256):
        self.secret = secret
        self.size = size
        self._known: dict[str, Principal] = {}

    def authenticate(self, header: str | None) -> Principal:
        known = self._known.get(header) if header else None
        if known is not None and time.time() < known.exp:
            return known
        principal = authenticate(header, self.secret)
        if len(self._known) >= self.size:
            self._known.clear()
        self._known[header or ""] = principal
        return principal
