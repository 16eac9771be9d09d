"""The DuckDB store: snapshots, per-family versions, typed views.

Layout (schema version in ``schema_version``; names users may rely on are in README):

* ``snapshots`` / ``collection_status`` / ``snapshot_files`` - one row per snapshot, per family,
  per stored body file;
* ``rv_<family>`` - one row per distinct version of a resource: the item's JSON exactly as
  received (``raw``), its SHA-256, and typed columns derived from :mod:`gwaudit.models`;
  a version that did not change between snapshots is stored once;
* ``snapshot_resources`` - which versions each snapshot holds (compact integer rows);
* ``schema_drift`` - departures from the documented schema, per version;
* views ``<family>_history`` (every snapshot) and ``<family>`` (latest snapshot).

Everything a snapshot writes happens in one transaction: a crash or Ctrl-C mid-write leaves
the earlier snapshots exactly as they were and no trace of the new one.
"""

from __future__ import annotations

import os
import re
import time
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import duckdb
import pandas as pd

from . import __version__
from . import families as fam
from .errors import LockTimeout, RuntimeFailure, SnapshotFormatError, UsageError
from .lock import WriteLock, describe_holder, read_holder
from .models import field_checks
from .rawjson import array_items, envelope_items, whole
from .snapshot import SnapshotFolder
from .timeutil import parse_date_or_ts

SCHEMA_VERSION = 1
DEFAULT_WAIT = 30.0
MAX_OBJECT = 1 << 28  # 256 MiB: the largest single item read_json_objects accepts
BLOCK_SIZE = 64 * 1024
"""Block size of new database files. DuckDB's default (256 KiB) gives each of the ~35 tables at
least one block: a year of daily snapshots of a small org would be mostly empty blocks."""


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _jpath(dotted: str) -> str:
    return "$." + ".".join(f'"{p}"' if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", p) else p
                           for p in dotted.split("."))


# ---------------------------------------------------------------- schema

_BASE_DDL = """
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, applied_at TIMESTAMPTZ NOT NULL,
    tool_version VARCHAR);
CREATE SEQUENCE IF NOT EXISTS snapshot_id_seq START 1;
CREATE SEQUENCE IF NOT EXISTS version_id_seq START 1;
CREATE TABLE IF NOT EXISTS snapshots (
    id INTEGER PRIMARY KEY,
    taken_at TIMESTAMPTZ NOT NULL,
    stored_at TIMESTAMPTZ NOT NULL,
    source VARCHAR NOT NULL,            -- api | import
    base_url VARCHAR,
    org_id VARCHAR,
    status VARCHAR NOT NULL,            -- complete | incomplete
    tool_version VARCHAR,
    manifest_sha256 VARCHAR NOT NULL,
    resource_count BIGINT NOT NULL,
    failed_families VARCHAR[] NOT NULL,
    manifest JSON
);
CREATE TABLE IF NOT EXISTS collection_status (
    snapshot_id INTEGER NOT NULL,
    family VARCHAR NOT NULL,
    status VARCHAR NOT NULL,            -- ok | failed | unavailable
    http_status INTEGER,
    error VARCHAR,
    item_count BIGINT,
    request_count INTEGER,
    duration_ms DOUBLE,
    endpoint VARCHAR
);
CREATE TABLE IF NOT EXISTS snapshot_files (
    snapshot_id INTEGER NOT NULL,
    file_no INTEGER NOT NULL,
    family VARCHAR NOT NULL,
    path VARCHAR NOT NULL,
    endpoint VARCHAR,
    query JSON,
    http_status INTEGER,
    item_count BIGINT,
    sha256 VARCHAR NOT NULL,
    bytes BIGINT,
    envelope JSON                      -- members of an envelope body other than its item list
);
CREATE TABLE IF NOT EXISTS snapshot_resources (
    snapshot_id INTEGER NOT NULL,
    family VARCHAR NOT NULL,
    file_no INTEGER NOT NULL,
    ord INTEGER NOT NULL,
    vid BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS gwaudit_meta (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE TABLE IF NOT EXISTS schema_drift (
    vid BIGINT NOT NULL,
    family VARCHAR NOT NULL,
    path VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,             -- unknown_enum | type | missing
    value VARCHAR
);
"""

_SYSTEM_COLUMNS = ("vid", "sha256", "resource_key", "resource_name", "raw", "stable_sha256")


def _family_columns(family: fam.Family) -> list[tuple[str, str, str]]:
    """(column, DuckDB type, dotted JSON path) of the typed columns of a family's versions."""
    cols: list[tuple[str, str, str]] = []
    seen = set(_SYSTEM_COLUMNS)
    for check in field_checks(family.model):
        if check.top_level and check.column not in seen:
            cols.append((check.column, check.sql_type, check.field))
            seen.add(check.column)
    for name, typ, path in family.extra_columns:
        if name not in seen:
            cols.append((name, typ, path))
            seen.add(name)
    return cols


def _rv(family: fam.Family) -> str:
    return _q("rv_" + family.name)


def _create_family_table(con: duckdb.DuckDBPyConnection, family: fam.Family) -> None:
    cols = ",\n    ".join(f"{_q(c)} {t}" for c, t, _ in _family_columns(family))
    con.execute(f"""
        CREATE TABLE IF NOT EXISTS {_rv(family)} (
            vid BIGINT NOT NULL,
            sha256 VARCHAR NOT NULL,
            resource_key VARCHAR,
            resource_name VARCHAR,
            raw JSON USING COMPRESSION zstd,
            stable_sha256 BLOB,
            {cols}
        )""")


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
    return f"unhex(sha256(CAST(json_merge_patch({raw}, {_lit(_json(patch))}) AS VARCHAR)))"


def _sync_stable_hash(con: duckdb.DuckDBPyConnection, family: fam.Family, existing: set[str]) -> None:
    """Add ``stable_sha256`` to an older table, and recompute it whenever the family's volatile
    fields changed (the declaration is kept in gwaudit_meta)."""
    if "stable_sha256" not in existing:
        con.execute(f"ALTER TABLE {_rv(family)} ADD COLUMN stable_sha256 BLOB")
    key, spec = "volatile:" + family.name, _json(list(family.volatile))
    stored = con.execute("SELECT value FROM gwaudit_meta WHERE key = ?", [key]).fetchone()
    if "stable_sha256" not in existing or stored is None or stored[0] != spec:
        con.execute(f"UPDATE {_rv(family)} SET stable_sha256 = {stable_hash_sql(family)}")
        con.execute("INSERT OR REPLACE INTO gwaudit_meta VALUES (?, ?)", [key, spec])


def _sync_family_columns(con: duckdb.DuckDBPyConnection, family: fam.Family) -> None:
    """Forward migration for typed columns: a field added to a model gets its column, backfilled."""
    existing = {r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'main' AND table_name = ?",
        ["rv_" + family.name]).fetchall()}
    for col, typ, path in _family_columns(family):
        if col in existing:
            continue
        con.execute(f"ALTER TABLE {_rv(family)} ADD COLUMN {_q(col)} {typ}")
        con.execute(f"UPDATE {_rv(family)} SET {_q(col)} = {_typed_from_raw(typ, path)}")
    _sync_stable_hash(con, family, existing)


def _typed_from_raw(typ: str, path: str) -> str:
    jp = _lit(_jpath(path))
    if typ == "JSON":
        return f"json_extract(raw, {jp})"
    if typ == "VARCHAR":
        return f"json_extract_string(raw, {jp})"
    return f"TRY_CAST(json_extract_string(raw, {jp}) AS {typ})"


def history_view(name: str) -> str:
    """Name of the all-snapshots view of family ``name``: ``<name>_history``, except where that
    is itself a family's name (``model_pricing_history`` is the pricing-versions family, so the
    pricing list's all-snapshots view is ``model_pricing_rules_history``)."""
    if name + "_history" in fam.BY_NAME:
        return name + "_rules_history" if name == "model_pricing" else name + "_all_history"
    return name + "_history"


def _create_views(con: duckdb.DuckDBPyConnection) -> None:
    for family in fam.FAMILIES:
        typed = ", ".join(f"v.{_q(c)}" for c, _, _ in _family_columns(family))
        extra = ""
        join = ""
        if family.per_item:
            join = ("JOIN snapshot_files f ON f.snapshot_id = m.snapshot_id AND f.file_no = m.file_no")
            extra = ", f.query AS request_query"
            if family.name == "routing_rules":
                # The rule objects' schema was never captured; the policy comes from the request.
                typed = typed.replace('v."policy_id"',
                                      "COALESCE(v.\"policy_id\", json_extract_string(f.query, '$.policy_id')) "
                                      'AS "policy_id"')
        con.execute(f"""
            CREATE OR REPLACE VIEW {_q(history_view(family.name))} AS
            SELECT m.snapshot_id, s.taken_at, v.resource_key, v.resource_name, {typed},
                   v.raw, v.sha256 AS raw_sha256, v.vid AS version_id{extra}
            FROM snapshot_resources m
            JOIN snapshots s ON s.id = m.snapshot_id
            JOIN {_rv(family)} v ON v.vid = m.vid
            {join}
            WHERE m.family = {_lit(family.name)}""")
        con.execute(f"""
            CREATE OR REPLACE VIEW {_q(family.name)} AS
            SELECT * FROM {_q(history_view(family.name))}
            WHERE snapshot_id = (SELECT id FROM snapshots ORDER BY taken_at DESC, id DESC LIMIT 1)""")
    con.execute("""
        CREATE OR REPLACE VIEW snapshot_drift AS
        SELECT m.snapshot_id, d.family, d.path, d.kind, d.value, count(*) AS resources
        FROM schema_drift d JOIN snapshot_resources m ON m.vid = d.vid AND m.family = d.family
        GROUP BY ALL""")


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """BEGIN ... COMMIT; on any exception (Ctrl-C included) ROLLBACK and re-raise."""
    con.execute("BEGIN")
    try:
        yield con
    except BaseException:
        try:
            con.execute("ROLLBACK")
        except duckdb.Error:
            pass
        raise
    con.execute("COMMIT")


def _layout_fingerprint() -> str:
    import hashlib

    text = repr([(f.name, history_view(f.name), f.per_item, _family_columns(f)) for f in fam.FAMILIES]) + __version__
    text += repr([f.volatile for f in fam.FAMILIES])  # stable_sha256 follows the volatile fields
    return hashlib.sha256(text.encode()).hexdigest()


def _migrate(con: duckdb.DuckDBPyConnection) -> None:
    with transaction(con):
        con.execute(_BASE_DDL)
        current = con.execute("SELECT max(version) FROM schema_version").fetchone()[0] or 0
        if current > SCHEMA_VERSION:
            raise RuntimeFailure(
                f"the database was written by a newer gwaudit (schema {current}, this one knows {SCHEMA_VERSION})",
                hint="upgrade gwaudit")
        for version, step in MIGRATIONS:
            if version > current:
                step(con)
                con.execute("INSERT INTO schema_version VALUES (?, now(), ?)", [version, __version__])
        # Typed columns and views follow the models: rebuilt only when their definition changed.
        fingerprint = _layout_fingerprint()
        stored = con.execute("SELECT value FROM gwaudit_meta WHERE key = 'layout'").fetchone()
        if stored is None or stored[0] != fingerprint:
            for family in fam.FAMILIES:
                _create_family_table(con, family)
                _sync_family_columns(con, family)
            _create_views(con)
            con.execute("INSERT OR REPLACE INTO gwaudit_meta VALUES ('layout', ?)", [fingerprint])


def _m1(con: duckdb.DuckDBPyConnection) -> None:
    """Schema 1: the base tables above (created idempotently before the steps run)."""


MIGRATIONS: list[tuple[int, Any]] = [(1, _m1)]

# Later issues add tables (findings, ...) by appending to this list; each step runs once.
EXTRA_MIGRATIONS: list[Any] = []


# ---------------------------------------------------------------- connection handling

def _connect(path: Path, *, read_only: bool, wait: float, config: dict[str, Any] | None = None
             ) -> duckdb.DuckDBPyConnection:
    deadline = time.monotonic() + max(wait, 0)
    attempt = 0
    cfg = dict(config or {})
    while True:
        try:
            if read_only:
                con = duckdb.connect(str(path), read_only=True, config=cfg)
                _session(con)
                return con
            old = os.umask(0o077)
            try:  # the block size applies only when the file is created
                con = duckdb.connect(str(path), config={"default_block_size": str(BLOCK_SIZE), **cfg})
            finally:
                os.umask(old)
            for p in (path, Path(str(path) + ".wal")):
                if p.exists():
                    os.chmod(p, 0o600)
            _session(con)
            return con
        except duckdb.IOException as exc:
            text = str(exc)
            if "lock" not in text.lower():
                raise RuntimeFailure(f"cannot open database {path}: {text}",
                                     hint="check the path and its permissions") from None
            if time.monotonic() >= deadline:
                holder = read_holder(path)
                pid = re.search(r"PID (\d+)", text)
                who = describe_holder(holder) if holder else (f"pid {pid.group(1)}" if pid else "another process")
                raise LockTimeout(f"database {path} is in use by {who}; waited {wait:g}s",
                                  hint="wait for that command to finish, or raise --wait") from None
            time.sleep(min(0.05 * (2 ** attempt), 0.5))
            attempt += 1
        except duckdb.Error as exc:
            raise RuntimeFailure(f"cannot open database {path}: {exc}",
                                 hint="is it a gwaudit DuckDB file? restore it from backup or choose another --db"
                                 ) from None


def _session(con: duckdb.DuckDBPyConnection) -> None:
    # Timestamps are shown and truncated in UTC whatever the machine's time zone.
    con.execute("SET TimeZone = 'UTC'")


class Store:
    """A gwaudit database file. Open with :meth:`open` (context manager)."""

    def __init__(self, path: Path | str, *, wait: float = DEFAULT_WAIT):
        self.path = Path(path)
        self.wait = wait
        self.lock = WriteLock(self.path, wait=wait)

    # -- connections -------------------------------------------------

    @contextmanager
    def reader(self, *, sandboxed: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection. ``sandboxed`` also forbids reading or writing other files."""
        if not self.path.exists():
            raise UsageError(f"no database at {self.path}",
                             hint="collect or import a snapshot first (gwaudit collect / gwaudit import), "
                                  "or point --db / GWAUDIT_DB at your database")
        con = _connect(self.path, read_only=True, wait=self.wait)
        if sandboxed:
            con.execute("SET enable_external_access = false")
            con.execute("SET lock_configuration = true")
        try:
            _check_schema(con, self.path)
            yield con
        finally:
            con.close()

    @contextmanager
    def writer(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write connection under the database's write lock; the schema is migrated."""
        with self.lock:
            con = _connect(self.path, read_only=False, wait=self.wait)
            try:
                _migrate(con)
                for step in EXTRA_MIGRATIONS:
                    step(con)
                yield con
            finally:
                con.close()

    def initialise(self) -> None:
        with self.writer():
            pass

    # -- writing -----------------------------------------------------

    def write_folder(self, folder: SnapshotFolder, *, source: str,
                     progress: Callable[[str, int], None] | None = None) -> int:
        """Store a verified snapshot folder in one transaction; returns the new snapshot id.

        ``progress(family, items)`` is called after each family is written (inside the
        transaction: nothing is visible to readers until the final commit)."""
        with self.writer() as con:
            return _write(con, folder, source, progress)

    # -- reading -----------------------------------------------------

    def snapshots(self) -> list[dict[str, Any]]:
        with self.reader() as con:
            return list_snapshots(con)

    def resolve(self, ref: str | int | None) -> int:
        with self.reader() as con:
            return resolve_snapshot(con, ref)


def _check_schema(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    try:
        version = con.execute("SELECT max(version) FROM schema_version").fetchone()[0]
    except duckdb.CatalogException:
        raise UsageError(f"{path} is not a gwaudit database (no schema_version table)",
                         hint="point --db at a database written by gwaudit") from None
    if version is not None and version > SCHEMA_VERSION:
        raise RuntimeFailure(f"{path} was written by a newer gwaudit (schema {version})", hint="upgrade gwaudit")


# ---------------------------------------------------------------- the write path

def _stage_frame(folder: SnapshotFolder, family: fam.Family, files: list[tuple[int, Any]]) -> pd.DataFrame:
    """Verbatim items of envelope and singleton bodies (small families), cut in Python."""
    file_nos: list[int] = []
    ords: list[int] = []
    raws: list[str] = []
    for file_no, lf in files:
        text = lf.path.read_text(encoding="utf-8")
        try:
            if family.shape == "envelope":
                items = envelope_items(text, family.items_key or "")
            else:
                items = [whole(text)]
        except ValueError as exc:
            raise SnapshotFormatError(f"{lf.path}: {exc}") from None
        for i, raw in enumerate(items):
            file_nos.append(file_no)
            ords.append(i)
            raws.append(raw)
    return pd.DataFrame({"file_no": pd.Series(file_nos, dtype="int32"),
                         "ord": pd.Series(ords, dtype="int32"),
                         "raw": pd.Series(raws, dtype=object)})


def _spec(family: fam.Family) -> str:
    """json_transform spec: every top-level field as a JSON fragment, so the item is parsed once
    and typing and validation work on small fragments."""
    parts = [f'"{path}":"JSON"' for _col, _typ, path in _family_columns(family) if "." not in path]
    return "{" + ",".join(parts) + "}"


_JSON_TYPES = {"BOOLEAN": "('BOOLEAN')", "BIGINT": "('BIGINT', 'UBIGINT')",
               "DOUBLE": "('DOUBLE', 'BIGINT', 'UBIGINT')", "VARCHAR": "('VARCHAR')"}


def _key_sql(paths: Sequence[str], default: str) -> str:
    if not paths:
        return _lit(default)
    pieces = [f"COALESCE(json_extract_string(raw, {_lit(_jpath(p))}), '')" for p in paths]
    return pieces[0] if len(pieces) == 1 else "concat_ws('/', " + ", ".join(pieces) + ")"


def _nested(path: str) -> tuple[str, str]:
    """(fragment column, JSON path inside it) for a dotted path below a top-level field."""
    top, rest = path.split(".", 1)
    return f"s.{_q(top)}", _jpath(rest)


def _typed_select(family: fam.Family) -> str:
    out = []
    tops = {p for _c, _t, p in _family_columns(family) if "." not in p}
    for col, typ, path in _family_columns(family):
        ref = f"s.{_q(path)}"
        if "." in path:
            frag, inner = _nested(path)
            if path.split(".", 1)[0] not in tops:
                out.append(_typed_from_raw(typ, path))
            elif typ == "JSON":
                out.append(f"json_extract({frag}, {_lit(inner)})")
            elif typ == "VARCHAR":
                out.append(f"json_extract_string({frag}, {_lit(inner)})")
            else:
                out.append(f"TRY_CAST(json_extract_string({frag}, {_lit(inner)}) AS {typ})")
        elif typ == "JSON":
            out.append(ref)
        elif typ == "VARCHAR":
            out.append(f"json_extract_string({ref}, '$')")
        else:
            out.append(f"TRY_CAST(json_extract_string({ref}, '$') AS {typ})")
    return ", ".join(out)


def _drift_sql(family: fam.Family) -> str | None:
    """One query returning (vid, path, kind, value) for every drift in the new versions."""
    parts = []
    fam_lit = _lit(family.name)
    for check in field_checks(family.model):
        if check.top_level:
            ref = f"s.{_q(check.field)}"
            field = _lit(check.field)
            if check.required:
                parts.append(f"SELECT vid, {field}, 'missing', NULL FROM new_versions WHERE {ref} IS NULL")
            if check.sql_type == "TIMESTAMPTZ":
                parts.append(f"SELECT vid, {field}, 'type', left(CAST({ref} AS VARCHAR), 200) FROM new_versions "
                             f"WHERE {ref} IS NOT NULL AND (json_type({ref}) <> 'VARCHAR' OR "
                             f"TRY_CAST(json_extract_string({ref}, '$') AS TIMESTAMPTZ) IS NULL)")
            elif check.sql_type in _JSON_TYPES or (check.sql_type == "JSON" and check.json_kind):
                allowed_types = _JSON_TYPES.get(check.sql_type) or f"({_lit(check.json_kind or '')})"
                parts.append(f"SELECT vid, {field}, 'type', left(CAST({ref} AS VARCHAR), 200) FROM new_versions "
                             f"WHERE {ref} IS NOT NULL AND json_type({ref}) NOT IN {allowed_types}")
        if check.known:
            allowed = ", ".join(_lit(v) for v in check.known)
            if check.list_path:
                top, inner = check.list_path[2:].split("[*]", 1)  # "$.targets[*].kind"
                source = (f"json_extract_string(s.{_q(top)}, {_lit('$[*]' + inner)})" if "." not in top
                          else f"json_extract_string(raw, {_lit(check.list_path)})")
                parts.append(
                    f"SELECT vid, {_lit(check.display)}, 'unknown_enum', v FROM "
                    f"(SELECT vid, unnest({source}) AS v FROM new_versions) "
                    f"WHERE v IS NOT NULL AND v NOT IN ({allowed})")
            else:
                if check.top_level:
                    expr = f"json_extract_string(s.{_q(check.field)}, '$')"
                else:
                    frag, inner = _nested(check.field)
                    expr = f"json_extract_string({frag}, {_lit(inner)})"
                parts.append(f"SELECT vid, {_lit(check.display)}, 'unknown_enum', {expr} FROM new_versions "
                             f"WHERE {expr} IS NOT NULL AND {expr} NOT IN ({allowed})")
    if not parts:
        return None
    return (f"INSERT INTO schema_drift SELECT vid, {fam_lit}, path, kind, value FROM ("
            + " UNION ALL ".join(parts).replace("SELECT vid, ", "SELECT vid, ", 1)
            + ") AS d(vid, path, kind, value)")


def _write(con: duckdb.DuckDBPyConnection, folder: SnapshotFolder, source: str,
           progress: Callable[[str, int], None] | None = None) -> int:
    manifest = folder.manifest
    with transaction(con):
        sid = con.execute("SELECT nextval('snapshot_id_seq')").fetchone()[0]
        failed = sorted(n for n, s in folder.families.items() if s.status == "failed")
        con.execute("INSERT INTO snapshots VALUES (?, ?, now(), ?, ?, ?, ?, ?, ?, 0, ?, ?)", [
            sid, manifest.taken_at, source, manifest.base_url, manifest.org_id,
            "incomplete" if failed else "complete", manifest.tool_version, folder.manifest_sha256,
            failed, manifest.to_json().decode()])
        status_rows = [(sid, name, st.status, st.http_status, st.error, st.item_count, st.request_count,
                        st.duration_ms, st.endpoint or fam.get(name).endpoint)
                       for name, st in folder.families.items()]
        con.executemany("INSERT INTO collection_status VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", status_rows)

        numbered = list(enumerate(folder.files, start=1))
        files_df = pd.DataFrame({
            "snapshot_id": [sid] * len(numbered),
            "file_no": [n for n, _ in numbered],
            "family": [lf.entry.family for _, lf in numbered],
            "path": [lf.entry.path for _, lf in numbered],
            "endpoint": [lf.entry.endpoint for _, lf in numbered],
            "query": [_json(lf.entry.query) for _, lf in numbered],
            "http_status": [lf.entry.http_status for _, lf in numbered],
            "item_count": [lf.entry.item_count for _, lf in numbered],
            "sha256": [lf.entry.sha256 for _, lf in numbered],
            "bytes": [lf.entry.bytes for _, lf in numbered],
            "envelope": [_json(lf.envelope_extra) if lf.envelope_extra else None for _, lf in numbered],
            "abs_path": [str(lf.path.resolve()) for _, lf in numbered],
        })
        con.register("files_df", files_df)
        con.execute("""INSERT INTO snapshot_files SELECT snapshot_id, file_no, family, path, endpoint,
                       CAST(query AS JSON), http_status, item_count, sha256, bytes, CAST(envelope AS JSON)
                       FROM files_df""")
        total = 0
        for family in fam.FAMILIES:
            files = [(n, lf) for n, lf in numbered if lf.entry.family == family.name
                     and (lf.entry.item_count is None or lf.entry.item_count > 0)]
            if files:
                n = _write_family(con, sid, family, folder, files)
                total += n
                if progress:
                    progress(family.name, n)
        con.unregister("files_df")
        _check_counts(con, sid, folder)
        con.execute("UPDATE snapshots SET resource_count = ? WHERE id = ?", [total, sid])
    return sid


def _json(value: Any) -> str:
    import json
    return json.dumps(value, sort_keys=True)


def _write_family(con: duckdb.DuckDBPyConnection, sid: int, family: fam.Family, folder: SnapshotFolder,
                  files: list[tuple[int, Any]]) -> int:
    rv = _rv(family)
    if family.shape == "array":
        paths = [str(lf.path.resolve()) for _, lf in files]
        try:
            con.execute(f"""
                CREATE OR REPLACE TEMP TABLE stage AS
                SELECT file_no,
                       CAST(row_number() OVER (PARTITION BY file_no ORDER BY n) - 1 AS INTEGER) AS ord,
                       raw, sha256(CAST(raw AS VARCHAR)) AS sha256
                FROM (SELECT f.file_no, o.ordinality AS n, o.json AS raw
                      FROM read_json_objects($paths, format = 'array', filename = true,
                                             maximum_object_size = {MAX_OBJECT}) WITH ORDINALITY AS o
                      JOIN files_df f ON f.abs_path = o.filename)""", {"paths": paths})
        except duckdb.Error as exc:
            raise SnapshotFormatError(_json_error(exc, files),
                                      hint="the body is not the JSON array this family returns; "
                                           "re-export the snapshot or fix the file") from None
    else:
        frame = _stage_frame(folder, family, files)
        con.register("stage_df", frame)
        con.execute("CREATE OR REPLACE TEMP TABLE stage AS SELECT file_no, ord, CAST(raw AS JSON) AS raw, "
                    "sha256(raw) AS sha256 FROM stage_df")
        con.unregister("stage_df")

    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE new_versions AS
        SELECT nextval('version_id_seq') AS vid, sha256, raw, json_transform(raw, {_lit(_spec(family))}) AS s
        FROM (SELECT sha256, any_value(raw) AS raw FROM stage
              WHERE NOT EXISTS (SELECT 1 FROM {rv} r WHERE r.sha256 = stage.sha256)
              GROUP BY sha256)""")
    columns = ", ".join(_q(c) for c in _SYSTEM_COLUMNS + tuple(c for c, _t, _p in _family_columns(family)))
    con.execute(f"""
        INSERT INTO {rv} ({columns}) SELECT vid, sha256, {_key_sql(family.key, family.name)},
               {_key_sql(family.name_field, family.name)}, raw, {stable_hash_sql(family)}, {_typed_select(family)}
        FROM new_versions""")
    drift = _drift_sql(family)
    if drift:
        con.execute(drift)
    con.execute(f"""
        INSERT INTO snapshot_resources
        SELECT {int(sid)}, {_lit(family.name)}, st.file_no, st.ord, r.vid
        FROM stage st JOIN {rv} r ON r.sha256 = st.sha256
        ORDER BY st.file_no, st.ord""")
    n = con.execute("SELECT count(*) FROM stage").fetchone()[0]
    con.execute("DROP TABLE stage")
    con.execute("DROP TABLE new_versions")
    return int(n)


def _json_error(exc: Exception, files: list[tuple[int, Any]]) -> str:
    text = str(exc)
    for _, lf in files:
        if str(lf.path.resolve()) in text or lf.entry.path in text:
            return f"{lf.path}: {text.splitlines()[0]}"
    if len(files) == 1:
        return f"{files[0][1].path}: {text.splitlines()[0]}"
    return f"one of {', '.join(str(lf.path) for _, lf in files[:3])}: {text.splitlines()[0]}"


def _check_counts(con: duckdb.DuckDBPyConnection, sid: int, folder: SnapshotFolder) -> None:
    """A manifest's item_count must match what was stored (a hand-edited folder may lie)."""
    rows = con.execute("""
        SELECT f.path, f.item_count, count(m.vid)
        FROM snapshot_files f LEFT JOIN snapshot_resources m
          ON m.snapshot_id = f.snapshot_id AND m.file_no = f.file_no
        WHERE f.snapshot_id = ? AND f.item_count IS NOT NULL
        GROUP BY f.path, f.item_count HAVING f.item_count <> count(m.vid)""", [sid]).fetchall()
    if rows:
        path, declared, actual = rows[0]
        raise SnapshotFormatError(f"{folder.root / path}: manifest says {declared} items, the file holds {actual}",
                                  hint="fix item_count in manifest.json or re-export the snapshot")
    # fill in family item counts the manifest did not give
    con.execute("""
        UPDATE collection_status c SET item_count = x.n
        FROM (SELECT family, count(*) AS n FROM snapshot_resources WHERE snapshot_id = ? GROUP BY family) x
        WHERE c.snapshot_id = ? AND c.family = x.family AND c.item_count IS NULL""", [sid, sid])
    con.execute("""UPDATE collection_status SET item_count = 0
                   WHERE snapshot_id = ? AND item_count IS NULL AND status = 'ok'""", [sid])


# ---------------------------------------------------------------- queries

def list_snapshots(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    rows = con.execute("""
        SELECT id, taken_at, source, status, org_id, base_url, resource_count, failed_families,
               manifest_sha256, tool_version, stored_at
        FROM snapshots ORDER BY taken_at, id""").fetchall()
    keys = ("id", "taken_at", "source", "status", "org_id", "base_url", "resource_count", "failed_families",
            "manifest_sha256", "tool_version", "stored_at")
    return [dict(zip(keys, r)) for r in rows]


def resolve_snapshot(con: duckdb.DuckDBPyConnection, ref: str | int | None) -> int:
    """A snapshot id from ``latest``, ``previous``, an id, or a date (last taken on or before it)."""
    ref = "latest" if ref is None else str(ref).strip()
    ids = [r[0] for r in con.execute("SELECT id FROM snapshots ORDER BY taken_at DESC, id DESC").fetchall()]
    if not ids:
        raise UsageError("the database holds no snapshot yet",
                         hint="run gwaudit collect or gwaudit import first")
    if ref == "latest":
        return ids[0]
    if ref == "previous":
        if len(ids) < 2:
            raise UsageError("there is no previous snapshot (the database holds only one)")
        return ids[1]
    if ref.isdigit():
        if int(ref) not in ids:
            raise UsageError(f"no snapshot with id {ref}", hint="gwaudit snapshots lists them")
        return int(ref)
    try:
        when = parse_date_or_ts(ref)
    except ValueError:
        raise UsageError(f"{ref!r} is not a snapshot id, 'latest', 'previous' or a date",
                         hint="gwaudit snapshots lists the ids") from None
    row = con.execute("SELECT id FROM snapshots WHERE taken_at <= ? ORDER BY taken_at DESC, id DESC LIMIT 1",
                      [when]).fetchone()
    if row is None:
        raise UsageError(f"no snapshot was taken on or before {ref}")
    return int(row[0])


def snapshot_info(con: duckdb.DuckDBPyConnection, sid: int) -> dict[str, Any]:
    row = con.execute("""SELECT id, taken_at, source, base_url, org_id, status, tool_version, manifest_sha256,
                                resource_count, failed_families FROM snapshots WHERE id = ?""", [sid]).fetchone()
    if row is None:
        raise UsageError(f"no snapshot with id {sid}")
    keys = ("id", "taken_at", "source", "base_url", "org_id", "status", "tool_version", "manifest_sha256",
            "resource_count", "failed_families")
    return dict(zip(keys, row))


def family_status(con: duckdb.DuckDBPyConnection, sid: int) -> dict[str, dict[str, Any]]:
    rows = con.execute("""SELECT family, status, http_status, error, item_count, request_count, duration_ms
                          FROM collection_status WHERE snapshot_id = ? ORDER BY family""", [sid]).fetchall()
    return {r[0]: {"status": r[1], "http_status": r[2], "error": r[3], "item_count": r[4],
                   "request_count": r[5], "duration_ms": r[6]} for r in rows}


def taken_at(con: duckdb.DuckDBPyConnection, sid: int) -> datetime:
    return con.execute("SELECT taken_at FROM snapshots WHERE id = ?", [sid]).fetchone()[0]


def scope_to_snapshot(con: duckdb.DuckDBPyConnection, sid: int) -> None:
    """Make the plain family names (``api_keys``, ``providers``, ...) show snapshot ``sid``.

    Temporary views shadow the persistent latest-snapshot views for this connection only, so
    rule SQL written against plain names evaluates any stored snapshot.
    """
    for family in fam.FAMILIES:
        con.execute(f"CREATE OR REPLACE TEMP VIEW {_q(family.name)} AS "
                    f"SELECT * FROM {_q(history_view(family.name))} WHERE snapshot_id = {int(sid)}")
