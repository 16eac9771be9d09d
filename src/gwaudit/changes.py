"""Every change between consecutive snapshots, stored once, so SQL can ask who changed what when.

``snapshot_changes`` holds one row per changed field per resource (an added or removed resource:
one row holding the whole resource), computed by ``gwaudit diff``'s own comparison
(:func:`gwaudit.diff.resource_changes`, volatile fields left out as the diff leaves them out by
default), so the stored rows and ``gwaudit diff`` agree field by field. The ``changes`` view
adds the snapshots' times and who made each change.

What "consecutive" means, per family: a snapshot is compared with the newest earlier snapshot in
which the family was collected (status ``ok`` or ``unavailable``). A family that failed in a
snapshot is skipped there, and its changes across the gap show up at the next snapshot that
collected it (so nothing is lost and nothing is reported as removed because a request failed).

:func:`sync` keeps the table right: it runs inside every write that changes which snapshots are
consecutive (storing a snapshot, deleting snapshots, the migration that created the table),
removes the pairs that are no longer consecutive and computes the missing ones.
"""

from __future__ import annotations

import json
from typing import Any, Iterable

import duckdb
import pandas as pd

from . import families as fam
from .db.layout import version_table
from .diff import ATTRIBUTION, FamilyDiff, ResourceChange, resource_changes
from .output import jsonable

VIEW = """
CREATE OR REPLACE VIEW changes AS
SELECT c.snapshot_id, s.taken_at, c.prev_snapshot_id, p.taken_at AS prev_taken_at, c.family, c.resource_key,
       c.resource_name, c.change, c.path, c.old_value, c.new_value,
       coalesce(c.changed_by_email, c.changed_by_name) AS changed_by, c.changed_by_email, c.changed_by_name,
       c.updated_at, c.change_note, c.unattributed_reason, c.old_version_id, c.new_version_id
FROM snapshot_changes c
JOIN snapshots s ON s.id = c.snapshot_id
JOIN snapshots p ON p.id = c.prev_snapshot_id"""

DEFINITIONS: tuple[tuple[str, str], ...] = (("changes", VIEW),)

#: Why a change names nobody, by case (README, "Querying with SQL").
REASONS = {
    "removed": "the API keeps no record of who deleted a resource",
    "no_fields": "the API records no author for this family",
    "added": "the API recorded no author for this resource",
    "modified": "the API's last_modified_* fields did not change with this modification "
                "(and no new version names its author)",
    "note_only": "the API names no person for this change, only how it was made (change_note)",
}

_EXPECTED = """
WITH ok AS (
    SELECT c.snapshot_id, c.family, s.taken_at
    FROM collection_status c JOIN snapshots s ON s.id = c.snapshot_id
    WHERE c.status <> 'failed'),
paired AS (
    SELECT snapshot_id, family,
           lag(snapshot_id) OVER (PARTITION BY family ORDER BY taken_at, snapshot_id) AS prev_snapshot_id
    FROM ok)
SELECT snapshot_id, prev_snapshot_id, family FROM paired WHERE prev_snapshot_id IS NOT NULL"""


def sync(con: duckdb.DuckDBPyConnection) -> int:
    """Bring ``snapshot_changes`` up to date on a writer connection (inside the caller's
    transaction): drop the pairs no longer consecutive, compute the missing ones. Returns how
    many (snapshot, family) pairs were computed."""
    known = set(fam.NAMES)
    expected = {(s, p, f) for s, p, f in con.execute(_EXPECTED).fetchall() if f in known}
    existing = set(con.execute("SELECT snapshot_id, prev_snapshot_id, family FROM snapshot_change_pairs").fetchall())
    stale = existing - expected
    if stale:
        frame = pd.DataFrame(sorted(stale), columns=["snapshot_id", "prev_snapshot_id", "family"])
        con.register("stale_pairs", frame)
        for table in ("snapshot_changes", "snapshot_change_pairs"):
            con.execute(f"""DELETE FROM {table} t USING stale_pairs x
                            WHERE t.snapshot_id = x.snapshot_id AND t.prev_snapshot_id = x.prev_snapshot_id
                              AND t.family = x.family""")
        con.unregister("stale_pairs")
    todo: dict[tuple[int, int], list[str]] = {}
    for sid, prev, family in sorted(expected - existing):
        todo.setdefault((prev, sid), []).append(family)
    for (prev, sid), names in todo.items():
        diffs = resource_changes(con, prev, sid, [fam.get(n) for n in fam.NAMES if n in names])
        _store(con, prev, sid, diffs)
    return sum(len(v) for v in todo.values())


def _store(con: duckdb.DuckDBPyConnection, prev: int, sid: int, diffs: dict[str, FamilyDiff]) -> None:
    raws = _whole_resources(con, diffs)
    rows = [row for d in diffs.values() for row in _rows(d, raws)]
    frame = pd.DataFrame(rows, columns=["family", "resource_key", "resource_name", "change", "path", "old_value",
                                        "new_value", "old_version_id", "new_version_id", "changed_by_email",
                                        "changed_by_name", "updated_at", "change_note", "unattributed_reason"],
                         dtype=object)
    con.register("new_changes", frame)
    con.execute("""
        INSERT INTO snapshot_changes
        SELECT $sid, $prev, family, resource_key, resource_name, change, path, CAST(old_value AS JSON),
               CAST(new_value AS JSON), CAST(old_version_id AS BIGINT), CAST(new_version_id AS BIGINT),
               changed_by_email, changed_by_name, TRY_CAST(updated_at AS TIMESTAMPTZ), change_note,
               unattributed_reason
        FROM new_changes""", {"sid": sid, "prev": prev})
    con.unregister("new_changes")
    con.executemany("INSERT INTO snapshot_change_pairs VALUES (?, ?, ?, now(), ?)",
                    [[sid, prev, name, d.volatile_only] for name, d in diffs.items()])


def _whole_resources(con: duckdb.DuckDBPyConnection, diffs: dict[str, FamilyDiff]) -> dict[tuple[str, int], str]:
    """The exact JSON of every added and removed resource, by (family, version id)."""
    out: dict[tuple[str, int], str] = {}
    for name, d in diffs.items():
        vids = [r.new_vid for r in d.added] + [r.old_vid for r in d.removed]
        if vids:
            out.update({(name, vid): raw for vid, raw in con.execute(
                f"SELECT vid, CAST(raw AS VARCHAR) FROM {version_table(name)} WHERE vid IN (SELECT unnest($v))",
                {"v": vids}).fetchall()})
    return out


def _rows(d: FamilyDiff, raws: dict[tuple[str, int], str]) -> Iterable[list[Any]]:
    attributed = _has_attribution(d.family)
    for r in d.added:
        yield _row(d.family, r, "added", "$", None, raws[(d.family, r.new_vid)], attributed)
    for r in d.removed:
        yield _row(d.family, r, "removed", "$", raws[(d.family, r.old_vid)], None, attributed)
    for r in d.modified:
        for c in r.changes:
            yield _row(d.family, r, "modified", c.path, _json(c.before), _json(c.after), attributed)


def _row(family: str, r: ResourceChange, kind: str, path: str, old: str | None, new: str | None,
         attributed: bool) -> list[Any]:
    who = r.changed_by or {}
    reason = None
    if not r.changed_by:
        reason = REASONS["removed"] if kind == "removed" else REASONS[kind] if attributed else REASONS["no_fields"]
    elif not (who.get("email") or who.get("name")):
        reason = REASONS["note_only"]
    return [family, r.key, r.name, kind, path, old, new, r.old_vid, r.new_vid, who.get("email"), who.get("name"),
            who.get("at"), who.get("note"), reason]


def _json(value: Any) -> str:
    return json.dumps(jsonable(value), ensure_ascii=False)


def _has_attribution(family: str) -> bool:
    """Whether the family's items can say who changed them (its model declares the fields)."""
    fields = fam.get(family).model.model_fields
    return any(a in fields for a in ATTRIBUTION)

