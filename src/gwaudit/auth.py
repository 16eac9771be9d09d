"""Where the API token comes from, and the checks made before it is ever sent.

Sources, highest precedence first: ``--token-file``, ``--token-command``, ``GWAUDIT_TOKEN``,
then the config file's ``[api] token_file`` / ``token_command``. Never a plain command-line value.
The token lives in a :class:`Token` whose ``repr``/``str`` are redacted, so it cannot slip into a
log line, an exception or a report by accident.
"""

from __future__ import annotations

import os
import shlex
import stat
import subprocess
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from .errors import AuthError, ConfigError
from .timeutil import UTC, format_ts

ENV_TOKEN = "GWAUDIT_TOKEN"


class Token:
    """A bearer token. Its value is only reachable through :meth:`reveal`."""

    __slots__ = ("_value", "source")

    def __init__(self, value: str, source: str):
        self._value = value
        self.source = source

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


def resolve_token(opts: TokenOptions) -> Token:
    env = os.environ if opts.env is None else opts.env
    if opts.token_file and opts.token_command:
        raise ConfigError("give either --token-file or --token-command, not both")
    if opts.token_file:
        return _from_file(opts.token_file, "--token-file")
    if opts.token_command:
        return _from_command(opts.token_command, "--token-command")
    if env.get(ENV_TOKEN, "").strip():
        return Token(env[ENV_TOKEN].strip(), f"environment variable {ENV_TOKEN}")
    if opts.config_token_file:
        return _from_file(opts.config_token_file, "config api.token_file")
    if opts.config_token_command:
        return _from_command(opts.config_token_command, "config api.token_command")
    raise ConfigError(
        "no API token: set GWAUDIT_TOKEN, or pass --token-file or --token-command",
        hint="the admin API needs a JWT of a user or service account with the admin role; never pass "
             "the token itself as a command-line argument")


def _from_file(path: Path, source: str) -> Token:
    path = Path(os.path.expanduser(str(path)))
    try:
        mode = path.stat().st_mode
        value = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise ConfigError(f"token file {path} does not exist ({source})") from None
    except OSError as exc:
        raise ConfigError(f"cannot read token file {path} ({source}): {exc.strerror}") from None
    if not value:
        raise ConfigError(f"token file {path} is empty ({source})")
    token = Token(value.splitlines()[0].strip(), f"{source} {path}")
    token.source += " (readable by other users: chmod 600 it)" if mode & (stat.S_IRGRP | stat.S_IROTH) else ""
    return token


def _from_command(command: str, source: str, timeout: float = 60.0) -> Token:
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise ConfigError(f"{source}: cannot parse the command: {exc}") from None
    if not argv:
        raise ConfigError(f"{source} is empty")
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except FileNotFoundError:
        raise ConfigError(f"{source}: command not found: {argv[0]}") from None
    except subprocess.TimeoutExpired:
        raise ConfigError(f"{source}: {argv[0]} did not finish within {timeout:g}s") from None
    if done.returncode != 0:
        # stderr may be useful, stdout might hold a partial secret: show only stderr's last line.
        detail = (done.stderr or "").strip().splitlines()[-1:] or ["no error output"]
        raise ConfigError(f"{source}: {argv[0]} exited with status {done.returncode}: {detail[0][:200]}")
    value = (done.stdout or "").strip()
    if not value:
        raise ConfigError(f"{source}: {argv[0]} printed no token")
    return Token(value.splitlines()[0].strip(), f"{source} ({argv[0]})")


def check_token(token: Token, now: datetime) -> None:
    """Refuse tokens the admin API would reject, before anything is sent."""
    value = token.reveal()
    if value.lower().startswith("bearer "):
        raise AuthError(f"the token from {token.source} starts with 'Bearer '",
                        hint="store the token alone; gwaudit adds the Authorization header itself")
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
