"""A synthetic, internally consistent Barndoor org, scaled by ``n`` (for tests and benchmarks).

One *unit* is a team's worth of configuration: 4 credentials, 6 providers, 86 upstream
models, ~150 routes, 40 pricing rules (30 live with 3 versions, 10 archived), 60 default
prices, 30 rate limits, 40 budgets, 30 access policies, 5 smart models, 5 routing policies,
10 route groups, 1,000 API keys (100 of them the calling user's) and the user model catalog:
about 1,900 resources and 45 per-item requests. ``n`` units make one org (n=50: ~95,000
resources, ~2,250 per-item requests). Unit 0 uses plain names; unit ``u`` prefixes its model
names and aliases with ``u<u>-`` so that every identity stays unique.

Every cross-reference resolves: providers -> credentials, routes -> providers (custom aliases
-> their 1:1 row), route pricing -> pricing versions, pricing history per rule, status lists
mirror their policy lists, route health per enabled route, access targets, limit scopes and
targets, smart-model and routing-policy slots, route groups, user models -> routes, user keys
-> org keys. The configuration mixes good and bad practice (keys without expiry, old, unused
or revoked keys, ejected routes, unpriced routes, unhealthy providers with the health gate
off, ineffective rate-limit scopes, ...). Output is a function of (n, seed, taken_at).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from .. import families as fam
from ..snapshot import FamilyStatus, FolderWriter
from ..timeutil import UTC, utcnow
from .catalog import GROUPS, ROLES, TEAMS
from .dataset import Dataset, dumps
from .gen_catalog import CatalogUnits
from .gen_controls import ControlUnits

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_UUID_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_UUID_SET = (0x4000 << 64) | (0x8000 << 48)  # version 4, RFC 4122 variant

UNIT_USERS = 150


@dataclass
class GeneratedOrg:
    """A generated org: full response bodies per family and per-item request."""

    n: int
    seed: int
    taken_at: datetime
    org_id: str
    caller_user_id: str
    bodies: dict[str, Any]
    per_item: dict[str, list[tuple[dict[str, str], Any]]]
    unavailable: tuple[str, ...] = ("agent_runtime_profiles",)

    def items(self, family: str) -> list[Any]:
        f = fam.get(family)
        if f.per_item:
            return [item for _q, body in self.per_item.get(family, []) for item in f.items_of(body)]
        return f.items_of(self.bodies[family]) if family in self.bodies else []

    def resource_count(self) -> int:
        return sum(len(self.items(f.name)) for f in fam.FAMILIES)

    def request_count(self) -> int:
        """GETs a complete collection makes (list endpoints plus per-item requests)."""
        return len(fam.top_level()) + sum(len(v) for v in self.per_item.values())

    def dataset(self) -> Dataset:
        return Dataset.from_bodies(source=f"generated org (n={self.n}, seed={self.seed})", org_id=self.org_id,
                                   taken_at=self.taken_at, bodies=self.bodies, per_item=self.per_item,
                                   unavailable=self.unavailable, caller_user_id=self.caller_user_id)


class _Gen(CatalogUnits, ControlUnits):
    """Builds one org unit by unit; every list is appended in creation order."""

    def __init__(self, n: int, seed: int, taken_at: datetime):
        self.n, self.seed, self.now = n, seed, taken_at
        self._epoch = int(taken_at.timestamp())
        self._days: dict[int, str] = {}
        self.rng = random.Random(f"gwaudit-org:{seed}")
        self.org_id = self.uuid()
        self.caller = self.uuid()
        self.caller_email = "dev.caller@example.com"
        self.lists: dict[str, list[Any]] = {f.name: [] for f in fam.FAMILIES if not f.per_item}
        self.history: list[tuple[dict[str, str], Any]] = []
        self.rules: list[tuple[dict[str, str], Any]] = []

    # ------------------------------------------------------------ small helpers

    def uuid(self) -> str:
        """A random (seeded) UUIDv4, formatted without the cost of ``uuid.UUID``."""
        h = "%032x" % ((self.rng.getrandbits(128) & _UUID_CLEAR) | _UUID_SET)
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def ts(self, days_ago: float) -> str:
        """A timestamp ``days_ago`` days before taken_at (negative: in the future), whole seconds."""
        day, rem = divmod(self._epoch - int(days_ago * 86400), 86400)
        date = self._days.get(day)
        if date is None:
            date = self._days[day] = (_EPOCH + timedelta(days=day)).strftime("%Y-%m-%d")
        hours, rem = divmod(rem, 3600)
        return f"{date}T{hours:02d}:{rem // 60:02d}:{rem % 60:02d}Z"

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def attribution(self, admin: dict[str, str], modified: bool | None = None) -> dict[str, Any]:
        modified = self.chance(0.4) if modified is None else modified
        return {"created_by_user_id": admin["id"], "created_by_email": admin["email"],
                "created_by_name": admin["name"],
                "last_modified_at": self.ts(self.rng.uniform(1, 60)) if modified else None,
                "last_modified_by_user_id": admin["id"] if modified else None,
                "last_modified_by_email": admin["email"] if modified else None,
                "last_modified_by_name": admin["name"] if modified else None,
                "last_change_note": self.rng.choice(("quarterly review", "ticket OPS-1423", "rotation", None))
                if modified else None}

    # ------------------------------------------------------------ the org

    def build(self) -> GeneratedOrg:
        for u in range(self.n):
            self.unit(u)
        b = self.lists
        bodies: dict[str, Any] = {}
        for f in fam.FAMILIES:
            if f.per_item or f.name in ("agent_runtime_profiles",):
                continue
            if f.shape == "array":
                bodies[f.name] = b[f.name]
            elif f.name == "user_models":
                bodies[f.name] = {"models": b[f.name], "model_count": len(b[f.name])}
            elif f.shape == "envelope":
                bodies[f.name] = {f.items_key: b[f.name]}
        bodies["governance_config"] = {"require_pricing_for_mappings": False, "default_model_access": "allow",
                                       "require_routing_policy": False}
        return GeneratedOrg(self.n, self.seed, self.now, self.org_id, self.caller, bodies,
                            {"model_pricing_history": self.history, "routing_rules": self.rules})

    def unit(self, u: int) -> None:
        pfx = "" if u == 0 else f"u{u}-"
        team = TEAMS[u % len(TEAMS)] + ("" if u < len(TEAMS) else str(u // len(TEAMS)))
        admins = [{"id": self.uuid(), "email": f"{who}@{team}.example.com", "name": f"{who.title()} ({team})"}
                  for who in ("ops-admin", "platform-lead", "secops")]
        users = [self.uuid() for _ in range(UNIT_USERS)]
        groups = [f"{g}{'' if u == 0 else '-' + team}" for g in GROUPS]
        roles = [f"{r}{'' if u == 0 else '-' + team}" for r in ROLES]
        suffix = "" if u == 0 else f" [{team}]"

        creds = self.credentials(admins, suffix)
        providers = self.providers(admins, suffix, creds)
        rules = self.pricing(admins, providers, pfx)
        defaults = self.defaults(providers, pfx)
        routes, aliases = self.routes(admins, providers, pfx, rules, defaults)
        self.route_health(routes, providers)
        keys = self.api_keys(admins, users, groups)
        route_groups = self.route_groups(admins, aliases, team)
        self.rate_limits(u, admins, providers, aliases, keys, users, groups, roles)
        self.budgets(u, admins, providers, aliases, keys, users, groups, roles)
        self.model_access(u, admins, providers, routes, aliases, route_groups, keys, users, groups, roles, pfx)
        smart = self.smart_models(aliases, pfx)
        self.routing_policies(aliases, pfx)
        self.user_models(routes, aliases, smart, providers)


def generated_identity(seed: int = 0) -> tuple[str, str]:
    """(org id, calling user id) of every org generated with ``seed``, whatever its scale."""
    g = _Gen(1, seed, datetime(2026, 1, 1, tzinfo=UTC))
    return g.org_id, g.caller


def generate_org(n: int = 1, seed: int = 0, taken_at: datetime | None = None) -> GeneratedOrg:
    """A synthetic org of ``n`` units (n=1: ~1,900 resources; n=50: ~95,000), deterministic for
    (n, seed, taken_at). ``taken_at`` defaults to now (whole seconds)."""
    if n < 1:
        from ..errors import UsageError

        raise UsageError(f"--generate needs a scale of at least 1, got {n}")
    when = (taken_at or utcnow()).astimezone(UTC).replace(microsecond=0)
    return _Gen(n, seed, when).build()


def write_generated(n: int, folder: Path | str, seed: int = 0, taken_at: datetime | None = None) -> Path:
    """Write a generated org as a snapshot folder (the bytes the simulator would serve)."""
    org = generate_org(n, seed=seed, taken_at=taken_at)
    return write_org(org, folder, org.taken_at)


def write_org(org: GeneratedOrg, folder: Path | str, taken_at: datetime) -> Path:
    """Write ``org`` (possibly modified by the caller, e.g. a benchmark's daily changes) as a
    snapshot folder taken at ``taken_at``."""
    writer = FolderWriter(folder)
    for f in fam.FAMILIES:
        if f.name in org.unavailable:
            writer.set_status(f.name, FamilyStatus(status="unavailable", http_status=404, error="not found"))
            continue
        if f.per_item:
            for query, body in org.per_item.get(f.name, []):
                writer.add_body(f.name, dumps(body), query=query, item_count=len(f.items_of(body)))
        else:
            body = org.bodies[f.name]
            writer.add_body(f.name, dumps(body), item_count=len(f.items_of(body)))
        writer.set_status(f.name, FamilyStatus(status="ok", http_status=200))
    writer.finish(taken_at=taken_at, base_url=f"https://{org.org_id}.platform.barndoor.ai/api/llm-gateway",
                  org_id=org.org_id)
    return Path(folder)
