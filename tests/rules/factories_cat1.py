"""Small builders for the objects the cat1 rules read (keys, credentials, providers, routes, pricing).

Shapes follow /work/shared/barndoor-api/examples/. Every builder takes a readable name and keyword
overrides; ids are UUIDs derived from the kind and the name, so a test can say
``key("ci")["id"]`` and get the same id every time. Pass ``id=`` to choose one, or a field set to
``DROP`` to leave it out of the object (a tenant's API omitting the field).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from tests.rulekit import run_rule

ORG = "8593dfad-de07-4701-aee3-ba0aa376afd9"
ADMIN = "34fbc8e1-4f29-48ff-ad94-3a6276d55f33"
NOW = "2026-11-27T06:00:00Z"
"""Default snapshot time of the tests (rulekit's default taken_at)."""

DROP = object()
"""Override value meaning "omit this field from the object"."""

_NS = uuid.UUID("0b3c1f9e-5d1a-4c1e-9a57-2f4d8e6a1c01")


def uid(kind: str, name: str) -> str:
    return str(uuid.uuid5(_NS, f"{kind}:{name}"))


def _build(kind: str, name: str, base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    obj = {"id": uid(kind, name), "org_id": ORG, **base}
    obj.update(overrides)
    return {k: v for k, v in obj.items() if v is not DROP}


# ---------------------------------------------------------------- keys

def key(name: str, **kw: Any) -> dict[str, Any]:
    """An active org API key (admin list), group-bound, expiring, recently used."""
    return _build("key", name, {
        "created_by_user_id": ADMIN, "name": name, "key_prefix": "bd-" + name[:5].replace(" ", "_"),
        "scopes": [], "kind": "machine", "user_id": None, "group_name": "ci",
        "expires_at": "2027-01-31T00:00:00Z", "revoked_at": None, "disabled_at": None,
        "last_used_at": "2026-11-26T10:00:00Z", "created_at": "2026-11-01T00:00:00Z",
    }, kw)


def user_key(name: str, **kw: Any) -> dict[str, Any]:
    """A personal key as ``GET /user/api-keys`` returns it (docs shape: no kind/disabled/last use)."""
    return _build("key", name, {
        "created_by_user_id": ADMIN, "name": name, "key_prefix": "bd-" + name[:5].replace(" ", "_"),
        "scopes": [], "created_at": "2026-11-01T00:00:00Z", "user_id": ADMIN, "group_name": None,
        "expires_at": "2027-01-31T00:00:00Z", "revoked_at": None,
    }, kw)


def rate_limit(name: str, **kw: Any) -> dict[str, Any]:
    return _build("rate_limit", name, {
        "name": name, "scope_type": "org", "scope_id": None, "scope_value": None,
        "requests_per_minute": 600, "tokens_per_minute": None, "traffic_type": "all", "enabled": True,
    }, kw)


def budget(name: str, **kw: Any) -> dict[str, Any]:
    return _build("budget", name, {
        "name": name, "scope_type": "org", "scope_id": None, "scope_value": None, "period": "monthly",
        "token_limit": 1_000_000, "cost_limit": None, "currency": "USD", "alert_thresholds": [80, 90],
        "action_on_exhaust": "block", "traffic_type": "all", "enabled": True,
        "created_at": "2026-11-01T00:00:00Z",
    }, kw)


# ---------------------------------------------------------------- credentials and providers

def credential(name: str, **kw: Any) -> dict[str, Any]:
    """An OpenAI API-key credential, rotated recently."""
    obj = _build("credential", name, {
        "name": name, "model_provider": "openai", "auth_type": "bearer_api_key",
        "base_url": "https://api.openai.com/v1", "settings": {}, "key_last4": "Q7xa",
        "stores_key_material": True, "created_at": "2026-03-02T15:04:11Z",
        "updated_at": "2026-11-01T09:00:00Z", "last_modified_at": "2026-11-01T09:00:00Z",
    }, kw)
    obj.setdefault("secret_path", f"orgs/{ORG}/connections/{obj['id']}")
    return obj


def provider(name: str, **kw: Any) -> dict[str, Any]:
    """An enabled, healthy, metered OpenAI provider with an inline secret."""
    obj = _build("provider", name, {
        "name": name, "model_provider": "openai", "auth_type": "bearer_api_key",
        "base_url": "https://api.openai.com/v1", "enabled": True, "settings": {}, "connection_id": None,
        "catalog_id": None, "catalog_slug": "openai", "enforce_health_check": True,
        "health_status": "healthy", "health_detail": None, "health_checked_at": "2026-11-27T05:55:00Z",
        "billing_mode": "per_token", "billing_reason": None, "billing_note": None,
        "model_sync_mode": "additive", "request_timeout_secs": None, "stream_idle_timeout_secs": None,
        "created_at": "2026-03-02T15:10:45Z", "updated_at": "2026-11-27T05:55:00Z",
    }, kw)
    obj.setdefault("secret_path", f"orgs/{ORG}/providers/{obj['id']}")
    return obj


# ---------------------------------------------------------------- routes

def route(prov: dict[str, Any], alias: str, upstream: str | None = None, *,
          pricing_source: str = "org_catalog", **kw: Any) -> dict[str, Any]:
    """A route of ``prov``: the 1:1 row when ``upstream`` is omitted, else a custom alias.
    ``pricing_source`` is what the gateway reports in ``effective_pricing.source``."""
    upstream = upstream or alias
    one_to_one = alias == upstream
    priced = pricing_source not in ("none", "not_metered")
    return _build("route", f"{prov['id']}/{alias}/{upstream}", {
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
    }, kw)


# ---------------------------------------------------------------- pricing

_COUNTERS = ("scheduled_count", "version_count", "next_scheduled_effective_from")


def price(pattern: str, input_cost: float = 0.15, output_cost: float = 0.6, **kw: Any) -> dict[str, Any]:
    """A live pricing-list row (current version + counters), org-wide for OpenAI by default."""
    name = pattern + json.dumps(kw, sort_keys=True, default=str)  # distinct arguments, distinct ids
    return _build("price", name, {
        "model_pattern": pattern, "model_provider": "openai", "provider_id": None, "provider_name": None,
        "catalog_slug": None, "input_cost_per_million_tokens": input_cost,
        "output_cost_per_million_tokens": output_cost, "cache_read_cost_per_million_tokens": None,
        "cache_write_cost_per_million_tokens": None, "long_context": None,
        "effective_from": "2026-05-01T00:00:00Z", "sync_mode": "pinned", "change_source": "admin_create",
        "change_reason": None, "created_by_user_id": ADMIN, "created_by_email": "ops-admin@example.com",
        "created_by_name": "Ops Admin", "is_archived": False, "scheduled_count": 0, "version_count": 1,
        "next_scheduled_effective_from": None,
    }, kw)


def version(rule: dict[str, Any], effective_from: str, input_cost: float, output_cost: float,
            **kw: Any) -> dict[str, Any]:
    """Another version of the rule ``rule`` (a history row: no counters)."""
    base = {k: v for k, v in rule.items() if k not in _COUNTERS}
    base.update({"id": uid("version", f"{rule['id']}@{effective_from}"), "effective_from": effective_from,
                 "input_cost_per_million_tokens": input_cost, "output_cost_per_million_tokens": output_cost,
                 "change_source": "admin_edit" if effective_from <= NOW else "admin_schedule"})
    base.update(kw)
    return base


def history(*rules_with_versions: tuple[dict[str, Any], list[dict[str, Any]]]) -> dict[str, list]:
    """``model_pricing_history`` input for rulekit: one history body per rule, newest first."""
    out: dict[str, list] = {}
    for rule, versions in rules_with_versions:
        query = {"model_pattern": rule["model_pattern"]}
        if rule.get("model_provider"):
            query["model_provider"] = rule["model_provider"]
        out[json.dumps(query)] = sorted(versions, key=lambda v: v["effective_from"], reverse=True)
    return out


def default_price(pattern: str, provider_slug: str = "openai", **kw: Any) -> dict[str, Any]:
    obj = {"id": uid("default", f"{provider_slug}/{pattern}"), "provider_slug": provider_slug,
           "model_name": pattern.rstrip("*"), "model_pattern": pattern, "input_cost_per_million_tokens": 0.15,
           "output_cost_per_million_tokens": 0.6, "currency": "USD", "source": "price sheet 2026-07"}
    obj.update(kw)
    return {k: v for k, v in obj.items() if v is not DROP}


# ---------------------------------------------------------------- running

class Kit:
    """Runs rules against fixture snapshots kept in one folder (one database per rule id), so a
    test module pays for the database schema once per rule instead of once per case."""

    def __init__(self, root):
        self.root = root

    def rows(self, rule_id: str, data: dict[str, Any], **kw: Any) -> list[dict[str, Any]]:
        return run_rule(self.root, rule_id, data, **kw)

    def ids(self, rule_id: str, data: dict[str, Any], **kw: Any) -> list[str]:
        return sorted(r["resource_id"] for r in self.rows(rule_id, data, **kw))
