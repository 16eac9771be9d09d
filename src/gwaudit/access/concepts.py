"""Effective access and spend exposure as shared concepts (views), in dependency order.

Registered with :mod:`gwaudit.semantics` (so each is a persistent view over the latest snapshot,
follows a rule's snapshot scoping, and has a ``prev_`` twin for change-control rules). The
readings where the API reference is silent come from :mod:`gwaudit.access.assumptions`.

Grain of the access matrix: a *signature* is the set of model-access policies that apply to a
principal; principals with the same signature get the same decisions, so decisions are computed
once per signature (``access_signature_decisions``) and ``access_matrix`` spreads them to
principals. 50,000 keys usually share a few hundred signatures.
"""

from __future__ import annotations

from ..semantics import Concept
from . import assumptions as A


def _list(values: tuple[str, ...]) -> str:
    return "(" + ", ".join("'" + v + "'" for v in values) + ")"


def _sql(text: str) -> str:
    subs = {
        "@TRAFFIC@": _list(A.POLICY_TRAFFIC),
        "@BLOCKING@": _list(A.BLOCKING_ACTIONS),
        "@INEFFECTIVE@": _list(A.INEFFECTIVE_LIMIT_SCOPES),
        "@CEILING@": str(int(A.REQUEST_TOKEN_CEILING)),
        "@NOBUDGETHOURS@": str(int(A.NO_BUDGET_PERIOD_HOURS)),
        "@CURRENCY@": "'" + A.CURRENCY + "'",
        "@SCOPEKEY@": SCOPE_KEY,
    }
    for k, v in subs.items():
        text = text.replace(k, v)
    return text


SCOPE_KEY = ("CASE WHEN scope_type = 'org' THEN '' WHEN scope_type IN ('group', 'role') THEN scope_value "
             "ELSE coalesce(scope_id, scope_value, '*') END")
"""SQL: the key a policy's (or rate limit's, budget's) scope gives its principal: '' for the org, the
name for a group or role (REFERENCE 7: scope_value holds a role or IdP group name), else the id."""


def match(pattern: str, name: str) -> str:
    """SQL: ``pattern`` (exact, or a prefix with a trailing ``*``) matches ``name``."""
    return (f"(CASE WHEN right({pattern}, 1) = '*' THEN starts_with({name}, "
            f"substr({pattern}, 1, length({pattern}) - 1)) ELSE {name} = {pattern} END)")


ROUTE_PRICES = Concept(
    "access_route_prices",
    """
    SELECT route_id, taken_at, resolved_source AS price_source, coalesce(currency, @CURRENCY@) AS currency,
           coalesce(greatest(input_cost_per_million_tokens, output_cost_per_million_tokens), 0.0)
             AS max_price_per_million,
           coalesce(unpriced, false) AS unpriced
    FROM {route_prices}""".replace("@CURRENCY@", "'" + A.CURRENCY + "'"),
    "Per route, the higher of its input and output price per million tokens, from route_prices (the "
    "effective price the pricing rules use); 0 for unpriced and not-metered routes. unpriced: a metered "
    "route with no price (route_prices.unpriced): the provider bills it, the gateway records $0.")

SERVING_ROUTES = Concept(
    "access_routes",
    """
    SELECT r.route_id, r.model_alias, r.upstream_model, r.provider_id, r.provider_name,
           r.model_alias = r.upstream_model AS one_to_one, pr.max_price_per_million, pr.price_source,
           coalesce(pr.unpriced, false) AS unpriced, r.taken_at
    FROM {route_availability} r
    LEFT JOIN {access_route_prices} pr ON pr.route_id = r.route_id
    WHERE r.available""",
    "The routes access is computed over: the `available` column of serving_routes (read from its "
    "configuration half, route_availability, so access does not read route health) (enabled, on an existing "
    "enabled provider that is not unhealthy unless it does not enforce health checks, and lit: a 1:1 "
    "row, or a custom alias whose enabled 1:1 row exists on the same provider), with their highest "
    "price (and whether it is unpriced). `available`, not `serving`: route-health ejection, suspension and exhausted budgets are "
    "runtime state that lapses within minutes or at a period boundary, so access reads configuration "
    "(what a caller is allowed to reach), not this minute's health.")

MODELS = Concept(
    "access_models",
    """
    SELECT model, CASE WHEN bool_or(kind = 'smart') THEN 'smart'
                       WHEN bool_or(kind = 'alias') THEN 'alias' ELSE 'upstream' END AS model_kind
    FROM (SELECT model_alias AS model,
                 CASE WHEN model_alias = upstream_model THEN 'upstream' ELSE 'alias' END AS kind
          FROM {model_routes} WHERE model_alias IS NOT NULL
          UNION ALL
          SELECT model_alias, 'smart' FROM {smart_models} WHERE model_alias IS NOT NULL)
    GROUP BY model""",
    "Every name a caller can address: route aliases (alias), the 1:1 names of upstream models "
    "(upstream) and smart models (smart; a name that is also a route alias is smart), whether or "
    "not a route can serve it now.")

CANDIDATES = Concept(
    "access_candidates",
    """
    SELECT r.model_alias AS model, r.model_alias AS via, r.route_id, r.upstream_model, r.provider_id,
           r.provider_name, r.max_price_per_million, r.unpriced
    FROM {access_routes} r
    UNION ALL
    SELECT s.model_alias, u.slot.model_alias, r.route_id, r.upstream_model, r.provider_id, r.provider_name,
           r.max_price_per_million, r.unpriced
    FROM {smart_models} s,
         unnest(from_json(s.slots, '[{{"model_alias":"VARCHAR","label":"VARCHAR"}}]')) AS u(slot)
    JOIN {access_routes} r ON r.model_alias = u.slot.model_alias
    WHERE s.enabled IS NOT FALSE""",
    "For each addressable model, the routes that can serve a request for it: the routes of the "
    "alias, and for an enabled smart model the routes of each slot alias (via = the slot).")

POLICIES = Concept(
    "access_policies",
    f"""
    SELECT id AS policy_id, name AS policy_name, policy_type, scope_type, {SCOPE_KEY} AS scope_key,
           targets, taken_at
    FROM {{llm_access_policies}}
    WHERE in_force AND policy_type IN ('allowlist', 'denylist')""",
    "The model-access policies that govern model calls: llm_access_policies' `in_force` rows (enabled, "
    "traffic llm or all, a scope that selects callers), allowlists and denylists, each with its "
    "scope_key ('' for org, the name for group/role, else scope_id, else scope_value, else '*').")

POLICY_TARGETS = Concept(
    "access_policy_targets",
    """
    WITH t AS (
        SELECT p.policy_id, u.tg.kind AS kind, u.tg.alias AS alias, u.tg.model AS model,
               u.tg.provider_id AS provider_id, u.tg.group_id AS group_id
        FROM {access_policies} p,
             unnest(from_json(p.targets, '[{{"kind":"VARCHAR","alias":"VARCHAR","model":"VARCHAR","provider_id":"VARCHAR","group_id":"VARCHAR"}}]')) AS u(tg)
    )
    SELECT policy_id, kind, CASE kind WHEN 'model_alias' THEN alias ELSE model END AS pattern,
           provider_id, NULL::VARCHAR AS group_id
    FROM t WHERE kind IN ('model_alias', 'model', 'provider', 'provider_model')
    UNION ALL
    SELECT t.policy_id, 'model_alias', g.alias, NULL, t.group_id
    FROM t JOIN (SELECT id, unnest(from_json(model_aliases, '["VARCHAR"]')) AS alias
                 FROM {model_route_groups}) g ON g.id = t.group_id
    WHERE t.kind = 'route_group'""",
    "Each target of each governing policy, with route groups expanded to their member aliases "
    "(group_id says which group a model_alias row came from); a dangling or empty group and an "
    "unknown target kind give no row, so they match nothing.")

POLICY_MATCHES = Concept(
    "access_policy_matches",
    f"""
    SELECT DISTINCT t.policy_id, c.model, c.route_id
    FROM {{access_policy_targets}} t JOIN {{access_candidates}} c
      ON (t.kind = 'model_alias' AND c.model = t.pattern)
    WHERE right(t.pattern, 1) <> '*'
    UNION
    SELECT t.policy_id, c.model, c.route_id
    FROM {{access_policy_targets}} t JOIN {{access_candidates}} c
      ON (t.kind = 'model' AND c.upstream_model = t.pattern)
    WHERE right(t.pattern, 1) <> '*'
    UNION
    SELECT t.policy_id, c.model, c.route_id
    FROM {{access_policy_targets}} t JOIN {{access_candidates}} c ON c.provider_id = t.provider_id
    WHERE t.kind = 'provider'
       OR (t.kind = 'provider_model' AND ({match('t.pattern', 'c.upstream_model')} OR {match('t.pattern', 'c.model')}))
    UNION
    SELECT t.policy_id, c.model, c.route_id
    FROM {{access_policy_targets}} t, {{access_candidates}} c
    WHERE right(t.pattern, 1) = '*' AND t.kind IN ('model_alias', 'model')
      AND {match('t.pattern', "CASE t.kind WHEN 'model_alias' THEN c.model ELSE c.upstream_model END")}""",
    "Which candidate routes (model, route) each governing policy names.")

PRINCIPALS = Concept(
    "access_principals",
    _sql("""
    WITH scoped AS (
        SELECT scope_type, nullif(@SCOPEKEY@, '*') AS k FROM {model_access}
        UNION SELECT scope_type, nullif(@SCOPEKEY@, '*') FROM {rate_limits}
        WHERE scope_type NOT IN @INEFFECTIVE@
        UNION SELECT scope_type, nullif(@SCOPEKEY@, '*') FROM {token_budgets}
        WHERE scope_type NOT IN @INEFFECTIVE@
        UNION SELECT 'group', member_of_group FROM {rate_limits} WHERE member_of_group IS NOT NULL
        UNION SELECT 'group', member_of_group FROM {token_budgets} WHERE member_of_group IS NOT NULL
    ),
    keys AS (
        SELECT CASE source WHEN 'user_api_keys' THEN 'user_key' ELSE 'api_key' END AS principal_type,
               id AS principal_key, name AS principal_name, state AS key_state,
               -- a blank id or group binds nothing; a name is compared as written, like the policies' scope_value
               CASE WHEN user_bound IS NOT NULL THEN user_id END AS user_id,
               CASE WHEN group_bound IS NOT NULL THEN group_name END AS group_name
        FROM {key_states} WHERE id IS NOT NULL
    )
    SELECT 'org' AS principal_type, '' AS principal_key, 'org' AS principal_name,
           NULL::VARCHAR AS key_state, NULL::VARCHAR AS user_id, NULL::VARCHAR AS group_name
    UNION ALL
    SELECT * FROM keys
    UNION ALL
    SELECT DISTINCT scope_type, k, k, NULL, CASE WHEN scope_type = 'user' THEN k END,
           CASE WHEN scope_type = 'group' THEN k END
    FROM scoped
    WHERE scope_type <> 'org' AND k IS NOT NULL
      AND NOT (scope_type = 'api_key' AND k IN (SELECT principal_key FROM keys))"""),
    "Every principal the snapshot knows: the org as a whole (a caller in no other scope), every "
    "API key (api_key) and user key (user_key) with its state, and every identity scope "
    "(group, role, team, user, project, agent, mcp_server, an api_key id no key list holds) that a "
    "model-access policy, rate limit or budget names (a per-member control names its group).")

PRINCIPAL_SCOPES = Concept(
    "access_principal_scopes",
    """
    SELECT principal_type, principal_key, 'org' AS scope_type, '' AS scope_key FROM {access_principals}
    UNION ALL
    SELECT principal_type, principal_key, principal_type, principal_key FROM {access_principals}
    WHERE principal_type NOT IN ('org', 'api_key', 'user_key')
    UNION ALL
    SELECT principal_type, principal_key, 'api_key', principal_key FROM {access_principals}
    WHERE principal_type IN ('api_key', 'user_key')
    UNION ALL
    SELECT principal_type, principal_key, 'user', user_id FROM {access_principals}
    WHERE principal_type IN ('api_key', 'user_key') AND user_id IS NOT NULL
    UNION ALL
    SELECT principal_type, principal_key, 'user', '*' FROM {access_principals}
    WHERE principal_type IN ('api_key', 'user_key', 'user') AND (user_id IS NOT NULL OR principal_type = 'user')
    UNION ALL
    SELECT principal_type, principal_key, 'group', group_name FROM {access_principals}
    WHERE principal_type IN ('api_key', 'user_key') AND group_name IS NOT NULL""",
    "The scopes each principal is subject to: org; its own scope; for a key its id (api_key), its "
    "user (and the broad user scope '*') and its bound group. Memberships the snapshot does not "
    "hold (a user's groups, teams, roles) are not assumed.")

SIGNATURES = Concept(
    "access_signatures",
    """
    SELECT s.principal_type, s.principal_key,
           coalesce(string_agg(DISTINCT p.policy_id, ',' ORDER BY p.policy_id), '') AS signature
    FROM {access_principal_scopes} s
    LEFT JOIN {access_policies} p ON p.scope_type = s.scope_type AND p.scope_key = s.scope_key
    GROUP BY ALL""",
    "Per principal, the sorted ids of the governing model-access policies that apply to it ('' for "
    "none); principals with one signature get one set of decisions.")

DEFAULT = Concept(
    "access_default",
    """
    SELECT CASE WHEN max(lower(default_model_access)) = 'deny' THEN 'deny' ELSE 'allow' END AS decision
    FROM {governance_config}""",
    "The governance default for routes no model-access policy names: deny when default_model_access "
    "is deny, else allow (missing, null or no governance row = allow, the API's default).")

SIGNATURE_DECISIONS = Concept(
    "access_signature_decisions",
    """
    WITH sigs AS (SELECT DISTINCT signature FROM {access_signatures}),
    sig_pol AS (
        SELECT s.signature, p.policy_id, p.policy_name, p.policy_type
        FROM sigs s, unnest(string_split(s.signature, ',')) AS u(policy_id)
        JOIN {access_policies} p ON p.policy_id = u.policy_id
        WHERE s.signature <> ''
    ),
    sig_info AS (
        SELECT s.signature, coalesce(a.n_allow, 0) AS n_allow, a.allow_ids
        FROM sigs s LEFT JOIN (
            SELECT signature, count(*) AS n_allow, list(policy_id ORDER BY policy_name, policy_id) AS allow_ids
            FROM sig_pol WHERE policy_type = 'allowlist' GROUP BY signature) a USING (signature)
    ),
    dflt AS (SELECT decision AS d FROM {access_default}),
    hits AS (
        SELECT sp.signature, m.model, m.route_id,
               arg_min(sp.policy_id, sp.policy_name || sp.policy_id) FILTER (WHERE sp.policy_type = 'denylist') AS deny_id,
               list(DISTINCT sp.policy_id) FILTER (WHERE sp.policy_type = 'allowlist') AS allow_hit_ids
        FROM sig_pol sp JOIN {access_policy_matches} m ON m.policy_id = sp.policy_id
        GROUP BY ALL
    ),
    cell AS (
        SELECT hm.signature, c.model, c.via, c.max_price_per_million, c.unpriced,
               CASE WHEN h.deny_id IS NOT NULL THEN 'deny'
                    WHEN si.n_allow > 0
                         THEN CASE WHEN len(coalesce(h.allow_hit_ids, [])) = si.n_allow THEN 'allow' ELSE 'deny' END
                    ELSE (SELECT d FROM dflt) END AS decision,
               CASE WHEN h.deny_id IS NOT NULL THEN h.deny_id
                    WHEN si.n_allow > 0
                         THEN CASE WHEN len(coalesce(h.allow_hit_ids, [])) = si.n_allow THEN si.allow_ids[1]
                                   ELSE list_filter(si.allow_ids,
                                                    lambda x: NOT list_contains(coalesce(h.allow_hit_ids, []), x))[1]
                              END
               END AS policy_id
        FROM (SELECT DISTINCT signature, model FROM hits) hm
        JOIN {access_candidates} c ON c.model = hm.model
        JOIN sig_info si ON si.signature = hm.signature
        LEFT JOIN hits h ON h.signature = hm.signature AND h.model = c.model AND h.route_id = c.route_id
    ),
    per_hit AS (
        SELECT signature, model,
               bool_or(decision = 'allow') AS allowed,
               CASE WHEN bool_or(decision = 'allow') THEN min(policy_id) FILTER (WHERE decision = 'allow')
                    ELSE min(policy_id) FILTER (WHERE decision = 'deny') END AS policy_id,
               max(max_price_per_million) FILTER (WHERE decision = 'allow') AS max_price_per_million,
               coalesce(bool_or(unpriced) FILTER (WHERE decision = 'allow'), false) AS reaches_unpriced,
               count(*) FILTER (WHERE decision = 'allow') AS routes_allowed,
               list(DISTINCT via ORDER BY via) FILTER (WHERE decision = 'allow' AND via <> model) AS via_slots
        FROM cell GROUP BY ALL
    ),
    model_info AS (
        SELECT model, count(*) AS n_routes, max(max_price_per_million) AS max_price_per_million,
               bool_or(unpriced) AS reaches_unpriced,
               list(DISTINCT via ORDER BY via) FILTER (WHERE via <> model) AS via_slots
        FROM {access_candidates} GROUP BY model
    ),
    dense AS (
        SELECT si.signature, m.model, m.model_kind, mi.model IS NULL AS unroutable,
               CASE WHEN mi.model IS NULL THEN false
                    WHEN ph.model IS NOT NULL THEN ph.allowed
                    WHEN si.n_allow > 0 THEN false
                    ELSE (SELECT d FROM dflt) = 'allow' END AS allowed,
               CASE WHEN mi.model IS NULL THEN NULL
                    WHEN ph.model IS NOT NULL THEN ph.policy_id
                    WHEN si.n_allow > 0 THEN si.allow_ids[1] END AS policy_id,
               ph.model IS NOT NULL AS named, ph.routes_allowed AS ph_routes, ph.max_price_per_million AS ph_price,
               ph.via_slots AS ph_via, mi.n_routes, mi.max_price_per_million AS mi_price, mi.via_slots AS mi_via,
               ph.reaches_unpriced AS ph_unpriced, mi.reaches_unpriced AS mi_unpriced
        FROM sig_info si CROSS JOIN {access_models} m
        LEFT JOIN model_info mi ON mi.model = m.model
        LEFT JOIN per_hit ph ON ph.signature = si.signature AND ph.model = m.model
    )
    SELECT d.signature, d.model, d.model_kind,
           CASE WHEN d.allowed THEN 'allow' ELSE 'deny' END AS decision,
           d.policy_id AS decided_by_id,
           CASE WHEN d.unroutable THEN 'no route can serve'
                WHEN d.policy_id IS NOT NULL THEN p.policy_name
                ELSE 'default (' || (SELECT d FROM dflt) || ')' END AS decided_by,
           CASE WHEN d.named THEN d.ph_routes WHEN d.allowed THEN d.n_routes ELSE 0 END AS routes_allowed,
           CASE WHEN d.named THEN d.ph_price WHEN d.allowed THEN d.mi_price END AS max_price_per_million,
           coalesce(CASE WHEN d.named THEN d.ph_unpriced WHEN d.allowed THEN d.mi_unpriced END, false)
             AS reaches_unpriced,
           coalesce(CASE WHEN d.named THEN d.ph_via WHEN d.allowed THEN d.mi_via END, []) AS via_slots
    FROM dense d LEFT JOIN {access_policies} p ON p.policy_id = d.policy_id""",
    "For each signature and addressable model: allow when at least one route that can serve it is "
    "allowed, else deny; decided_by the denylist that blocks it, the allowlist that admits it (or "
    "the first, by name, that does not name it), 'default (allow|deny)' when no policy applies, or "
    "'no route can serve'. routes_allowed, max_price_per_million and reaches_unpriced (an allowed "
    "route is metered but has no price) describe the allowed routes; "
    "via_slots the smart-model slots they came through. Computed sparsely: only (signature, model) "
    "pairs some policy names are evaluated route by route.")

MATRIX = Concept(
    "access_matrix",
    """
    SELECT p.principal_type, p.principal_key,
           p.principal_type || CASE WHEN p.principal_key = '' THEN '' ELSE ':' || p.principal_key END AS principal,
           p.principal_name, p.key_state, d.model, d.model_kind, d.decision, d.decided_by, d.decided_by_id,
           d.routes_allowed, d.max_price_per_million, d.reaches_unpriced, d.via_slots, s.signature
    FROM {access_principals} p
    JOIN {access_signatures} s USING (principal_type, principal_key)
    JOIN {access_signature_decisions} d ON d.signature = s.signature""",
    "Effective access: every principal x every addressable model, allow or deny, and the policy "
    "(or default) that decided it. See README, 'Effective access and spend exposure', for every "
    "reading taken where the API reference is silent.",
    materialize=False)  # principals x models: read through the signatures, never whole by a rule

DENYLIST_EFFECT = Concept(
    "access_denylist_effect",
    """
    WITH live_sigs AS (
        SELECT s.signature, count(*) AS principals
        FROM {access_signatures} s JOIN {access_principals} p USING (principal_type, principal_key)
        WHERE (p.key_state IS NULL OR p.key_state = 'active') AND s.signature <> ''
        GROUP BY s.signature
    ),
    sig_pol AS (
        SELECT s.signature, s.principals, p.policy_id, p.policy_type
        FROM live_sigs s, unnest(string_split(s.signature, ',')) AS u(policy_id)
        JOIN {access_policies} p ON p.policy_id = u.policy_id
    ),
    n_allow AS (SELECT signature, count(*) FILTER (WHERE policy_type = 'allowlist') AS n FROM sig_pol GROUP BY signature),
    allow_hits AS (
        SELECT sp.signature, m.model, m.route_id, count(*) AS hits
        FROM sig_pol sp JOIN {access_policy_matches} m ON m.policy_id = sp.policy_id
        WHERE sp.policy_type = 'allowlist' GROUP BY ALL
    ),
    blocked AS (
        SELECT DISTINCT sp.policy_id, m.model
        FROM sig_pol sp
        JOIN {access_policy_matches} m ON m.policy_id = sp.policy_id
        JOIN n_allow na ON na.signature = sp.signature
        LEFT JOIN allow_hits ah ON ah.signature = sp.signature AND ah.model = m.model AND ah.route_id = m.route_id
        WHERE sp.policy_type = 'denylist'
          AND CASE WHEN na.n > 0 THEN coalesce(ah.hits, 0) = na.n
                   ELSE (SELECT decision FROM {access_default}) = 'allow' END
    )
    SELECT p.policy_id, p.policy_name, p.scope_type, p.scope_key,
           coalesce((SELECT sum(principals) FROM sig_pol sp WHERE sp.policy_id = p.policy_id), 0)::BIGINT
             AS principals,
           coalesce((SELECT list(DISTINCT m.model ORDER BY m.model) FROM {access_policy_matches} m
                     WHERE m.policy_id = p.policy_id), []) AS models_named,
           coalesce((SELECT list(b.model ORDER BY b.model) FROM blocked b WHERE b.policy_id = p.policy_id), [])
             AS models_blocked
    FROM {access_policies} p
    WHERE p.policy_type = 'denylist'""",
    "What each denylist in force does. principals: the principals it applies to (the org, scopes, "
    "active keys; revoked, disabled and expired keys left out). models_named: the addressable models "
    "whose serving routes it names. models_blocked: the models with a route it names that one of "
    "those principals could reach if no denylist applied (every allowlist that applies names the "
    "route, or none applies and the default is allow). A route two denylists name counts for both: "
    "each blocks it on its own. Empty models_blocked: the denylist blocks nothing reachable.")

ACCESS = (ROUTE_PRICES, SERVING_ROUTES, MODELS, CANDIDATES, POLICIES, POLICY_TARGETS, POLICY_MATCHES,
          PRINCIPALS, PRINCIPAL_SCOPES, SIGNATURES, DEFAULT, SIGNATURE_DECISIONS, MATRIX, DENYLIST_EFFECT)


def _all() -> tuple[Concept, ...]:
    from . import exposure

    return (*ACCESS, *exposure.CONCEPTS)


CONCEPTS = _all()
