"""Who is who: every user id the API recorded anywhere, with the e-mail and name recorded with it.

The admin API names people in several ways: attributed objects carry ``created_by_*`` and
``last_modified_by_*`` (user id, e-mail, name), pricing versions ``created_by_*``, API keys only
``created_by_user_id`` and ``user_id`` (ids, no e-mail), and limits, budgets and access policies a
``scope_id`` when they are scoped to one user. Joined together, an id seen bare on a key can
often be given the e-mail recorded with the same id on a budget. The database objects:

* ``actor_sightings``: one row per (user id, e-mail, name, family, role) as recorded, with how
  many resources and when (first and last snapshot);
* ``actors``: one row per user id (or per e-mail recorded without any id): the e-mail and name
  most recently recorded with it, every e-mail and name it was recorded with, and where
  (``seen_as``: ``family:role``);
* scalar macros ``actor_email(user_id)`` and ``actor_name(user_id)``, for any view;
* ``<view>_attributed`` over the family views of keys, pricing, rate limits, budgets and access
  (latest snapshot and ``_history``): ``created_by_email`` / ``created_by_name`` resolved through
  ``actors`` when the row does not carry them, plus ``updated_by_user_id`` / ``_email`` /
  ``_name`` / ``updated_at`` (the API's ``last_modified_*``) and, for keys, ``owner_email`` /
  ``owner_name`` (the key's ``user_id``).

Roles: ``created_by``, ``updated_by``, ``key_owner`` (a key's ``user_id``) and ``scope`` (the
``scope_id`` of a limit, budget or policy whose ``scope_type`` is ``user``). Every version the
database keeps is read (the raw JSON, so attribution on families whose schema is not modelled
counts too), over every stored snapshot.
"""

from __future__ import annotations

from . import families as fam
from .db.layout import family_columns, history_view, version_table
from .db.sql import ident, literal

#: (role, user id path, e-mail path, name path) read from every family's items.
ATTRIBUTION_ROLES: tuple[tuple[str, str, str | None, str | None], ...] = (
    ("created_by", "$.created_by_user_id", "$.created_by_email", "$.created_by_name"),
    ("updated_by", "$.last_modified_by_user_id", "$.last_modified_by_email", "$.last_modified_by_name"),
)
KEY_FAMILIES = ("api_keys", "user_api_keys")
SCOPED_FAMILIES = ("rate_limits", "token_budgets", "model_access")

ATTRIBUTED = ("api_keys", "user_api_keys", "model_pricing", "model_pricing_archived", "model_pricing_history",
              "rate_limits", "token_budgets", "model_access")
"""Families given ``<view>_attributed`` views: keys, pricing, limits, budgets, access."""


def _roles(family: str) -> list[tuple[str, str, str | None, str | None]]:
    roles = list(ATTRIBUTION_ROLES)
    if family in KEY_FAMILIES:
        roles.append(("key_owner", "$.user_id", None, None))
    return roles


def _family_sightings(family: fam.Family) -> str:
    roles = _roles(family.name)
    paths = [p for _r, *ps in roles for p in ps if p] + (["$.scope_type", "$.scope_id"]
                                                          if family.name in SCOPED_FAMILIES else [])
    index = {p: i + 1 for i, p in enumerate(paths)}  # DuckDB lists are 1-based

    def get(path: str | None) -> str:
        return f"j[{index[path]}]" if path else "CAST(NULL AS VARCHAR)"

    structs = [f"{{'role': {literal(role)}, 'user_id': {get(uid)}, 'email': {get(email)}, 'name': {get(name)}}}"
               for role, uid, email, name in roles]
    if family.name in SCOPED_FAMILIES:
        structs.append(f"{{'role': 'scope', 'user_id': CASE WHEN {get('$.scope_type')} = 'user' "
                       f"THEN {get('$.scope_id')} END, 'email': CAST(NULL AS VARCHAR), 'name': CAST(NULL AS VARCHAR)}}")
    return f"""
        SELECT {literal(family.name)} AS family, vid, resource_key, unnest([{', '.join(structs)}], recursive := true)
        FROM (SELECT vid, resource_key, json_extract_string(raw, [{', '.join(literal(p) for p in paths)}]) AS j
              FROM {version_table(family)})"""


def sightings_sql() -> str:
    parts = " UNION ALL ".join(_family_sightings(f) for f in fam.FAMILIES)
    return f"""
    CREATE OR REPLACE VIEW actor_sightings AS
    WITH x AS ({parts}),
    seen AS (SELECT family, vid, resource_key, role, nullif(trim(user_id), '') AS user_id,
                    nullif(trim(email), '') AS email, nullif(trim(name), '') AS name
             FROM x)
    SELECT seen.user_id, seen.email, seen.name, seen.family, seen.role,
           count(DISTINCT seen.resource_key) AS resources, min(s.taken_at) AS first_seen,
           max(s.taken_at) AS last_seen
    FROM seen
    JOIN snapshot_resources m ON m.family = seen.family AND m.vid = seen.vid
    JOIN snapshots s ON s.id = m.snapshot_id
    WHERE seen.user_id IS NOT NULL OR seen.email IS NOT NULL
    GROUP BY ALL"""


ACTORS = """
CREATE OR REPLACE VIEW actors AS
WITH s AS (SELECT * FROM actor_sightings),
known AS (SELECT DISTINCT email FROM s WHERE user_id IS NOT NULL AND email IS NOT NULL),
people AS (
    SELECT user_id, user_id AS person, * EXCLUDE (user_id) FROM s WHERE user_id IS NOT NULL
    UNION ALL  -- an e-mail recorded without an id, never with one: a person of its own
    SELECT NULL, 'email:' || email, * EXCLUDE (user_id) FROM s
    WHERE user_id IS NULL AND email NOT IN (SELECT email FROM known))
SELECT any_value(user_id) AS user_id,
       arg_max(email, last_seen) FILTER (WHERE email IS NOT NULL) AS email,
       arg_max(name, last_seen) FILTER (WHERE name IS NOT NULL) AS name,
       coalesce(list_sort(list(DISTINCT email) FILTER (WHERE email IS NOT NULL)), []) AS emails,
       coalesce(list_sort(list(DISTINCT name) FILTER (WHERE name IS NOT NULL)), []) AS names,
       list_sort(list(DISTINCT family || ':' || role)) AS seen_as,
       min(first_seen) AS first_seen, max(last_seen) AS last_seen
FROM people
GROUP BY person"""

ACTOR_EMAIL = "CREATE OR REPLACE MACRO actor_email(uid) AS (SELECT a.email FROM actors a WHERE a.user_id = uid)"
ACTOR_NAME = "CREATE OR REPLACE MACRO actor_name(uid) AS (SELECT a.name FROM actors a WHERE a.user_id = uid)"


def _column(columns: set[str], name: str, path: str) -> str:
    """The family view's typed column, or the value read from ``raw`` when the model lacks it."""
    return f"v.{ident(name)}" if name in columns else f"json_extract_string(v.raw, {literal(path)})"


def attributed_sql(family: fam.Family, view: str) -> str:
    """``<view>_attributed``: the family view ``view`` with its people resolved through ``actors``."""
    columns = {c for c, _t, _p in family_columns(family)}
    created = _column(columns, "created_by_user_id", "$.created_by_user_id")
    updated = _column(columns, "last_modified_by_user_id", "$.last_modified_by_user_id")
    replace, extra = [], []
    for col, path, actor in (("created_by_email", "$.created_by_email", "ca.email"),
                             ("created_by_name", "$.created_by_name", "ca.name")):
        expr = f"coalesce({_column(columns, col, path)}, {actor})"
        (replace if col in columns else extra).append(f"{expr} AS {ident(col)}")
    if "created_by_user_id" not in columns:
        extra.insert(0, f"{created} AS created_by_user_id")
    extra += [f"{updated} AS updated_by_user_id",
              f"coalesce({_column(columns, 'last_modified_by_email', '$.last_modified_by_email')}, ua.email) "
              "AS updated_by_email",
              f"coalesce({_column(columns, 'last_modified_by_name', '$.last_modified_by_name')}, ua.name) "
              "AS updated_by_name",
              f"TRY_CAST({_column(columns, 'last_modified_at', '$.last_modified_at')} AS TIMESTAMPTZ) AS updated_at"]
    joins = [f"LEFT JOIN a ca ON ca.user_id = {created}", f"LEFT JOIN a ua ON ua.user_id = {updated}"]
    if family.name in KEY_FAMILIES:
        extra += ["oa.email AS owner_email", "oa.name AS owner_name"]
        joins.append(f"LEFT JOIN a oa ON oa.user_id = {_column(columns, 'user_id', '$.user_id')}")
    star = f"v.* REPLACE ({', '.join(replace)})" if replace else "v.*"
    # actors is computed once per query, however many roles are resolved through it
    return (f"CREATE OR REPLACE VIEW {ident(view + '_attributed')} AS "
            "WITH a AS MATERIALIZED (SELECT user_id, email, name FROM actors WHERE user_id IS NOT NULL) "
            f"SELECT {star}, {', '.join(extra)} FROM {ident(view)} v {' '.join(joins)}")


def definitions() -> list[tuple[str, str]]:
    """(name, CREATE) of the actor views and macros, in dependency order."""
    out = [("actor_sightings", sightings_sql()), ("actors", ACTORS), ("actor_email", ACTOR_EMAIL),
           ("actor_name", ACTOR_NAME)]
    for name in ATTRIBUTED:
        family = fam.get(name)
        for view in (name, history_view(name)):
            out.append((view + "_attributed", attributed_sql(family, view)))
    return out
