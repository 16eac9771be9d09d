"""One exception tree for gwaudit; every error carries its exit code and a hint.

Exit codes are documented once, here and in README (DESIGN.md's table):

    0  done; no finding at or above --fail-on
    1  findings at or above --fail-on
    2  usage or configuration error
    3  authentication or permission refused by the API (nothing stored)
    4  evidence incomplete: a family could not be collected or a rule evaluated
    5  other runtime failure (database locked past the wait, disk, internal error)
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_AUTH = 3
EXIT_INCOMPLETE = 4
EXIT_RUNTIME = 5


class GwauditError(Exception):
    """Base class. ``message`` says what failed, ``hint`` how to fix it."""

    exit_code = EXIT_RUNTIME

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:  # pragma: no cover - trivial
        if self.hint:
            return f"{self.message}\n  hint: {self.hint}"
        return self.message


class UsageError(GwauditError):
    """Bad command-line input, bad file given by the user, unknown snapshot id."""

    exit_code = EXIT_USAGE


class ConfigError(UsageError):
    """The configuration file, a rule file or a waiver file is invalid."""


class AuthError(GwauditError):
    """The API refused the token (401) or the role (403); nothing was stored."""

    exit_code = EXIT_AUTH


class IncompleteEvidence(GwauditError):
    """Evidence is incomplete; the work that could be done was done and stored."""

    exit_code = EXIT_INCOMPLETE


class RuntimeFailure(GwauditError):
    """Disk, database or internal failure."""

    exit_code = EXIT_RUNTIME


class LockTimeout(RuntimeFailure):
    """Another gwaudit process held the database past the wait."""


class SnapshotFormatError(UsageError):
    """A snapshot folder is malformed (bad manifest, hash mismatch, bad JSON)."""
