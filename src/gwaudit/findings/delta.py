"""How findings moved between two audited snapshots: the one implementation.

    from gwaudit.findings import findings_delta
    with db.reader() as con:
        d = findings_delta(con, old_id, new_id)
    d.new, d.resolved, d.not_evaluated, ...

It reads the database macro ``finding_delta`` (:mod:`gwaudit.findings.views`, where each change
is defined), so ``gwaudit diff``, ``gwaudit run``'s summary and webhook, the reports and ad-hoc
SQL (``SELECT * FROM finding_delta(3, 7)``) give the same answer, finding by finding.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

import duckdb

from ..output import jsonable

GROUPS = ("new", "resolved", "resolved_deleted", "open", "waived")
"""The lists a delta shows, in the order diffs print them; ``not_evaluated`` is shown apart."""
KEYS = ("fingerprint", "rule_id", "resource_id", "resource_name", "family", "severity", "title", "status",
        "message")


@dataclass
class FindingsDelta:
    old_id: int | None = None
    new_id: int | None = None
    status: str = "compared"
    """``compared``, or ``not comparable: <why>`` (a snapshot that was never audited)."""
    new: list[dict[str, Any]] = field(default_factory=list)
    resolved: list[dict[str, Any]] = field(default_factory=list)
    resolved_deleted: list[dict[str, Any]] = field(default_factory=list)
    open: list[dict[str, Any]] = field(default_factory=list)
    waived: list[dict[str, Any]] = field(default_factory=list)
    """Newly waived (waived in new, not waived in old)."""
    not_evaluated: list[dict[str, Any]] = field(default_factory=list)
    """Old findings whose rule was not evaluated on the new snapshot: neither resolved nor open."""
    still_waived: int = 0

    @property
    def compared(self) -> bool:
        return self.status == "compared"

    @property
    def all_resolved(self) -> list[dict[str, Any]]:
        """Resolved, whether or not the resource went with the finding."""
        return self.resolved + self.resolved_deleted

    def counts(self) -> dict[str, int]:
        return {g: len(getattr(self, g)) for g in GROUPS + ("not_evaluated",)}

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": self.status}
        for group in GROUPS + ("not_evaluated",):
            out[group] = [jsonable(f) for f in getattr(self, group)]
        return out


def audited(con: duckdb.DuckDBPyConnection, sid: int) -> bool:
    """Whether an audit of the snapshot is stored."""
    return con.execute("SELECT count(*) FROM rule_results WHERE snapshot_id = ?", [sid]).fetchone()[0] > 0


def findings_delta(con: duckdb.DuckDBPyConnection, old_id: int, new_id: int, *,
                   families: Iterable[str] | None = None) -> FindingsDelta:
    """The delta from ``old_id`` to ``new_id``; ``families`` limits it to findings of those families."""
    out = FindingsDelta(old_id, new_id)
    missing = [sid for sid in dict.fromkeys((old_id, new_id)) if not audited(con, sid)]
    if missing:
        which = " and ".join(f"snapshot {sid}" for sid in missing)
        out.status = f"not comparable: {which} not audited (run gwaudit audit --snapshot ID)"
        return out
    names = sorted(set(families)) if families is not None else None
    where = "WHERE family IN (SELECT unnest($families))" if names is not None else ""
    rows = con.execute(f"""SELECT change, {', '.join(KEYS)} FROM finding_delta($old, $new) {where}
                           ORDER BY rule_id, resource_id, fingerprint""",
                       {"old": old_id, "new": new_id, **({"families": names} if names is not None else {})}
                       ).fetchall()
    for change, *values in rows:
        if change == "still_waived":
            out.still_waived += 1
        else:
            getattr(out, change).append(dict(zip(KEYS, values)))
    return out

