"""Model routes (``GET /admin/model-routes``) and route groups (``GET /admin/model-route-groups``)."""

from __future__ import annotations

from typing import Any

from tests.factories.ids import ORG, build, unattributed

UNPRICED = ("none", "not_metered")
"""``effective_pricing.source`` values of a route the gateway does not price."""


def route(prov: dict[str, Any], alias: str, upstream: str | None = None, *,
          pricing_source: str = "org_catalog", **kw: Any) -> dict[str, Any]:
    """An enabled route of provider ``prov``: the 1:1 row of ``alias`` when ``upstream`` is omitted,
    else the custom alias ``alias`` -> ``upstream``. ``pricing_source`` is what the gateway reports in
    ``effective_pricing.source`` (priced at 0.15 / 0.6 per million tokens unless it is unpriced)."""
    upstream = upstream or alias
    one_to_one = alias == upstream
    priced = pricing_source not in UNPRICED
    return build("route", f"{prov['id']}/{alias}/{upstream}", {
        "provider_id": prov["id"], "provider_name": prov["name"], "provider_auth_type": prov.get("auth_type"),
        "model_alias": alias, "upstream_model": upstream, "enabled": True, "priority": 0,
        "retry_on_429_count": 2, "retry_on_429_max_wait_secs": 30, "bare_alias": not one_to_one,
        "source": "catalog" if one_to_one else "custom", "auto_disabled_reason": None,
        "stream_idle_timeout_secs": 30, "request_timeout_secs": 120, "max_concurrent_requests": None,
        "created_at": "2026-03-02T15:11:02Z", "budget_status": None, "route_health_status": None,
        "stale_status": None,
        "effective_pricing": {"source": pricing_source,
                              "input_cost_per_million_tokens": 0.15 if priced else None,
                              "output_cost_per_million_tokens": 0.6 if priced else None,
                              "cache_read_cost_per_million_tokens": None,
                              "cache_write_cost_per_million_tokens": None, "long_context": None,
                              "pricing_rule_id": None},
        **unattributed(),
    }, kw)


def route_group(name: str, aliases: list[str], **kw: Any) -> dict[str, Any]:
    """A route group holding ``aliases``."""
    return build("route_group", name, {
        "org_id": ORG, "name": name, "description": "", "model_aliases": sorted(aliases), **unattributed(),
    }, kw)
