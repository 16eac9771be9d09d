"""Northwind, the bundled sample organisation (see sample_snapshots/README.md).

:func:`render` returns every family's response body as the gateway would have served it at a
moment; ``tools/build_sample.py`` writes two of them as snapshot folders.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .common import BASE_URL, NEW, OLD, ORG_ID
from .controls import (exhausted_route_budgets, governance, render_access, render_budgets, render_groups,
                       render_rate_limits, render_routing, render_smart_models)
from .gateway import PROVIDERS, provider_id, render_credentials, render_defaults, render_pricing, render_providers
from .keys import render_api_keys, render_user_api_keys
from .routes import enabled_routes, render_route_health, render_routes

__all__ = ["BASE_URL", "NEW", "OLD", "ORG_ID", "render"]


def _user_models(t: datetime, budget_status: dict[str, Any]) -> dict[str, Any]:
    """``GET /user/models`` for the collecting admin, Priya (platform group: every model is allowed)."""
    primary: dict[str, tuple[int, dict[str, Any]]] = {}
    counts: dict[str, int] = {}
    for _key, s in enabled_routes(t):
        if not PROVIDERS[s["provider"]].state(t)["enabled"]:
            continue
        counts[s["model_alias"]] = counts.get(s["model_alias"], 0) + 1
        if s["model_alias"] not in primary or s["priority"] < primary[s["model_alias"]][0]:
            primary[s["model_alias"]] = (s["priority"], s)
    models = []
    for name, (_prio, s) in primary.items():
        prov = PROVIDERS[s["provider"]].state(t)
        one_to_one = s["model_alias"] == s["upstream_model"]
        models.append({
            "model_alias": name, "upstream_model": s["upstream_model"], "provider_name": prov["name"],
            "provider_id": provider_id(s["provider"]),
            "display_model": f"{prov['model_provider']}/{s['upstream_model']}" if one_to_one else name,
            "is_grouped": counts[name] > 1, "model_kind": "route", "smart_slots": [], "budget_status": budget_status})
    for sm in render_smart_models(t):
        if sm["enabled"] and sm["model_alias"] not in primary:  # a colliding route alias keeps the name
            models.append({"model_alias": sm["model_alias"], "upstream_model": sm["model_alias"], "provider_name": None,
                           "provider_id": None, "display_model": sm["model_alias"], "is_grouped": True,
                           "model_kind": "smart",
                           "smart_slots": [{"label": x["label"], "model_alias": x["model_alias"]} for x in sm["slots"]],
                           "budget_status": None})
    models.sort(key=lambda m: m["model_alias"])
    return {"models": models, "model_count": len(models)}


def render(t: datetime) -> dict[str, Any]:
    """Every family's body at ``t``. Per-item families are lists of (query, items)."""
    live, archived, history = render_pricing(t)
    rate_limits, rl_status = render_rate_limits(t)
    budgets, budget_status = render_budgets(t)
    policies, rules = render_routing(t)
    platform = next(b for b in budget_status if b["budget"]["name"] == "Platform team monthly")
    caller_budget = {"scope": "group", "target_id": "platform", "budget_id": platform["budget"]["id"],
                     "budget_name": platform["budget"]["name"], "period": platform["budget"]["period"],
                     "usage": platform["tokens_used"], "limit": platform["budget"]["token_limit"]}
    return {
        "credentials": render_credentials(t),
        "providers": render_providers(t),
        "model_routes": render_routes(t, exhausted_route_budgets(t)),
        "model_route_groups": render_groups(t),
        "model_pricing": live,
        "model_pricing_archived": archived,
        "model_pricing_defaults": render_defaults(t),
        "model_pricing_history": history,
        "rate_limits": rate_limits,
        "rate_limit_status": rl_status,
        "token_budgets": budgets,
        "token_budget_status": budget_status,
        "model_access": render_access(t),
        "smart_models": render_smart_models(t),
        "routing_policies": policies,
        "routing_rules": rules,
        "governance_config": governance(t),
        "route_health": render_route_health(t),
        "api_keys": render_api_keys(t),
        "user_api_keys": render_user_api_keys(t),
        "user_models": _user_models(t, caller_budget),
    }
