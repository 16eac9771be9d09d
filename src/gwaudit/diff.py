"""What changed between two snapshots: resources added, removed and modified per family, and
how the findings moved (new, resolved, resolved because the resource went, still open, newly
waived).

    from gwaudit.diff import diff_snapshots
    d = diff_snapshots(db, "previous", "latest")
    d.to_dict()        # README, "Diffs" (JSON)

How it stays fast on large snapshots: versions are content-addressed, so an unchanged resource
has the same version id in both snapshots and DuckDB drops it with one multiset difference over
the membership rows. Only the versions that differ are paired by natural identity (pricing by
rule, route health by provider and upstream model, the governance singleton, user models by
alias: :attr:`gwaudit.families.Family.identity`); a pair whose items are equal once the family's
volatile fields are removed (``stable_sha256``, hashed when a version is stored) is a volatile-only
change; only the remaining pairs are fetched, parsed and walked in Python.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import duckdb

from . import families as fam
from .db import Database, family_status, literal, resolve_snapshot, snapshot_info
from .db.layout import identity_sql, version_table
from .errors import IncompleteEvidence, UsageError
from .findings.delta import GROUPS as FINDING_GROUPS
from .findings.delta import FindingsDelta, findings_delta
from .jsonwalk import FieldChange, walk_json
from .output import jsonable

#: Attribution fields read from both versions of a changed resource (``changed_by``).
ATTRIBUTION = ("last_modified_by_email", "last_modified_by_name", "last_modified_at", "last_change_note",
               "created_by_email", "created_by_name", "change_reason", "change_source")
_LAST_MODIFIED = ATTRIBUTION[:4]
_CREATED = ("created_by_email", "created_by_name", "change_reason", "change_source")


# ---------------------------------------------------------------- results

@dataclass
class ResourceChange:
    key: str
    """The resource's natural identity as a string (``Family.identity_of``)."""
    name: str | None
    changed_by: dict[str, Any] | None = None
    changes: list[FieldChange] = field(default_factory=list)
    old_vid: int | None = field(default=None, repr=False, compare=False)
    """The version ids compared (the stored ``snapshot_changes`` keep them; not in JSON)."""
    new_vid: int | None = field(default=None, repr=False, compare=False)

    def to_dict(self, kind: str) -> dict[str, Any]:
        out: dict[str, Any] = {"key": self.key, "name": self.name}
        if kind != "removed":
            out["changed_by"] = self.changed_by
        if kind == "modified":
            out["changes"] = [c.to_dict() for c in self.changes]
        return out


@dataclass
class FamilyDiff:
    family: str
    status: str = "compared"
    """``compared`` or ``not comparable: <why>``."""
    added: list[ResourceChange] = field(default_factory=list)
    removed: list[ResourceChange] = field(default_factory=list)
    modified: list[ResourceChange] = field(default_factory=list)
    volatile_only: int = 0
    """Resources whose only changes were volatile fields (left out unless include_volatile)."""

    @property
    def compared(self) -> bool:
        return self.status == "compared"

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed or self.modified) or not self.compared

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status,
                "added": [r.to_dict("added") for r in self.added],
                "removed": [r.to_dict("removed") for r in self.removed],
                "modified": [r.to_dict("modified") for r in self.modified]}


@dataclass
class SnapshotDiff:
    old: dict[str, Any]
    new: dict[str, Any]
    families: dict[str, FamilyDiff]
    findings: FindingsDelta
    include_volatile: bool = False
    access: Any = None
    """:class:`gwaudit.access.query.AccessDrift` (who gained or lost which models), or None when
    the diff was limited to some families."""

    def to_dict(self) -> dict[str, Any]:
        return {"old": jsonable(self.old), "new": jsonable(self.new),
                "families": {name: d.to_dict() for name, d in self.families.items()},
                "findings": self.findings.to_dict(),
                **({"access": self.access.to_dict()} if self.access is not None else {}),
                "include_volatile": self.include_volatile,
                "volatile_fields": {name: list(fam.get(name).volatile) for name in self.families
                                    if fam.get(name).volatile and not self.include_volatile}}

    def incomplete_error(self) -> IncompleteEvidence | None:
        """Exit 4 when a family could not be compared (its collection failed)."""
        bad = [d for d in self.families.values() if not d.compared]
        if not bad:
            return None
        return IncompleteEvidence(
            "diff incomplete: " + "; ".join(f"{d.family} {d.status}" for d in bad),
            hint="the other families were compared; collect again, or compare with a snapshot in which "
                 "those families were collected (gwaudit snapshots shows failed families)")

    def counts(self) -> dict[str, int]:
        fams = self.families.values()
        return {"added": sum(len(d.added) for d in fams), "removed": sum(len(d.removed) for d in fams),
                "modified": sum(len(d.modified) for d in fams),
                "not_comparable": sum(1 for d in fams if not d.compared),
                **{f"findings_{g}": len(getattr(self.findings, g)) for g in FINDING_GROUPS},
                **({"access_gained": len(self.access.gained), "access_lost": len(self.access.lost)}
                   if self.access is not None else {})}


# ---------------------------------------------------------------- entry points

def diff_snapshots(db: Database | Path | str | duckdb.DuckDBPyConnection, old: str | int | None = "previous",
                   new: str | int | None = "latest", *, families: Sequence[str] | None = None,
                   include_volatile: bool = False) -> SnapshotDiff:
    """Compare snapshot ``old`` with ``new`` (ids, ``latest``, ``previous`` or dates).

    ``db`` is the database (or an open connection to it). ``families`` limits the comparison
    (default: every family); ``include_volatile`` also reports fields that change without anyone
    changing configuration (``Family.volatile``).
    """
    if isinstance(db, duckdb.DuckDBPyConnection):
        return compare(db, resolve_snapshot(db, old), resolve_snapshot(db, new), families=families,
                       include_volatile=include_volatile)
    with Database.of(db).reader() as con:
        return compare(con, resolve_snapshot(con, old), resolve_snapshot(con, new), families=families,
                       include_volatile=include_volatile)


def select_families(names: Sequence[str] | None) -> list[fam.Family]:
    if not names:
        return list(fam.FAMILIES)
    unknown = [n for n in names if n not in fam.BY_NAME]
    if unknown:
        raise UsageError(f"unknown family {', '.join(repr(n) for n in unknown)}",
                         hint="families: " + ", ".join(fam.NAMES))
    return [f for f in fam.FAMILIES if f.name in set(names)]


def compare(con: duckdb.DuckDBPyConnection, old_id: int, new_id: int, *, families: Sequence[str] | None = None,
            include_volatile: bool = False) -> SnapshotDiff:
    chosen = select_families(families)
    old_status, new_status = family_status(con, old_id), family_status(con, new_id)
    out: dict[str, FamilyDiff] = {}
    comparable = []
    for family in chosen:
        why = not_comparable(family.name, old_id, old_status.get(family.name), new_id, new_status.get(family.name))
        out[family.name] = FamilyDiff(family.name, status=f"not comparable: {why}" if why else "compared")
        if not why:
            comparable.append(family)
    if comparable and old_id != new_id:
        out.update(resource_changes(con, old_id, new_id, comparable, include_volatile=include_volatile))
    names = {f.name for f in chosen} if families else None
    findings = findings_delta(con, old_id, new_id, families=names)
    return SnapshotDiff(snapshot_info(con, old_id), snapshot_info(con, new_id), out, findings, include_volatile,
                        access=None if families else _access(con, old_id, new_id, out))


ACCESS_INPUTS = ("model_access", "model_routes", "providers", "smart_models", "model_route_groups",
                 "governance_config", "api_keys", "user_api_keys")


def _access(con: duckdb.DuckDBPyConnection, old_id: int, new_id: int, out: dict[str, FamilyDiff]) -> Any:
    """Access drift, unless an input of the access matrix could not be compared."""
    from .access.query import AccessDrift, access_drift_on

    bad = [n for n in ACCESS_INPUTS if n in out and not out[n].compared]
    if bad:
        return AccessDrift(status="not comparable: " + ", ".join(bad) + " not collected in both snapshots")
    if old_id == new_id:
        return AccessDrift()
    return access_drift_on(con, old_id, new_id)


def not_comparable(family: str, old_id: int, old: dict[str, Any] | None, new_id: int,
                   new: dict[str, Any] | None) -> str | None:
    """Why a family cannot be compared between the two snapshots, or None."""
    reasons = []
    for sid, st in ((old_id, old), (new_id, new)):
        if st is None:
            reasons.append(f"not recorded in snapshot {sid}")
        elif st["status"] == "failed":
            detail = st.get("error") or (f"HTTP {st['http_status']}" if st.get("http_status") else "error")
            reasons.append(f"collection failed in snapshot {sid} ({detail})")
    return "; ".join(reasons) or None


# ---------------------------------------------------------------- resources

def resource_changes(con: duckdb.DuckDBPyConnection, old_id: int, new_id: int, families: Sequence[fam.Family],
                     *, include_volatile: bool = False) -> dict[str, FamilyDiff]:
    """Resources added, removed and modified from ``old_id`` to ``new_id`` in ``families`` (which
    the caller has found comparable): the comparison ``gwaudit diff`` prints and the stored
    ``snapshot_changes`` hold (:mod:`gwaudit.changes`)."""
    out = {f.name: FamilyDiff(f.name) for f in families}
    if families and old_id != new_id:
        _diff_families(con, old_id, new_id, list(families), out, include_volatile)
    return out


def _diff_families(con: duckdb.DuckDBPyConnection, old_id: int, new_id: int, families: list[fam.Family],
                   out: dict[str, FamilyDiff], include_volatile: bool) -> None:
    """Two queries. The first returns the versions one snapshot holds and the other does not (a
    multiset difference of the membership rows: an unchanged resource has the same version id in
    both; a version id belongs to one family) with their identity and stable hash, reading no
    JSON. They are paired by identity here. The second fetches, by row id, the items of the added
    versions and of the pairs that differ beyond volatile fields (a scan that skips the JSON of
    every other row); only those are parsed and walked."""
    o, n = int(old_id), int(new_id)
    keys = " UNION ALL ".join(f"""
        SELECT c.d > 0 AS is_old, {literal(f.name)} AS family, v.vid, v.rowid AS rid, {identity_sql(f)} AS ident,
               v.resource_name AS name, v.stable_sha256 AS stable
        FROM c JOIN {version_table(f)} v ON v.vid = c.vid""" for f in families)
    volatile_filter = "" if include_volatile else """,
        -- one version on each side, equal apart from volatile fields: counted, not returned
        v AS (SELECT family, ident FROM x GROUP BY family, ident
              HAVING count(*) = 2 AND count_if(is_old) = 1 AND count(stable) = 2 AND min(stable) = max(stable))"""
    rows_sql = ("SELECT x.* FROM x" if include_volatile else
                "SELECT x.* FROM x ANTI JOIN v ON v.family = x.family AND v.ident = x.ident UNION ALL "
                "SELECT NULL, family, count(*), NULL, NULL, NULL, NULL FROM v GROUP BY family")
    changed = con.execute(f"""
        WITH c AS MATERIALIZED (
            SELECT vid, d, unnest(range(CAST(abs(d) AS BIGINT))) AS copy  -- a version held twice counts twice
            FROM (SELECT vid, sum(CASE WHEN snapshot_id = {o} THEN 1 ELSE -1 END) AS d FROM snapshot_resources
                  WHERE snapshot_id IN ({o}, {n}) GROUP BY vid HAVING d <> 0)),
        x AS MATERIALIZED ({keys}){volatile_filter}
        {rows_sql}""").fetchall()
    sides: dict[tuple[str, str], tuple[list[Any], list[Any]]] = {}
    for row in changed:
        if row[0] is None:  # volatile-only pairs of a family, counted in SQL
            out[row[1]].volatile_only += row[2]
            continue
        sides.setdefault((row[1], row[4]), ([], []))[0 if row[0] else 1].append(row)
    pairs: list[tuple[str, str, Any, Any]] = []  # family, ident, old row, new row
    wanted: dict[str, list[int]] = {}
    for (family, ident), (olds, news) in sides.items():
        olds.sort(key=lambda r: r[2])
        news.sort(key=lambda r: r[2])
        for i in range(max(len(olds), len(news))):
            old, new = (olds[i] if i < len(olds) else None), (news[i] if i < len(news) else None)
            same_stable = old is not None and new is not None and old[6] is not None and old[6] == new[6]
            if same_stable and not include_volatile:
                out[family].volatile_only += 1
                continue
            pairs.append((family, ident, old, new))
            for row in (old, new) if new is not None else ():
                if row is not None:
                    wanted.setdefault(family, []).append(row[3])
    attr = "[" + ", ".join(literal("$." + a) for a in ATTRIBUTION) + "]"
    names = sorted(wanted)
    items = {vid: (a, raw) for vid, a, raw in con.execute(" UNION ALL ".join(f"""
        SELECT v.vid, json_extract_string(v.raw, {attr}), v.raw
        FROM {version_table(name)} v WHERE v.rowid IN (SELECT unnest($r{i}))""" for i, name in enumerate(names)),
        {f"r{i}": wanted[name] for i, name in enumerate(names)}).fetchall()} if names else {}
    pairs.sort(key=lambda p: (p[0], (p[3] or p[2])[5] or "", p[1]))
    for family, ident, old, new in pairs:
        fd = out[family]
        name = (new or old)[5]
        if old is None:
            fd.added.append(ResourceChange(ident, name, created_by(_attr(items[new[2]][0])), new_vid=new[2]))
        elif new is None:
            fd.removed.append(ResourceChange(ident, name, old_vid=old[2]))
        else:
            (old_attr, old_raw), (new_attr, new_raw) = items[old[2]], items[new[2]]
            skip = () if include_volatile else fam.get(family).volatile
            changes = list(walk_json(json.loads(old_raw), json.loads(new_raw), skip=skip))
            if changes:
                fd.modified.append(ResourceChange(ident, name, changed_by(_attr(old_attr), _attr(new_attr)), changes,
                                                  old_vid=old[2], new_vid=new[2]))
            elif skip:
                fd.volatile_only += 1


def _attr(values: list[str | None] | None) -> dict[str, str | None]:
    return dict(zip(ATTRIBUTION, values or [None] * len(ATTRIBUTION)))


def _person(email: str | None, name: str | None, at: str | None, note: str | None) -> dict[str, Any] | None:
    if not (email or name or note):
        return None
    return {"email": email, "name": name, "at": at, "note": note}


def _version_note(a: dict[str, str | None]) -> str | None:
    reason, source = a.get("change_reason"), a.get("change_source")
    if reason and source:
        return f"{reason} ({source})"
    return reason or source


def created_by(a: dict[str, str | None]) -> dict[str, Any] | None:
    """Who created an added resource, as far as the API says."""
    if a.get("created_by_email") or a.get("created_by_name"):
        return _person(a["created_by_email"], a["created_by_name"], None, _version_note(a) or a["last_change_note"])
    return _person(a.get("last_modified_by_email"), a.get("last_modified_by_name"), a.get("last_modified_at"),
                   a.get("last_change_note") or _version_note(a))


def changed_by(old: dict[str, str | None], new: dict[str, str | None]) -> dict[str, Any] | None:
    """Who made a modification: the new version's ``last_modified_*`` when they changed with it,
    else the creator of a new version row (pricing), else unknown (None)."""
    if any(old.get(k) != new.get(k) for k in _LAST_MODIFIED):
        who = _person(new["last_modified_by_email"], new["last_modified_by_name"], new["last_modified_at"],
                      new["last_change_note"])
        if who:
            return who
    if any(old.get(k) != new.get(k) for k in _CREATED):
        return _person(new["created_by_email"], new["created_by_name"], None, _version_note(new))
    return None
