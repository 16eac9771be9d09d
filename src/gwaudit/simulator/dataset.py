"""What the simulator serves: response bodies per endpoint, from a snapshot folder or a
generated org, plus lookups for the per-item and get-by-id endpoints.

List bodies are served byte for byte as stored; they are parsed only when a get-by-id or
per-provider request needs their items (once, then cached).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterable

from .. import families as fam
from ..snapshot import load_folder

Query = tuple[tuple[str, str], ...]

PER_ITEM_PARAMS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # family: (required query parameters, optional ones); empty values count as absent
    "model_pricing_history": (("model_pattern",), ("model_provider",)),
    "routing_rules": (("policy_id",), ()),
}

PRICING_COUNTERS = ("scheduled_count", "version_count", "next_scheduled_effective_from")
PROVIDER_ROUTE_HIDDEN = ("provider_name", "provider_auth_type", "created_at")
"""Fields the org-wide route list adds that ``/providers/{id}/model-mappings`` leaves out."""


def dumps(body: Any) -> bytes:
    """Compact JSON, as the gateway (serde_json) writes it (non-ASCII escaped, which is faster)."""
    return json.dumps(body, separators=(",", ":")).encode()


def canonical_query(family: str, query: dict[str, str]) -> Query:
    required, optional = PER_ITEM_PARAMS[family]
    return tuple((k, query[k]) for k in required + optional if query.get(k))


@dataclass(frozen=True)
class Payload:
    status: int
    body: bytes


class Dataset:
    """Bodies by family, family statuses, and parsed items on demand (thread-safe)."""

    def __init__(self, *, source: str, org_id: str | None, taken_at: datetime | None,
                 statuses: dict[str, str], lists: dict[str, Payload],
                 per_item: dict[str, dict[Query, Payload]], caller_user_id: str | None = None,
                 parsed: dict[str, Any] | None = None):
        self.source = source
        self.org_id = org_id
        self.taken_at = taken_at
        self.statuses = statuses
        self.lists = lists
        self.per_item = per_item
        self.caller_user_id = caller_user_id
        self._parsed: dict[Any, Any] = dict(parsed or {})
        self._cache: dict[Any, Any] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------ construction

    @classmethod
    def from_folder(cls, path: Path | str) -> "Dataset":
        folder = load_folder(path, parse=False)
        lists: dict[str, Payload] = {}
        per_item: dict[str, dict[Query, Payload]] = {f.name: {} for f in fam.per_item()}
        for lf in folder.files:
            family = fam.get(lf.entry.family)
            payload = Payload(lf.entry.http_status, lf.path.read_bytes())
            if family.per_item:
                per_item[family.name][canonical_query(family.name, lf.entry.query)] = payload
            else:
                lists[family.name] = payload
        statuses = {name: st.status for name, st in folder.families.items()}
        caller = _caller_from(lists.get("user_api_keys"))
        return cls(source=f"snapshot folder {Path(path)}", org_id=folder.manifest.org_id,
                   taken_at=folder.manifest.taken_at, statuses=statuses, lists=lists,
                   per_item=per_item, caller_user_id=caller)

    @classmethod
    def from_bodies(cls, *, source: str, org_id: str | None, taken_at: datetime | None,
                    bodies: dict[str, Any], per_item: dict[str, Iterable[tuple[dict[str, str], Any]]],
                    unavailable: Iterable[str] = (), failed: Iterable[str] = (),
                    caller_user_id: str | None = None) -> "Dataset":
        """A dataset from Python bodies (the generated org): serialised once, kept parsed."""
        statuses = {f.name: "ok" for f in fam.FAMILIES}
        statuses.update({n: "unavailable" for n in unavailable})
        statuses.update({n: "failed" for n in failed})
        lists = {name: Payload(200, dumps(body)) for name, body in bodies.items()}
        parsed: dict[Any, Any] = {name: body for name, body in bodies.items()}
        items: dict[str, dict[Query, Payload]] = {f.name: {} for f in fam.per_item()}
        for name, entries in per_item.items():
            for query, body in entries:
                key = canonical_query(name, query)
                items[name][key] = Payload(200, dumps(body))
                parsed[(name, key)] = body
        return cls(source=source, org_id=org_id, taken_at=taken_at, statuses=statuses, lists=lists,
                   per_item=items, caller_user_id=caller_user_id, parsed=parsed)

    # ------------------------------------------------------------ lookups

    def status(self, family: str) -> str:
        return self.statuses.get(family, "failed")

    def _body(self, key: Any, payload: Payload) -> Any:
        with self._lock:
            if key not in self._parsed:
                self._parsed[key] = json.loads(payload.body)
            return self._parsed[key]

    def items(self, family: str) -> list[Any]:
        """Every item the dataset holds for ``family`` (all bodies of a per-item family)."""
        f = fam.get(family)
        if f.per_item:
            out: list[Any] = []
            for key, payload in self.per_item.get(family, {}).items():
                if payload.status == 200:
                    out.extend(f.items_of(self._body((family, key), payload)))
            return out
        payload = self.lists.get(family)
        if payload is None or payload.status != 200:
            return []
        return f.items_of(self._body(family, payload))

    def cached(self, key: Any, build: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        value = build()
        with self._lock:
            return self._cache.setdefault(key, value)

    def index(self, family: str, field: str) -> dict[str, Any]:
        return self.cached(("index", family, field), lambda: {
            str(item[field]): item for item in self.items(family) if isinstance(item, dict) and field in item})

    def pricing_versions(self) -> dict[str, dict[str, Any]]:
        """Every pricing version by id: history bodies first, then the list rows."""
        def build() -> dict[str, dict[str, Any]]:
            out: dict[str, dict[str, Any]] = {}
            for name in ("model_pricing", "model_pricing_archived"):
                for row in self.items(name):
                    out[str(row.get("id"))] = {k: v for k, v in row.items() if k not in PRICING_COUNTERS}
            for version in self.items("model_pricing_history"):
                out[str(version.get("id"))] = version
            return out
        return self.cached("pricing_versions", build)

    def provider_routes(self, provider_id: str) -> list[dict[str, Any]]:
        by_provider = self.cached("provider_routes", lambda: _group_routes(self.items("model_routes")))
        return by_provider.get(provider_id, [])

    def expected_queries(self, family: str) -> list[Query]:
        """The per-item requests a complete collection makes for ``family``."""
        f = fam.get(family)
        seen: dict[Query, None] = {}
        assert f.query is not None
        for parent in f.parents:
            if self.status(parent) != "ok":
                continue
            for item in self.items(parent):
                if isinstance(item, dict):
                    seen.setdefault(canonical_query(family, f.query(item)), None)
        return list(seen)

    def expected_requests(self) -> int:
        """GETs a full collection needs: one per list endpoint, one per per-item query."""
        return len(fam.top_level()) + sum(len(self.expected_queries(f.name)) for f in fam.per_item())



def _group_routes(routes: list[Any]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for route in routes:
        if isinstance(route, dict):
            out.setdefault(str(route.get("provider_id")), []).append(
                {k: v for k, v in route.items() if k not in PROVIDER_ROUTE_HIDDEN})
    return out


def _caller_from(payload: Payload | None) -> str | None:
    """The user the ``/user/...`` bodies belong to (their keys' ``user_id``), if any."""
    if payload is None or payload.status != 200:
        return None
    try:
        keys = json.loads(payload.body)
    except ValueError:
        return None
    for key in keys if isinstance(keys, list) else []:
        if isinstance(key, dict) and key.get("user_id"):
            return str(key["user_id"])
    return None
