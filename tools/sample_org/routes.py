"""Model routes and passive route health of the sample organisation."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from .common import ELENA, NEW, OLD, PRIYA, TERRAFORM, TOM, Person, Res, alive, iso, rng, uid
from .gateway import PROVIDERS, effective_pricing, provider_id, serving

ROUTES: dict[str, Res] = {}


def _add(provider: str, alias: str, upstream: str, created: str, by: Person, *, priority: int = 0,
         bare: Optional[bool] = None, retry: tuple[int, int] = (0, 0), idle: Optional[int] = 30,
         timeout: Optional[int] = 120, concurrency: Optional[int] = None, stale: bool = False) -> Res:
    one_to_one = alias == upstream
    res = Res(created, by, provider=provider, model_alias=alias, upstream_model=upstream, enabled=True,
              priority=priority, retry_on_429_count=retry[0], retry_on_429_max_wait_secs=retry[1],
              bare_alias=(not one_to_one) if bare is None else bare,
              source="catalog" if one_to_one else "custom", auto_disabled_reason=None,
              stream_idle_timeout_secs=idle, request_timeout_secs=timeout, max_concurrent_requests=concurrency,
              stale_status={"reason": "catalog_removed"} if stale else None)
    ROUTES[f"{provider}|{alias}|{upstream}"] = res
    return res


def one(provider: str, upstream: str, created: str, by: Person = TERRAFORM, **kw: Any) -> Res:
    """A 1:1 enablement row (model_alias == upstream_model)."""
    return _add(provider, upstream, upstream, created, by, **kw)


def alias(name: str, targets: list[tuple[str, str]], created: str, by: Person = TERRAFORM, **kw: Any) -> list[Res]:
    """A custom alias with failover: one row per (provider, upstream), priority in list order."""
    return [_add(p, name, u, created, by, priority=n, **kw) for n, (p, u) in enumerate(targets)]


def route(provider: str, alias_: str, upstream: str) -> Res:
    return ROUTES[f"{provider}|{alias_}|{upstream}"]


SONNET_BEDROCK = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
SONNET_VERTEX = "claude-sonnet-4-5@20250929"
HAIKU_BEDROCK = "us.anthropic.claude-haiku-4-5-20251001-v1:0"

# 1:1 rows. ``bare`` rows answer to the plain model name; the others only as provider/model.
for _m, _kw in [("gpt-5", dict(bare=True, retry=(2, 30))), ("gpt-4.1", {}), ("gpt-4.1-mini", dict(bare=True)),
                ("gpt-4o-mini", dict(bare=True, retry=(2, 30))), ("o3", dict(timeout=300)),
                ("text-embedding-3-large", {}), ("text-embedding-3-small", {}), ("gpt-4-turbo", {})]:
    one("openai", _m, "2026-01-12 11:00", **_kw)
for _m in ["claude-sonnet-4-5", "claude-opus-4-1", "claude-haiku-4-5"]:
    one("anthropic", _m, "2026-01-12 11:05", retry=(1, 20))
one("anthropic", "claude-3-5-haiku-20241022", "2026-01-12 11:05", stale=True)
for _m in ["gemini-2.5-pro", "gemini-2.5-flash", SONNET_VERTEX]:
    one("vertex-usc1", _m, "2026-02-09 16:10")
for _m in ["mistral-large-latest", "mistral-small-latest", "codestral-latest", "mistral-embed"]:
    one("mistral", _m, "2026-02-23 10:40")
for _m in ["northwind-support-7b", "llama-3.3-70b-instruct"]:
    one("internal-vllm", _m, "2026-03-02 10:00", by=TOM)
for _m in ["gemini-2.5-pro", "gemini-2.5-flash"]:
    one("vertex-euw4", _m, "2026-03-15 12:00")
for _m, _kw in [("gpt-4.1", {}), ("gpt-4.1-mini", dict(bare=True)), ("gpt-4o-mini", dict(bare=True)),
                ("gpt-5", dict(bare=True, concurrency=300))]:
    one("azure-eastus2", _m, "2026-03-18 13:30", **_kw)
one("azure-swedencentral", "gpt-4o", "2026-03-18 13:40")
for _m in ["llama3.1:8b", "qwen2.5-coder:7b", "nomic-embed-text"]:
    one("ollama", _m, "2026-04-02 12:10", by=TOM, timeout=60)
for _m in ["gpt-5", "gpt-5-mini"]:
    one("openai-flex", _m, "2026-05-20 10:05", by=TOM, timeout=600)
for _m in [SONNET_BEDROCK, "anthropic.claude-3-5-sonnet-20240620-v1:0", "meta.llama3-3-70b-instruct-v1:0",
           "amazon.nova-pro-v1:0"]:
    one("bedrock-use1", _m, "2026-04-20 09:00")
for _m in [HAIKU_BEDROCK, "amazon.nova-lite-v1:0"]:
    one("bedrock-usw2", _m, "2026-05-12 17:20", by=TOM)
one("groq", "llama-3.3-70b-versatile", "2026-10-06 09:30", by=TOM)

# Custom aliases.
alias("chat-default", [("openai", "gpt-4.1-mini"), ("azure-eastus2", "gpt-4.1-mini")], "2026-01-20 09:00",
      retry=(2, 30))
alias("chat-premium", [("anthropic", "claude-sonnet-4-5"), ("vertex-usc1", SONNET_VERTEX),
                       ("bedrock-use1", SONNET_BEDROCK)], "2026-04-22 10:00", retry=(1, 20))
alias("coder", [("anthropic", "claude-sonnet-4-5"), ("bedrock-use1", SONNET_BEDROCK)], "2026-04-22 10:05",
      retry=(2, 60), timeout=300, concurrency=100)
alias("reasoning", [("openai", "o3"), ("azure-eastus2", "gpt-5")], "2026-02-02 10:00", timeout=600)
alias("fast", [("openai", "gpt-4o-mini"), ("azure-eastus2", "gpt-4o-mini")], "2026-03-20 10:00", retry=(2, 10),
      idle=15, timeout=60)
alias("embeddings", [("openai", "text-embedding-3-large")], "2026-01-20 09:10", idle=None, timeout=60)
alias("long-context", [("vertex-usc1", "gemini-2.5-pro"), ("vertex-euw4", "gemini-2.5-pro")], "2026-03-16 09:00",
      timeout=900, idle=120)
alias("support-bot", [("internal-vllm", "northwind-support-7b"), ("openai", "gpt-4.1-mini")], "2026-03-03 10:00",
      by=TOM)
alias("local-coder", [("ollama", "qwen2.5-coder:7b")], "2026-04-02 12:20", by=TOM, timeout=60)
alias("summarizer", [("mistral", "mistral-small-latest"), ("openai", "gpt-4o-mini")], "2026-02-24 09:00")
alias("eu-chat", [("mistral", "mistral-large-latest"), ("azure-swedencentral", "gpt-4o")], "2026-03-19 09:00")
alias("batch-haiku", [("bedrock-usw2", HAIKU_BEDROCK), ("anthropic", "claude-haiku-4-5")], "2026-05-13 09:00",
      by=TOM, timeout=1800, idle=300)
alias("autocomplete", [("mistral", "codestral-latest"), ("ollama", "qwen2.5-coder:7b")], "2026-04-03 09:00",
      idle=15, timeout=30)
alias("legacy-gpt4", [("openai", "gpt-4-turbo")], "2026-01-20 09:20")
alias("opus", [("anthropic", "claude-opus-4-1")], "2026-02-03 11:10", by=ELENA, timeout=300)
alias("batch-gpt5", [("openai-flex", "gpt-5"), ("openai", "gpt-5")], "2026-05-20 10:15", by=TOM, timeout=600,
      retry=(3, 120))
alias("llama", [("bedrock-use1", "meta.llama3-3-70b-instruct-v1:0"), ("internal-vllm", "llama-3.3-70b-instruct")],
      "2026-04-21 09:00")
alias("chat-legacy", [("openai", "gpt-4o-mini"), ("azure-swedencentral", "gpt-4o")], "2026-01-20 09:30")

# History between creation and the snapshots.
route("bedrock-use1", "anthropic.claude-3-5-sonnet-20240620-v1:0", "anthropic.claude-3-5-sonnet-20240620-v1:0").change(
    "2026-07-02 03:00", None, "Disabled by catalog sync: model retired by the provider", enabled=False,
    auto_disabled_reason="catalog_retired", stale_status={"reason": "catalog_removed"})
route("anthropic", "coder", "claude-sonnet-4-5").change(
    "2026-09-18 11:20", PRIYA, "Cap concurrency for the shared coding alias", max_concurrent_requests=150)
for _p, _up, _n in [("bedrock-use1", SONNET_BEDROCK, 1), ("vertex-usc1", SONNET_VERTEX, 2)]:
    route(_p, "chat-premium", _up).change("2026-09-25 14:00", PRIYA,
                                          "Prefer Bedrock over Vertex for failover (Vertex quota)", priority=_n)
_add("groq", "fast", "llama-3.3-70b-versatile", "2026-10-06 09:35", TOM, priority=2, retry=(1, 5), idle=15, timeout=60)
_add("groq", "llama", "llama-3.3-70b-versatile", "2026-10-06 09:35", TOM, priority=2)
route("openai", "gpt-4-turbo", "gpt-4-turbo").change("2026-10-15 09:20", PRIYA, "gpt-4-turbo retired upstream",
                                                     enabled=False)
for _r in ("gpt-4o-mini", "gpt-4o"):
    _p = "openai" if _r == "gpt-4o-mini" else "azure-swedencentral"
    route(_p, "chat-legacy", _r).delete("2026-10-27 16:00")
route("anthropic", "opus", "claude-opus-4-1").change("2026-11-10 10:30", ELENA, "Opus paused pending budget review",
                                                     enabled=False)
alias("gemini-eu", [("vertex-euw4", "gemini-2.5-pro"), ("vertex-euw4", "gemini-2.5-flash")], "2026-11-12 13:00",
      by=PRIYA, timeout=300)


def route_id(key: str) -> str:
    provider, alias_, upstream = key.split("|")
    return uid("route", provider, alias_, upstream)


def enabled_routes(t: datetime) -> list[tuple[str, dict[str, Any]]]:
    return [(k, r.state(t)) for k, r in alive(ROUTES, t) if r.state(t)["enabled"]]


# ---------------------------------------------------------------- route health

def _tr(frm: str, to: str, reason: str, age: int, window: int = 60) -> dict[str, Any]:
    return {"from": frm, "to": to, "reason": reason, "window_secs": window, "age_secs": age}


# Per snapshot: (provider, upstream) -> overrides of the healthy defaults.
HEALTH_EVENTS: dict[datetime, dict[tuple[str, str], dict[str, Any]]] = {
    OLD: {
        ("anthropic", "claude-sonnet-4-5"): dict(
            state="half_open", consecutive_failures=1, multiplier=2, cooldown_reason="rate_limited",
            recent_transitions=[_tr("healthy", "ejected", "rate_limited", 412),
                                _tr("ejected", "half_open", "cooldown_elapsed", 352)]),
    },
    NEW: {
        ("mistral", "codestral-latest"): dict(
            state="ejected", consecutive_failures=9, multiplier=4, eject_remaining_secs=95, in_flight=0,
            cooldown_reason="rate_limited", recent_transitions=[_tr("healthy", "ejected", "rate_limited", 25)]),
        ("vertex-euw4", "gemini-2.5-pro"): dict(
            state="ejected", consecutive_failures=14, multiplier=8, eject_remaining_secs=240, in_flight=0,
            cooldown_reason="rolling_failures",
            recent_transitions=[_tr("healthy", "ejected", "rolling_failures", 2260),
                                _tr("ejected", "half_open", "cooldown_elapsed", 2020),
                                _tr("half_open", "ejected", "rolling_failures", 2015)]),
        ("vertex-euw4", "gemini-2.5-flash"): dict(
            state="ejected", consecutive_failures=11, multiplier=4, eject_remaining_secs=120, in_flight=0,
            cooldown_reason="rolling_failures",
            recent_transitions=[_tr("healthy", "ejected", "rolling_failures", 1900)]),
        ("azure-eastus2", "gpt-5"): dict(
            state="half_open", consecutive_failures=1, multiplier=4, cooldown_reason="rolling_failures",
            recent_transitions=[_tr("healthy", "ejected", "rolling_failures", 3400),
                                _tr("ejected", "half_open", "cooldown_elapsed", 3280),
                                _tr("half_open", "ejected", "rolling_failures", 3275),
                                _tr("ejected", "half_open", "cooldown_elapsed", 3040),
                                _tr("half_open", "ejected", "rolling_failures", 3035),
                                _tr("ejected", "half_open", "cooldown_elapsed", 2560)]),
        ("bedrock-use1", SONNET_BEDROCK): dict(
            state="half_open", consecutive_failures=0, multiplier=2, cooldown_reason="rate_limited",
            recent_transitions=[_tr("healthy", "ejected", "rate_limited", 400),
                                _tr("ejected", "half_open", "cooldown_elapsed", 40)]),
        ("openai", "gpt-5"): dict(recent_transitions=[_tr("half_open", "healthy", "probe_succeeded", 5400)]),
    },
}

# Callers the gateway cannot serve because the credential is refused: shown on the route rows.
CREDENTIAL_REFUSED = {NEW: {"vertex-euw4"}, OLD: set()}


def health_pairs(t: datetime) -> list[tuple[str, str]]:
    """(provider, upstream) of every route the gateway tracks: enabled rows on enabled providers."""
    seen: list[tuple[str, str]] = []
    for _key, s in enabled_routes(t):
        pair = (s["provider"], s["upstream_model"])
        if PROVIDERS[s["provider"]].state(t)["enabled"] and pair not in seen:
            seen.append(pair)
    return seen


def health_entry(provider: str, upstream: str, t: datetime) -> dict[str, Any]:
    r = rng("health", provider, upstream, t.isoformat())
    one_row = ROUTES.get(f"{provider}|{upstream}|{upstream}")
    cap = (one_row.state(t)["max_concurrent_requests"] if one_row else None) or 200
    busy = 0 if not serving(provider, t) else r.choice([0, 0, 1, 2, 3, 5, 8, 12, 17, 26])
    entry: dict[str, Any] = {
        "provider_id": provider_id(provider), "provider_name": PROVIDERS[provider].state(t)["name"],
        "model_provider": PROVIDERS[provider].state(t)["model_provider"], "upstream_model": upstream,
        "consecutive_failures": 0, "multiplier": 1, "eject_remaining_secs": 0, "in_flight": busy,
        "concurrency_cap": cap, "recent_transitions": [], "state": "healthy", "cooldown_reason": None}
    entry.update(HEALTH_EVENTS[t].get((provider, upstream), {}))
    return entry


def render_route_health(t: datetime) -> dict[str, Any]:
    return {"routes": [health_entry(p, u, t) for p, u in health_pairs(t)]}


def route_health_status(provider: str, upstream: str, t: datetime) -> Optional[dict[str, Any]]:
    """The SDK's per-route cooldown view, omitted when the route is healthy."""
    if provider in CREDENTIAL_REFUSED[t]:
        h = HEALTH_EVENTS[t].get((provider, upstream), {})
        secs = h.get("eject_remaining_secs", 0)
        return {"state": "suspended", "reason": "auth_failed", "scope": "current_credential",
                "recovers_in_secs": secs,
                "message": "The upstream refuses this credential (403 PERMISSION_DENIED); "
                           f"retrying in about {secs}s"}
    h = HEALTH_EVENTS[t].get((provider, upstream))
    if not h or h.get("state", "healthy") == "healthy":
        return None
    reason = "rate_limited" if h["cooldown_reason"] == "rate_limited" else "provider_errors"
    if h["state"] == "ejected":
        secs = h["eject_remaining_secs"]
        return {"state": "suspended", "reason": reason, "scope": "all_users", "recovers_in_secs": secs,
                "message": f"Temporarily unavailable after repeated upstream errors; retry in about {secs}s"
                if reason == "provider_errors" else f"Upstream is rate limiting; retry in about {secs}s"}
    return {"state": "recovering", "reason": reason, "scope": "all_users", "recovers_in_secs": 0,
            "message": "Recovering: the gateway is sending probe traffic"}


def render_routes(t: datetime, budget_status: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """``budget_status``: alias -> the status object of an exhausted block budget targeting it."""
    out = []
    for key, res in alive(ROUTES, t):
        s = res.state(t)
        prov = PROVIDERS[s["provider"]].state(t)
        out.append({
            "id": route_id(key), "provider_id": provider_id(s["provider"]), "provider_name": prov["name"],
            "provider_auth_type": prov["auth_type"], "model_alias": s["model_alias"],
            "upstream_model": s["upstream_model"], "enabled": s["enabled"], "priority": s["priority"],
            "retry_on_429_count": s["retry_on_429_count"], "retry_on_429_max_wait_secs": s["retry_on_429_max_wait_secs"],
            "bare_alias": s["bare_alias"], "source": s["source"], "auto_disabled_reason": s["auto_disabled_reason"],
            "stream_idle_timeout_secs": s["stream_idle_timeout_secs"], "request_timeout_secs": s["request_timeout_secs"],
            "max_concurrent_requests": s["max_concurrent_requests"], "created_at": iso(res.created),
            "budget_status": budget_status.get(s["model_alias"]),
            "route_health_status": route_health_status(s["provider"], s["upstream_model"], t)
            if s["enabled"] else None,
            "stale_status": s["stale_status"],
            "effective_pricing": effective_pricing(s["provider"], s["upstream_model"], t),
            **res.attribution(t)})
    return out
