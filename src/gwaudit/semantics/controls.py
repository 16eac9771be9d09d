"""Controls: which rate limits and budgets actually constrain LLM traffic, which model routes can
serve, and which LLM traffic each model-access policy covers."""

from __future__ import annotations

from . import Concept

# A scope that selects callers. Legacy llm_provider / model scopes never match at enforcement
# (REFERENCE §5); a name scope (group, role) needs a non-blank name; an entity scope other than
# the broad user scope needs an id.
_SCOPE_EFFECTIVE = """(scope_type IS NOT NULL AND scope_type NOT IN ('llm_provider', 'model', 'model_alias')
           AND (scope_type NOT IN ('group', 'role') OR nullif(trim(scope_value), '') IS NOT NULL)
           AND (scope_type NOT IN ('api_key', 'team', 'project', 'agent', 'mcp_server')
                OR nullif(trim(scope_id), '') IS NOT NULL))"""

# The three LLM targets of a rate limit / budget match at least one route (an empty string matches
# nothing); an untargeted control matches every route.
_TARGETS_MATCH = """(NOT targeted OR EXISTS (
           SELECT 1 FROM {model_routes} r
           WHERE (c.target_provider_id IS NULL OR lower(r.provider_id) = lower(c.target_provider_id))
             AND (c.target_upstream_model IS NULL OR r.upstream_model = c.target_upstream_model)
             AND (c.target_model_alias IS NULL OR r.model_alias = c.target_model_alias)))"""


def _control(name: str, family: str, has_limit: str, blocking: str, limit_doc: str, blocking_doc: str) -> Concept:
    return Concept(
        name,
        f"""
        WITH c AS (
            SELECT *,
                   coalesce(enabled, true) AS is_enabled,
                   coalesce(traffic_type, 'all') AS traffic,
                   coalesce(traffic_type, 'all') IN ('all', 'llm') AND target_mcp_server_id IS NULL AS covers_llm,
                   target_provider_id IS NOT NULL OR target_upstream_model IS NOT NULL
                     OR target_model_alias IS NOT NULL AS targeted,
                   {has_limit} AS has_limit,
                   {blocking} AS blocking,
                   {_SCOPE_EFFECTIVE} AS scope_effective
            FROM {{{family}}}
        ),
        j AS (SELECT c.*, {_TARGETS_MATCH} AS targets_match FROM c)
        SELECT *,
               is_enabled AND has_limit AND covers_llm AND scope_effective AND targets_match AS metering,
               is_enabled AND has_limit AND covers_llm AND scope_effective AND targets_match AND blocking AS limiting,
               CASE WHEN NOT is_enabled THEN 'disabled'
                    WHEN NOT has_limit THEN 'no limit set'
                    WHEN traffic NOT IN ('all', 'llm') THEN traffic || ' traffic only'
                    WHEN target_mcp_server_id IS NOT NULL THEN 'limited to MCP server ' || target_mcp_server_id
                    WHEN NOT scope_effective THEN 'scope ' || coalesce(scope_type, '(none)') || ' matches no caller'
                    WHEN NOT targets_match THEN 'targets match no route'
                    WHEN NOT blocking THEN 'never blocks'
               END AS why_not
        FROM j""",
        f"Every {family} row with what it constrains. is_enabled: enabled not false (missing = true). "
        f"traffic: traffic_type, missing = all. covers_llm: traffic all or llm and no target_mcp_server_id "
        f"(an MCP-only control does not cover LLM traffic). has_limit: {limit_doc}. blocking: {blocking_doc}. "
        "scope_effective: the scope selects callers (scope_type not the legacy llm_provider/model/model_alias "
        "that never match; group/role need a non-blank scope_value, an empty string is no group; "
        "api_key/team/project/agent/mcp_server need a non-blank scope_id). targeted: any of "
        "target_provider_id, target_upstream_model, target_model_alias set; targets_match: untargeted, or "
        "at least one route matches all set targets (an empty-string target matches nothing). "
        "metering: is_enabled, has_limit, covers_llm, scope_effective and targets_match. limiting: metering "
        "and blocking. why_not: the first reason it is not limiting (null when limiting).")


RATE_LIMIT_CONTROLS = _control(
    "rate_limit_controls", "rate_limits",
    "coalesce(requests_per_minute, 0) > 0 OR coalesce(tokens_per_minute, 0) > 0", "true",
    "requests_per_minute or tokens_per_minute above 0 (null clears a limit; 0 limits nothing)",
    "always true (a rate limit refuses requests over it)")

BUDGET_CONTROLS = _control(
    "budget_controls", "token_budgets",
    "coalesce(token_limit, 0) > 0 OR coalesce(cost_limit, 0) > 0",
    "coalesce(action_on_exhaust, 'block') IN ('block', 'throttle')",
    "token_limit or cost_limit above 0 (null or 0 limits nothing)",
    "action_on_exhaust block or throttle (missing = block); alert and warn never refuse a request")

BUDGET_USAGE = Concept(
    "budget_usage",
    """
    WITH s AS (
        SELECT *,
               greatest(percentage_used,
                        CASE WHEN token_limit > 0 THEN 100.0 * tokens_used / token_limit END) AS token_pct,
               greatest(cost_percentage_used,
                        CASE WHEN cost_limit > 0 THEN 100.0 * cost_used / cost_limit END) AS cost_pct
        FROM {token_budget_status}
    )
    SELECT *,
           greatest(token_pct, cost_pct) AS usage_pct,
           coalesce(token_pct >= 100, false) OR coalesce(cost_pct >= 100, false) AS exhausted
    FROM s""",
    "Every budget-status row with its usage in percent (0-100), read once. token_pct: the higher of the "
    "reported percentage_used and 100 x tokens_used / token_limit (when the limit is above 0); cost_pct "
    "likewise from cost_percentage_used and cost_used / cost_limit. The reference does not say whether "
    "the reported percentages are 0-100 or a fraction: the counts decide when they are there, so a "
    "fraction never hides an exhausted budget. usage_pct: the higher of the two; exhausted: either at "
    "or above 100.")

ROUTE_AVAILABILITY = Concept(
    "route_availability",
    """
    WITH r AS (
        SELECT r.id AS route_id, r.resource_name, r.model_alias, r.upstream_model, r.provider_id,
               coalesce(p.name, r.provider_name, r.provider_id) AS provider_name,
               p.id IS NOT NULL AS provider_found,
               coalesce(r.enabled, true) AS route_enabled,
               coalesce(p.enabled, true) AS provider_enabled,
               coalesce(p.health_status = 'unhealthy' AND p.enforce_health_check IS NOT FALSE, false)
                 AS provider_unhealthy,
               r.model_alias = r.upstream_model OR EXISTS (
                   SELECT 1 FROM {model_routes} o
                   WHERE lower(o.provider_id) = lower(r.provider_id) AND o.model_alias = r.upstream_model
                     AND o.upstream_model = r.upstream_model AND o.enabled IS NOT FALSE) AS lit,
               r.route_health_status, r.budget_status, r.taken_at
        FROM {model_routes} r
        LEFT JOIN {providers} p ON lower(p.id) = lower(r.provider_id)
    )
    SELECT *,
           route_enabled AND provider_found AND provider_enabled AND lit AS live,
           route_enabled AND provider_found AND provider_enabled AND lit AND NOT provider_unhealthy AS available
    FROM r""",
    "The configuration half of serving_routes (no route health): every model route with live and "
    "available as serving_routes defines them. Effective access reads it: what the configuration lets "
    "serve, not this minute's route health.")

SERVING_ROUTES = Concept(
    "serving_routes",
    """
    WITH r AS (
        SELECT a.route_id, a.resource_name, a.model_alias, a.upstream_model, a.provider_id, a.provider_name,
               a.provider_found, a.route_enabled, a.provider_enabled, a.provider_unhealthy, a.lit,
               EXISTS (SELECT 1 FROM {route_health} h
                       WHERE lower(h.provider_id) = lower(a.provider_id) AND h.upstream_model = a.upstream_model
                         AND (h.state IN ('ejected', 'suspended') OR h.eject_remaining_secs > 0)) AS ejected,
               (SELECT max(h.eject_remaining_secs) FROM {route_health} h
                WHERE lower(h.provider_id) = lower(a.provider_id) AND h.upstream_model = a.upstream_model
                  AND h.eject_remaining_secs > 0) AS eject_remaining_secs,
               coalesce(a.route_health_status->>'state' = 'suspended', false) AS suspended,
               a.route_health_status->>'reason' AS suspended_reason,
               a.budget_status IS NOT NULL AND json_type(a.budget_status) = 'OBJECT' AS budget_blocked,
               a.taken_at, a.live, a.available
        FROM {route_availability} a
    )
    SELECT route_id, resource_name, model_alias, upstream_model, provider_id, provider_name, provider_found,
           route_enabled, provider_enabled, provider_unhealthy, lit, ejected, eject_remaining_secs, suspended,
           suspended_reason, budget_blocked, taken_at, live, available,
           live AND NOT ejected AND NOT suspended AND NOT provider_unhealthy AND NOT budget_blocked AS serving,
           concat_ws(', ', CASE WHEN ejected THEN 'ejected' || coalesce(', ' || eject_remaining_secs || ' s left', '') END,
                     CASE WHEN suspended THEN 'suspended' || coalesce(' (' || suspended_reason || ')', '') END,
                     CASE WHEN provider_unhealthy THEN 'provider unhealthy' END,
                     CASE WHEN budget_blocked THEN 'blocked by an exhausted budget' END) AS unavailable_because
    FROM r""",
    "Every model route with whether it can serve. live: enabled not false, on an existing provider whose "
    "enabled is not false, and lit (a 1:1 row, or a custom alias whose 1:1 row on the same provider exists "
    "and is enabled; otherwise it is dark). available: live and not provider_unhealthy (what the "
    "configuration lets serve). serving: live and none of: ejected (a route_health entry on the "
    "same provider_id and upstream_model with state ejected or suspended, or eject_remaining_secs above 0), "
    "suspended (the route's own route_health_status.state is suspended, whatever its scope; recovering "
    "still serves), provider_unhealthy (health_status unhealthy while enforce_health_check is not false), "
    "budget_blocked (budget_status present: an exhausted blocking budget removed the route). A route with "
    "no route-health entry and no route_health_status counts as healthy. unavailable_because lists the reasons.")

LLM_ACCESS_POLICIES = Concept(
    "llm_access_policies",
    """
    WITH a AS (
        SELECT *,
               coalesce(enabled, true) AS is_enabled,
               coalesce(traffic_type, 'llm') AS traffic,
               coalesce(traffic_type, 'llm') IN ('all', 'llm') AS covers_llm,
               coalesce(json_array_length(targets), 0) AS target_count,
               EXISTS (SELECT 1 FROM unnest(from_json(targets, '[{{"kind":"VARCHAR","alias":"VARCHAR","model":"VARCHAR"}}]')) u(t)
                       WHERE u.t.kind IN ('model_alias', 'model')
                         AND regexp_full_match(trim(CASE u.t.kind WHEN 'model_alias' THEN u.t.alias ELSE u.t.model END),
                                               '\\*+')) AS admits_all,
               """ + _SCOPE_EFFECTIVE + """ AS scope_effective
        FROM {model_access}
    )
    SELECT *,
           is_enabled AND covers_llm AND scope_effective AS in_force,
           is_enabled AND covers_llm AND scope_effective AND policy_type = 'allowlist' AND NOT admits_all
             AS restricting_allowlist
    FROM a""",
    "Every model-access policy with the LLM traffic it covers. is_enabled: enabled not false (missing = "
    "true). traffic: traffic_type, missing = llm (the documented default); covers_llm: traffic llm or all "
    "(an mcp policy does not govern models). scope_effective: the scope selects callers (group/role need a "
    "non-blank scope_value, an empty string is no group; id scopes need a non-blank scope_id; the broad "
    "user scope and org select everyone of their kind). target_count: number of targets (a denylist "
    "with none blocks nothing). admits_all: a model_alias or model target that is only * characters. "
    "in_force: is_enabled, covers_llm and scope_effective. restricting_allowlist: in force, an allowlist, "
    "and not admits_all.")

# A name pattern of a model-access target: blanks around it ignored; a trailing run of * makes it a
# prefix (wildcards are trailing only); names compare exactly (case-sensitive), provider ids as UUIDs.
LLM_ACCESS_TARGETS = Concept(
    "llm_access_targets",
    """
    WITH t AS (
        SELECT a.id AS policy_id, a.name AS policy_name, a.policy_type, a.scope_type, a.scope_value,
               a.scope_id, a.is_enabled, a.in_force, a.taken_at, u.i AS target_no, u.tg.kind AS kind,
               nullif(trim(u.tg.provider_id), '') AS provider_id, u.tg.group_id AS group_id,
               CASE u.tg.kind WHEN 'model_alias' THEN u.tg.alias ELSE u.tg.model END AS pattern
        FROM {llm_access_policies} a,
             unnest(from_json(a.targets, '[{{"kind":"VARCHAR","alias":"VARCHAR","model":"VARCHAR","provider_id":"VARCHAR","group_id":"VARCHAR"}}]'))
               WITH ORDINALITY AS u(tg, i)
    ),
    w AS (
        SELECT *, coalesce(ends_with(trim(pattern), '*'), false) AS wildcard FROM t
    )
    SELECT *,
           CASE WHEN wildcard THEN rtrim(trim(pattern), '*') ELSE trim(pattern) END AS prefix,
           kind IN ('model_alias', 'model') AND wildcard AND rtrim(trim(pattern), '*') = '' AS admits_all,
           kind = 'provider' OR (kind = 'provider_model' AND wildcard AND rtrim(trim(pattern), '*') = '')
             AS whole_provider
    FROM w""",
    "Every target of every model-access policy (enabled or not), with the policy's columns from "
    "llm_access_policies (is_enabled, in_force). target_no: 1-based position. kind as given; pattern: the "
    "alias (model_alias) or model (model, provider_model); provider_id: blank is none. wildcard: the pattern, "
    "blanks trimmed, ends in * (wildcards are trailing only); prefix: the trimmed pattern without its "
    "trailing * run (the whole trimmed pattern when not a wildcard). admits_all: a model_alias or model "
    "target that is only * characters. whole_provider: a provider target, or a provider_model target whose "
    "model is only * characters. A missing pattern is no wildcard and matches nothing.")

LLM_ACCESS_TARGET_MATCHES = Concept(
    "llm_access_target_matches",
    """
    WITH names AS (
        SELECT 'route' AS via, id AS route_id, model_alias, upstream_model, provider_id FROM {model_routes}
        UNION ALL
        SELECT 'smart_model', NULL, model_alias, NULL, NULL FROM {smart_models} WHERE model_alias IS NOT NULL
        UNION ALL
        SELECT 'routing_policy', NULL, model_alias, NULL, NULL FROM {routing_policies} WHERE model_alias IS NOT NULL
    ),
    members AS (
        SELECT g.id AS group_id, unnest(from_json(g.model_aliases, '["VARCHAR"]')) AS alias
        FROM {model_route_groups} g
    )
    SELECT t.policy_id, t.target_no, t.kind, n.via, n.route_id, n.model_alias, n.upstream_model, n.provider_id
    FROM {llm_access_targets} t
    JOIN names n ON CASE t.kind
        WHEN 'model_alias' THEN CASE WHEN t.wildcard THEN starts_with(n.model_alias, t.prefix)
                                     ELSE n.model_alias = t.prefix END
        WHEN 'model' THEN n.via = 'route' AND CASE WHEN t.wildcard THEN starts_with(n.upstream_model, t.prefix)
                                                   ELSE n.upstream_model = t.prefix END
        WHEN 'provider' THEN n.via = 'route' AND lower(n.provider_id) = lower(t.provider_id)
        WHEN 'provider_model' THEN n.via = 'route' AND lower(n.provider_id) = lower(t.provider_id)
             AND CASE WHEN t.wildcard THEN starts_with(n.model_alias, t.prefix) OR starts_with(n.upstream_model, t.prefix)
                      ELSE t.prefix IN (n.model_alias, n.upstream_model) END
        ELSE false END
    UNION ALL
    SELECT t.policy_id, t.target_no, t.kind, n.via, n.route_id, n.model_alias, n.upstream_model, n.provider_id
    FROM {llm_access_targets} t
    JOIN members m ON m.group_id = t.group_id
    JOIN names n ON n.model_alias = m.alias
    WHERE t.kind = 'route_group'""",
    "Every callable name each model-access target matches: route rows (via route, enabled or not: a "
    "disabled route is callable again once re-enabled), smart-model and routing-policy aliases (via "
    "smart_model / routing_policy; only model_alias and route_group targets name them). model_alias: the "
    "alias equals the prefix, or starts with it for a wildcard; model: a route's upstream_model likewise; "
    "provider: every route of the provider (ids compared as UUIDs, case-insensitively); provider_model: "
    "the provider's routes whose alias or upstream model matches; route_group: the names whose alias is a "
    "member of the group (a missing or empty group matches nothing). A target with no row matches nothing.")

CONCEPTS = (RATE_LIMIT_CONTROLS, BUDGET_CONTROLS, BUDGET_USAGE, ROUTE_AVAILABILITY, SERVING_ROUTES,
            LLM_ACCESS_POLICIES, LLM_ACCESS_TARGETS, LLM_ACCESS_TARGET_MATCHES)
