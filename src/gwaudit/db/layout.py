"""The per-family part of the schema, derived from the API models (:mod:`gwaudit.models`).

* ``rv_<family>``: one row per distinct version of a resource - its JSON exactly as received
  (``raw``), its SHA-256, the SHA-256 without volatile fields (``stable_sha256``), and typed columns
  derived from the family's model;
* views ``<family>_history`` (every snapshot) and ``<family>`` (the latest snapshot); both carry
  ``natural_key``, the identity ``gwaudit diff`` matches a resource by across snapshots
  (:func:`identity_sql`), so grouping a history view by it follows one resource through time.

Unlike the tables of :mod:`gwaudit.db.schema`'s migrations, these follow the code: when a model
gains a field, its column is added and backfilled from ``raw``; the views are recreated when their
definition changes (:func:`fingerprint`).
"""

from __future__ import annotations

import hashlib
from typing import Any

import duckdb

from .. import families as fam
from .fieldchecks import field_checks
from .sql import ident, json_path, json_text, literal

SYSTEM_COLUMNS = ("vid", "sha256", "resource_key", "resource_name", "raw", "stable_sha256")


def family_columns(family: fam.Family) -> list[tuple[str, str, str]]:
    """(column, DuckDB type, dotted JSON path) of the typed columns of a family's versions."""
    cols: list[tuple[str, str, str]] = []
    seen = set(SYSTEM_COLUMNS)
    for check in field_checks(family.model):
        if check.top_level and check.column not in seen:
            cols.append((check.column, check.sql_type, check.field))
            seen.add(check.column)
    for name, typ, path in family.extra_columns:
        if name not in seen:
            cols.append((name, typ, path))
            seen.add(name)
    return cols


def version_table(family: fam.Family | str) -> str:
    """The quoted name of a family's version table (``"rv_api_keys"``)."""
    return ident("rv_" + (family if isinstance(family, str) else family.name))


def history_view(name: str) -> str:
    """Name of the all-snapshots view of family ``name``: ``<name>_history``, except where that
    is itself a family's name (``model_pricing_history`` is the pricing-versions family, so the
    pricing list's all-snapshots view is ``model_pricing_rules_history``)."""
    if name + "_history" in fam.BY_NAME:
        return name + "_rules_history" if name == "model_pricing" else name + "_all_history"
    return name + "_history"


def cast_text(typ: str, text: str) -> str:
    """SQL casting the JSON string ``text`` to ``typ``, NULL when it does not parse: the one place a
    value's text is interpreted. A timestamp is RFC 3339 as the API writes it (any offset, fractional
    seconds), read as UTC when it has no offset (connections run with TimeZone UTC); the lower-case
    ``t`` / ``z`` RFC 3339 allows are accepted too (DuckDB alone reads them as no timestamp, which
    made a key's ``created_at`` or ``revoked_at`` silently disappear). A leap second (``23:59:60``,
    which RFC 3339 allows and DuckDB does not) is read as the last microsecond of its minute
    (``23:59:59.999999``): it stays before the next minute and is not reported as drift."""
    if typ == "TIMESTAMPTZ":
        text = (f"regexp_replace(regexp_replace(regexp_replace(trim({text}), '^(\\d{{4}}-\\d\\d-\\d\\d)t', '\\1T'), "
                f"'([0-9])z$', '\\1Z'), '^(\\d{{4}}-\\d\\d-\\d\\d[T ]\\d\\d:\\d\\d):60(\\.\\d+)?', "
                f"'\\1:59.999999')")
    return f"TRY_CAST({text} AS {typ})"


def typed_from_raw(typ: str, path: str, raw: str = "raw") -> str:
    """SQL reading one typed value out of the item's JSON."""
    jp = literal(json_path(path))
    if typ == "JSON":
        return f"json_extract({raw}, {jp})"
    if typ == "VARCHAR":
        return f"json_extract_string({raw}, {jp})"
    return cast_text(typ, f"json_extract_string({raw}, {jp})")


def stable_hash_sql(family: fam.Family, raw: str = "raw") -> str:
    """SQL for ``stable_sha256``: the SHA-256 (32 bytes) of the item without the family's volatile
    fields (JSON merge patch with ``null`` removes a member), NULL when the family declares none.
    Two versions of a resource with equal values differ only in volatile fields (diffs use it)."""
    if not family.volatile:
        return "CAST(NULL AS BLOB)"
    patch: dict[str, Any] = {}
    for path in family.volatile:
        node = patch
        parts = path.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = None
    return f"unhex(sha256(CAST(json_merge_patch({raw}, {literal(json_text(patch))}) AS VARCHAR)))"


def fingerprint(version: str) -> str:
    """Changes whenever a table column, a view or a volatile-field list would be built differently."""
    text = repr([(f.name, history_view(f.name), f.per_item, family_columns(f), f.volatile)
                 for f in fam.FAMILIES]) + version
    return hashlib.sha256(text.encode()).hexdigest()


def sync(con: duckdb.DuckDBPyConnection) -> None:
    """Create or upgrade every family's version table and recreate the family views."""
    for family in fam.FAMILIES:
        _create_table(con, family)
        _sync_columns(con, family)
    _create_views(con)


def _create_table(con: duckdb.DuckDBPyConnection, family: fam.Family) -> None:
    cols = ",\n    ".join(f"{ident(c)} {t}" for c, t, _ in family_columns(family))
    con.execute(f"""
        CREATE TABLE IF NOT EXISTS {version_table(family)} (
            vid BIGINT NOT NULL,
            sha256 VARCHAR NOT NULL,
            resource_key VARCHAR,
            resource_name VARCHAR,
            raw JSON USING COMPRESSION zstd,
            stable_sha256 BLOB,
            {cols}
        )""")


def _sync_columns(con: duckdb.DuckDBPyConnection, family: fam.Family) -> None:
    """A field added to a model gets its column, backfilled from ``raw``; ``stable_sha256`` is
    recomputed whenever the family's volatile fields changed (the list is kept in gwaudit_meta)."""
    existing = {r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'main' AND table_name = ?",
        ["rv_" + family.name]).fetchall()}
    table = version_table(family)
    for col, typ, path in family_columns(family):
        if col not in existing:
            con.execute(f"ALTER TABLE {table} ADD COLUMN {ident(col)} {typ}")
            con.execute(f"UPDATE {table} SET {ident(col)} = {typed_from_raw(typ, path)}")
    if "stable_sha256" not in existing:
        con.execute(f"ALTER TABLE {table} ADD COLUMN stable_sha256 BLOB")
    key, spec = "volatile:" + family.name, json_text(list(family.volatile))
    stored = con.execute("SELECT value FROM gwaudit_meta WHERE key = ?", [key]).fetchone()
    if "stable_sha256" not in existing or stored is None or stored[0] != spec:
        con.execute(f"UPDATE {table} SET stable_sha256 = {stable_hash_sql(family)}")
        con.execute("INSERT OR REPLACE INTO gwaudit_meta VALUES (?, ?)", [key, spec])


def _create_views(con: duckdb.DuckDBPyConnection) -> None:
    for family in fam.FAMILIES:
        typed = ", ".join(f"v.{ident(c)}" for c, _, _ in family_columns(family))
        extra = join = ""
        if family.per_item:
            join = "JOIN snapshot_files f ON f.snapshot_id = m.snapshot_id AND f.file_no = m.file_no"
            extra = ", f.query AS request_query"
            if family.name == "routing_rules":
                # The rule objects' schema was never captured; the policy comes from the request.
                typed = typed.replace('v."policy_id"',
                                      "COALESCE(v.\"policy_id\", json_extract_string(f.query, '$.policy_id')) "
                                      'AS "policy_id"')
        con.execute(f"""
            CREATE OR REPLACE VIEW {ident(history_view(family.name))} AS
            SELECT m.snapshot_id, s.taken_at, v.resource_key, {identity_sql(family)} AS natural_key,
                   v.resource_name, {typed},
                   v.raw, v.sha256 AS raw_sha256, v.vid AS version_id{extra}
            FROM snapshot_resources m
            JOIN snapshots s ON s.id = m.snapshot_id
            JOIN {version_table(family)} v ON v.vid = m.vid
            {join}
            WHERE m.family = {literal(family.name)}""")
        con.execute(f"""
            CREATE OR REPLACE VIEW {ident(family.name)} AS
            SELECT * FROM {ident(history_view(family.name))}
            WHERE snapshot_id = (SELECT id FROM snapshots ORDER BY taken_at DESC, id DESC LIMIT 1)""")
    con.execute("""
        CREATE OR REPLACE VIEW snapshot_drift AS
        SELECT m.snapshot_id, d.family, d.path, d.kind, d.value, count(*) AS resources
        FROM schema_drift d JOIN snapshot_resources m ON m.vid = d.vid AND m.family = d.family
        GROUP BY ALL""")


def scope_to_snapshot(con: duckdb.DuckDBPyConnection, sid: int, prefix: str = "") -> None:
    """Make the plain family names (``api_keys``, ...; or ``<prefix><family>``) show snapshot
    ``sid`` on this connection only: temporary views shadow the latest-snapshot views, so SQL
    written against plain names evaluates any stored snapshot."""
    for family in fam.FAMILIES:
        con.execute(f"CREATE OR REPLACE TEMP VIEW {ident(prefix + family.name)} AS "
                    f"SELECT * FROM {ident(history_view(family.name))} WHERE snapshot_id = {int(sid)}")


def identity_sql(family: fam.Family, table: str = "v") -> str:
    """SQL for :meth:`Family.identity_of` over a version table aliased ``table``: the resource's
    identity across snapshots (the stored ``resource_key`` unless the family has a natural key)."""
    if family.natural_key is None:
        return f"{table}.resource_key"
    parts = [f"COALESCE(json_extract_string({table}.raw, {literal(json_path(p))}), '')" for p in family.natural_key]
    return parts[0] if len(parts) == 1 else "concat_ws('/', " + ", ".join(parts) + ")"


ALIASED_BY_MODEL_ALIAS = ("model_routes", "user_models")
"""Families whose findings may name a resource by its model alias."""


def identities_view_sql() -> str:
    """``resource_identities``: every name a finding's resource_id may use for a resource (its
    key, its natural identity, a route's model alias) with the resource's identity, per snapshot."""
    parts = []
    for family in fam.FAMILIES:
        alias = ("json_extract_string(v.raw, '$.model_alias')" if family.name in ALIASED_BY_MODEL_ALIAS
                 else "NULL")
        parts.append(f"""
            SELECT m.snapshot_id, {literal(family.name)} AS family, a.alias, a.identity
            FROM snapshot_resources m JOIN {version_table(family)} v ON v.vid = m.vid,
                 LATERAL (SELECT unnest([v.resource_key, {identity_sql(family)}, {alias}]) AS alias,
                                 {identity_sql(family)} AS identity) a
            WHERE m.family = {literal(family.name)} AND a.alias IS NOT NULL AND a.alias <> ''""")
    return "CREATE OR REPLACE VIEW resource_identities AS " + " UNION ALL ".join(parts)
