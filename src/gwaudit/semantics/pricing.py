"""Pricing: the effective price of every model route, resolved once (``route_prices``)."""

from __future__ import annotations

from . import Concept


def pattern_matches(pattern: str, model: str) -> str:
    """SQL: the pricing ``model_pattern`` expression ``pattern`` matches the model ``model``: equal,
    or ``pattern`` ends in ``*`` and the model starts with what precedes it (``*`` alone matches
    every model). Case-sensitive, as the gateway compares model ids."""
    return (f"({pattern} = {model} OR (ends_with({pattern}, '*') "
            f"AND starts_with({model}, left({pattern}, length({pattern}) - 1))))")


_COLS = ("id, model_pattern, model_provider, provider_id, catalog_slug, input_cost_per_million_tokens, "
         "output_cost_per_million_tokens, effective_from, is_archived, taken_at")

ROUTE_PRICES = Concept(
    "route_prices",
    f"""
    WITH routes AS (
        SELECT r.id AS route_id, r.resource_name, r.model_alias, r.upstream_model, r.provider_id,
               coalesce(p.name, r.provider_name, r.provider_id) AS provider_name,
               p.id IS NOT NULL AS provider_found, p.catalog_slug, p.model_provider, p.billing_mode,
               coalesce(r.enabled, true) AS route_enabled,
               coalesce(p.enabled, true) AS provider_enabled,
               coalesce(p.billing_mode, 'per_token') = 'per_token' AS metered,
               r.effective_pricing_source AS gateway_source, r.taken_at
        FROM {{model_routes}} r
        LEFT JOIN {{providers}} p ON lower(p.id) = lower(r.provider_id)
    ),
    versions AS (
        SELECT {_COLS} FROM {{model_pricing}}
        UNION
        SELECT {_COLS} FROM {{model_pricing_history}}
    ),
    billed AS (
        SELECT * FROM versions
        WHERE effective_from <= taken_at
        QUALIFY row_number() OVER (
            PARTITION BY model_pattern, coalesce(model_provider, ''), coalesce(lower(provider_id), ''),
                         coalesce(catalog_slug, '')
            ORDER BY effective_from DESC, coalesce(is_archived, false) DESC, id) = 1
    ),
    live AS (SELECT * FROM billed WHERE NOT coalesce(is_archived, false)),
    candidates AS (
        SELECT rt.route_id, rt.upstream_model, l.id AS pricing_rule_id, l.model_pattern,
               CASE WHEN l.provider_id IS NOT NULL THEN 1 WHEN l.catalog_slug IS NOT NULL THEN 2 ELSE 3 END AS tier,
               l.input_cost_per_million_tokens AS input_cost, l.output_cost_per_million_tokens AS output_cost,
               'USD' AS currency
        FROM routes rt
        JOIN live l
          ON (lower(l.provider_id) = lower(rt.provider_id)
              OR (l.provider_id IS NULL AND l.catalog_slug IS NOT NULL AND l.catalog_slug = rt.catalog_slug)
              OR (l.provider_id IS NULL AND l.catalog_slug IS NULL
                  AND (l.model_provider IS NULL OR l.model_provider = rt.model_provider)))
         AND {pattern_matches('l.model_pattern', 'rt.upstream_model')}
        UNION ALL
        SELECT rt.route_id, rt.upstream_model, d.id, d.model_pattern, 4,
               d.input_cost_per_million_tokens, d.output_cost_per_million_tokens, coalesce(d.currency, 'USD')
        FROM routes rt
        JOIN {{model_pricing_defaults}} d
          ON (d.provider_slug = rt.catalog_slug OR d.provider_slug = rt.model_provider)
         AND {pattern_matches('d.model_pattern', 'rt.upstream_model')}
    ),
    best AS (
        SELECT * FROM candidates
        QUALIFY row_number() OVER (
            PARTITION BY route_id
            ORDER BY tier, (model_pattern = upstream_model) DESC, length(model_pattern) DESC, pricing_rule_id) = 1
    ),
    judged AS (
        SELECT rt.*, b.pricing_rule_id, b.model_pattern AS price_pattern, b.tier, b.input_cost, b.output_cost,
               b.currency AS found_currency,
               b.route_id IS NOT NULL AS price_found,
               CASE WHEN NOT rt.metered THEN 'not_metered'
                    WHEN b.tier = 1 THEN 'org_instance' WHEN b.tier = 2 THEN 'org_catalog'
                    WHEN b.tier = 3 THEN 'org_generic' WHEN b.tier = 4 THEN 'barndoor_default'
                    ELSE 'none' END AS resolved_source
        FROM routes rt
        LEFT JOIN best b ON b.route_id = rt.route_id
    )
    SELECT route_id, resource_name, model_alias, upstream_model, provider_id, provider_name, provider_found,
           catalog_slug, model_provider, billing_mode, metered, route_enabled, provider_enabled,
           gateway_source, resolved_source, price_found, pricing_rule_id, price_pattern,
           metered AND (resolved_source = 'none' OR gateway_source IS NOT DISTINCT FROM 'none') AS unpriced,
           CASE WHEN NOT metered THEN 0 WHEN NOT unpriced THEN input_cost END AS input_cost_per_million_tokens,
           CASE WHEN NOT metered THEN 0 WHEN NOT unpriced THEN output_cost END AS output_cost_per_million_tokens,
           input_cost_per_million_tokens / 1e6 AS input_cost_per_token,
           output_cost_per_million_tokens / 1e6 AS output_cost_per_token,
           CASE WHEN NOT metered THEN 'USD' WHEN NOT unpriced THEN found_currency END AS currency,
           taken_at
    FROM judged""",
    "One row per model route (model_routes; its provider joined by id, case-insensitively; "
    "provider_found is false when it is missing) with the price it is billed at. Columns: route_id, "
    "resource_name, model_alias, upstream_model, provider_id, provider_name, provider_found, catalog_slug, "
    "model_provider, billing_mode, metered (provider billing_mode per_token; null and a missing provider "
    "count as per_token), route_enabled (enabled not false), provider_enabled (not false; a missing "
    "provider counts as enabled), gateway_source (the route's effective_pricing.source as the gateway "
    "reported it, null when absent), resolved_source (org_instance | org_catalog | org_generic | "
    "barndoor_default by the gateway's order, not_metered on an unmetered provider, none when nothing "
    "applies), price_found, pricing_rule_id (the version id of the pricing rule, or the default's id), "
    "price_pattern, unpriced, input_cost_per_million_tokens, output_cost_per_million_tokens, "
    "input_cost_per_token, output_cost_per_token, currency, taken_at. "
    "Resolution: the billed version of a pricing rule is its latest version (the pricing list and its "
    "history, by (model_pattern, model_provider, provider_id, catalog_slug)) with effective_from at or "
    "before taken_at; a rule whose billed version is an archive tombstone, or that only has scheduled "
    "versions, prices nothing. First match wins: a rule scoped to the route's provider instance "
    "(provider_id), else to the provider's catalog_slug (no provider_id), else organisation-wide (neither; "
    "model_provider null or equal to the provider's), else a Barndoor default whose provider_slug is the "
    "provider's catalog_slug or model_provider. A model_pattern matches the upstream_model exactly or, "
    "ending in *, as a prefix (* alone matches all); within a tier an exact pattern beats a wildcard and "
    "a longer prefix a shorter one. Pricing rules carry no currency: USD. A metered route is unpriced "
    "when nothing applies OR the gateway itself reports effective_pricing.source none (it bills $0); its "
    "price columns are then null. A route on an unmetered provider is never unpriced and costs 0.")

CONCEPTS = (ROUTE_PRICES,)
