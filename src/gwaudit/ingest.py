"""Storing a snapshot folder: the one path shared by ``import`` and ``collect``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .snapshot import SnapshotFolder, load_folder
from .store import Store


@dataclass
class StoreResult:
    snapshot_id: int
    taken_at: Any
    resource_count: int
    families: dict[str, Any]
    drift: list[dict[str, Any]] = field(default_factory=list)

    @property
    def failed(self) -> list[str]:
        return sorted(n for n, s in self.families.items() if s["status"] == "failed")

    @property
    def unavailable(self) -> list[str]:
        return sorted(n for n, s in self.families.items() if s["status"] == "unavailable")

    @property
    def complete(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        lines = [f"stored snapshot {self.snapshot_id} taken at {self.taken_at:%Y-%m-%d %H:%M:%SZ}: "
                 f"{self.resource_count} resources in {sum(1 for s in self.families.values() if s['status'] == 'ok')}"
                 f" families ({'complete' if self.complete else 'INCOMPLETE'})"]
        for name in self.failed:
            lines.append(f"  failed: {name}: {self.families[name].get('error') or 'error'}")
        if self.unavailable:
            lines.append(f"  not offered by this tenant: {', '.join(self.unavailable)}")
        if self.drift:
            lines.append(f"  schema drift: {len(self.drift)} value(s) outside the documented schema "
                         f"(gwaudit sql \"SELECT * FROM snapshot_drift\")")
        return "\n".join(lines)


def store_folder(db: Path | str, folder: SnapshotFolder, *, source: str, wait: float = 30.0) -> StoreResult:
    from .store import family_status, snapshot_info

    store = Store(db, wait=wait)
    sid = store.write_folder(folder, source=source)
    with store.reader() as con:
        info = snapshot_info(con, sid)
        statuses = family_status(con, sid)
        drift = [dict(zip(("family", "path", "kind", "value", "resources"), r)) for r in con.execute(
            "SELECT family, path, kind, value, resources FROM snapshot_drift WHERE snapshot_id = ? "
            "ORDER BY family, path", [sid]).fetchall()]
    return StoreResult(sid, info["taken_at"], info["resource_count"], statuses, drift)


def import_folder(db: Path | str, folder: Path | str, *, wait: float = 30.0) -> StoreResult:
    """Verify and store a snapshot folder; on any error nothing is stored."""
    loaded = load_folder(folder, parse=False)
    return store_folder(db, loaded, source="import", wait=wait)
