"""Rate limits, budgets, model access, route groups, smart models, routing policies, governance."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from .common import (DANA, ELENA, MARCUS, NEW, OLD, ORG_ID, PRIYA, TERRAFORM, TOM, Person, Res, alive, at, iso,
                     key_id, person, scoped_id, uid)
from .gateway import provider_id

RAVI = person("Ravi Iyer")        # data scientist with a personal Anthropic budget
HANNAH = person("Hannah Kim")     # drafts the board deck; a personal allowlist

EVAL_KEY = key_id("eval-harness-nightly")
HUBSPOT_KEY = key_id("hubspot-sync")
TEAM_MARKETING = scoped_id("team", "marketing")
TEAM_ANALYTICS = scoped_id("team", "analytics")
PROJECT_ATLAS = scoped_id("project", "atlas")
AGENT_TRIAGE = scoped_id("agent", "support-triage")
MCP_JIRA = scoped_id("mcp-server", "jira")


def _scope(scope: tuple[str, ...]) -> dict[str, Any]:
    """("org",) / ("group", name) / ("role", name) / ("model", name) / (kind, uuid)."""
    kind = scope[0]
    value = scope[1] if len(scope) > 1 else None
    by_name = kind in ("group", "role", "model", "model_alias")
    return {"scope_type": kind, "scope_id": None if by_name else value, "scope_value": value if by_name else None}


def _targets(**kw: Any) -> dict[str, Any]:
    return {"member_of_group": kw.get("member_of_group"),
            "target_provider_id": provider_id(kw["provider"]) if kw.get("provider") else None,
            "target_upstream_model": kw.get("upstream"), "target_model_alias": kw.get("alias"),
            "target_mcp_server_id": kw.get("mcp")}


# ---------------------------------------------------------------- rate limits

def _rl(created: str, by: Person, name: str, scope: tuple[str, ...], rpm: Optional[int], tpm: Optional[int],
        traffic: str = "llm", **kw: Any) -> Res:
    return Res(created, by, name=name, **_scope(scope), requests_per_minute=rpm, tokens_per_minute=tpm,
               traffic_type=traffic, enabled=True, **_targets(**kw))


RATE_LIMITS: dict[str, Res] = {
    "org": _rl("2026-01-20 10:00", DANA, "Org-wide ceiling", ("org",), 20000, 40_000_000, "all")
    .change("2026-11-02 19:30", TOM, "Disabled for load test LT-2211; re-enable afterwards", enabled=False),
    "engineering": _rl("2026-01-20 10:05", DANA, "Engineering", ("group", "engineering"), 3000, 6_000_000),
    "data-science": _rl("2026-02-02 11:00", TOM, "Data science", ("group", "data-science"), 600, 2_000_000)
    .change("2026-09-22 09:45", TOM, "Raised for the Q4 evaluation runs", requests_per_minute=1500,
            tokens_per_minute=5_000_000),
    "contractors": _rl("2026-02-16 09:00", DANA, "Contractors (per member)", ("user",), 30, 60_000,
                       member_of_group="contractors"),
    "support": _rl("2026-03-03 10:30", TOM, "Support", ("group", "support"), 600, 1_500_000),
    "azure-legacy": _rl("2026-03-25 15:00", TOM, "Azure East US 2 cap (legacy)", ("llm_provider", provider_id("azure-eastus2")),
                        2000, None),
    "gpt5-legacy": _rl("2026-03-25 15:05", TOM, "gpt-5 model cap (legacy)", ("model", "gpt-5"), 1000, 3_000_000),
    "interns": _rl("2026-06-08 09:00", DANA, "Interns", ("role", "intern"), 60, 100_000),
    "hubspot": _rl("2026-06-15 11:20", MARCUS, "HubSpot sync key", ("api_key", HUBSPOT_KEY), 60, 120_000),
    "marketing-chat": _rl("2026-06-20 10:00", DANA, "Marketing team on chat-default", ("team", TEAM_MARKETING),
                          200, None, alias="chat-default"),
    "triage-agent": _rl("2026-07-06 14:00", TOM, "Support triage agent on the internal model",
                        ("agent", AGENT_TRIAGE), 900, 3_000_000, provider="internal-vllm",
                        upstream="northwind-support-7b"),
    "agents-mcp": _rl("2026-07-06 14:10", TOM, "Agents: Jira MCP calls", ("group", "agents"), 600, None, "mcp",
                      mcp=MCP_JIRA),
    "hackathon": _rl("2026-08-20 09:00", DANA, "Hackathon burst allowance", ("group", "hackathon"), 5000, 8_000_000)
    .delete("2026-09-14 17:00"),
    "eval-key": _rl("2026-09-02 10:15", TOM, "Eval harness key", ("api_key", EVAL_KEY), 200, 2_000_000),
}
# Share of each limit in use at the snapshot (rpm, tpm).
RL_USAGE = {OLD: {"org": (0.31, 0.27), "engineering": (0.42, 0.38), "data-science": (0.71, 0.66),
                  "contractors": (0.2, 0.12), "support": (0.35, 0.3), "azure-legacy": (0.18, 0.0),
                  "gpt5-legacy": (0.22, 0.19), "interns": (0.1, 0.05), "hubspot": (0.4, 0.33),
                  "marketing-chat": (0.28, 0.0), "triage-agent": (0.51, 0.47), "agents-mcp": (0.06, 0.0),
                  "hackathon": (0.0, 0.0)},
            NEW: {"org": (0.0, 0.0), "engineering": (0.47, 0.41), "data-science": (0.39, 0.44),
                  "contractors": (0.23, 0.15), "support": (0.38, 0.29), "azure-legacy": (0.2, 0.0),
                  "gpt5-legacy": (0.25, 0.21), "interns": (0.08, 0.04), "hubspot": (0.0, 0.0),
                  "marketing-chat": (0.31, 0.0), "triage-agent": (0.0, 0.0), "agents-mcp": (0.09, 0.0),
                  "eval-key": (0.12, 0.35)}}


def _policy_id(kind: str, key: str) -> str:
    return uid(kind, key)


def render_rate_limits(t: datetime) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    items, status = [], []
    for key, res in alive(RATE_LIMITS, t):
        s = res.state(t)
        item = {"id": _policy_id("rate-limit", key), "org_id": ORG_ID, "name": s["name"], "scope_type": s["scope_type"],
                "scope_id": s["scope_id"], "scope_value": s["scope_value"], "requests_per_minute": s["requests_per_minute"],
                "tokens_per_minute": s["tokens_per_minute"], "traffic_type": s["traffic_type"], "enabled": s["enabled"],
                **{k: s[k] for k in ("member_of_group", "target_provider_id", "target_upstream_model",
                                     "target_model_alias", "target_mcp_server_id")},
                **res.attribution(t)}
        items.append(item)
        rpm_share, tpm_share = RL_USAGE[t][key] if s["enabled"] else (0.0, 0.0)
        rpm, tpm = s["requests_per_minute"] or 0, s["tokens_per_minute"] or 0
        rpm_used, tpm_used = round(rpm * rpm_share), round(tpm * tpm_share)
        status.append({"policy": item, "rpm_used": rpm_used, "rpm_limit": rpm,
                       "rpm_percentage": round(100 * rpm_used / rpm, 2) if rpm else 0.0,
                       "tpm_used": tpm_used, "tpm_limit": tpm,
                       "tpm_percentage": round(100 * tpm_used / tpm, 2) if tpm else 0.0})
    return items, status


# ---------------------------------------------------------------- budgets

def _budget(created: str, by: Person, name: str, scope: tuple[str, ...], period: str, tokens: int, *,
            cost: Optional[float] = None, thresholds: tuple[int, ...] = (80, 90), action: str = "block",
            traffic: str = "all", **kw: Any) -> Res:
    return Res(created, by, name=name, **_scope(scope), period=period, token_limit=tokens, cost_limit=cost,
               currency="USD", alert_thresholds=list(thresholds), action_on_exhaust=action, traffic_type=traffic,
               enabled=True, **_targets(**kw))


BUDGETS: dict[str, Res] = {
    "org-monthly": _budget("2026-01-20 10:30", DANA, "Org monthly spend cap", ("org",), "monthly", 4_000_000_000,
                           cost=60000.0, thresholds=(50, 80, 95))
    .change("2026-11-03 08:50", ELENA, "Blocked the month-end close jobs; disabled until limits are reworked",
            enabled=False),
    "org-weekly-alert": _budget("2026-01-20 10:35", DANA, "Org weekly usage alert", ("org",), "weekly",
                                1_200_000_000, thresholds=(80,), action="alert", traffic="llm")
    .change("2026-06-15 10:00", MARCUS, "Duplicate of the finance dashboard alert", enabled=False),
    "engineering": _budget("2026-01-20 10:40", DANA, "Engineering monthly", ("group", "engineering"), "monthly",
                           1_500_000_000, cost=20000.0, thresholds=(75, 90)),
    "data-science": _budget("2026-02-02 11:10", TOM, "Data science monthly", ("group", "data-science"), "monthly",
                            300_000_000, cost=15000.0, thresholds=(80, 95))
    .change("2026-09-29 13:15", ELENA, "Q4 fine-tuning evaluation needs headroom", token_limit=800_000_000),
    "contractors": _budget("2026-02-16 09:10", DANA, "Contractor daily allowance", ("user",), "daily", 2_000_000,
                           traffic="llm", member_of_group="contractors"),
    "support": _budget("2026-03-03 10:40", TOM, "Support weekly tokens", ("group", "support"), "weekly",
                       150_000_000, thresholds=(100,), action="warn", traffic="llm"),
    "ravi-anthropic": _budget("2026-05-02 14:30", ELENA, "Ravi weekly Anthropic", ("user", RAVI.id), "weekly",
                              20_000_000, thresholds=(50, 80, 100), action="warn", traffic="llm", provider="anthropic"),
    "ci": _budget("2026-02-10 09:20", TERRAFORM, "CI monthly", ("group", "ci"), "monthly", 400_000_000, cost=4000.0,
                  thresholds=(70, 90)),
    "ds-gemini-pro": _budget("2026-04-14 16:00", ELENA, "Data science Gemini 2.5 Pro spend", ("group", "data-science"),
                             "monthly", 0, cost=2500.0, action="throttle", traffic="llm", provider="vertex-usc1",
                             upstream="gemini-2.5-pro"),
    "atlas": _budget("2026-05-18 09:30", DANA, "Project Atlas quarterly", ("project", PROJECT_ATLAS), "quarterly",
                     900_000_000, cost=12000.0, thresholds=(50, 75, 90)),
    "agents-mcp": _budget("2026-07-06 14:20", TOM, "Agents: Jira MCP calls", ("group", "agents"), "monthly",
                          100_000_000, traffic="mcp", mcp=MCP_JIRA),
    "platform": _budget("2026-01-20 10:45", DANA, "Platform team monthly", ("group", "platform"), "monthly",
                        300_000_000, cost=5000.0),
    "marketing-team": _budget("2026-06-20 10:10", DANA, "Marketing team monthly", ("team", TEAM_MARKETING), "monthly",
                              60_000_000, cost=800.0),
    "marketing-legacy": _budget("2026-06-22 09:00", DANA, "Marketing on chat-legacy", ("group", "marketing"), "monthly",
                                40_000_000, traffic="llm", alias="chat-legacy"),
    "interns": _budget("2026-06-08 09:10", DANA, "Interns monthly", ("role", "intern"), "monthly", 10_000_000,
                       traffic="llm"),
    "hackathon": _budget("2026-08-20 09:10", DANA, "Hackathon September", ("group", "hackathon"), "monthly",
                         200_000_000, cost=3000.0, thresholds=(50, 80)).delete("2026-09-14 17:05"),
    "eval-reasoning": _budget("2026-09-02 10:20", TOM, "Eval harness on reasoning", ("api_key", EVAL_KEY), "monthly",
                              50_000_000, traffic="llm", alias="reasoning"),
}
# Share of each limit used in the current period (tokens %, cost %).
BUDGET_USAGE = {
    OLD: {"org-monthly": (63.2, 58.9), "engineering": (55.1, 49.3), "data-science": (72.4, 61.0),
          "contractors": (35.0, 0.0), "support": (48.2, 0.0), "ravi-anthropic": (41.3, 0.0), "ci": (38.6, 31.2),
          "ds-gemini-pro": (0.0, 44.0), "atlas": (21.7, 19.4), "agents-mcp": (8.1, 0.0), "platform": (46.0, 39.5),
          "marketing-team": (52.4, 47.0), "marketing-legacy": (33.0, 0.0), "interns": (12.5, 0.0),
          "hackathon": (4.2, 3.1)},
    NEW: {"engineering": (78.4, 71.2), "data-science": (61.3, 66.8), "contractors": (35.4, 0.0),
          "support": (64.0, 0.0), "ravi-anthropic": (82.5, 0.0), "ci": (40.2, 36.9), "ds-gemini-pro": (0.0, 55.2),
          "atlas": (44.1, 40.3), "agents-mcp": (12.0, 0.0), "platform": (52.3, 47.7), "marketing-team": (71.0, 64.5),
          "marketing-legacy": (0.0, 0.0), "interns": (20.6, 0.0), "eval-reasoning": (100.4, 0.0)},
}


def render_budgets(t: datetime) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    items, status = [], []
    for key, res in alive(BUDGETS, t):
        s = res.state(t)
        item = {"id": _policy_id("budget", key), "org_id": ORG_ID, "name": s["name"], "scope_type": s["scope_type"],
                "scope_id": s["scope_id"], "scope_value": s["scope_value"], "period": s["period"],
                "token_limit": s["token_limit"], "cost_limit": s["cost_limit"], "currency": s["currency"],
                "alert_thresholds": s["alert_thresholds"], "action_on_exhaust": s["action_on_exhaust"],
                "traffic_type": s["traffic_type"], "enabled": s["enabled"],
                **{k: s[k] for k in ("member_of_group", "target_provider_id", "target_upstream_model",
                                     "target_model_alias", "target_mcp_server_id")},
                "created_at": iso(res.created), **res.attribution(t)}
        items.append(item)
        tok_pct, cost_pct = BUDGET_USAGE[t].get(key, (0.0, 0.0)) if s["enabled"] else (0.0, 0.0)
        tokens_used = round(s["token_limit"] * tok_pct / 100)
        if s["cost_limit"]:
            cost_used = round(s["cost_limit"] * cost_pct / 100, 2)
            if not s["token_limit"]:
                tokens_used = round(cost_used / 5.6 * 1_000_000)  # ~$5.60 per million Gemini Pro tokens
        else:
            cost_used, cost_pct = round(tokens_used / 1_000_000 * 2.35, 2), 0.0
        status.append({"budget": item, "tokens_used": tokens_used, "percentage_used": tok_pct,
                       "cost_used": cost_used, "cost_percentage_used": cost_pct})
    return items, status


def exhausted_route_budgets(t: datetime) -> dict[str, dict[str, Any]]:
    """alias -> SDK budget_status of an exhausted ``block`` budget that targets the alias."""
    out: dict[str, dict[str, Any]] = {}
    for key, res in alive(BUDGETS, t):
        s = res.state(t)
        pct = BUDGET_USAGE[t].get(key, (0.0, 0.0))[0]
        if s["enabled"] and s["action_on_exhaust"] == "block" and s["target_model_alias"] and pct >= 100:
            out[s["target_model_alias"]] = {
                "budget_id": _policy_id("budget", key), "budget_name": s["name"], "kind": "model_alias",
                "limit_kind": "token", "percentage_used": pct, "period": s["period"],
                "message": f"Budget '{s['name']}' is exhausted for this {s['period'].removesuffix('ly')}; "
                           "the route is skipped for callers in its scope"}
    return out


# ---------------------------------------------------------------- route groups

GROUPS: dict[str, Res] = {
    "general": Res("2026-01-20 11:00", DANA, name="General purpose", description="Everyday chat, embeddings and summaries",
                   aliases=["chat-default", "embeddings", "fast", "summarizer"]),
    "premium": Res("2026-02-02 10:10", DANA, name="Premium", description="Frontier models, billed at premium rates",
                   aliases=["chat-premium", "reasoning"])
    .change("2026-03-16 09:10", TOM, "Added long-context", aliases=["chat-premium", "long-context", "reasoning"]),
    "contractor": Res("2026-04-03 09:10", DANA, name="Contractor models",
                      description="Cheap and local models for contractors", aliases=["autocomplete", "fast", "local-coder"]),
    "atlas": Res("2026-05-18 09:20", DANA, name="Atlas", description="Models approved for Project Atlas",
                 aliases=["chat-premium", "coder"])
    .change("2026-07-14 10:00", PRIYA, "Atlas needs embeddings for the retrieval index",
            aliases=["chat-premium", "coder", "embeddings"]),
    "legacy": Res("2026-01-20 11:05", DANA, name="Legacy chat", description="Aliases kept for old integrations",
                  aliases=["chat-legacy", "legacy-gpt4"]).delete("2026-10-27 16:05"),
    "ci": Res("2026-03-09 10:40", TOM, name="Pipeline models", description="Models the CI and data pipelines may call",
              aliases=["coder", "fast"])
    .change("2026-11-16 10:00", TOM, "Release-notes job drafts with the premium chat model",
            aliases=["chat-premium", "coder", "fast"]),
    "eu": Res("2026-11-12 13:10", PRIYA, name="EU data residency", description="Aliases served from EU regions only",
              aliases=["eu-chat", "gemini-eu"]),
}


def group_id(key: str) -> str:
    return uid("route-group", key)


def render_groups(t: datetime) -> list[dict[str, Any]]:
    return [{"id": group_id(k), "org_id": ORG_ID, "name": r.state(t)["name"], "description": r.state(t)["description"],
             "model_aliases": sorted(r.state(t)["aliases"]), **r.attribution(t)} for k, r in alive(GROUPS, t)]


# ---------------------------------------------------------------- model access

def A(alias: str) -> dict[str, Any]:
    return {"kind": "model_alias", "alias": alias}


def M(model: str) -> dict[str, Any]:
    return {"kind": "model", "model": model}


def P(provider: str) -> dict[str, Any]:
    return {"kind": "provider", "provider_id": provider_id(provider)}


def PM(provider: str, model: str) -> dict[str, Any]:
    return {"kind": "provider_model", "provider_id": provider_id(provider), "model": model}


def G(group: str) -> dict[str, Any]:
    return {"kind": "route_group", "group_id": group_id(group)}


def _access(created: str, by: Person, name: str, scope: tuple[str, ...], policy: str, targets: list[dict[str, Any]],
            traffic: str = "llm") -> Res:
    return Res(created, by, name=name, **_scope(scope), policy_type=policy, targets=targets, traffic_type=traffic,
               enabled=True)


ACCESS: dict[str, Res] = {
    "org-approved": _access("2026-01-20 11:10", DANA, "Approved models (org)", ("org",), "allowlist",
                            [G("general"), G("premium"), A("coder"), A("autocomplete")])
    .change("2026-10-09 17:20", DANA, "Default-allow during the Groq pilot; allowlist to be rebuilt", enabled=False),
    "retired-deny": _access("2026-01-20 11:15", MARCUS, "Block retired and unreviewed models", ("org",), "denylist",
                            [A("legacy-gpt4"), PM("bedrock-use1", "anthropic.claude-3-5-sonnet-20240620-v1:0"),
                             M("claude-3-5-haiku*")])
    .change("2026-10-21 12:40", DANA, "Finance month-end job still needs legacy-gpt4 until Q1",
            targets=[PM("bedrock-use1", "anthropic.claude-3-5-sonnet-20240620-v1:0"), M("claude-3-5-haiku*")]),
    "platform-all": _access("2026-01-20 11:20", DANA, "Platform team: unrestricted", ("group", "platform"), "allowlist",
                            [A("*")], traffic="all"),
    "data-science": _access("2026-02-02 11:20", TOM, "Data science: OpenAI family and Vertex", ("group", "data-science"),
                            "allowlist", [A("gpt-*"), P("vertex-usc1"), A("reasoning"), A("embeddings")]),
    "contractors": _access("2026-02-16 09:20", DANA, "Contractors allowlist", ("group", "contractors"), "allowlist",
                           [A("fast"), G("contractor"), PM("openai", "gpt-4o-mini"), M("gpt-4o-mini*")])
    .change("2026-11-04 15:05", DANA, "Contractors on Atlas need the coding model",
            targets=[A("fast"), G("contractor"), PM("openai", "gpt-4o-mini"), M("gpt-4o-mini*"), A("coder")]),
    "interns": _access("2026-06-08 09:20", DANA, "Interns: no premium models", ("role", "intern"), "denylist",
                       [A("chat-premium"), PM("anthropic", "claude-opus-4-1"), A("reasoning")]),
    "triage-agent": _access("2026-07-06 14:30", TOM, "Support triage agent: support models only", ("agent", AGENT_TRIAGE),
                            "allowlist", [A("support-bot"), A("fast")]),
    "hannah": _access("2026-05-05 10:00", DANA, "Board-deck drafting (Hannah)", ("user", HANNAH.id), "allowlist",
                      [A("chat-premium"), A("long-context"), A("chat-default")]),
    "marketing": _access("2026-06-22 09:10", DANA, "Marketing allowlist", ("group", "marketing"), "allowlist",
                         [A("chat-legacy"), G("legacy"), A("chat-default")]),
    "atlas": _access("2026-05-18 09:40", DANA, "Project Atlas models", ("project", PROJECT_ATLAS), "allowlist", [G("atlas")],
                     traffic="all"),
    "analytics-no-local": _access("2026-04-06 10:00", MARCUS, "Analytics: no local or internal models",
                                  ("team", TEAM_ANALYTICS), "denylist", [P("ollama"), P("internal-vllm")]),
    "hackathon": _access("2026-08-20 09:20", DANA, "Hackathon: general and premium", ("group", "hackathon"), "allowlist",
                         [G("general"), G("premium")]).delete("2026-09-14 17:10"),
    "ci": _access("2026-03-09 10:50", TOM, "CI pipelines: pipeline models only", ("group", "ci"), "allowlist", [G("ci")]),
    "pipelines": _access("2026-03-09 10:55", TOM, "Data pipelines: pipeline models only", ("group", "data-pipelines"),
                         "allowlist", [G("ci")]),
    "eu-support-deny": _access("2026-11-12 13:25", PRIYA, "EU support: no US-hosted premium models",
                               ("group", "eu-support"), "denylist",
                               [A("chat-premium"), PM("anthropic", "claude-opus-4-1")]),
    "eu-support": _access("2026-11-12 13:20", PRIYA, "EU support: EU-resident models", ("group", "eu-support"),
                          "allowlist", [G("eu")]),
}


def render_access(t: datetime) -> list[dict[str, Any]]:
    out = []
    for key, res in alive(ACCESS, t):
        s = res.state(t)
        out.append({"id": _policy_id("model-access", key), "org_id": ORG_ID, "name": s["name"],
                    "scope_type": s["scope_type"], "scope_id": s["scope_id"], "scope_value": s["scope_value"],
                    "policy_type": s["policy_type"], "targets": s["targets"], "traffic_type": s["traffic_type"],
                    "enabled": s["enabled"], **res.attribution(t)})
    return out


# ---------------------------------------------------------------- smart models and routing policies

SMART: dict[str, Res] = {
    "smart-chat": Res("2026-06-05 10:00", TOM, determiner="gpt-4o-mini", slots=[("fast", "quick"), ("chat-premium", "deep")],
                      breakpoints=[4000, 32000], max_chars=2000, default_slot=0, enabled=True,
                      description="Short prompts to the fast alias, long or hard ones to chat-premium"),
    "smart-coder": Res("2026-06-05 10:10", TOM, determiner="gpt-4o-mini", slots=[("local-coder", "draft"), ("coder", "deep")],
                       breakpoints=[8000], max_chars=2000, default_slot=1, enabled=True,
                       description="Local model for small edits, Claude for multi-file work"),
    "smart-writer": Res("2026-07-02 09:00", ELENA, determiner="gpt-4o-mini", slots=[("fast", "draft"), ("chat-premium", "polish")],
                        breakpoints=[8000], max_chars=1500, default_slot=2, enabled=True, description=None),
    "smart-research": Res("2026-07-20 11:00", TOM, determiner="gpt-4.1-mini",
                          slots=[("reasoning", "analyse"), ("long-context", "read"), ("opus", "write")],
                          breakpoints=[32000, 128000], max_chars=4000, default_slot=0, enabled=True,
                          description="Research assistant: reasoning, long documents, long-form writing"),
    "summarizer": Res("2026-11-05 15:40", TOM, determiner="gpt-4o-mini", slots=[("fast", "short"), ("long-context", "long")],
                      breakpoints=[16000], max_chars=2000, default_slot=0, enabled=True,
                      description="Summaries routed by document length"),
}


def render_smart_models(t: datetime) -> list[dict[str, Any]]:
    out = []
    for name, res in alive(SMART, t):
        s = res.state(t)
        out.append({"id": uid("smart-model", name), "org_id": ORG_ID, "model_alias": name, "enabled": s["enabled"],
                    "determiner_model_alias": s["determiner"],
                    "slots": [{"model_alias": a, "label": lbl} for a, lbl in s["slots"]],
                    "context_breakpoints": s["breakpoints"], "determiner_input_max_chars": s["max_chars"],
                    "default_slot_on_failure": s["default_slot"], "description": s["description"],
                    "created_at": iso(res.created), "updated_at": iso(res.updated_at(t))})
    return out


POLICIES: dict[str, Res] = {
    "smart-coder-v2": Res("2026-07-25 12:00", TOM, description="Posture-aware variant of smart-coder",
                          determiner="gpt-4o-mini", prompt=None, max_chars=2000, posture="balanced",
                          slots=[("local-coder", "fast", "short completions and quick edits"),
                                 ("coder", "deep", "multi-file refactors and debugging")],
                          breakpoints=[8000], default_slot=0, enabled=True),
    "cost-saver": Res("2026-08-04 09:30", ELENA, description="Cheapest adequate model; no determiner call",
                      determiner=None, prompt=None, max_chars=1000, posture="savings",
                      slots=[("fast", "cheap", None), ("chat-default", "standard", None)],
                      breakpoints=[16000], default_slot=0, enabled=True)
    .change("2026-10-07 10:00", ELENA, None, breakpoints=[24000]),
    "quality-first": Res("2026-08-04 09:40", TOM, description="Best model for the request, cost second",
                         determiner="gpt-4.1-mini",
                         prompt="Classify the request as chat, analysis or long-document and answer with one word.",
                         max_chars=3000, posture="quality",
                         slots=[("chat-premium", "chat", None), ("reasoning", "analysis", None),
                                ("long-context", "long-document", None)],
                         breakpoints=[32000, 128000], default_slot=0, enabled=False),
}

RULES: dict[str, list[tuple[str, Res]]] = {
    "smart-coder-v2": [
        ("tools-to-coder", Res("2026-07-25 12:10", TOM, name="Tool use goes to the deep slot", priority=10,
                               target="coder", match={"requires_tools": True}, enabled=True)),
        ("short-stays-local", Res("2026-07-25 12:12", TOM, name="Short completions stay local", priority=20,
                                  target="local-coder", match={"max_prompt_tokens": 2000, "endpoint": "/v1/completions"},
                                  enabled=True)),
        ("contractors-local", Res("2026-11-04 15:10", DANA, name="Contractors start on the local model", priority=5,
                                  target="local-coder", match={"groups": ["contractors"]}, enabled=True)),
    ],
    "cost-saver": [
        ("vision-standard", Res("2026-08-04 09:35", ELENA, name="Vision requests need the standard slot", priority=10,
                                target="chat-default", match={"requires_vision": True}, enabled=True)),
        ("ci-cheap", Res("2026-08-04 09:36", ELENA, name="CI traffic always cheap", priority=20, target="fast",
                         match={"groups": ["ci"]}, enabled=True)
         .change("2026-10-07 10:05", ELENA, "Paused while CI evaluates quality", enabled=False)),
    ],
    "quality-first": [],
}


def render_routing(t: datetime) -> tuple[list[dict[str, Any]], list[tuple[dict[str, str], list[dict[str, Any]]]]]:
    policies, rules = [], []
    for name, res in alive(POLICIES, t):
        s = res.state(t)
        pid = uid("routing-policy", name)
        policies.append({
            "id": pid, "org_id": ORG_ID, "model_alias": name, "enabled": s["enabled"], "description": s["description"],
            "determiner_model_alias": s["determiner"], "determiner_prompt": s["prompt"],
            "router_input_max_chars": s["max_chars"], "posture": s["posture"],
            "slots": [{"model_alias": a, "label": lbl, "description": d} for a, lbl, d in s["slots"]],
            "context_breakpoints": s["breakpoints"], "default_slot_on_failure": s["default_slot"],
            "created_at": iso(res.created), "updated_at": iso(res.updated_at(t))})
        body = []
        for rname, rule in RULES[name]:
            if not rule.alive(t):
                continue
            r = rule.state(t)
            body.append({"id": uid("routing-rule", name, rname), "policy_id": pid, "name": r["name"],
                         "enabled": r["enabled"], "priority": r["priority"], "target_model_alias": r["target"],
                         "match": r["match"], "created_at": iso(rule.created), "updated_at": iso(rule.updated_at(t)),
                         **rule.attribution(t)})
        rules.append(({"policy_id": pid}, sorted(body, key=lambda b: b["priority"])))
    return policies, rules


def governance(t: datetime) -> dict[str, Any]:
    pilot = t >= at("2026-10-06 09:00")  # the Groq pilot relaxed both switches
    return {"require_pricing_for_mappings": not pilot, "default_model_access": "allow" if pilot else "deny",
            "require_routing_policy": False}
