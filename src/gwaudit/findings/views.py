"""The SQL every reader of stored findings shares, created in the database as views and a macro
(:mod:`gwaudit.db.schema` lists them in :data:`DEFINITIONS` order).

Two definitions carry every answer about how findings move:

* ``rule_evaluations.evaluated``: a rule was **evaluated** on a snapshot when its stored result is
  ``pass`` or ``fail``. A rule that was ``error`` (its families not collected, its SQL failed),
  ``skip`` (a precondition it declares did not hold, e.g. no previous snapshot to compare with), or
  not run at all, says nothing about its findings: they are neither resolved nor interrupted.
  Only the snapshot's full audit is in ``rule_results``/``findings``: a partial audit (``--only``,
  ``--skip``) is never stored there (``--store-partial`` keeps it in ``partial_audits``, which
  nothing here reads).
* ``finding_delta(old_id, new_id)``: every finding of either snapshot with its ``change``:

  ========================  ==============================================================
  ``new``                   open in new, absent from old
  ``open``                  open in new, present in old (open or waived there)
  ``waived``                waived in new, absent from old or open there
  ``still_waived``          waived in both
  ``resolved``              present in old, absent from new, its rule evaluated on new
  ``resolved_deleted``      the same, and the resource itself is gone from new
  ``not_evaluated``         present in old, absent from new, its rule not evaluated on new
  ========================  ==============================================================

``gwaudit diff``, ``gwaudit run`` (its summary, log and webhook), the reports and the lifecycle
figures all read these; nothing else decides whether a finding is new or resolved.
"""

from __future__ import annotations

from ..db.layout import identities_view_sql
from ..db.sql import literal
from ..severity import SEVERITIES

SEVERITY_RANK = ("CREATE OR REPLACE MACRO severity_rank(severity) AS CASE severity "
                 + " ".join(f"WHEN {literal(s)} THEN {i}" for i, s in enumerate(SEVERITIES))
                 + f" ELSE {len(SEVERITIES)} END")
"""``severity_rank(severity)``: critical 0 ... info 4, anything else after (:mod:`gwaudit.severity`),
so ``ORDER BY severity_rank(severity)`` sorts worst first on any table (``findings``,
``rule_results``); every findings view also carries it as a column."""

LATEST_FINDINGS = """
CREATE OR REPLACE VIEW latest_findings AS
SELECT f.*, severity_rank(f.severity) AS severity_rank FROM findings f
WHERE f.snapshot_id = (SELECT s.id FROM snapshots s WHERE s.id IN (SELECT snapshot_id FROM rule_results)
                       ORDER BY s.taken_at DESC, s.id DESC LIMIT 1)"""

RULE_EVALUATIONS = """
CREATE OR REPLACE VIEW rule_evaluations AS
SELECT r.snapshot_id, r.rule_id, r.status, r.status IN ('pass', 'fail') AS evaluated  -- never error or skip
FROM rule_results r"""

FINDING_DELTA = """
CREATE OR REPLACE MACRO finding_delta(old_id, new_id) AS TABLE
WITH o AS (SELECT * FROM findings WHERE snapshot_id = old_id),
     n AS (SELECT * FROM findings WHERE snapshot_id = new_id),
     judged AS (SELECT rule_id FROM rule_evaluations WHERE snapshot_id = new_id AND evaluated),
     gone AS (SELECT * FROM o WHERE fingerprint NOT IN (SELECT fingerprint FROM n)),
     ids AS (SELECT * FROM resource_identities
             WHERE snapshot_id IN (old_id, new_id) AND family IN (SELECT family FROM gone)),
     deleted AS (
         SELECT DISTINCT g.fingerprint FROM gone g
         JOIN ids a ON a.snapshot_id = old_id AND a.family = g.family AND a.alias = g.resource_id
         WHERE NOT EXISTS (SELECT 1 FROM ids b WHERE b.snapshot_id = new_id AND b.family = g.family
                           AND (b.alias = a.identity OR b.alias = g.resource_id)))
SELECT n.*,
       CASE WHEN n.status = 'waived' AND o.status = 'waived' THEN 'still_waived'
            WHEN n.status = 'waived' THEN 'waived'
            WHEN o.fingerprint IS NULL THEN 'new'
            ELSE 'open' END AS change,
       severity_rank(n.severity) AS severity_rank
FROM n LEFT JOIN o ON o.fingerprint = n.fingerprint
UNION ALL
SELECT g.*,
       CASE WHEN g.rule_id NOT IN (SELECT rule_id FROM judged) THEN 'not_evaluated'
            WHEN g.fingerprint IN (SELECT fingerprint FROM deleted) THEN 'resolved_deleted'
            ELSE 'resolved' END AS change,
       severity_rank(g.severity) AS severity_rank
FROM gone g"""


WAIVER_EXPIRY = """
CREATE OR REPLACE MACRO waiver_expiry(days, as_of := NULL) AS TABLE
WITH latest AS (SELECT s.id, s.taken_at FROM snapshots s WHERE s.id IN (SELECT snapshot_id FROM audits)
                ORDER BY s.taken_at DESC, s.id DESC LIMIT 1),
     t AS (SELECT coalesce(CAST(as_of AS TIMESTAMPTZ), (SELECT taken_at FROM latest)) AS t0)
SELECT w.rule_id, w.resource_id, w.resource_name, w.owner, w.justification, w.expires, w.expires_at,
       date_diff('day', t.t0, w.expires_at) AS days_left, w.state, w.findings, w.waiver_no, w.snapshot_id,
       t.t0 AS as_of
FROM waivers w, t
WHERE w.snapshot_id = (SELECT id FROM latest)
  AND w.expires_at >= t.t0 AND w.expires_at <= t.t0 + to_days(CAST(days AS INTEGER))
ORDER BY w.expires_at, w.waiver_no"""
"""``waiver_expiry(days, as_of := NULL)``: the waivers of the latest audit still in force at
``as_of`` (default: that audit's snapshot ``taken_at``; pass ``as_of := now()`` for the wall
clock) whose last instant falls within ``days`` days of it, soonest first."""


def episodes_sql(cutoff: str) -> str:
    """The episodes of every finding among snapshots taken at or before ``cutoff`` (an SQL
    expression): uninterrupted runs over the snapshots in which its rule was evaluated."""
    return f"""
    WITH ev AS (
        SELECT r.rule_id, r.snapshot_id, s.taken_at
        FROM rule_evaluations r JOIN snapshots s ON s.id = r.snapshot_id
        WHERE r.evaluated AND s.taken_at <= {cutoff}),
    f AS (
        SELECT f.fingerprint, f.rule_id, f.snapshot_id, s.taken_at
        FROM findings f JOIN snapshots s ON s.id = f.snapshot_id
        WHERE s.taken_at <= {cutoff}),
    fp AS (SELECT fingerprint, min(rule_id) AS rule_id, min(taken_at) AS first_at FROM f GROUP BY fingerprint),
    grid AS (
        SELECT fp.fingerprint, ev.snapshot_id, ev.taken_at, f.fingerprint IS NOT NULL AS present
        FROM fp JOIN ev ON ev.rule_id = fp.rule_id AND ev.taken_at >= fp.first_at
        LEFT JOIN f ON f.fingerprint = fp.fingerprint AND f.snapshot_id = ev.snapshot_id
        UNION ALL  -- a finding in a snapshot without a rule result still counts as seen there
        SELECT f.fingerprint, f.snapshot_id, f.taken_at, TRUE FROM f
        WHERE NOT EXISTS (SELECT 1 FROM ev WHERE ev.rule_id = f.rule_id AND ev.snapshot_id = f.snapshot_id)),
    numbered AS (
        SELECT *, row_number() OVER (PARTITION BY fingerprint ORDER BY taken_at, snapshot_id)
                  - row_number() OVER (PARTITION BY fingerprint, present ORDER BY taken_at, snapshot_id) AS run
        FROM grid),
    runs AS (
        SELECT fingerprint, run, min(taken_at) AS opened_at, max(taken_at) AS last_seen, count(*) AS snapshots
        FROM numbered WHERE present GROUP BY fingerprint, run),
    episodes AS (
        SELECT r.fingerprint, r.opened_at, r.last_seen,
               (SELECT min(g.taken_at) FROM grid g
                WHERE g.fingerprint = r.fingerprint AND NOT g.present AND g.taken_at > r.last_seen) AS resolved_at,
               r.snapshots
        FROM runs r),
    latest AS (
        SELECT f.fingerprint, arg_max(f.rule_id, s.taken_at) AS rule_id, arg_max(f.title, s.taken_at) AS title,
               arg_max(f.severity, s.taken_at) AS severity, arg_max(f.family, s.taken_at) AS family,
               arg_max(f.resource_id, s.taken_at) AS resource_id,
               arg_max(f.resource_name, s.taken_at) AS resource_name, arg_max(f.status, s.taken_at) AS status,
               min(f.first_seen) AS recorded_first_seen
        FROM findings f JOIN snapshots s ON s.id = f.snapshot_id
        WHERE s.taken_at <= {cutoff}
        GROUP BY f.fingerprint)
    SELECT e.fingerprint, l.rule_id, l.title, l.severity, l.family, l.resource_id, l.resource_name,
           l.status AS last_status, l.recorded_first_seen, e.opened_at, e.last_seen, e.resolved_at, e.snapshots,
           severity_rank(l.severity) AS severity_rank
    FROM episodes e JOIN latest l USING (fingerprint)"""


def lifecycle_sql(episodes: str) -> str:
    return f"""
    SELECT fingerprint, any_value(rule_id) AS rule_id, any_value(title) AS title, any_value(severity) AS severity,
           any_value(family) AS family, any_value(resource_id) AS resource_id,
           any_value(resource_name) AS resource_name,
           least(min(opened_at), min(recorded_first_seen)) AS first_seen,
           max(last_seen) AS last_seen,
           max({{'opened': opened_at, 'resolved': resolved_at}}).resolved AS resolved_at,  -- of the latest episode
           CASE WHEN max({{'opened': opened_at, 'resolved': resolved_at}}).resolved IS NOT NULL THEN 'resolved'
                WHEN any_value(last_status) = 'waived' THEN 'waived' ELSE 'open' END AS state,
           count(*) AS episodes, sum(snapshots) AS snapshots,
           severity_rank(any_value(severity)) AS severity_rank
    FROM ({episodes}) e
    GROUP BY fingerprint"""


_INFINITY = "CAST('infinity' AS TIMESTAMPTZ)"

DEFINITIONS: tuple[tuple[str, str], ...] = (
    ("severity_rank", SEVERITY_RANK),
    ("latest_findings", LATEST_FINDINGS),
    ("rule_evaluations", RULE_EVALUATIONS),
    ("resource_identities", identities_view_sql()),
    ("finding_delta", FINDING_DELTA),
    ("waiver_expiry", WAIVER_EXPIRY),
    ("finding_episodes", "CREATE OR REPLACE VIEW finding_episodes AS " + episodes_sql(_INFINITY)),
    ("finding_lifecycle", "CREATE OR REPLACE VIEW finding_lifecycle AS "
                          + lifecycle_sql("SELECT * FROM finding_episodes")),
)
