"""Model pricing: live pricing rules (``GET /admin/model-pricing``), their versions
(``.../history``) and Barndoor's default prices (``.../defaults``)."""

from __future__ import annotations

import json
from typing import Any

from tests.factories.ids import ADMIN, DROP, NOW, ORG, build, uid

COUNTERS = ("scheduled_count", "version_count", "next_scheduled_effective_from")
"""Fields of a live pricing-list row that a history row does not have."""


def price(pattern: str, input_cost: float = 0.15, output_cost: float = 0.6, **kw: Any) -> dict[str, Any]:
    """A live pricing-list row (its current version plus counters): org-wide for OpenAI, pinned,
    in force since 2026-05-01, no scheduled change. Distinct arguments give distinct ids."""
    name = pattern + json.dumps({k: "<drop>" if v is DROP else v for k, v in kw.items()}, sort_keys=True,
                                default=str)
    return build("price", name, {
        "org_id": ORG, "model_pattern": pattern, "model_provider": "openai", "provider_id": None,
        "provider_name": None, "catalog_slug": None, "input_cost_per_million_tokens": input_cost,
        "output_cost_per_million_tokens": output_cost, "cache_read_cost_per_million_tokens": None,
        "cache_write_cost_per_million_tokens": None, "long_context": None,
        "effective_from": "2026-05-01T00:00:00Z", "sync_mode": "pinned", "change_source": "admin_create",
        "change_reason": None, "created_by_user_id": ADMIN, "created_by_email": "ops-admin@example.com",
        "created_by_name": "Ops Admin", "is_archived": False, "scheduled_count": 0, "version_count": 1,
        "next_scheduled_effective_from": None,
    }, kw)


def version(rule: dict[str, Any], effective_from: str, input_cost: float, output_cost: float,
            **kw: Any) -> dict[str, Any]:
    """Another version of the pricing rule ``rule`` (a history row: no counters); an edit when it
    is in force at :data:`~tests.factories.ids.NOW`, else a scheduled change."""
    base = {k: v for k, v in rule.items() if k not in COUNTERS}
    base.update({"id": uid("version", f"{rule['id']}@{effective_from}"), "effective_from": effective_from,
                 "input_cost_per_million_tokens": input_cost, "output_cost_per_million_tokens": output_cost,
                 "change_source": "admin_edit" if effective_from <= NOW else "admin_schedule"})
    base.update(kw)
    return {k: v for k, v in base.items() if v is not DROP}


def history(*rules_with_versions: tuple[dict[str, Any], list[dict[str, Any]]]) -> dict[str, list]:
    """The ``model_pricing_history`` family of a snapshot: one history body per rule, keyed by the
    query that fetched it, newest version first."""
    out: dict[str, list] = {}
    for rule, versions in rules_with_versions:
        query = {"model_pattern": rule["model_pattern"]}
        if rule.get("model_provider"):
            query["model_provider"] = rule["model_provider"]
        out[json.dumps(query)] = sorted(versions, key=lambda v: v["effective_from"], reverse=True)
    return out


def default_price(pattern: str, provider_slug: str = "openai", **kw: Any) -> dict[str, Any]:
    """Barndoor's default price of ``pattern`` for the catalog ``provider_slug``."""
    return build("default_price", f"{provider_slug}/{pattern}", {
        "provider_slug": provider_slug, "model_name": pattern.rstrip("*"), "model_pattern": pattern,
        "input_cost_per_million_tokens": 0.15, "output_cost_per_million_tokens": 0.6, "currency": "USD",
        "source": "price sheet 2026-07",
    }, kw)
