"""One exception tree for gwaudit; every error carries its exit code and a hint.

Exit codes are documented once, here and in README ("Exit codes"):

    0  done; no finding at or above --fail-on
    1  findings at or above --fail-on
    2  usage or configuration error
    3  authentication or permission refused by the API (nothing stored)
    4  evidence incomplete: a family could not be collected or a rule evaluated
    5  other runtime failure (database locked past the wait, disk, internal error)
    6  no evidence: the collection reached no family (unreachable host, wrong base URL, not a
       Barndoor gateway); nothing was stored
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_AUTH = 3
EXIT_INCOMPLETE = 4
EXIT_RUNTIME = 5
EXIT_NO_EVIDENCE = 6


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

    @classmethod
    def families(cls, failed: list[str], *, snapshot_id: int | None = None, hint: str | None = None
                 ) -> "IncompleteEvidence":
        """Families that could not be collected; the snapshot is stored, marked incomplete."""
        n = len(failed)
        where = f"; snapshot {snapshot_id} is stored and marked incomplete" if snapshot_id is not None else ""
        return cls(f"evidence incomplete: {n} famil{'y' if n == 1 else 'ies'} could not be collected "
                   f"({', '.join(failed)}){where}",
                   hint=hint or "the snapshot is stored and marked incomplete; rules reading those families "
                                "report 'error', never 'pass'")

    @classmethod
    def rules(cls, rule_ids: list[str]) -> "IncompleteEvidence":
        """Rules that could not be evaluated; the other rules' findings are stored."""
        return cls(f"evidence incomplete: {len(rule_ids)} rule(s) could not be evaluated: {', '.join(rule_ids)}",
                   hint="the other rules' findings are stored; see each rule's error above "
                        "(or 'rules' in --format json)")


class NoEvidence(GwauditError):
    """The collection reached no family at all; nothing was stored (a snapshot of nothing must
    never become ``latest``)."""

    exit_code = EXIT_NO_EVIDENCE


class RuntimeFailure(GwauditError):
    """Disk, database or internal failure."""

    exit_code = EXIT_RUNTIME


class LockTimeout(RuntimeFailure):
    """Another gwaudit process held the database past the wait."""


class SnapshotFormatError(UsageError):
    """A snapshot folder is malformed (bad manifest, hash mismatch, bad JSON)."""
