"""pydantic models for every resource family the collector reads.

Written from ``barndoor-api/endpoints.yaml`` (the union of docs, SDK and Terraform fields).
Conventions, so that the API can drift without breaking an audit:

* every model keeps unknown fields (``extra="allow"``);
* enumerations are plain strings annotated with :class:`Known`; a value outside the
  documented set is kept and reported as schema drift by :func:`check_items`;
* timestamps accept ``Z``, ``+00:00`` and fractional seconds of any length;
* fields documented as required are required: a missing one is reported as drift too,
  never an exception that stops collection.

The store derives each family view's typed columns from these annotations
(see :func:`field_checks`), so a field added here appears in SQL automatically.
"""

from __future__ import annotations

import json
import types
import typing
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Optional, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, TypeAdapter, ValidationError

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


# ---------------------------------------------------------------- drift checks

@dataclass(frozen=True)
class Drift:
    """A departure from the documented schema: kept, reported, never fatal."""

    family: str
    index: int  # position in the response's item list
    path: str  # e.g. "effective_pricing.source"
    kind: str  # "unknown_enum" | "type" | "missing"
    value: str  # the offending value (JSON), or the error text
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"family": self.family, "index": self.index, "path": self.path, "kind": self.kind,
                "value": self.value, "detail": self.detail}


def _unwrap(annotation: Any) -> tuple[Any, tuple[Any, ...]]:
    """Strip Optional/Annotated; return (base type, metadata)."""
    meta: tuple[Any, ...] = ()
    while True:
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            args = typing.get_args(annotation)
            annotation, meta = args[0], meta + tuple(args[1:])
            continue
        if origin in (Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) == 1:
                annotation = args[0]
                continue
        return annotation, meta


def _known(meta: tuple[Any, ...]) -> Known | None:
    return next((m for m in meta if isinstance(m, Known)), None)


def _enum_drift(family: str, index: int, model: BaseModel, prefix: str, out: list[Drift]) -> None:
    for name, field in type(model).model_fields.items():
        value = getattr(model, name, None)
        if value is None:
            continue
        base, meta = _unwrap(field.annotation)
        path = f"{prefix}{field.alias or name}"
        known = _known(meta + tuple(field.metadata))
        if known is not None and isinstance(value, str) and value not in known.values:
            out.append(Drift(family, index, path, "unknown_enum", json.dumps(value),
                             f"{value!r} is not one of the documented values {', '.join(known.values)}"))
        if isinstance(value, BaseModel):
            _enum_drift(family, index, value, path + ".", out)
        elif isinstance(value, list):
            for j, item in enumerate(value):
                if isinstance(item, BaseModel):
                    _enum_drift(family, index, item, f"{path}[{j}].", out)


def check_items(family: str, model: type[BaseModel], items: list[Any]) -> list[Drift]:
    """Validate ``items`` against ``model``; return every drift found. Never raises."""
    drifts: list[Drift] = []
    adapter = _list_adapter(model)
    try:
        parsed = adapter.validate_python(items)
        for i, m in enumerate(parsed):
            _enum_drift(family, i, m, "", drifts)
        return drifts
    except ValidationError:
        pass
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            drifts.append(Drift(family, i, "", "type", json.dumps(item)[:200], "item is not a JSON object"))
            continue
        try:
            m = model.model_validate(item)
        except ValidationError as exc:
            for err in exc.errors(include_url=False):
                path = ".".join(str(p) for p in err["loc"])
                kind = "missing" if err["type"] == "missing" else "type"
                value = "" if kind == "missing" else json.dumps(err.get("input"), default=str)[:200]
                drifts.append(Drift(family, i, path, kind, value, err["msg"]))
            continue
        _enum_drift(family, i, m, "", drifts)
    return drifts


_ADAPTERS: dict[type, TypeAdapter] = {}


def _list_adapter(model: type[BaseModel]) -> TypeAdapter:
    adapter = _ADAPTERS.get(model)
    if adapter is None:
        adapter = _ADAPTERS[model] = TypeAdapter(list[model])  # type: ignore[valid-type]
    return adapter


# ---------------------------------------------------------------- checks compiled to SQL

@dataclass(frozen=True)
class FieldCheck:
    """What the store checks about one declared field, compiled from the model.

    Bulk validation runs in DuckDB over every new version (vectorised): the models stay the
    one definition of the schema, and :func:`check_items` applies the same rules in Python.
    """

    field: str  # dotted path from the item root
    display: str  # path as shown in drift reports (lists as ``targets[].kind``)
    sql_type: str
    top_level: bool
    required: bool
    nullable: bool
    json_kind: str | None  # "ARRAY" / "OBJECT" for JSON-typed fields
    known: tuple[str, ...] | None
    list_path: str | None  # JSON path with [*] when the field sits inside a list

    @property
    def column(self) -> str:
        return self.field


def _sql_type(base: Any) -> str:
    if base is bool:
        return "BOOLEAN"
    if base is int:
        return "BIGINT"
    if base is float:
        return "DOUBLE"
    if base is datetime:
        return "TIMESTAMPTZ"
    if base is str:
        return "VARCHAR"
    return "JSON"


def _json_kind(base: Any) -> str | None:
    origin = typing.get_origin(base) or base
    if origin is list:
        return "ARRAY"
    if origin is dict or (isinstance(base, type) and issubclass(base, BaseModel)):
        return "OBJECT"
    return None


def _is_model(base: Any) -> bool:
    return isinstance(base, type) and issubclass(base, BaseModel)


def _walk(model: type[BaseModel], prefix: str, display: str, list_prefix: str | None,
          out: list[FieldCheck]) -> None:
    for name, field in model.model_fields.items():
        key = field.alias or name
        base, meta = _unwrap(field.annotation)
        nullable = _allows_none(field.annotation)
        known = _known(meta + tuple(field.metadata))
        top = not prefix and list_prefix is None
        path = prefix + key
        shown = display + key
        if top or known is not None:
            out.append(FieldCheck(
                field=path, display=shown, sql_type=_sql_type(base), top_level=top,
                required=field.is_required(), nullable=nullable, json_kind=_json_kind(base),
                known=known.values if known else None,
                list_path=(list_prefix + key) if list_prefix is not None else None))
        if _is_model(base):
            _walk(base, path + ".", shown + ".",
                  (list_prefix + key + ".") if list_prefix is not None else None, out)
        elif typing.get_origin(base) is list:
            (inner,) = typing.get_args(base) or (Any,)
            inner, _ = _unwrap(inner)
            if _is_model(inner):
                lp = (list_prefix if list_prefix is not None else "$.") + key + "[*]."
                _walk(inner, path + "[].", shown + "[].", lp, out)


def _allows_none(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _allows_none(typing.get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return any(a is type(None) or _allows_none(a) for a in typing.get_args(annotation))
    return annotation is type(None) or annotation is Any


_CHECKS: dict[type, list[FieldCheck]] = {}


def field_checks(model: type[BaseModel]) -> list[FieldCheck]:
    checks = _CHECKS.get(model)
    if checks is None:
        checks = []
        _walk(model, "", "", None, checks)
        _CHECKS[model] = checks
    return checks
