"""Upstream provider instances (``GET /admin/providers``)."""

from __future__ import annotations

from typing import Any

from tests.factories.ids import ORG, build, unattributed


def provider(name: str, **kw: Any) -> dict[str, Any]:
    """An enabled, healthy, health-gated, per-token OpenAI provider (catalog ``openai``, additive model
    sync) with an inline secret (no ``connection_id``)."""
    obj = build("provider", name, {
        "org_id": ORG, "name": name, "model_provider": "openai", "auth_type": "bearer_api_key",
        "base_url": "https://api.openai.com/v1", "enabled": True, "settings": {}, "connection_id": None,
        "catalog_id": None, "catalog_slug": "openai", "enforce_health_check": True, "health_status": "healthy",
        "health_detail": None, "health_checked_at": "2026-11-27T05:55:00Z", "billing_mode": "per_token",
        "billing_reason": None, "billing_note": None, "model_sync_mode": "additive", "request_timeout_secs": None,
        "stream_idle_timeout_secs": None, "created_at": "2026-03-02T15:10:45Z", "updated_at": "2026-11-27T05:55:00Z",
        **unattributed(),
    }, kw)
    if "secret_path" not in kw:
        obj["secret_path"] = f"orgs/{ORG}/providers/{obj['id']}"
    return obj
