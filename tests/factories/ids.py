"""The one id scheme of the test factories, and the constants every subject shares.

``uid(kind, name)`` is a UUID derived from the object's kind and a readable name, so a test can
build ``budget("team")`` in one place and name ``uid("budget", "team")`` in another and get the same
id every time. The kind is the name of the builder (``api_key``, ``access``, ``price``, ...), from
the closed set :data:`KINDS`: a typo is an error, not a silently new id.
"""

from __future__ import annotations

import uuid
from typing import Any

ORG = "8593dfad-de07-4701-aee3-ba0aa376afd9"
"""The org every built object belongs to (the reference's example org)."""

ADMIN = "34fbc8e1-4f29-48ff-ad94-3a6276d55f33"
"""The admin user who created what the factories build."""

NOW = "2026-11-27T06:00:00Z"
"""When the snapshot a rule test evaluates was taken (tests/rulekit.py's default ``taken_at``),
and the current snapshot of a change-control pair."""

PREVIOUS = "2026-11-26T06:00:00Z"
"""When the previous snapshot of a change-control pair was taken."""

EDITED_AT = "2026-11-26T15:00:00Z"
"""When an object edited between the two snapshots of a pair was changed."""

DROP = object()
"""Override value meaning "omit this field from the object"."""

ATTRIBUTION = ("created_by_user_id", "created_by_email", "created_by_name", "last_modified_at",
               "last_modified_by_user_id", "last_modified_by_email", "last_modified_by_name",
               "last_change_note")
"""Who created and last changed an object, as the API records it on the families that have it;
the builders leave these null (not recorded) unless a test sets them."""

KINDS = frozenset({  # the name of the builder that makes the object; "user" for user ids
    "api_key", "credential", "provider", "route", "route_group", "price", "version",
    "default_price", "rate_limit", "budget", "access", "smart_model", "routing_policy", "user",
})

_NS = uuid.UUID("0b3c1f9e-5d1a-4c1e-9a57-2f4d8e6a1c01")


def uid(kind: str, name: str) -> str:
    """The id of the ``kind`` object called ``name``."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; one of {sorted(KINDS)}")
    return str(uuid.uuid5(_NS, f"{kind}:{name}"))


def build(kind: str, name: str, fields: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """``{"id": uid(kind, name), **fields}`` with ``overrides`` applied (``id=`` chooses another id)
    and every field set to :data:`DROP` left out."""
    obj = {"id": uid(kind, name), **fields}
    obj.update(overrides)
    return {k: v for k, v in obj.items() if v is not DROP}


def unattributed() -> dict[str, None]:
    """The :data:`ATTRIBUTION` fields, all null."""
    return dict.fromkeys(ATTRIBUTION)
