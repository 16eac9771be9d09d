"""pydantic models for every resource family the collector reads.

Written from ``barndoor-api/endpoints.yaml`` (the union of docs, SDK and Terraform fields).
Conventions, so that the API can drift without breaking an audit:

* every model keeps unknown fields (``extra="allow"``);
* enumerations are plain strings annotated with :class:`Known`; a value outside the
  documented set is kept and reported as schema drift by the store (:mod:`gwaudit.db.drift`);
* timestamps accept ``Z``, ``+00:00`` and fractional seconds of any length;
* fields documented as required are required: a missing one is reported as drift too,
  never an exception that stops collection.

The store derives each family view's typed columns from these annotations
(see :func:`field_checks`), so a field added here appears in SQL automatically.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Optional

from pydantic import BaseModel, BeforeValidator, ConfigDict

from .timeutil import parse_ts


@dataclass(frozen=True)
class Known:
    """Marks a string field whose documented values are ``values`` (others are drift)."""

    values: tuple[str, ...]

    def __init__(self, *values: str):
        object.__setattr__(self, "values", tuple(values))


def _ts(value: Any) -> Any:
    if isinstance(value, str):
        return parse_ts(value)
    return value


Timestamp = Annotated[datetime, BeforeValidator(_ts)]

MODEL_PROVIDERS = Known(
    "openai", "anthropic", "azure_openai", "google_ai", "bedrock", "vertex", "groq", "together",
    "mistral", "cohere", "xai", "fireworks", "perplexity", "openrouter", "deepseek", "custom",
)
TRAFFIC_TYPES = Known("all", "llm", "mcp")
LIMIT_SCOPE_TYPES = Known(
    "org", "team", "user", "role", "group", "api_key", "mcp_server", "agent", "project",
    "llm_provider", "model", "model_alias",
)
ACCESS_SCOPE_TYPES = Known("org", "team", "user", "project", "api_key", "mcp_server", "agent", "role", "group")


class GwModel(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True, protected_namespaces=())


class Attributed(GwModel):
    """The optional attribution block many objects carry (SDK "V75")."""

    created_by_user_id: Optional[str] = None
    created_by_email: Optional[str] = None
    created_by_name: Optional[str] = None
    last_modified_at: Optional[Timestamp] = None
    last_modified_by_user_id: Optional[str] = None
    last_modified_by_email: Optional[str] = None
    last_modified_by_name: Optional[str] = None
    last_change_note: Optional[str] = None


# ---------------------------------------------------------------- nested shapes

class LongContextTier(GwModel):
    threshold_prompt_tokens: Optional[int] = None
    input_cost_per_million_tokens: Optional[float] = None
    output_cost_per_million_tokens: Optional[float] = None
    cache_read_cost_per_million_tokens: Optional[float] = None
    cache_write_cost_per_million_tokens: Optional[float] = None


class EffectivePricing(GwModel):
    source: Annotated[str, Known("org_instance", "org_catalog", "org_generic", "barndoor_default", "none", "not_metered")]
    input_cost_per_million_tokens: Optional[float] = None
    output_cost_per_million_tokens: Optional[float] = None
    cache_read_cost_per_million_tokens: Optional[float] = None
    cache_write_cost_per_million_tokens: Optional[float] = None
    long_context: Optional[LongContextTier] = None
    pricing_rule_id: Optional[str] = None


class RouteHealthStatus(GwModel):
    state: Optional[Annotated[str, Known("suspended", "recovering")]] = None
    reason: Optional[Annotated[str, Known("rate_limited", "provider_errors", "auth_failed", "unavailable")]] = None
    scope: Optional[Annotated[str, Known("all_users", "current_credential")]] = None
    recovers_in_secs: Optional[int] = None
    message: Optional[str] = None


class StaleStatus(GwModel):
    reason: Optional[Annotated[str, Known("catalog_removed")]] = None


class ModelAccessTarget(GwModel):
    kind: Annotated[str, Known("model_alias", "model", "provider", "provider_model", "route_group")]
    alias: Optional[str] = None
    model: Optional[str] = None
    provider_id: Optional[str] = None
    group_id: Optional[str] = None


class SmartSlot(GwModel):
    model_alias: str
    label: Optional[str] = None
    description: Optional[str] = None


# ---------------------------------------------------------------- families

class Credential(Attributed):
    id: str
    org_id: Optional[str] = None
    name: str
    model_provider: Annotated[str, MODEL_PROVIDERS]
    auth_type: str  # open set: api_key, bearer_api_key, aws_role, aws_keys, google_adc, ...
    base_url: Optional[str] = None
    settings: Optional[dict[str, Any]] = None
    secret_path: Optional[str] = None
    key_last4: Optional[str] = None
    stores_key_material: Optional[bool] = None
    created_at: Optional[Timestamp] = None
    updated_at: Optional[Timestamp] = None


class Provider(Attributed):
    id: str
    org_id: Optional[str] = None
    name: str
    model_provider: Annotated[str, MODEL_PROVIDERS]
    auth_type: Optional[str] = None
    base_url: Optional[str] = None
    enabled: bool = True
    settings: Optional[dict[str, Any]] = None
    connection_id: Optional[str] = None
    catalog_id: Optional[str] = None
    catalog_slug: Optional[str] = None
    secret_path: Optional[str] = None
    enforce_health_check: Optional[bool] = None
    health_status: Optional[Annotated[str, Known("unverified", "healthy", "unhealthy")]] = None
    health_detail: Optional[str] = None
    health_checked_at: Optional[Timestamp] = None
    billing_mode: Optional[Annotated[str, Known("per_token", "not_metered")]] = None
    billing_reason: Optional[Annotated[str, Known("subscription", "local", "external", "other")]] = None
    billing_note: Optional[str] = None
    model_sync_mode: Optional[Annotated[str, Known("off", "additive", "full")]] = None
    request_timeout_secs: Optional[int] = None
    stream_idle_timeout_secs: Optional[int] = None
    created_at: Optional[Timestamp] = None
    updated_at: Optional[Timestamp] = None


class ModelRoute(Attributed):
    id: str
    provider_id: str
    provider_name: Optional[str] = None
    provider_auth_type: Optional[str] = None
    model_alias: str
    upstream_model: str
    enabled: bool = True
    priority: Optional[int] = None
    retry_on_429_count: Optional[int] = None
    retry_on_429_max_wait_secs: Optional[int] = None
    bare_alias: Optional[bool] = None
    source: Optional[Annotated[str, Known("catalog", "custom")]] = None
    auto_disabled_reason: Optional[Annotated[str, Known("catalog_retired")]] = None
    stream_idle_timeout_secs: Optional[int] = None
    request_timeout_secs: Optional[int] = None
    max_concurrent_requests: Optional[int] = None
    created_at: Optional[Timestamp] = None
    # Two documented shapes (docs: scope/usage/limit; SDK: kind/percentage_used): kept as JSON.
    budget_status: Optional[dict[str, Any]] = None
    route_health_status: Optional[RouteHealthStatus] = None
    stale_status: Optional[StaleStatus] = None
    effective_pricing: Optional[EffectivePricing] = None


class ModelRouteGroup(Attributed):
    id: str
    org_id: Optional[str] = None
    name: str
    description: Optional[str] = None
    model_aliases: list[str] = []


PRICING_SYNC = Known("tracking", "pinned", "auto")
PRICING_CHANGE_SOURCE = Known(
    "admin_create", "admin_edit", "admin_schedule", "import", "sync_manual", "sync_auto",
    "admin_archive", "admin_restore",
)


class PricingVersion(GwModel):
    """One version of a pricing rule (history rows, and the base of list rows)."""

    id: str
    org_id: Optional[str] = None
    model_pattern: str
    model_provider: Optional[str] = None
    provider_id: Optional[str] = None
    provider_name: Optional[str] = None
    catalog_slug: Optional[str] = None
    input_cost_per_million_tokens: float
    output_cost_per_million_tokens: float
    cache_read_cost_per_million_tokens: Optional[float] = None
    cache_write_cost_per_million_tokens: Optional[float] = None
    long_context: Optional[LongContextTier] = None
    effective_from: Timestamp
    sync_mode: Optional[Annotated[str, PRICING_SYNC]] = None
    change_source: Optional[Annotated[str, PRICING_CHANGE_SOURCE]] = None
    change_reason: Optional[str] = None
    created_by_user_id: Optional[str] = None
    created_by_email: Optional[str] = None
    created_by_name: Optional[str] = None
    is_archived: bool = False


class PricingRule(PricingVersion):
    """A row of the pricing list: the current version plus counters."""

    scheduled_count: Optional[int] = None
    version_count: Optional[int] = None
    next_scheduled_effective_from: Optional[Timestamp] = None


class DefaultPrice(GwModel):
    id: str
    provider_slug: Optional[str] = None
    model_name: Optional[str] = None
    model_pattern: str
    input_cost_per_million_tokens: Optional[float] = None
    output_cost_per_million_tokens: Optional[float] = None
    currency: Optional[str] = None
    source: Optional[str] = None
    cache_read_cost_per_million_tokens: Optional[float] = None
    cache_write_cost_per_million_tokens: Optional[float] = None


class RateLimit(Attributed):
    id: str
    org_id: Optional[str] = None
    name: str
    scope_type: Annotated[str, LIMIT_SCOPE_TYPES]
    scope_id: Optional[str] = None
    scope_value: Optional[str] = None
    requests_per_minute: Optional[int] = None
    tokens_per_minute: Optional[int] = None
    traffic_type: Optional[Annotated[str, TRAFFIC_TYPES]] = None
    enabled: bool = True
    member_of_group: Optional[str] = None
    target_provider_id: Optional[str] = None
    target_upstream_model: Optional[str] = None
    target_model_alias: Optional[str] = None
    target_mcp_server_id: Optional[str] = None


class RateLimitStatus(GwModel):
    policy: RateLimit
    rpm_used: Optional[int] = None
    rpm_limit: Optional[int] = None
    rpm_percentage: Optional[float] = None
    tpm_used: Optional[int] = None
    tpm_limit: Optional[int] = None
    tpm_percentage: Optional[float] = None


class TokenBudget(Attributed):
    id: str
    org_id: Optional[str] = None
    name: str
    scope_type: Annotated[str, LIMIT_SCOPE_TYPES]
    scope_id: Optional[str] = None
    scope_value: Optional[str] = None
    period: Annotated[str, Known("daily", "weekly", "monthly", "quarterly", "yearly")]
    token_limit: Optional[int] = None
    cost_limit: Optional[float] = None
    currency: Optional[str] = None
    alert_thresholds: list[int] = []
    action_on_exhaust: Annotated[str, Known("block", "alert", "throttle", "warn")]
    traffic_type: Optional[Annotated[str, TRAFFIC_TYPES]] = None
    enabled: bool = True
    member_of_group: Optional[str] = None
    target_provider_id: Optional[str] = None
    target_upstream_model: Optional[str] = None
    target_model_alias: Optional[str] = None
    target_mcp_server_id: Optional[str] = None
    created_at: Optional[Timestamp] = None


class TokenBudgetStatus(GwModel):
    budget: TokenBudget
    tokens_used: Optional[int] = None
    percentage_used: Optional[float] = None
    cost_used: Optional[float] = None
    cost_percentage_used: Optional[float] = None


class ModelAccessPolicy(Attributed):
    id: str
    org_id: Optional[str] = None
    name: str
    scope_type: Annotated[str, ACCESS_SCOPE_TYPES]
    scope_id: Optional[str] = None
    scope_value: Optional[str] = None
    policy_type: Annotated[str, Known("allowlist", "denylist")]
    targets: list[ModelAccessTarget] = []
    traffic_type: Optional[Annotated[str, TRAFFIC_TYPES]] = None
    enabled: bool = True


class SmartModel(GwModel):
    id: str
    org_id: Optional[str] = None
    model_alias: str
    enabled: bool = True
    determiner_model_alias: Optional[str] = None
    slots: list[SmartSlot] = []
    context_breakpoints: list[int] = []
    determiner_input_max_chars: Optional[int] = None
    default_slot_on_failure: Optional[int] = None
    description: Optional[str] = None
    created_at: Optional[Timestamp] = None
    updated_at: Optional[Timestamp] = None


class RoutingPolicy(GwModel):
    id: str
    org_id: Optional[str] = None
    model_alias: str
    enabled: bool = True
    description: Optional[str] = None
    determiner_model_alias: Optional[str] = None
    determiner_prompt: Optional[str] = None
    router_input_max_chars: Optional[int] = None
    posture: Optional[Annotated[str, Known("savings", "balanced", "quality")]] = None
    slots: list[SmartSlot] = []
    context_breakpoints: list[int] = []
    default_slot_on_failure: Optional[int] = None
    created_at: Optional[Timestamp] = None
    updated_at: Optional[Timestamp] = None


class RoutingRule(GwModel):
    """Schema not captured from any source: everything is kept, nothing required."""

    id: Optional[str] = None
    policy_id: Optional[str] = None
    name: Optional[str] = None
    enabled: Optional[bool] = None
    priority: Optional[int] = None
    target_model_alias: Optional[str] = None


class GovernanceConfig(GwModel):
    require_pricing_for_mappings: bool
    default_model_access: Optional[Annotated[str, Known("allow", "deny")]] = None
    require_routing_policy: Optional[bool] = None


class RouteHealth(GwModel):
    provider_id: str
    provider_name: Optional[str] = None
    model_provider: Optional[Annotated[str, MODEL_PROVIDERS]] = None
    upstream_model: str
    consecutive_failures: Optional[int] = None
    multiplier: Optional[float] = None
    eject_remaining_secs: Optional[int] = None
    in_flight: Optional[int] = None
    concurrency_cap: Optional[int] = None
    recent_transitions: list[dict[str, Any]] = []
    state: Optional[Annotated[str, Known("healthy", "half_open", "ejected")]] = None
    cooldown_reason: Optional[Annotated[str, Known("rolling_failures", "rate_limited")]] = None


class ApiKey(GwModel):
    id: str
    org_id: Optional[str] = None
    created_by_user_id: Optional[str] = None
    name: str
    key_prefix: Optional[str] = None
    scopes: list[str] = []
    kind: Optional[Annotated[str, Known("user", "machine", "agent_session")]] = None
    user_id: Optional[str] = None
    group_name: Optional[str] = None
    expires_at: Optional[Timestamp] = None
    revoked_at: Optional[Timestamp] = None
    disabled_at: Optional[Timestamp] = None
    last_used_at: Optional[Timestamp] = None
    created_at: Timestamp


class UserModel(GwModel):
    model_alias: str
    upstream_model: Optional[str] = None
    provider_name: Optional[str] = None
    provider_id: Optional[str] = None
    display_model: Optional[str] = None
    is_grouped: Optional[bool] = None
    model_kind: Optional[str] = None
    smart_slots: list[SmartSlot] = []
    budget_status: Optional[dict[str, Any]] = None


class AgentRuntimeProfile(GwModel):
    """Schema not captured (SDK only): keyed by ``slug``; everything else kept as is."""

    slug: str
    name: Optional[str] = None
