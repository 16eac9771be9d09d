"""Where the API token comes from, and the checks made before it is ever sent.

Sources, highest precedence first: ``--token-file``, ``--token-command``, ``GWAUDIT_TOKEN``,
then the config file's ``[api] token_file`` / ``token_command``. Never a plain command-line value.
The token lives in a :class:`Token` whose ``repr``/``str`` are redacted, so it cannot slip into a
log line, an exception or a report by accident; creating one registers it with
:mod:`gwaudit.redact`, which removes it from everything that is logged, stored or sent.

Every token is validated before use (:func:`validate_token`): a JWT (three base64url segments
whose header and payload are JSON objects) or an opaque RFC 6750 bearer token, printable ASCII
only. Anything else (control characters, a line break, non-ASCII text, a binary file, nothing)
is refused with exit 2 and a message that names the source, never the token or a part of it.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import shlex
import stat
import subprocess
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from .errors import AuthError, ConfigError
from .logsetup import get
from .redact import redact, register_token, token_parts
from .timeutil import UTC, format_ts

ENV_TOKEN = "GWAUDIT_TOKEN"
MIN_OPAQUE = 16
"""An opaque token shorter than this is refused: no real bearer token is that short, and a
shorter one could not be redacted without shredding ordinary text."""
MAX_TOKEN = 16384
"""Bytes; longer does not fit in an HTTP header (and a token file that big is not a token file)."""

log = get("auth")


class Token:
    """A bearer token. Its value is only reachable through :meth:`reveal`."""

    __slots__ = ("_value", "source")

    def __init__(self, value: str, source: str):
        self._value = value
        self.source = source
        register_token(value)

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Token(<redacted>, source={self.source!r})"

    __str__ = __repr__

    def claims(self) -> dict[str, Any] | None:
        """The JWT payload, unverified (we only read ``exp``, ``role``, ``org_id``), or None."""
        parts = self._value.split(".")
        if len(parts) != 3:
            return None
        import jwt

        try:
            return jwt.decode(self._value, options={"verify_signature": False, "verify_exp": False})
        except jwt.PyJWTError:
            return None


@dataclass
class TokenOptions:
    token_file: Path | None = None
    token_command: str | None = None
    env: dict[str, str] | None = None  # defaults to os.environ
    config_token_file: Path | None = None
    config_token_command: str | None = None
    strict_file: bool = False
    """Refuse (instead of warning about) a token file that group or others may read."""


def resolve_token(opts: TokenOptions) -> Token:
    """The token from the first source given, validated (:func:`validate_token`)."""
    token = _resolve(opts)
    validate_token(token)
    return token


def _resolve(opts: TokenOptions) -> Token:
    env = os.environ if opts.env is None else opts.env
    if opts.token_file and opts.token_command:
        raise ConfigError("give either --token-file or --token-command, not both")
    if opts.token_file:
        return _from_file(opts.token_file, "--token-file", strict=opts.strict_file)
    if opts.token_command:
        return _from_command(opts.token_command, "--token-command")
    if env.get(ENV_TOKEN, "").strip():
        return Token(env[ENV_TOKEN].strip(" \t\r\n"), f"environment variable {ENV_TOKEN}")
    if opts.config_token_file:
        return _from_file(opts.config_token_file, "config api.token_file", strict=opts.strict_file)
    if opts.config_token_command:
        return _from_command(opts.config_token_command, "config api.token_command")
    raise ConfigError(
        "no API token: set GWAUDIT_TOKEN, or pass --token-file or --token-command",
        hint="the admin API needs a JWT of a user or service account with the admin role; never pass "
             "the token itself as a command-line argument")


def _from_file(path: Path, source: str, *, strict: bool = False) -> Token:
    path = Path(os.path.expanduser(str(path)))
    try:
        with open(path, "rb") as fh:
            mode = os.fstat(fh.fileno()).st_mode
            if not stat.S_ISREG(mode):
                raise ConfigError(f"token file {path} is not a regular file ({source})")
            raw = fh.read(MAX_TOKEN + 1)
    except FileNotFoundError:
        raise ConfigError(f"token file {path} does not exist ({source})") from None
    except IsADirectoryError:
        raise ConfigError(f"token file {path} is a folder ({source})") from None
    except OSError as exc:
        raise ConfigError(f"cannot read token file {path} ({source}): {exc.strerror}") from None
    label = f"{source} {path}"
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        why = f"token file {path} is readable by {'others' if mode & stat.S_IROTH else 'its group'}"
        if strict:
            raise ConfigError(f"{why}; refused (--strict-token-file / api.strict_token_file)",
                              hint=f"chmod 600 {path}")
        log.warning(f"{why}: chmod 600 it (--strict-token-file refuses such a file)",
                    extra={"hint": f"chmod 600 {path}"})
    if len(raw) > MAX_TOKEN:
        raise ConfigError(f"token file {path} is larger than {MAX_TOKEN} bytes: not a token ({source})")
    lines = [ln for ln in raw.strip(b" \t\r\n").splitlines() if ln.strip(b" \t\r")]
    if len(lines) > 1:
        raise ConfigError(f"the token from {label} spans more than one line",
                          hint="the file must hold the token alone, on one line")
    value = raw.strip(b" \t\r\n").decode("latin-1")  # bytes as they are; validate_token judges them
    return Token(value, label)


def _from_command(command: str, source: str, timeout: float = 60.0) -> Token:
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise ConfigError(f"{source}: cannot parse the command: {exc}") from None
    if not argv:
        raise ConfigError(f"{source} is empty")
    try:
        done = subprocess.run(argv, capture_output=True, timeout=timeout, check=False)
    except FileNotFoundError:
        raise ConfigError(f"{source}: command not found: {argv[0]}") from None
    except PermissionError:
        raise ConfigError(f"{source}: {argv[0]} is not executable") from None
    except subprocess.TimeoutExpired:
        raise ConfigError(f"{source}: {argv[0]} did not finish within {timeout:g}s") from None
    stdout = (done.stdout or b"").decode("latin-1")
    if done.returncode != 0:
        # stdout might hold a secret, stderr may be useful: show stderr's last line, with
        # anything that looks like a credential (or matches a line of stdout) cut out.
        last = (done.stderr or b"").decode("utf-8", "replace").strip().splitlines()[-1:] or ["no error output"]
        detail = redact(last[0], extra=[p for ln in stdout.splitlines() for p in token_parts(ln.strip())])
        detail = "".join(c if c.isprintable() else "?" for c in detail)
        raise ConfigError(f"{source}: {argv[0]} exited with status {done.returncode}: {detail[:200]}")
    value = stdout.strip(" \t\r\n")
    if not value:
        raise ConfigError(f"{source}: {argv[0]} printed no token")
    return Token(value.splitlines()[0].strip(" \t\r"), f"{source} ({argv[0]})")


# ---------------------------------------------------------------- validation

_B64URL = re.compile(r"[A-Za-z0-9_-]+")
_TOKEN68 = re.compile(r"[A-Za-z0-9\-._~+/]+=*")


def validate_token(token: Token) -> None:
    """Refuse a token that is not printable ASCII, or neither a well-formed JWT nor an opaque
    RFC 6750 bearer token (ConfigError, exit 2). Messages never quote the token."""
    value = token.reveal()
    where = f"the token from {token.source}"
    if not value:
        raise ConfigError(f"{where} is empty", hint="store the token alone, on one line")
    if any(ord(c) > 0x7F for c in value):
        raise ConfigError(f"{where} holds non-ASCII characters (a binary or mis-encoded file?); nothing was sent",
                          hint="a bearer token is printable ASCII: fetch it again, as plain text")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise ConfigError(f"{where} holds control characters (a NUL, a line break or similar); nothing was sent",
                          hint="store the token alone, on one line, with nothing after it")
    if len(value) > MAX_TOKEN:
        raise ConfigError(f"{where} is longer than {MAX_TOKEN} characters; nothing was sent")
    if value.lower().startswith("bearer "):
        raise AuthError(f"{where} starts with 'Bearer '",
                        hint="store the token alone; gwaudit adds the Authorization header itself")
    if " " in value:
        raise ConfigError(f"{where} holds spaces; nothing was sent",
                          hint="a bearer token is one word: store the token alone")
    if value.startswith("bd-"):
        return  # check_token explains why a runtime key cannot be used (exit 3)
    parts = value.split(".")
    if len(parts) == 3 or value.startswith("eyJ"):
        _validate_jwt(parts, where)
    elif not _TOKEN68.fullmatch(value):
        raise ConfigError(f"{where} holds characters a bearer token cannot have; nothing was sent",
                          hint="expected a JWT (three base64url parts separated by dots) or an opaque "
                               "OAuth2 bearer token (letters, digits and - . _ ~ + /)")
    elif len(value) < MIN_OPAQUE:
        raise ConfigError(f"{where} is too short to be a bearer token ({len(value)} characters); nothing was sent",
                          hint="expected a JWT of an admin user or service account")


def _validate_jwt(parts: list[str], where: str) -> None:
    hint = "expected a JWT: header.payload.signature, each part base64url-encoded"
    if len(parts) != 3 or not all(_B64URL.fullmatch(p) for p in parts):
        raise ConfigError(f"{where} is not a well-formed JWT (three base64url parts separated by dots); "
                          "nothing was sent", hint=hint)
    for name, part in (("header", parts[0]), ("payload", parts[1])):
        try:
            decoded = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
        except (ValueError, binascii.Error):
            decoded = None
        if not isinstance(decoded, dict):
            raise ConfigError(f"{where} is not a well-formed JWT: its {name} is not a JSON object; nothing was sent",
                              hint=hint)


def check_token(token: Token, now: datetime) -> None:
    """Refuse tokens that are malformed (:func:`validate_token`, exit 2) or that the admin API
    would reject (exit 3), before anything is sent."""
    validate_token(token)
    value = token.reveal()
    if value.startswith("bd-"):
        raise AuthError(
            f"the token from {token.source} is a Barndoor runtime API key (bd-...), which the admin "
            "API rejects: runtime keys only call the model proxy (/v1/...)",
            hint="use a JWT of a user or service account with the admin role (e.g. an OAuth2 "
                 "client_credentials token for an admin service account)")
    claims = token.claims()
    if claims and isinstance(claims.get("exp"), (int, float)):
        expires = datetime.fromtimestamp(claims["exp"], UTC)
        if expires <= now:
            raise AuthError(f"the token from {token.source} expired at {format_ts(expires)}; nothing was sent",
                            hint="fetch a fresh token (for cron, use --token-command so each run gets one)")
