"""Small builders for the cat2 rule tests (rate limits, budgets, access, smart models, governance,
route health). Shapes follow /work/shared/barndoor-api/examples/; every builder returns a plain
dict and takes keyword overrides, so a test states only what matters to it.

Ids are deterministic: ``uid("p1")`` always gives the same UUID-shaped string, which keeps
assertions readable (``uid("rl-org")``) without copying UUIDs around.
"""

from __future__ import annotations

import uuid
from typing import Any

ORG = "8593dfad-de07-4701-aee3-ba0aa376afd9"
WHEN = "2026-11-27T06:00:00Z"  # default snapshot time (rulekit's default taken_at)


def uid(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"gwaudit-cat2:{name}"))


def _merge(base: dict[str, Any], kw: dict[str, Any]) -> dict[str, Any]:
    base.update(kw)
    return base


# ------------------------------------------------------------------ providers and routes

def provider(name: str = "openai-prod", **kw: Any) -> dict[str, Any]:
    return _merge({
        "id": uid(name), "org_id": ORG, "name": name, "model_provider": "openai",
        "auth_type": "bearer_api_key", "base_url": "https://api.openai.com/v1", "enabled": True,
        "settings": {}, "connection_id": None, "secret_path": f"orgs/{ORG}/providers/{uid(name)}",
        "enforce_health_check": True, "health_status": "healthy", "billing_mode": "per_token",
        "model_sync_mode": "off", "created_at": "2026-03-02T15:10:45Z",
    }, kw)


def route(alias: str, prov: dict[str, Any], upstream: str | None = None, *,
          pricing: str = "org_catalog", **kw: Any) -> dict[str, Any]:
    """A route of ``alias`` to ``upstream`` (default: the alias itself, i.e. a 1:1 row)."""
    upstream = upstream or alias
    return _merge({
        "id": uid(f"route:{prov['id']}:{alias}:{upstream}"), "provider_id": prov["id"],
        "provider_name": prov["name"], "provider_auth_type": prov["auth_type"],
        "model_alias": alias, "upstream_model": upstream, "enabled": True, "priority": 0,
        "retry_on_429_count": 2, "retry_on_429_max_wait_secs": 30, "bare_alias": alias != upstream,
        "source": "catalog", "auto_disabled_reason": None, "created_at": "2026-03-02T15:11:02Z",
        "budget_status": None, "route_health_status": None, "stale_status": None,
        "effective_pricing": {"source": pricing, "input_cost_per_million_tokens": None,
                              "output_cost_per_million_tokens": None, "pricing_rule_id": None},
    }, kw)


def route_group(name: str, aliases: list[str], **kw: Any) -> dict[str, Any]:
    return _merge({"id": uid(f"group:{name}"), "org_id": ORG, "name": name, "description": "",
                   "model_aliases": sorted(aliases)}, kw)


def health(prov: dict[str, Any], upstream: str, **kw: Any) -> dict[str, Any]:
    """A route-health entry; healthy unless overridden (``state=``, ``eject_remaining_secs=``)."""
    return _merge({
        "provider_id": prov["id"], "provider_name": prov["name"], "model_provider": prov["model_provider"],
        "upstream_model": upstream, "consecutive_failures": 0, "multiplier": 1, "eject_remaining_secs": 0,
        "in_flight": 0, "concurrency_cap": 100, "recent_transitions": [],
    }, kw)


def transition(to: str, frm: str, age_secs: int, reason: str = "rolling_failures") -> dict[str, Any]:
    return {"from": frm, "to": to, "reason": reason, "window_secs": 60, "age_secs": age_secs}


# ------------------------------------------------------------------ limits

def rate_limit(name: str, scope_type: str = "org", **kw: Any) -> dict[str, Any]:
    return _merge({
        "id": uid(f"rl:{name}"), "org_id": ORG, "name": name, "scope_type": scope_type,
        "scope_id": None, "scope_value": None, "requests_per_minute": 600, "tokens_per_minute": None,
        "traffic_type": "all", "enabled": True, "member_of_group": None, "target_provider_id": None,
        "target_upstream_model": None, "target_model_alias": None, "target_mcp_server_id": None,
    }, kw)


def budget(name: str, scope_type: str = "org", **kw: Any) -> dict[str, Any]:
    return _merge({
        "id": uid(f"bud:{name}"), "org_id": ORG, "name": name, "scope_type": scope_type,
        "scope_id": None, "scope_value": None, "period": "monthly", "token_limit": 500_000_000,
        "cost_limit": None, "currency": "USD", "alert_thresholds": [80, 90], "action_on_exhaust": "block",
        "traffic_type": "all", "enabled": True, "member_of_group": None, "target_provider_id": None,
        "target_upstream_model": None, "target_model_alias": None, "target_mcp_server_id": None,
        "created_at": "2026-03-10T09:00:00Z",
    }, kw)


def budget_status(b: dict[str, Any], *, tokens_pct: float = 0.0, cost_pct: float = 0.0) -> dict[str, Any]:
    """The /admin/budgets/status entry of budget ``b`` at the given usage percentages."""
    tokens_used = int((b.get("token_limit") or 0) * tokens_pct / 100)
    cost_used = round((b.get("cost_limit") or 0) * cost_pct / 100, 2)
    return {"budget": b, "tokens_used": tokens_used, "percentage_used": tokens_pct,
            "cost_used": cost_used, "cost_percentage_used": cost_pct}


# ------------------------------------------------------------------ access

def access(name: str, targets: list[dict[str, Any]], policy_type: str = "allowlist",
           scope_type: str = "group", **kw: Any) -> dict[str, Any]:
    return _merge({
        "id": uid(f"acc:{name}"), "org_id": ORG, "name": name, "scope_type": scope_type,
        "scope_id": None, "scope_value": "engineering" if scope_type == "group" else None,
        "policy_type": policy_type, "targets": targets, "traffic_type": "llm", "enabled": True,
    }, kw)


def t_alias(alias: str) -> dict[str, Any]:
    return {"kind": "model_alias", "alias": alias}


def t_model(model: str) -> dict[str, Any]:
    return {"kind": "model", "model": model}


def t_provider(prov: dict[str, Any] | str) -> dict[str, Any]:
    return {"kind": "provider", "provider_id": prov if isinstance(prov, str) else prov["id"]}


def t_provider_model(prov: dict[str, Any] | str, model: str) -> dict[str, Any]:
    return {"kind": "provider_model", "provider_id": prov if isinstance(prov, str) else prov["id"],
            "model": model}


def t_group(group: dict[str, Any] | str) -> dict[str, Any]:
    return {"kind": "route_group", "group_id": group if isinstance(group, str) else group["id"]}


def governance(*, pricing: bool | None = True, default_access: str | None = "deny") -> dict[str, Any]:
    body: dict[str, Any] = {"require_routing_policy": False}
    if pricing is not None:
        body["require_pricing_for_mappings"] = pricing
    if default_access is not None:
        body["default_model_access"] = default_access
    return body


# ------------------------------------------------------------------ smart models

def smart_model(alias: str, slots: list[str], determiner: str | None = "gpt-4o-mini", **kw: Any) -> dict[str, Any]:
    return _merge({
        "id": uid(f"smart:{alias}"), "org_id": ORG, "model_alias": alias, "enabled": True,
        "determiner_model_alias": determiner,
        "slots": [{"model_alias": s, "label": f"slot{i}"} for i, s in enumerate(slots)],
        "context_breakpoints": [4000], "determiner_input_max_chars": 2000, "default_slot_on_failure": 0,
        "description": None, "created_at": "2026-06-05T10:00:00Z", "updated_at": "2026-06-05T10:00:00Z",
    }, kw)


def routing_policy(alias: str, slots: list[str], determiner: str | None = "gpt-4o-mini", **kw: Any) -> dict[str, Any]:
    return _merge({
        "id": uid(f"policy:{alias}"), "org_id": ORG, "model_alias": alias, "enabled": True,
        "description": None, "determiner_model_alias": determiner, "determiner_prompt": None,
        "router_input_max_chars": 2000, "posture": "balanced",
        "slots": [{"model_alias": s, "label": None, "description": None} for s in slots],
        "context_breakpoints": [4000], "default_slot_on_failure": 0,
        "created_at": "2026-07-25T12:00:00Z", "updated_at": "2026-07-25T12:00:00Z",
    }, kw)


# ------------------------------------------------------------------ keys

def api_key(name: str, **kw: Any) -> dict[str, Any]:
    return _merge({
        "id": uid(f"key:{name}"), "org_id": ORG, "created_by_user_id": uid("admin"), "name": name,
        "key_prefix": "bd-abcde", "scopes": [], "kind": "machine", "user_id": None, "group_name": None,
        "expires_at": None, "revoked_at": None, "disabled_at": None, "last_used_at": None,
        "created_at": "2026-02-10T09:15:00Z",
    }, kw)


def ids(rows: list[dict[str, Any]]) -> set[str]:
    return {r["resource_id"] for r in rows}
