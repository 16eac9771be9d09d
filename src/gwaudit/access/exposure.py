"""Worst-case spend exposure as concept views: what each principal could spend in 1 hour, 24 hours
and its budget period before a control stops it, and which control is the binding one.

money = the smallest, over the controls that bound everything the principal can reach, of
  rate limit: tokens per minute (or rpm x the per-request ceiling) x 60 x hours x highest price;
  blocking budget: what is left of its period (+ a whole limit per period boundary in the horizon),
                   tokens x highest price or the cost limit, whichever is smaller.
No bounding control and something billable reachable: ``unbounded``. Readings: assumptions.py.
"""

from __future__ import annotations

from ..semantics import Concept
from .concepts import _sql


def _period_end(period: str, t: str) -> str:
    return (f"(CASE lower({period}) WHEN 'daily' THEN date_trunc('day', {t}) + INTERVAL 1 DAY "
            f"WHEN 'weekly' THEN date_trunc('week', {t}) + INTERVAL 7 DAY "
            f"WHEN 'monthly' THEN date_trunc('month', {t}) + INTERVAL 1 MONTH "
            f"WHEN 'quarterly' THEN date_trunc('quarter', {t}) + INTERVAL 3 MONTH "
            f"WHEN 'yearly' THEN date_trunc('year', {t}) + INTERVAL 1 YEAR END)")


def _resets(period: str, t: str, e: str) -> str:
    """Period boundaries (UTC) in (t, e]."""
    def d(unit: str) -> str:
        return f"date_diff('{unit}', date_trunc('{unit}', {t}), date_trunc('{unit}', {e}))"
    return (f"(CASE lower({period}) WHEN 'daily' THEN {d('day')} "
            f"WHEN 'weekly' THEN date_diff('day', date_trunc('week', {t}), date_trunc('week', {e})) // 7 "
            f"WHEN 'monthly' THEN {d('month')} "
            f"WHEN 'quarterly' THEN date_diff('month', date_trunc('quarter', {t}), date_trunc('quarter', {e})) // 3 "
            f"WHEN 'yearly' THEN {d('year')} ELSE 0 END)")


SIGNATURE_PRICES = Concept(
    "access_signature_prices",
    """
    SELECT signature, max(max_price_per_million) AS max_price_per_million,
           arg_max(model, max_price_per_million) AS priciest_model,
           count(*) AS models_allowed,
           bool_or(reaches_unpriced) AS reaches_unpriced,
           min(model) FILTER (WHERE reaches_unpriced) AS unpriced_model
    FROM {access_signature_decisions} WHERE decision = 'allow'
    GROUP BY signature""",
    "Per access signature, the highest price per million tokens among the routes it may reach, "
    "the model that has it, and how many models it may reach; reaches_unpriced: one of them can be "
    "served by a metered route with no price, unpriced_model the first such model by name.")

CONTROLS = Concept(
    "spend_controls",
    _sql("""
    SELECT 'rate_limit' AS control_type, id AS control_id, name AS control_name, scope_type,
           @SCOPEKEY@ AS scope_key,
           least(CASE WHEN tokens_per_minute > 0 THEN tokens_per_minute END,
                 CASE WHEN requests_per_minute > 0 THEN requests_per_minute * @CEILING@ END)::DOUBLE
             AS tokens_per_minute,
           NOT coalesce(tokens_per_minute > 0, false) AS rpm_only,
           NULL::VARCHAR AS period, NULL::BIGINT AS token_limit, NULL::DOUBLE AS cost_limit,
           NULL::DOUBLE AS tokens_left, NULL::DOUBLE AS cost_left
    FROM {rate_limit_controls}
    WHERE limiting AND NOT targeted AND member_of_group IS NULL
    UNION ALL
    SELECT 'budget', b.id, b.name, b.scope_type, b.scope_key,
           NULL, NULL, b.period,
           CASE WHEN b.token_limit > 0 THEN b.token_limit END,
           CASE WHEN b.cost_limit > 0 THEN b.cost_limit END,
           CASE WHEN b.token_limit > 0 THEN greatest(b.token_limit - coalesce(st.tokens_used, 0), 0) END,
           CASE WHEN b.cost_limit > 0 THEN greatest(b.cost_limit - coalesce(st.cost_used, 0), 0) END
    FROM (SELECT *, @SCOPEKEY@ AS scope_key FROM {budget_controls}) b LEFT JOIN {token_budget_status} st ON st.budget_id = b.id
    WHERE b.limiting AND coalesce(b.action_on_exhaust, 'block') IN @BLOCKING@
      AND NOT b.targeted AND b.member_of_group IS NULL"""),
    "The controls that bound everything a principal can reach: the limiting rows of "
    "rate_limit_controls and budget_controls (enabled, a limit above 0, LLM traffic, a scope that "
    "selects callers: the same reading as every rule) that have no target and no member_of_group, "
    "and for a budget the action block (missing = block; throttle only slows). A rate limit gives "
    "tokens per minute: its tokens_per_minute, or requests_per_minute x the per-request ceiling when "
    "only rpm is above 0, the smaller when both are (rpm_only: no tpm above 0). A budget gives what is "
    "left of the current period from the stored status (the whole limit when none), for each of "
    "token_limit and cost_limit above 0 (0 or null limits nothing). scope_key as the access "
    "policies' ('' for org, the name for group/role, else scope_id, else scope_value, else '*').")

EXPOSURE = Concept(
    "spend_exposure",
    _sql(f"""
    WITH t AS (SELECT max(taken_at) AS t FROM (SELECT taken_at FROM {{model_routes}}
                                               UNION ALL SELECT taken_at FROM {{api_keys}}
                                               UNION ALL SELECT taken_at FROM {{token_budgets}})),
    pc AS (
        SELECT s.principal_type, s.principal_key, c.*
        FROM {{access_principal_scopes}} s
        JOIN {{spend_controls}} c ON c.scope_type = s.scope_type AND c.scope_key = s.scope_key
    ),
    ends AS (
        SELECT principal_type, principal_key, max({_period_end('period', '(SELECT t FROM t)')}) AS period_end
        FROM pc WHERE control_type = 'budget' GROUP BY ALL
    ),
    p AS (
        SELECT pr.principal_type, pr.principal_key, pr.principal_name, pr.key_state,
               coalesce(sp.max_price_per_million, 0) AS price, sp.priciest_model, coalesce(sp.models_allowed, 0) AS models,
               coalesce(sp.reaches_unpriced, false) AS unpriced, sp.unpriced_model,
               (SELECT t FROM t) AS t,
               coalesce(e.period_end, (SELECT t FROM t) + INTERVAL @NOBUDGETHOURS@ HOUR) AS period_end
        FROM {{access_principals}} pr
        JOIN {{access_signatures}} s USING (principal_type, principal_key)
        LEFT JOIN {{access_signature_prices}} sp ON sp.signature = s.signature
        LEFT JOIN ends e USING (principal_type, principal_key)
    ),
    h AS (
        SELECT p.*, hz.horizon,
               CASE hz.horizon WHEN '1h' THEN 1.0 WHEN '24h' THEN 24.0
                    ELSE epoch(p.period_end - p.t) / 3600.0 END AS hours,
               CASE hz.horizon WHEN '1h' THEN p.t + INTERVAL 1 HOUR WHEN '24h' THEN p.t + INTERVAL 24 HOUR
                    ELSE p.period_end - INTERVAL 1 MICROSECOND END AS horizon_end
        FROM p CROSS JOIN (VALUES ('1h'), ('24h'), ('period')) AS hz(horizon)
    ),
    money AS (
        SELECT h.principal_type, h.principal_key, h.horizon, pc.control_type, pc.control_name, pc.rpm_only,
               CASE pc.control_type
                 WHEN 'rate_limit' THEN pc.tokens_per_minute * 60 * h.hours * h.price / 1e6
                 ELSE least((pc.tokens_left + {_resets('pc.period', 'h.t', 'h.horizon_end')} * pc.token_limit)
                              * h.price / 1e6,
                            pc.cost_left + {_resets('pc.period', 'h.t', 'h.horizon_end')} * pc.cost_limit)
               END AS amount
        FROM h JOIN pc USING (principal_type, principal_key)
        -- a cost limit never sees an unpriced route's spend (the gateway records it as $0)
        WHERE NOT (h.unpriced AND pc.control_type = 'budget' AND pc.token_limit IS NULL)
    ),
    best AS (
        SELECT principal_type, principal_key, horizon, min(amount) AS amount,
               -- ties (two controls allowing the same amount) go to the first label, so every engine
               -- and every run names the same binding control
               arg_min(label, (amount, label)) AS binding
        FROM (SELECT *, control_type || ' ''' || control_name || '''' ||
                        CASE WHEN rpm_only THEN ' (rpm x ceiling)' ELSE '' END AS label FROM money)
        GROUP BY principal_type, principal_key, horizon
    ),
    per AS (
        SELECT h.principal_type, h.principal_key, h.horizon, h.hours, h.price,
               CASE WHEN h.price = 0 AND NOT h.unpriced THEN 0.0 ELSE b.amount END AS amount,
               CASE WHEN h.price = 0 AND NOT h.unpriced THEN 'nothing billable reachable'
                    ELSE coalesce(b.binding, 'unbounded') END AS binding
        FROM h LEFT JOIN best b USING (principal_type, principal_key, horizon)
    )
    SELECT p.principal_type, p.principal_key,
           p.principal_type || CASE WHEN p.principal_key = '' THEN '' ELSE ':' || p.principal_key END AS principal,
           p.principal_name, p.key_state, @CURRENCY@ AS currency, p.price AS max_price_per_million,
           p.priciest_model, p.models AS models_reachable, p.unpriced AS unpriced_reachable, p.unpriced_model,
           max(per.amount) FILTER (WHERE per.horizon = '1h') AS exposure_1h,
           max(per.binding) FILTER (WHERE per.horizon = '1h') AS binding_1h,
           max(per.amount) FILTER (WHERE per.horizon = '24h') AS exposure_24h,
           max(per.binding) FILTER (WHERE per.horizon = '24h') AS binding_24h,
           round(max(per.hours) FILTER (WHERE per.horizon = 'period'), 2) AS period_hours,
           max(per.amount) FILTER (WHERE per.horizon = 'period') AS exposure_period,
           max(per.binding) FILTER (WHERE per.horizon = 'period') AS binding_period,
           bool_or(per.binding = 'unbounded') AS unbounded,
           p.t AS taken_at
    FROM p JOIN per USING (principal_type, principal_key)
    GROUP BY ALL"""),
    "Worst-case spend per principal (org, scopes, API keys, user keys) for 1 hour, 24 hours and "
    "the budget period (to the end of the current period of its longest blocking budget, else 720 "
    "hours): the smallest amount any bounding control allows (spend_controls), priced at the "
    "highest per-token price among the routes it can reach; NULL with unbounded = true when no "
    "control bounds it and something billable is reachable (a priced route, or an unpriced metered "
    "one: the provider bills it at a price the snapshot does not know); 0 when nothing billable is. "
    "unpriced_reachable / unpriced_model: it can reach a metered route with no price; its amounts "
    "then count that route's tokens at $0 (a lower bound), and a budget with only a cost limit does "
    "not bound it (the gateway records that spend as $0). binding_* names the control that gives the "
    "smallest amount.")

CONCEPTS = (SIGNATURE_PRICES, CONTROLS, EXPOSURE)
