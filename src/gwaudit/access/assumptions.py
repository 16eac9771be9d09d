"""Every reading gwaudit takes where REFERENCE.md section 7 (model access) and sections 5-6 (rate
limits, budgets) are silent. One place: a later correction is one change here, and the concept
views (:mod:`gwaudit.access.concepts`) are rebuilt from these values (their fingerprint changes).

README's "Effective access and spend exposure" lists the same assumptions in prose; keep both true.
"""

from __future__ import annotations

DENY_WINS = True
"""A denylist that applies to a principal and names a route denies it, whatever an allowlist says."""

ALLOWLISTS_INTERSECT = True
"""Every allowlist that applies to a principal restricts it: a route must be named by each of them
(an org allowlist and a group allowlist together admit only what both name)."""

POLICY_TRAFFIC = ("llm", "all")
"""Model-access policies, rate limits and budgets with these traffic types govern model calls
(``mcp`` ones do not); a missing model-access ``traffic_type`` is ``llm`` (the API's default)."""

BLOCKING_ACTIONS = ("block",)
"""Budget actions that stop spending when exhausted. ``warn``/``alert`` never deny; ``throttle``
only slows, so it bounds nothing here."""

INEFFECTIVE_LIMIT_SCOPES = ("llm_provider", "model", "model_alias")
"""Rate-limit and budget scope types that name no caller (REFERENCE 5: ``llm_provider`` and
``model`` never match at enforcement); such controls bound no principal."""

REQUEST_TOKEN_CEILING = 1_000_000
"""Tokens one request can cost at most (prompt plus completion), used when a rate limit sets only
requests per minute: the largest context window among commonly routed models (Gemini 2.5 Pro,
Claude Sonnet 4.5 with the 1M beta). A worst case, not a typical request."""

NO_BUDGET_PERIOD_HOURS = 720
"""The "budget period" horizon of a principal no blocking budget applies to: 30 days."""

CURRENCY = "USD"
"""The currency when route_prices gives none (pricing rules carry none: USD; Barndoor's defaults
declare theirs); budgets' ``cost_limit`` is compared as if in the same currency."""

ASSUMPTIONS = (
    "Deny wins: a denylist that applies to a principal and names a route blocks it, whatever any allowlist says.",
    "Every allowlist that applies to a principal restricts it: a route must be named by each of them "
    "(the org's allowlist and a group's allowlist together admit only what both name). An allowlist "
    "grants only under default_model_access = deny; under allow it only restricts.",
    "A principal is subject to the org scope and its own scope. A key is subject to the org, its own id "
    "(api_key scope), its user (user scope, and a user scope with neither id nor value) and its bound "
    "group. Team, role, project, agent and group membership of users is not in the snapshot, so a key's "
    "row shows what the scopes the snapshot ties to it decide.",
    "A route can serve when the serving_routes view calls it available: it is enabled, its provider exists, "
    "is enabled and is not unhealthy (unless the provider does not enforce health checks), and for a custom "
    "alias the 1:1 row of its upstream model on the same provider exists and is enabled. Runtime state "
    "(route-health ejection or cooldown, exhausted budgets: the view's serving column) is not considered: "
    "access reads what the configuration lets a caller reach, not this minute's health.",
    "A model (an alias, a smart model, or an upstream model's 1:1 name) is reachable when at least one "
    "route that can serve it is allowed; a smart model's routes are its slots' routes, judged with the "
    "smart model's name as the requested alias. A name both a smart model and a route alias has both.",
    "Targets: model_alias matches the requested name; model the route's upstream model; provider every "
    "route of the provider; provider_model a route of the provider whose upstream model or requested "
    "name matches; route_group its member aliases (a dangling or empty group matches nothing). A "
    "trailing * is a prefix wildcard.",
    "Policies, rate limits and budgets with traffic_type mcp govern no model calls; a disabled one "
    "(enabled false) none at all. A model-access policy governs model calls when the llm_access_policies "
    "view says it is in force (enabled, traffic llm or all, a scope that selects callers: a group or role "
    "needs a name, an id scope an id); a group or role policy applies to the principal its scope_value names.",
    "Exposure counts only controls that bound everything a principal can reach: the rate limits and "
    "budgets the rules call limiting (rate_limit_controls / budget_controls: enabled, a limit above 0, "
    "LLM traffic, a scope that selects callers) with no target, and for a budget the action block "
    "(missing = block). A limit of 0 or null bounds nothing; budgets with action warn, alert or "
    "throttle, targeted controls, per-member controls (member_of_group), MCP-only controls and scopes "
    "llm_provider, model and model_alias bound nothing.",
    f"A rate limit with requests per minute only is read as rpm x {REQUEST_TOKEN_CEILING:,} tokens per "
    "request (the per-request ceiling); with both, the smaller of tpm and that.",
    "Money is tokens x the highest per-token price (the higher of input and output, from the "
    "route_prices view the pricing rules use) among the routes the principal can reach; not-metered "
    "routes cost $0. A metered route with no price is billed by the provider at a price the snapshot "
    "does not know: the figures count its tokens at $0 (a lower bound; unpriced_model names it), a "
    "budget with only a cost limit does not bound a principal that can reach one (the gateway records "
    "that spend as $0), and with no other control the principal is unbounded.",
    "A blocking budget allows what its status says is left of the current period (the whole limit when "
    "no status is stored) plus a whole limit for every period boundary (UTC) inside the horizon.",
    f"The budget-period horizon runs to the end of the current period of the longest blocking budget "
    f"that applies; without one it is {NO_BUDGET_PERIOD_HOURS} hours.",
    f"Prices and cost limits are read in {CURRENCY}.",
)
