"""The database schema: an explicit, ordered list of migrations, recorded in ``schema_version``.

Two kinds of objects:

* **tables** are created and changed only by :data:`MIGRATIONS`, in order; each step runs once
  per database and is recorded with the gwaudit version that applied it;
* **derived objects** follow the code: the per-family version tables' typed columns and views
  (:mod:`gwaudit.db.layout`) and the analysis views and macros listed in :data:`DERIVED`. They
  are recreated whenever their definition changes (a fingerprint in ``gwaudit_meta``).

Nothing registers schema at import time: this module is the whole list.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable

import duckdb

from .. import __version__
from ..errors import RuntimeFailure, UsageError
from . import layout


@dataclass(frozen=True)
class Migration:
    version: int
    title: str
    sql: str
    fill: Callable[[duckdb.DuckDBPyConnection], object] | None = None
    """Fills the new tables from what the database already holds (in the same transaction, after
    the derived objects are up to date), for a step whose tables are computed from earlier data."""


_BASE = """
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

_FINDINGS = """
CREATE TABLE IF NOT EXISTS findings (
    fingerprint VARCHAR NOT NULL,
    rule_id VARCHAR NOT NULL,
    title VARCHAR NOT NULL,
    severity VARCHAR NOT NULL,          -- critical | high | medium | low | info
    status VARCHAR NOT NULL,            -- fail | waived
    family VARCHAR NOT NULL,
    resource_id VARCHAR NOT NULL,
    resource_name VARCHAR,
    message VARCHAR NOT NULL,
    evidence JSON,
    frameworks JSON,
    snapshot_id INTEGER NOT NULL,
    first_seen TIMESTAMPTZ NOT NULL,
    waiver JSON
);
CREATE TABLE IF NOT EXISTS rule_results (
    snapshot_id INTEGER NOT NULL,
    rule_id VARCHAR NOT NULL,
    status VARCHAR NOT NULL,            -- pass | fail | error
    checked BIGINT NOT NULL,
    failed BIGINT NOT NULL,
    error VARCHAR,
    params JSON,
    evaluated_at TIMESTAMPTZ NOT NULL,
    title VARCHAR,
    severity VARCHAR,
    frameworks JSON,
    note VARCHAR
);
"""

_AUDITS = """
CREATE TABLE IF NOT EXISTS audits (
    snapshot_id INTEGER NOT NULL,
    evaluated_at TIMESTAMPTZ NOT NULL,
    tool_version VARCHAR,
    rules_loaded INTEGER NOT NULL,      -- rules in the catalog the audit ran with
    rules_evaluated INTEGER NOT NULL,   -- rules selected (all of them unless --only/--skip)
    selection JSON,                     -- {"only": [...], "skip": [...]}; NULL for the whole catalog
    waivers_source VARCHAR,             -- the waiver file's path, or NULL
    waivers_sha256 VARCHAR,
    fail_on VARCHAR
);
CREATE TABLE IF NOT EXISTS waivers (
    snapshot_id INTEGER NOT NULL,       -- the audit that judged the waiver
    waiver_no INTEGER NOT NULL,         -- its position in the file, from 1
    rule_id VARCHAR NOT NULL,
    resource_id VARCHAR,                -- exactly one of resource_id / resource_name (a glob)
    resource_name VARCHAR,
    owner VARCHAR NOT NULL,
    justification VARCHAR NOT NULL,
    expires VARCHAR NOT NULL,           -- as written in the file
    expires_at TIMESTAMPTZ NOT NULL,    -- the last instant it applies
    state VARCHAR NOT NULL,             -- active | expired | unused
    findings INTEGER NOT NULL           -- findings it waived in that audit
);
"""

_DELETIONS = """
CREATE TABLE IF NOT EXISTS snapshot_deletions (
    deleted_at TIMESTAMPTZ NOT NULL,
    deleted_snapshot_id INTEGER NOT NULL,  -- not snapshot_id: deleting snapshots sweeps that column
    taken_at TIMESTAMPTZ,
    status VARCHAR,
    source VARCHAR,
    manifest_sha256 VARCHAR,
    resource_count BIGINT,
    findings BIGINT,                    -- findings of its stored audit that went with it
    reason VARCHAR NOT NULL,            -- 'snapshots delete' or 'prune: <policy>'
    deleted_by VARCHAR,                 -- operating-system user and host
    tool_version VARCHAR
);
"""

_CHANGES = """
CREATE TABLE IF NOT EXISTS snapshot_change_pairs (
    snapshot_id INTEGER NOT NULL,       -- the newer snapshot
    prev_snapshot_id INTEGER NOT NULL,  -- the newest earlier snapshot that collected the family
    family VARCHAR NOT NULL,
    computed_at TIMESTAMPTZ NOT NULL,
    volatile_only INTEGER NOT NULL      -- resources whose only changes were volatile fields (not stored)
);
CREATE TABLE IF NOT EXISTS snapshot_changes (
    snapshot_id INTEGER NOT NULL,
    prev_snapshot_id INTEGER NOT NULL,
    family VARCHAR NOT NULL,
    resource_key VARCHAR NOT NULL,      -- the natural identity gwaudit diff shows in [brackets]
    resource_name VARCHAR,
    change VARCHAR NOT NULL,            -- added | removed | modified
    path VARCHAR NOT NULL,              -- JSON path of the changed value; $ for a whole added/removed resource
    old_value JSON,
    new_value JSON,
    old_version_id BIGINT,
    new_version_id BIGINT,
    changed_by_email VARCHAR,
    changed_by_name VARCHAR,
    updated_at TIMESTAMPTZ,
    change_note VARCHAR,
    unattributed_reason VARCHAR         -- why nobody is named (NULL when somebody is)
);
"""


def _fill_changes(con: duckdb.DuckDBPyConnection) -> object:
    from .. import changes

    return changes.sync(con)


_CONTROLS = """
CREATE TABLE IF NOT EXISTS control_results (
    snapshot_id INTEGER NOT NULL,       -- the stored audit these rows belong to
    framework VARCHAR NOT NULL,         -- soc2 | iso27001 | nist_800_53 | iso42001 (or a user framework)
    framework_heading VARCHAR,          -- with its version: "ISO/IEC 27001:2022"
    control VARCHAR NOT NULL,
    title VARCHAR,
    status VARCHAR NOT NULL,            -- open_findings | not_evaluated | waived | skipped | no_open_findings
    words VARCHAR NOT NULL,             -- what was tested, as the matrix prints it
    rule_ids VARCHAR[] NOT NULL,
    checks INTEGER NOT NULL,            -- mapped rules that ran (pass or fail)
    open_findings INTEGER NOT NULL,
    waived_findings INTEGER NOT NULL,
    not_evaluated INTEGER NOT NULL,     -- mapped rules that could not be evaluated
    skipped INTEGER NOT NULL,           -- mapped rules skipped (their precondition did not hold)
    known BOOLEAN NOT NULL,             -- the id is in the catalog the audit ran with
    withdrawn BOOLEAN NOT NULL
);
"""


def _fill_controls(con: duckdb.DuckDBPyConnection) -> object:
    from ..rules.controls import refill

    return refill(con)


_SKIP_AND_PARTIAL = """
CREATE SEQUENCE IF NOT EXISTS partial_audit_id_seq START 1;
CREATE TABLE IF NOT EXISTS partial_audits (
    partial_id INTEGER NOT NULL,        -- one per stored partial audit (gwaudit audit --only ... --store-partial)
    snapshot_id INTEGER NOT NULL,
    evaluated_at TIMESTAMPTZ NOT NULL,
    tool_version VARCHAR,
    rules_loaded INTEGER NOT NULL,      -- rules in the catalog
    rules_evaluated INTEGER NOT NULL,   -- rules selected: fewer than rules_loaded
    selection JSON,                     -- {"only": [...], "skip": [...]}
    rule_ids VARCHAR[] NOT NULL,        -- exactly the rules its findings come from
    waivers_source VARCHAR,
    waivers_sha256 VARCHAR,
    fail_on VARCHAR,
    origin VARCHAR NOT NULL             -- store-partial | moved by migration 7 (it had replaced the full audit)
);
CREATE TABLE IF NOT EXISTS partial_rule_results AS SELECT CAST(NULL AS INTEGER) AS partial_id, * FROM rule_results LIMIT 0;
CREATE TABLE IF NOT EXISTS partial_findings AS SELECT CAST(NULL AS INTEGER) AS partial_id, * FROM findings LIMIT 0;
-- an audit stored by an older gwaudit with --only/--skip replaced the snapshot's full audit: move it
-- apart, so no report, diff or delta reads it as the snapshot's audit (the next report audits it again)
CREATE TEMP TABLE m7_partial AS
    SELECT nextval('partial_audit_id_seq') AS partial_id, a.* FROM audits a
    WHERE a.selection IS NOT NULL AND a.rules_evaluated < a.rules_loaded;
INSERT INTO partial_audits
    SELECT p.partial_id, p.snapshot_id, p.evaluated_at, p.tool_version, p.rules_loaded, p.rules_evaluated,
           p.selection, coalesce((SELECT list(r.rule_id ORDER BY r.rule_id) FROM rule_results r
                                  WHERE r.snapshot_id = p.snapshot_id), []),
           p.waivers_source, p.waivers_sha256, p.fail_on, 'migration 7'
    FROM m7_partial p;
INSERT INTO partial_rule_results SELECT p.partial_id, r.* FROM rule_results r JOIN m7_partial p USING (snapshot_id);
INSERT INTO partial_findings SELECT p.partial_id, f.* FROM findings f JOIN m7_partial p USING (snapshot_id);
DELETE FROM findings WHERE snapshot_id IN (SELECT snapshot_id FROM m7_partial);
DELETE FROM rule_results WHERE snapshot_id IN (SELECT snapshot_id FROM m7_partial);
DELETE FROM waivers WHERE snapshot_id IN (SELECT snapshot_id FROM m7_partial);
DELETE FROM control_results WHERE snapshot_id IN (SELECT snapshot_id FROM m7_partial);
DELETE FROM audits WHERE snapshot_id IN (SELECT snapshot_id FROM m7_partial);
DROP TABLE m7_partial;
-- rule_results.status gains skip (a precondition did not hold; the reason in note). A change-control rule
-- with no previous snapshot was stored as a pass with this note: it was not applied
UPDATE rule_results SET status = 'skip' WHERE status = 'pass' AND note = 'no previous snapshot to compare';
"""


def _fill_skipped_controls(con: duckdb.DuckDBPyConnection) -> object:
    """The matrices of audits whose rules migration 7 marked skipped."""
    from ..rules.controls import stored_outcomes, write

    ids = [r[0] for r in con.execute("SELECT DISTINCT snapshot_id FROM rule_results WHERE status = 'skip' "
                                     "ORDER BY 1").fetchall()]
    for sid in ids:
        write(con, sid, stored_outcomes(con, sid))
    return len(ids)


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "snapshots, collection status, files, membership, schema drift", _BASE),
    Migration(2, "findings and rule results", _FINDINGS),
    Migration(3, "audits and the waivers each audit judged", _AUDITS),
    Migration(4, "a record of every snapshot deleted (by snapshots delete or prune)", _DELETIONS),
    Migration(5, "the changes between consecutive snapshots (snapshot_changes, snapshot_change_pairs)",
              _CHANGES, fill=_fill_changes),
    Migration(6, "each stored audit's compliance matrix (control_results)", _CONTROLS, fill=_fill_controls),
    Migration(7, "skipped rules (status skip) and partial audits stored apart (partial_audits, partial_rule_results, "
                 "partial_findings)", _SKIP_AND_PARTIAL, fill=_fill_skipped_controls),
)
SCHEMA_VERSION = MIGRATIONS[-1].version


def _derived() -> list[tuple[str, str]]:
    """(name, CREATE statement) of the analysis views and macros, in dependency order: the shared
    concepts over the family views, then the views over stored findings, then the people
    (actors) the API recorded and the stored changes."""
    from .. import actors, changes, semantics
    from ..findings import views as finding_views

    return [*semantics.definitions(), *finding_views.DEFINITIONS, *actors.definitions(), *changes.DEFINITIONS]


@lru_cache(maxsize=1)
def derived_fingerprint() -> str:
    text = layout.fingerprint(__version__) + repr(_derived())
    return hashlib.sha256(text.encode()).hexdigest()


def _version_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("""CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL,
                   applied_at TIMESTAMPTZ NOT NULL, tool_version VARCHAR)""")
    con.execute("CREATE TABLE IF NOT EXISTS gwaudit_meta (key VARCHAR PRIMARY KEY, value VARCHAR)")


def current_version(con: duckdb.DuckDBPyConnection) -> int | None:
    """The schema version recorded in the database; None when it has no ``schema_version``."""
    try:
        return int(con.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()[0])
    except duckdb.CatalogException:
        return None


def up_to_date(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether every migration has run and the derived objects match this gwaudit's code."""
    if current_version(con) != SCHEMA_VERSION:
        return False
    row = con.execute("SELECT value FROM gwaudit_meta WHERE key = 'derived'").fetchone()
    return row is not None and row[0] == derived_fingerprint()


def migrate(con: duckdb.DuckDBPyConnection, transaction: Callable) -> None:
    """Bring a writer connection's database up to date, in one transaction."""
    with transaction(con):
        _version_table(con)
        current = current_version(con) or 0
        if current > SCHEMA_VERSION:
            raise RuntimeFailure(
                f"the database was written by a newer gwaudit (schema {current}, this one knows {SCHEMA_VERSION})",
                hint="upgrade gwaudit")
        fills = []
        for step in MIGRATIONS:
            if step.version > current:
                con.execute(step.sql)
                con.execute("INSERT INTO schema_version VALUES (?, now(), ?)", [step.version, __version__])
                if step.fill is not None:
                    fills.append(step.fill)
        stamp = derived_fingerprint()
        stored = con.execute("SELECT value FROM gwaudit_meta WHERE key = 'derived'").fetchone()
        if stored is None or stored[0] != stamp:
            layout.sync(con)
            for _name, create in _derived():
                con.execute(create)
            con.execute("INSERT OR REPLACE INTO gwaudit_meta VALUES ('derived', ?)", [stamp])
        for fill in fills:
            fill(con)


def foreign_reason(con: duckdb.DuckDBPyConnection) -> str | None:
    """Why an existing database is not a gwaudit database (None when it is one, or is empty)."""
    names = {r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
        "UNION SELECT view_name FROM duckdb_views() WHERE NOT internal AND database_name = current_database()"
    ).fetchall()}
    if not names:
        return None
    if "schema_version" not in names:
        return "it has tables but no schema_version table"
    return None


def not_gwaudit(path: Path, reason: str) -> UsageError:
    """The one message for a file that is not a gwaudit database, whichever command opened it."""
    return UsageError(f"{path} is not a gwaudit database ({reason})",
                      hint="point --db (or GWAUDIT_DB, or database.path) at a database gwaudit wrote, "
                           "or at a new file name to start one")


def check_version(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    version = current_version(con)
    if version is None:
        raise not_gwaudit(path, foreign_reason(con) or "it holds no gwaudit tables yet")
    if version > SCHEMA_VERSION:
        raise RuntimeFailure(f"{path} was written by a newer gwaudit (schema {version}, this one knows "
                             f"{SCHEMA_VERSION})", hint="upgrade gwaudit")
