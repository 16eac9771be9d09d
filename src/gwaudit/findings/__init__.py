"""Stored findings across snapshots: how they moved between two audits (:mod:`.delta`) and their
lifecycle over a period (:mod:`.lifecycle`), both read from the views of :mod:`.views`."""

from __future__ import annotations

from .delta import FindingsDelta, audited, findings_delta

__all__ = ["FindingsDelta", "audited", "findings_delta"]
