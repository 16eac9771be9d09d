"""Shared upstream credentials (``GET /admin/credentials``)."""

from __future__ import annotations

from typing import Any

from tests.factories.ids import ORG, build, unattributed


def credential(name: str, **kw: Any) -> dict[str, Any]:
    """An OpenAI API-key credential created 2026-03-02 and rotated 2026-11-01 (``updated_at`` and
    ``last_modified_at``); its secret lives under the org's connections."""
    obj = build("credential", name, {
        "org_id": ORG, "name": name, "model_provider": "openai", "auth_type": "bearer_api_key",
        "base_url": "https://api.openai.com/v1", "settings": {}, "key_last4": "Q7xa", "stores_key_material": True,
        "created_at": "2026-03-02T15:04:11Z", "updated_at": "2026-11-01T09:00:00Z",
        **unattributed(), "last_modified_at": "2026-11-01T09:00:00Z",
    }, kw)
    if "secret_path" not in kw:
        obj["secret_path"] = f"orgs/{ORG}/connections/{obj['id']}"
    return obj
