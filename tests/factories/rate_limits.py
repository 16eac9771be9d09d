"""Rate-limit policies (``GET /admin/rate-limits``)."""

from __future__ import annotations

from typing import Any

from tests.factories.ids import ORG, build, unattributed


def rate_limit(name: str, scope_type: str = "org", **kw: Any) -> dict[str, Any]:
    """An enabled, untargeted limit of 600 requests per minute (no token cap) on all traffic."""
    return build("rate_limit", name, {
        "org_id": ORG, "name": name, "scope_type": scope_type, "scope_id": None, "scope_value": None,
        "requests_per_minute": 600, "tokens_per_minute": None, "traffic_type": "all", "enabled": True,
        "member_of_group": None, "target_provider_id": None, "target_upstream_model": None,
        "target_model_alias": None, "target_mcp_server_id": None, **unattributed(),
    }, kw)
