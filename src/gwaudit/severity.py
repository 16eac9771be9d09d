"""Severities: the one list, worst first, with a rank (critical = 0) for sorting and comparing.

``severity_rank`` is also a column of the findings views, so SQL sorts the same way."""

from __future__ import annotations

from typing import Literal

SEVERITIES: tuple[str, ...] = ("critical", "high", "medium", "low", "info")
SEVERITY_RANK: dict[str, int] = {s: i for i, s in enumerate(SEVERITIES)}
Severity = Literal["critical", "high", "medium", "low", "info"]
FAIL_ON_CHOICES: tuple[str, ...] = SEVERITIES + ("none",)
"""Values of ``--fail-on``: a severity, or ``none`` (never exit 1)."""
FailOn = Literal["critical", "high", "medium", "low", "info", "none"]


def rank(severity: str) -> int:
    """The severity's rank (critical = 0); an unknown severity sorts after ``info``."""
    return SEVERITY_RANK.get(severity, len(SEVERITIES))


def at_or_above(severity: str, threshold: str | None) -> bool:
    """Whether ``severity`` reaches ``--fail-on threshold`` (never for ``none`` or None)."""
    if not threshold or threshold == "none":
        return False
    return rank(severity) <= SEVERITY_RANK[threshold]
