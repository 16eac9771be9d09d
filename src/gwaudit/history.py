"""One resource's versions over time, with what changed each time.

    from gwaudit.history import resource_history
    h = resource_history(db, "0246815e-d705-4eb7-9140-f99e587839f0")
    for event in h.events: ...

A resource is named by its key (the API id, ``<provider_id>/<upstream_model>`` for route health,
the alias for user models, ``governance_config``) or its natural identity (pricing rules:
``<model_pattern>/<model_provider>/<provider_id>``; a pricing version id finds its rule too).
Snapshots in which the family was not collected are gaps, never removals.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from . import families as fam
from .db import Database, literal
from .db.layout import identity_sql, version_table
from .diff import ATTRIBUTION, _attr, changed_by, created_by, select_families
from .errors import UsageError
from .jsonwalk import FieldChange, walk_json
from .output import Styler, jsonable, plain


@dataclass
class HistoryEvent:
    event: str
    """``added`` (first seen), ``modified``, ``removed``, ``re-added`` or ``not collected``."""
    snapshot_id: int
    taken_at: Any
    version_id: int | None = None
    name: str | None = None
    changed_by: dict[str, Any] | None = None
    changes: list[FieldChange] = field(default_factory=list)
    until_snapshot_id: int | None = None
    """The last snapshot holding this version (for added/modified/re-added)."""
    until_taken_at: Any = None
    snapshots: int = 0
    """How many collected snapshots held this version."""
    status: str | None = None
    """Collection status of the family for ``not collected``."""

    def to_dict(self) -> dict[str, Any]:
        out = {"event": self.event, "snapshot_id": self.snapshot_id, "taken_at": jsonable(self.taken_at)}
        if self.event == "not collected":
            out["status"] = self.status
            return out
        if self.event == "removed":
            return out
        out.update({"version_id": self.version_id, "name": self.name, "changed_by": self.changed_by,
                    "changes": [c.to_dict() for c in self.changes],
                    "until_snapshot_id": self.until_snapshot_id, "until_taken_at": jsonable(self.until_taken_at),
                    "snapshots": self.snapshots})
        return out


@dataclass
class ResourceHistory:
    family: str
    key: str
    name: str | None
    events: list[HistoryEvent]
    include_volatile: bool = False

    @property
    def versions(self) -> int:
        return sum(1 for e in self.events if e.event in ("added", "modified", "re-added"))

    def to_dict(self) -> dict[str, Any]:
        return {"family": self.family, "key": self.key, "name": self.name, "include_volatile": self.include_volatile,
                "versions": self.versions, "events": [e.to_dict() for e in self.events]}


def resource_history(db: Path | str | duckdb.DuckDBPyConnection, ident: str, *, family: str | None = None,
                     include_volatile: bool = False) -> ResourceHistory:
    """The versions of one resource across every stored snapshot (oldest first).

    Raises UsageError when nothing matches ``ident`` or when it matches resources of several
    families (then pass ``family``)."""
    if isinstance(db, duckdb.DuckDBPyConnection):
        return _history(db, ident, family, include_volatile)
    with Database.of(db).reader() as con:
        return _history(con, ident, family, include_volatile)


def find_resource(con: duckdb.DuckDBPyConnection, ident: str, family: str | None = None) -> tuple[fam.Family, str]:
    """(family, natural identity) of the resource ``ident`` names."""
    ident = ident.strip()
    matches: list[tuple[fam.Family, str]] = []
    for f in select_families([family] if family else None):
        rows = con.execute(f"""
            SELECT DISTINCT {identity_sql(f)} FROM {version_table(f)} v
            WHERE v.resource_key = $id OR {identity_sql(f)} = $id
            ORDER BY 1 LIMIT 2""", {"id": ident}).fetchall()
        matches += [(f, r[0]) for r in rows]
    if not matches:
        where = f"family {family}" if family else "any family"
        raise UsageError(f"no resource {ident!r} in {where} of any stored snapshot",
                         hint="use the key gwaudit diff shows in [brackets], or look it up with "
                              "gwaudit sql \"SELECT resource_key, resource_name FROM <family>\"")
    names = sorted({f.name for f, _ in matches})
    if len(names) > 1:
        raise UsageError(f"{ident!r} names resources in several families: {', '.join(names)}",
                         hint="add --family " + names[0] + " (or another of them)")
    if len({i for _, i in matches}) > 1:
        raise UsageError(f"{ident!r} matches several {names[0]} resources: "
                         + ", ".join(sorted({i for _, i in matches})), hint="pass one of those keys")
    return matches[0]


def _history(con: duckdb.DuckDBPyConnection, ident: str, family_name: str | None,
             include_volatile: bool) -> ResourceHistory:
    family, key = find_resource(con, ident, family_name)
    snaps = con.execute("""
        SELECT s.id, s.taken_at, c.status FROM snapshots s
        LEFT JOIN collection_status c ON c.snapshot_id = s.id AND c.family = ?
        ORDER BY s.taken_at, s.id""", [family.name]).fetchall()
    attr = "[" + ", ".join(literal("$." + a) for a in ATTRIBUTION) + "]"
    rows = con.execute(f"""
        SELECT m.snapshot_id, v.vid, v.resource_name, v.stable_sha256, json_extract_string(v.raw, {attr})
        FROM snapshot_resources m JOIN {version_table(family)} v ON v.vid = m.vid
        WHERE m.family = {literal(family.name)} AND {identity_sql(family)} = $key
        ORDER BY m.snapshot_id, m.file_no, m.ord""", {"key": key}).fetchall()
    present: dict[int, tuple[int, str, str, Any]] = {}
    for sid, vid, name, stable, a in rows:
        present.setdefault(sid, (vid, name, stable, a))
    raws = dict(con.execute(f"SELECT vid, raw FROM {version_table(family)} WHERE vid IN (SELECT unnest($v))",
                            {"v": sorted({p[0] for p in present.values()})}).fetchall()) if present else {}
    skip = () if include_volatile else family.volatile
    events: list[HistoryEvent] = []
    current: HistoryEvent | None = None
    cur_vid: int | None = None
    cur_stable: str | None = None
    cur_attr: Any = None
    seen = False
    for sid, taken, status in snaps:
        if status != "ok" and status != "unavailable":
            if seen and (current is not None or events):
                events.append(HistoryEvent("not collected", sid, taken, status=status or "not recorded"))
            continue
        hit = present.get(sid)
        if hit is None:
            if current is not None:
                events.append(HistoryEvent("removed", sid, taken))
                current = None
            continue
        vid, name, stable, a = hit
        if current is not None and (vid == cur_vid or (stable is not None and stable == cur_stable
                                                       and not include_volatile)):
            current.until_snapshot_id, current.until_taken_at = sid, taken
            current.snapshots += 1
            continue
        if current is None and not seen:
            current = HistoryEvent("added", sid, taken, vid, name, created_by(_attr(a)))
        elif current is None:  # back after a removal: what differs from the last version seen
            changes = list(walk_json(json.loads(raws[cur_vid]), json.loads(raws[vid]), skip=skip))
            current = HistoryEvent("re-added", sid, taken, vid, name, created_by(_attr(a)), changes)
        else:
            changes = list(walk_json(json.loads(raws[cur_vid]), json.loads(raws[vid]), skip=skip))
            current = HistoryEvent("modified", sid, taken, vid, name, changed_by(_attr(cur_attr), _attr(a)), changes)
        current.until_snapshot_id, current.until_taken_at, current.snapshots = sid, taken, 1
        events.append(current)
        cur_vid, cur_stable, cur_attr, seen = vid, stable, a, True
    if current is None:  # removed for good: gaps after the removal say nothing about it
        while events and events[-1].event == "not collected":
            events.pop()
    name = next((e.name for e in reversed(events) if e.name), None)
    return ResourceHistory(family.name, key, name, events, include_volatile)


def history_text(h: ResourceHistory, *, style: Styler = plain) -> str:
    """The history for a terminal; ``style`` colours it (the CLI passes click.style on a TTY)."""
    from .diffview import change_lines, person_text
    from .output import terminal_text as _t

    s = style

    label = _t(f"{h.family} {h.key}" + (f" ({h.name})" if h.name and h.name != h.key else ""))
    lines = [s(label, bold=True) + f": {h.versions} version{'s' if h.versions != 1 else ''}"
             + ("" if h.include_volatile or not fam.get(h.family).volatile
                else " (volatile-only changes folded in; --include-volatile shows them)")]
    colors = {"added": "green", "re-added": "green", "modified": "yellow", "removed": "red", "not collected": "magenta"}
    for e in h.events:
        head = f"{jsonable(e.taken_at)}  snapshot {e.snapshot_id:<5} " + s(f"{e.event:<13}", fg=colors[e.event])
        if e.event == "not collected":
            lines.append(head + f" ({_t(str(e.status))}: state unknown)")
            continue
        if e.event == "removed":
            lines.append(head.rstrip())
            continue
        span = (f" until snapshot {e.until_snapshot_id} ({e.snapshots} snapshot{'s' if e.snapshots != 1 else ''})"
                if e.until_snapshot_id != e.snapshot_id else "")
        who = _t(person_text(e.changed_by))
        lines.append(head + f" version {e.version_id}{span}" + (f"  by {who}" if who else ""))
        for ch in e.changes:
            lines.extend(change_lines(ch.path, ch.before, ch.after, s))
    return "\n".join(lines)
