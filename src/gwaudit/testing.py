"""Helpers for tests (ours and users'): build snapshot folders and databases from Python data.

    sid = store_snapshot(db, {"api_keys": [...], "governance_config": {...}}, taken_at=...)

Families not given are stored as collected and empty (``ok``, no items) unless listed in
``failed`` or ``unavailable``; a singleton family not given gets the API's defaults.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable
from uuid import uuid4

from . import families as fam
from .snapshot import FamilyStatus, FolderWriter, load_folder
from .timeutil import parse_ts

if TYPE_CHECKING:
    from .db import Database

DEFAULT_GOVERNANCE = {"require_pricing_for_mappings": False, "default_model_access": "allow",
                      "require_routing_policy": False}


def body_for(family: fam.Family, items: Any) -> Any:
    if family.shape == "array":
        return list(items)
    if family.shape == "envelope":
        if isinstance(items, dict):
            return items
        body: dict[str, Any] = {family.items_key or "items": list(items)}
        if family.name == "user_models":
            body["model_count"] = len(body["models"])
        if family.name == "routing_rules":
            body["conflicts"] = []
        return body
    return items


def write_folder(root: Path | str, data: dict[str, Any], *, taken_at: datetime | str,
                 failed: Iterable[str] = (), unavailable: Iterable[str] = (),
                 base_url: str = "https://example.platform.barndoor.ai/api/llm-gateway",
                 org_id: str | None = "00000000-0000-4000-8000-000000000001") -> Path:
    """Write a snapshot folder. Per-item families take ``{query_json: items}`` or a list of
    ``(query, items)`` pairs; or they are derived: pricing history from the pricing lists (one
    version per rule), routing rules empty per policy."""
    root = Path(root)
    when = parse_ts(taken_at) if isinstance(taken_at, str) else taken_at
    failed, unavailable = set(failed), set(unavailable)
    writer = FolderWriter(root)
    for family in fam.FAMILIES:
        name = family.name
        if name in failed:
            writer.set_status(name, FamilyStatus(status="failed", http_status=503, error="simulated failure"))
            continue
        if name in unavailable:
            writer.set_status(name, FamilyStatus(status="unavailable", http_status=404, error="not found"))
            continue
        if family.per_item:
            for query, items in _per_item_bodies(family, data):
                raw = json.dumps(body_for(family, items)).encode()
                writer.add_body(name, raw, query=query, item_count=len(items))
            writer.set_status(name, FamilyStatus(status="ok", http_status=200))
            continue
        default: Any = DEFAULT_GOVERNANCE if family.shape == "object" else []
        items = data.get(name, default)
        raw = json.dumps(body_for(family, items)).encode()
        count = 1 if family.shape == "object" else len(family.items_of(body_for(family, items)))
        writer.add_body(name, raw, item_count=count)
        writer.set_status(name, FamilyStatus(status="ok", http_status=200))
    writer.finish(taken_at=when, base_url=base_url, org_id=org_id)
    return root


def _per_item_bodies(family: fam.Family, data: dict[str, Any]) -> list[tuple[dict[str, str], list[Any]]]:
    given = data.get(family.name)
    if isinstance(given, dict):
        return [(json.loads(k), v) for k, v in given.items()]
    if isinstance(given, list) and given and isinstance(given[0], tuple):
        return list(given)
    out: list[tuple[dict[str, str], list[Any]]] = []
    seen: set[str] = set()
    assert family.query is not None
    for parent in family.parents:
        for item in data.get(parent, []):
            query = family.query(item)
            key = json.dumps(query, sort_keys=True)
            if key in seen:
                continue
            seen.add(key)
            if family.name == "model_pricing_history":
                version = {k: v for k, v in item.items()
                           if k not in ("scheduled_count", "version_count", "next_scheduled_effective_from")}
                out.append((query, [version]))
            else:
                out.append((query, []))
    return out


def store_snapshot(db: "Database | Path | str", data: dict[str, Any], *, taken_at: datetime | str,
                   folder: Path | str | None = None, **kw: Any) -> int:
    """Write ``data`` as a snapshot folder and store it; returns the snapshot id."""
    from .db import Database
    from .db.ingest import store_folder

    db = Database.of(db)
    root = Path(folder) if folder else db.path.parent / f"snapshot-{uuid4().hex[:8]}"
    write_folder(root, data, taken_at=taken_at, **kw)
    return store_folder(db, load_folder(root), source="import").snapshot_id
