"""Shared vocabulary of the sample organisation: ids, times, people, resources with history.

Everything is deterministic: ids are uuid5 of a name (re-stamped as version 4, as the API's ids
are), randomness comes from ``random.Random`` seeded with strings, and there is no wall clock.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Optional

UTC = timezone.utc
OLD = datetime(2026, 8, 28, 6, 0, tzinfo=UTC)
NEW = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)
BASE_URL = "https://northwind.platform.barndoor.ai/api/llm-gateway"
DOMAIN = "northwind.example"

_NS = uuid.UUID("0f6c1d52-8a3e-4b8e-9d11-5c2f7a9e4b30")


def uid(*parts: str) -> str:
    """A stable UUID (version 4 layout) derived from ``parts``."""
    digest = uuid.uuid5(_NS, "/".join(parts)).bytes
    return str(uuid.UUID(bytes=digest, version=4))


ORG_ID = uid("org", "northwind")


def at(text: str | datetime) -> datetime:
    """``"2026-03-02 15:04"`` (UTC) as an aware datetime."""
    if isinstance(text, datetime):
        return text
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def iso(dt: Optional[datetime]) -> Optional[str]:
    if dt is None:
        return None
    dt = dt.astimezone(UTC)
    if dt.microsecond:
        return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def rng(*parts: Any) -> random.Random:
    """A random generator seeded by ``parts`` (string seeding is stable across runs)."""
    return random.Random("|".join(str(p) for p in parts))


def days(n: float) -> timedelta:
    return timedelta(days=n)


@dataclass(frozen=True)
class Person:
    name: str
    email: str

    @property
    def id(self) -> str:
        return uid("user", self.email)

    @property
    def first(self) -> str:
        return self.name.split()[0].lower()


def person(name: str) -> Person:
    local = name.lower().replace("'", "").replace(" ", ".")
    return Person(name, f"{local}@{DOMAIN}")


PRIYA = person("Priya Raman")          # platform engineer; the admin whose token collects
DANA = person("Dana Whitfield")        # head of platform
MARCUS = person("Marcus Chen")         # security engineer
ELENA = person("Elena Sokolova")       # FinOps
TOM = person("Tom Okafor")             # ML platform
TERRAFORM = Person("Terraform (platform-infra)", f"terraform-platform@{DOMAIN}")

Change = tuple[datetime, Optional[Person], Optional[str]]


class Res:
    """A resource: created at a date by someone, changed (with a note), perhaps deleted."""

    def __init__(self, created: str | datetime, by: Person, **fields: Any):
        self.created = at(created)
        self.by = by
        self.fields = fields
        self.changes: list[tuple[datetime, Optional[Person], Optional[str], dict[str, Any]]] = []
        self.deleted: Optional[datetime] = None

    def change(self, when: str | datetime, by: Optional[Person], note: Optional[str], **fields: Any) -> "Res":
        self.changes.append((at(when), by, note, fields))
        self.changes.sort(key=lambda c: c[0])
        return self

    def delete(self, when: str | datetime) -> "Res":
        self.deleted = at(when)
        return self

    def alive(self, t: datetime) -> bool:
        return self.created <= t and (self.deleted is None or self.deleted > t)

    def state(self, t: datetime) -> dict[str, Any]:
        out = dict(self.fields)
        for when, _by, _note, fields in self.changes:
            if when <= t:
                out.update(fields)
        return out

    def last(self, t: datetime) -> Optional[Change]:
        done = [(w, b, n) for w, b, n, _ in self.changes if w <= t]
        return done[-1] if done else None

    def updated_at(self, t: datetime) -> datetime:
        last = self.last(t)
        return last[0] if last else self.created

    def attribution(self, t: datetime) -> dict[str, Any]:
        return attribution(self.by, self.last(t))


def attribution(created_by: Optional[Person], last: Optional[Change]) -> dict[str, Any]:
    """The SDK's attribution block; ``last`` is (when, who, note) of the latest change."""
    when, who, note = last if last else (None, None, None)
    return {
        "created_by_user_id": created_by.id if created_by else None,
        "created_by_email": created_by.email if created_by else None,
        "created_by_name": created_by.name if created_by else None,
        "last_modified_at": iso(when),
        "last_modified_by_user_id": who.id if who else None,
        "last_modified_by_email": who.email if who else None,
        "last_modified_by_name": who.name if who else None,
        "last_change_note": note,
    }


def alive(items: dict[str, Res], t: datetime) -> list[tuple[str, Res]]:
    """(key, resource) of the resources alive at ``t``, in creation order."""
    return sorted(((k, r) for k, r in items.items() if r.alive(t)), key=lambda kr: (kr[1].created, kr[0]))


def matches(pattern: str, value: str) -> bool:
    """Exact name or trailing ``*`` wildcard, as pricing and model-access targets use."""
    if pattern.endswith("*"):
        return value.startswith(pattern[:-1])
    return value == pattern


def key_id(label: str, generation: int = 0) -> str:
    """Id of an API key: a key "slot" (e.g. a laptop, a CI runner) rotates through generations."""
    return uid("api-key", label, str(generation))


def scoped_id(kind: str, name: str) -> str:
    """Id of an entity the admin API does not list (teams, projects, agents, MCP servers)."""
    return uid(kind, name)
