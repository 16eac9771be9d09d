"""The registry of resource families: one place that says what the API serves and how.

Collector, simulator, store, diff and reports all read this table; nothing else hard-codes
an endpoint path, a response shape or a resource identity.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from pydantic import BaseModel

from . import models as m

API_ROOT = "/api/llm-gateway"


@dataclass(frozen=True)
class Family:
    name: str
    """View name in the database and file stem in a snapshot folder."""
    path: str
    """Endpoint path relative to the API root (``/api/llm-gateway``)."""
    shape: str
    """``array`` (bare JSON array), ``envelope`` (object holding the list) or ``object`` (singleton)."""
    model: type[BaseModel]
    key: tuple[str, ...]
    """Dotted JSON paths whose values, joined by ``/``, identify a resource within a snapshot.
    Empty for a singleton (its key is the family name)."""
    name_field: tuple[str, ...]
    """Dotted paths of the human-readable name, joined by ``/``."""
    title: str
    items_key: str | None = None
    optional: bool = False
    """A 404 means this tenant does not have the family: recorded ``unavailable``."""
    parents: tuple[str, ...] = ()
    """Per-item families: one request per item of each parent family."""
    query: Callable[[dict[str, Any]], dict[str, str]] | None = None
    """For a per-item family, the query string for one parent item."""
    natural_key: tuple[str, ...] | None = None
    """Identity across snapshots when ``key`` is a version id (pricing): used by diffs and history."""
    volatile: tuple[str, ...] = ()
    """Fields that change without anyone changing configuration: runtime state, usage figures,
    counters (dotted paths). Diffs and history leave them out unless asked; this is the one list."""
    extra_columns: tuple[tuple[str, str, str], ...] = ()
    """(column, DuckDB type, dotted JSON path) added to the typed view besides the model fields."""
    doc: str = ""

    @property
    def per_item(self) -> bool:
        return bool(self.parents)

    @property
    def endpoint(self) -> str:
        return API_ROOT + self.path

    @property
    def identity(self) -> tuple[str, ...]:
        """Dotted paths identifying a resource across snapshots (``natural_key`` or ``key``)."""
        return self.natural_key if self.natural_key is not None else self.key

    def identity_of(self, item: dict[str, Any]) -> str:
        """The resource's natural identity as a string: the same rule, route or policy in two
        snapshots has the same identity even when its ``key`` is a version id."""
        if not self.identity:
            return self.name
        return "/".join(_str(dig(item, p)) for p in self.identity)

    def items_of(self, body: Any) -> list[Any]:
        """The resource list inside a response body of this family's shape."""
        if self.shape == "array":
            if not isinstance(body, list):
                raise ValueError(f"expected a JSON array, got {type(body).__name__}")
            return body
        if self.shape == "envelope":
            if not isinstance(body, dict):
                raise ValueError(f"expected a JSON object with {self.items_key!r}, got {type(body).__name__}")
            items = body.get(self.items_key)
            if not isinstance(items, list):
                raise ValueError(f"expected {self.items_key!r} to be a JSON array")
            return items
        if not isinstance(body, dict):
            raise ValueError(f"expected a JSON object, got {type(body).__name__}")
        return [body]


def dig(obj: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def _str(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _pricing_history_query(item: dict[str, Any]) -> dict[str, str]:
    query = {"model_pattern": str(item.get("model_pattern") or "")}
    if item.get("model_provider"):
        query["model_provider"] = str(item["model_provider"])
    return query


_PRICING_NATURAL = ("model_pattern", "model_provider", "provider_id")

FAMILIES: tuple[Family, ...] = (
    Family("credentials", "/admin/connections", "array", m.Credential, ("id",), ("name",),
           "Credentials", doc="Reusable upstream secrets and endpoints (wire name: connections)."),
    Family("providers", "/admin/providers", "array", m.Provider, ("id",), ("name",), "Providers",
           volatile=("health_checked_at", "health_status", "health_detail"),
           doc="Upstream provider instances."),
    Family("model_routes", "/admin/model-mappings", "array", m.ModelRoute, ("id",), ("model_alias", "upstream_model"),
           "Model routes",
           volatile=("budget_status", "route_health_status", "stale_status"),
           extra_columns=(("effective_pricing_source", "VARCHAR", "effective_pricing.source"),
                          ("pricing_rule_id", "VARCHAR", "effective_pricing.pricing_rule_id")),
           doc="Alias -> provider/upstream model routes (wire name: model mappings)."),
    Family("model_route_groups", "/admin/model-route-groups", "array", m.ModelRouteGroup, ("id",), ("name",),
           "Model route groups", optional=True, doc="Named sets of aliases (SDK only)."),
    Family("model_pricing", "/admin/model-pricing", "array", m.PricingRule, ("id",), ("model_pattern",),
           "Model pricing", natural_key=_PRICING_NATURAL,
           doc="One row per live pricing rule: its current version plus counters."),
    Family("model_pricing_archived", "/admin/model-pricing/archived", "array", m.PricingRule, ("id",),
           ("model_pattern",), "Archived model pricing", natural_key=_PRICING_NATURAL,
           doc="Archived pricing rules."),
    Family("model_pricing_defaults", "/admin/model-pricing/defaults", "array", m.DefaultPrice, ("id",),
           ("model_pattern",), "Default model pricing", natural_key=("provider_slug", "model_pattern"),
           volatile=("source",), doc="Barndoor's managed default prices (source: the price sheet's label)."),
    Family("model_pricing_history", "/admin/model-pricing/history", "array", m.PricingVersion, ("id",),
           ("model_pattern",), "Model pricing history",
           parents=("model_pricing", "model_pricing_archived"), query=_pricing_history_query,
           doc="Every version of every pricing rule, one request per rule."),
    Family("rate_limits", "/admin/rate-limits", "array", m.RateLimit, ("id",), ("name",), "Rate limits"),
    Family("rate_limit_status", "/admin/rate-limits/status", "array", m.RateLimitStatus, ("policy.id",),
           ("policy.name",), "Rate limit status",
           volatile=("rpm_used", "rpm_percentage", "tpm_used", "tpm_percentage"),
           extra_columns=(("policy_id", "VARCHAR", "policy.id"), ("policy_name", "VARCHAR", "policy.name"),
                          ("policy_enabled", "BOOLEAN", "policy.enabled")),
           doc="Live usage per rate-limit policy."),
    Family("token_budgets", "/admin/budgets", "array", m.TokenBudget, ("id",), ("name",), "Token budgets"),
    Family("token_budget_status", "/admin/budgets/status", "array", m.TokenBudgetStatus, ("budget.id",),
           ("budget.name",), "Token budget status",
           volatile=("tokens_used", "percentage_used", "cost_used", "cost_percentage_used"),
           extra_columns=(("budget_id", "VARCHAR", "budget.id"), ("budget_name", "VARCHAR", "budget.name"),
                          ("budget_enabled", "BOOLEAN", "budget.enabled"),
                          ("action_on_exhaust", "VARCHAR", "budget.action_on_exhaust"),
                          ("alert_thresholds", "JSON", "budget.alert_thresholds"),
                          ("token_limit", "BIGINT", "budget.token_limit"),
                          ("cost_limit", "DOUBLE", "budget.cost_limit")),
           doc="Live usage per token budget."),
    Family("model_access", "/admin/model-access", "array", m.ModelAccessPolicy, ("id",), ("name",),
           "Model access policies"),
    Family("smart_models", "/admin/smart-models", "array", m.SmartModel, ("id",), ("model_alias",),
           "Smart models", optional=True),
    Family("routing_policies", "/admin/routing-policies", "array", m.RoutingPolicy, ("id",), ("model_alias",),
           "Routing policies", optional=True, doc="SDK variant of smart models."),
    Family("routing_rules", "/admin/routing-rules", "envelope", m.RoutingRule, ("id",), ("name",),
           "Routing rules", items_key="rules", optional=True, parents=("routing_policies",),
           query=lambda item: {"policy_id": str(item.get("id") or "")},
           doc="Rules of each routing policy, one request per policy."),
    Family("governance_config", "/admin/governance-config", "object", m.GovernanceConfig, (),
           (), "Governance configuration"),
    Family("route_health", "/admin/llm-gw/route-health", "envelope", m.RouteHealth,
           ("provider_id", "upstream_model"), ("provider_name", "upstream_model"), "Route health",
           items_key="routes",
           volatile=("consecutive_failures", "multiplier", "eject_remaining_secs", "in_flight",
                     "recent_transitions", "state", "cooldown_reason"),
           doc="Per-route passive health (upstream ejection)."),
    Family("api_keys", "/admin/api-keys", "array", m.ApiKey, ("id",), ("name",), "API keys",
           volatile=("last_used_at",)),
    Family("user_api_keys", "/user/api-keys", "array", m.ApiKey, ("id",), ("name",), "User API keys",
           volatile=("last_used_at",), doc="The calling user's personal keys."),
    Family("user_models", "/user/models", "envelope", m.UserModel, ("model_alias",), ("model_alias",),
           "User model catalog", items_key="models", volatile=("budget_status",)),
    Family("agent_runtime_profiles", "/admin/agent-runtime-profiles", "envelope", m.AgentRuntimeProfile,
           ("slug",), ("slug",), "Agent runtime profiles", items_key="profiles", optional=True,
           doc="SDK-only family; schema not captured."),
)

BY_NAME: dict[str, Family] = {f.name: f for f in FAMILIES}
NAMES: tuple[str, ...] = tuple(f.name for f in FAMILIES)


def get(name: str) -> Family:
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown family {name!r}; known: {', '.join(NAMES)}") from None


def top_level() -> list[Family]:
    """Families fetched with one request each (per-item families come after their parents)."""
    return [f for f in FAMILIES if not f.per_item]


def per_item() -> list[Family]:
    return [f for f in FAMILIES if f.per_item]
