"""Gateway API keys: org keys (``GET /admin/api-keys``) and personal keys (``GET /user/api-keys``)."""

from __future__ import annotations

from typing import Any

from tests.factories.ids import ADMIN, ORG, build


def _prefix(name: str) -> str:
    return "bd-" + name[:5].replace(" ", "_")


def api_key(name: str, **kw: Any) -> dict[str, Any]:
    """An active machine key of the org: bound to the IdP group ``ci``, expiring 2027-01-31, created
    2026-11-01 and used the day before the snapshot. No key rule flags it."""
    return build("api_key", name, {
        "org_id": ORG, "created_by_user_id": ADMIN, "name": name, "key_prefix": _prefix(name), "scopes": [],
        "kind": "machine", "user_id": None, "group_name": "ci", "expires_at": "2027-01-31T00:00:00Z",
        "revoked_at": None, "disabled_at": None, "last_used_at": "2026-11-26T10:00:00Z",
        "created_at": "2026-11-01T00:00:00Z",
    }, kw)


def user_api_key(name: str, **kw: Any) -> dict[str, Any]:
    """The admin's personal key as ``GET /user/api-keys`` returns it (no kind, disabled_at or last
    use). It has the id of ``api_key(name)``: the same key seen through both endpoints."""
    return build("api_key", name, {
        "org_id": ORG, "created_by_user_id": ADMIN, "name": name, "key_prefix": _prefix(name), "scopes": [],
        "created_at": "2026-11-01T00:00:00Z", "user_id": ADMIN, "group_name": None,
        "expires_at": "2027-01-31T00:00:00Z", "revoked_at": None,
    }, kw)
