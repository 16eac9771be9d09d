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
from .catalog import ALIASES, CREDENTIALS, GROUPS, MODELS, PROVIDERS, ROLES, TEAMS, WILDCARDS
from .dataset import Dataset, dumps

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_UUID_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_UUID_SET = (0x4000 << 64) | (0x8000 << 48)  # version 4, RFC 4122 variant

UNIT_API_KEYS = 900
UNIT_USER_KEYS = 100
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


class _Gen:
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

    def credentials(self, admins: list[dict[str, str]], suffix: str) -> list[dict[str, Any]]:
        out = []
        for slug, name, auth, base_url, settings, stores, _cat in CREDENTIALS:
            cid = self.uuid()
            created = self.rng.uniform(200, 700)
            updated = created if self.chance(0.35) else self.rng.uniform(1, created)  # some never rotated
            out.append({"id": cid, "org_id": self.org_id, "name": name + suffix, "model_provider": slug,
                        "auth_type": auth, "base_url": base_url, "settings": dict(settings),
                        "secret_path": f"orgs/{self.org_id}/connections/{cid}",
                        "key_last4": "".join(self.rng.choices("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghjkmnpqrstuvwxyz23456789", k=4))
                        if stores else None,
                        "stores_key_material": stores, "created_at": self.ts(created), "updated_at": self.ts(updated),
                        **self.attribution(admins[0])})
        self.lists["credentials"] += out
        return out

    def providers(self, admins, suffix, creds) -> list[dict[str, Any]]:
        out = []
        for i, (slug, name, cred_i, auth, base_url, catalog) in enumerate(PROVIDERS):
            pid = self.uuid()
            cred = creds[cred_i] if cred_i is not None else None
            enabled = not (i == 4 and self.chance(0.3))
            health = "unverified" if slug in ("bedrock", "azure_openai") else "healthy"
            enforce = True
            if i == 3 and self.chance(0.4):
                health, enforce = "unhealthy", False  # bad: serves although the probe fails
            not_metered = slug == "custom"
            created = self.rng.uniform(150, 600)
            out.append({
                "id": pid, "org_id": self.org_id, "name": name + suffix, "model_provider": slug,
                "auth_type": cred["auth_type"] if cred else auth, "base_url": cred["base_url"] if cred else base_url,
                "enabled": enabled, "settings": dict(cred["settings"]) if cred else {},
                "connection_id": cred["id"] if cred else None,
                "catalog_id": self.uuid() if catalog else None, "catalog_slug": catalog,
                "secret_path": cred["secret_path"] if cred else f"orgs/{self.org_id}/providers/{pid}",
                "enforce_health_check": enforce, "health_status": health,
                "health_detail": "401 Unauthorized from upstream /models" if health == "unhealthy" else None,
                "health_checked_at": self.ts(self.rng.uniform(0.001, 0.05)) if health != "unverified" else None,
                "billing_mode": "not_metered" if not_metered else "per_token",
                "billing_reason": "local" if not_metered else None,
                "billing_note": "GPU cluster paid by the platform team" if not_metered else None,
                "model_sync_mode": ("off", "additive", "full")[i % 3],
                "request_timeout_secs": 1800 if i == 2 else None, "stream_idle_timeout_secs": None,
                "created_at": self.ts(created), "updated_at": self.ts(self.rng.uniform(0.01, created)),
                **self.attribution(admins[i % len(admins)])})
        self.lists["providers"] += out
        return out

    # ------------------------------------------------------------ pricing

    def version(self, admin, *, pattern, provider_slug, provider, catalog, price, effective, source, sync,
                reason, archived=False) -> dict[str, Any]:
        inp, outp = price
        return {"id": self.uuid(), "org_id": self.org_id, "model_pattern": pattern, "model_provider": provider_slug,
                "provider_id": provider["id"] if provider else None,
                "provider_name": provider["name"] if provider else None, "catalog_slug": catalog,
                "input_cost_per_million_tokens": inp, "output_cost_per_million_tokens": outp,
                "cache_read_cost_per_million_tokens": round(inp / 10, 4) if self.chance(0.5) else None,
                "cache_write_cost_per_million_tokens": round(inp * 1.25, 4) if provider_slug == "anthropic" else None,
                "long_context": {"threshold_prompt_tokens": 200000, "input_cost_per_million_tokens": inp * 2,
                                 "output_cost_per_million_tokens": outp * 1.5}
                if pattern.endswith("sonnet-4-5") else None,
                "effective_from": effective, "sync_mode": sync, "change_source": source, "change_reason": reason,
                "created_by_user_id": admin["id"], "created_by_email": admin["email"],
                "created_by_name": admin["name"], "is_archived": archived}

    def price(self) -> tuple[float, float]:
        inp = round(self.rng.choice((0.05, 0.1, 0.15, 0.4, 0.8, 1.1, 2.0, 2.5, 3.0, 5.0, 10.0, 15.0)), 4)
        return inp, round(inp * self.rng.choice((2, 4, 5, 8)), 4)

    def pricing(self, admins, providers, pfx) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """30 live rules (3 versions each) and 10 archived rules (2 versions); returns
        (rule row, current version) pairs for route pricing."""
        candidates = [(pi, m) for pi in range(5) for m in MODELS[pi]]
        self.rng.shuffle(candidates)
        live: list[tuple[int, str]] = [(pi, stem + "*") for pi, stem in WILDCARDS] + candidates[:27]
        archived = candidates[27:37]
        out = []
        for k, (pi, model) in enumerate(live):
            p = providers[pi]
            instance = k % 7 == 3  # some rules priced for one provider instance
            generic = k % 11 == 5  # some org-wide (provider-unscoped)
            slug = None if generic else p["model_provider"]
            common = dict(pattern=pfx + model, provider_slug=slug, provider=p if instance else None,
                          catalog=None if (generic or instance) else p["catalog_slug"])
            admin = admins[k % len(admins)]
            sync = self.rng.choice(("pinned", "pinned", "tracking", "auto"))
            v1 = self.version(admin, **common, price=self.price(), effective=self.ts(self.rng.uniform(200, 500)),
                              source=self.rng.choice(("admin_create", "import")), sync=sync, reason=None)
            v2 = self.version(admin, **common, price=self.price(), effective=self.ts(self.rng.uniform(20, 190)),
                              source="sync_auto" if sync == "auto" else "admin_edit", sync=sync,
                              reason="vendor price change")
            scheduled = self.chance(0.25)
            v3 = self.version(admin, **common, price=self.price(),
                              effective=self.ts(-self.rng.uniform(5, 60) if scheduled else self.rng.uniform(1, 19)),
                              source="admin_schedule" if scheduled else "sync_manual", sync=sync,
                              reason="negotiated discount" if scheduled else "synced from defaults")
            current = v2 if scheduled else v3
            row = {**current, "scheduled_count": 1 if scheduled else 0, "version_count": 3,
                   "next_scheduled_effective_from": v3["effective_from"] if scheduled else None}
            self.lists["model_pricing"].append(row)
            self.history.append((fam.get("model_pricing_history").query(row), [v3, v2, v1]))
            out.append((row, current))
        for k, (pi, model) in enumerate(archived):
            p = providers[pi]
            admin = admins[k % len(admins)]
            common = dict(pattern=pfx + model, provider_slug=p["model_provider"], provider=None,
                          catalog=p["catalog_slug"])
            price = self.price()
            v1 = self.version(admin, **common, price=price, effective=self.ts(self.rng.uniform(200, 500)),
                              source="admin_create", sync="pinned", reason=None)
            tomb = self.version(admin, **common, price=price, effective=self.ts(self.rng.uniform(2, 150)),
                                source="admin_archive", sync="pinned", reason="Archived by admin", archived=True)
            row = {**tomb, "scheduled_count": 0, "version_count": 2, "next_scheduled_effective_from": None}
            self.lists["model_pricing_archived"].append(row)
            self.history.append((fam.get("model_pricing_history").query(row), [tomb, v1]))
        return out

    def defaults(self, providers, pfx) -> dict[tuple[str, str], dict[str, Any]]:
        out = {}
        pool = [(pi, m) for pi in range(5) for m in MODELS[pi]]
        for pi, model in self.rng.sample(pool, 60):
            inp, outp = self.price()
            slug = providers[pi]["catalog_slug"]
            entry = {"id": self.uuid(), "provider_slug": slug, "model_name": pfx + model,
                     "model_pattern": pfx + model, "input_cost_per_million_tokens": inp,
                     "output_cost_per_million_tokens": outp, "currency": "USD", "source": f"{slug} price sheet 2026-07"}
            if self.chance(0.6):
                entry["cache_read_cost_per_million_tokens"] = round(inp / 10, 4)
            self.lists["model_pricing_defaults"].append(entry)
            out[(providers[pi]["id"], pfx + model)] = entry
        return out

    def effective_pricing(self, provider, upstream, rules, defaults) -> dict[str, Any]:
        if provider["billing_mode"] == "not_metered":
            return _pricing("not_metered", None)
        best = None
        for row, current in rules:
            pattern = row["model_pattern"]
            if not (pattern == upstream or (pattern.endswith("*") and upstream.startswith(pattern[:-1]))):
                continue
            if row["provider_id"]:
                rank, source = (0, "org_instance") if row["provider_id"] == provider["id"] else (9, "")
            elif row["model_provider"] == provider["model_provider"]:
                rank, source = 1, "org_catalog"
            elif row["model_provider"] is None:
                rank, source = 2, "org_generic"
            else:
                continue
            if rank < 9 and (best is None or rank < best[0]):
                best = (rank, source, current)
        if best:
            return _pricing(best[1], best[2])
        default = defaults.get((provider["id"], upstream))
        if default:
            return _pricing("barndoor_default", default, rule_id=False)
        return _pricing("none", None)

    # ------------------------------------------------------------ routes

    def route(self, admin, provider, alias, upstream, *, priority, bare, pricing, enabled=True,
              retired=False) -> dict[str, Any]:
        return {"id": self.uuid(), "provider_id": provider["id"], "provider_name": provider["name"],
                "provider_auth_type": provider["auth_type"], "model_alias": alias, "upstream_model": upstream,
                "enabled": enabled, "priority": priority, "retry_on_429_count": self.rng.choice((0, 0, 1, 2, 3, 8)),
                "retry_on_429_max_wait_secs": self.rng.choice((0, 10, 30, 60, 180)), "bare_alias": bare,
                "source": "custom" if provider["model_provider"] == "custom" else "catalog",
                "auto_disabled_reason": "catalog_retired" if retired else None,
                "stream_idle_timeout_secs": 30, "request_timeout_secs": self.rng.choice((120, 120, 600, None)),
                "max_concurrent_requests": self.rng.choice((None, None, None, 50, 200)),
                "created_at": self.ts(self.rng.uniform(5, 140)), "budget_status": None,
                "route_health_status": None,
                "stale_status": {"reason": "catalog_removed"} if retired else None,
                "effective_pricing": pricing, **self.attribution(admin, modified=False)}

    def routes(self, admins, providers, pfx, rules, defaults):
        one_to_one: list[dict[str, Any]] = []
        for pi, p in enumerate(providers):
            for model in MODELS[pi]:
                upstream = pfx + model
                retired = p["model_sync_mode"] == "full" and self.chance(0.08)
                enabled = not retired and not self.chance(0.04)
                one_to_one.append(self.route(admins[0], p, upstream, upstream, priority=0, bare=False,
                                             pricing=self.effective_pricing(p, upstream, rules, defaults),
                                             enabled=enabled, retired=retired))
        chat = [r for r in one_to_one if r["enabled"] and "embed" not in r["upstream_model"]]
        custom: list[dict[str, Any]] = []
        aliases: list[str] = []
        for name in ALIASES:
            alias = pfx + name
            n_routes = self.rng.choice((1, 2, 2, 3, 3))
            for prio, target in enumerate(self.rng.sample(chat, n_routes)):
                p = next(p for p in providers if p["id"] == target["provider_id"])
                custom.append(self.route(admins[1], p, alias, target["upstream_model"], priority=prio, bare=True,
                                         pricing=target["effective_pricing"]))
            aliases.append(alias)
        routes = one_to_one + custom
        self.lists["model_routes"] += routes
        return routes, aliases

    def route_health(self, routes, providers) -> None:
        by_id = {p["id"]: p for p in providers}
        enabled = [r for r in routes if r["model_alias"] == r["upstream_model"] and r["enabled"]]
        for k, r in enumerate(enabled):
            p = by_id[r["provider_id"]]
            state = "ejected" if k % 20 == 7 else "half_open" if k % 30 == 12 else "healthy"  # ~5% / ~3%
            eject = self.rng.randint(5, 240) if state == "ejected" else 0
            transitions = [] if state == "healthy" else [
                {"from": "healthy", "to": "ejected", "reason": "rolling_failures", "window_secs": 60,
                 "age_secs": eject + 60}] + ([{"from": "ejected", "to": "half_open", "reason": "cooldown_elapsed",
                                              "window_secs": 60, "age_secs": 15}] if state == "half_open" else [])
            self.lists["route_health"].append({
                "provider_id": p["id"], "provider_name": p["name"], "model_provider": p["model_provider"],
                "upstream_model": r["upstream_model"],
                "consecutive_failures": self.rng.randint(5, 12) if state == "ejected" else self.rng.choice((0, 0, 1)),
                "multiplier": 4 if state == "ejected" else 1, "eject_remaining_secs": eject,
                "in_flight": self.rng.randint(0, 40) if state != "ejected" else 0,
                "concurrency_cap": self.rng.choice((50, 100, 200)), "recent_transitions": transitions,
                "state": state, "cooldown_reason": "rolling_failures" if state != "healthy" else None})
            if state == "ejected":
                r["route_health_status"] = {"state": "suspended", "reason": "provider_errors", "scope": "all_users",
                                            "recovers_in_secs": eject,
                                            "message": f"route suspended after repeated upstream errors; retry in {eject}s"}

    # ------------------------------------------------------------ keys

    def api_keys(self, admins, users, groups) -> list[dict[str, Any]]:
        out = []
        rnd = self.rng.random
        for k in range(UNIT_API_KEYS + UNIT_USER_KEYS):
            caller = k >= UNIT_API_KEYS
            roll = self.rng.random()
            kind = "user" if caller or roll < 0.55 else "machine" if roll < 0.9 else "agent_session"
            user_id = self.caller if caller else (users[int(rnd() * len(users))] if kind == "user" else None)
            group = groups[int(rnd() * len(groups))] if kind == "machine" and rnd() < 0.6 else None
            created = 0.5 + 699.5 * rnd()
            if kind == "agent_session":
                expires = self.ts(created - 1)
            elif rnd() < 0.25:
                expires = None  # bad: never expires
            else:
                expires = self.ts(created - (30, 90, 180, 365, 730)[int(rnd() * 5)])
            revoked = self.ts(created * rnd()) if rnd() < 0.08 else None
            disabled = self.ts(created * rnd()) if not revoked and rnd() < 0.03 else None
            use = rnd()
            last_used = None if use < 0.15 else self.ts(min(created, 91 + 309 * rnd())) if use < 0.3 \
                else self.ts(min(created, 7 * rnd()))
            name = (f"{self.caller_email.split('@')[0]} key {k - UNIT_API_KEYS + 1}" if caller
                    else f"{group or kind} key {k + 1}")
            out.append({"id": self.uuid(), "org_id": self.org_id,
                        "created_by_user_id": self.caller if caller else (user_id or admins[k % len(admins)]["id"]),
                        "name": name, "key_prefix": "bd-%05x" % self.rng.getrandbits(20), "scopes": [],
                        "kind": kind, "user_id": user_id, "group_name": group, "expires_at": expires,
                        "revoked_at": revoked, "disabled_at": disabled, "last_used_at": last_used,
                        "created_at": self.ts(created)})
        self.lists["api_keys"] += out
        docs_fields = ("id", "org_id", "created_by_user_id", "name", "key_prefix", "scopes", "created_at", "user_id",
                       "group_name", "expires_at", "revoked_at")
        self.lists["user_api_keys"] += [{f: key[f] for f in docs_fields} for key in out[UNIT_API_KEYS:]]
        return out[:UNIT_API_KEYS]

    # ------------------------------------------------------------ controls

    def scopes(self, u, keys, users, groups, roles, org_count: int, kinds: tuple[str, ...]):
        """Distinct (scope_type, scope_id, scope_value) identities, cycling through ``kinds``;
        ``org_count`` org-wide scopes first, in unit 0 only (one org per org)."""
        machine = [k for k in keys if k["kind"] == "machine"] or keys
        pools = {"group": [(None, g) for g in groups], "role": [(None, r) for r in roles],
                 "api_key": [(k["id"], None) for k in self.rng.sample(machine, min(12, len(machine)))],
                 "user": [(x, None) for x in self.rng.sample(users, 12)],
                 "team": [(self.uuid(), None) for _ in range(4)], "project": [(self.uuid(), None) for _ in range(4)]}
        for _ in range(org_count if u == 0 else 0):
            yield "org", None, None
        i = 0
        while any(pools[k] for k in kinds):
            kind = kinds[i % len(kinds)]
            i += 1
            if pools[kind]:
                sid, value = pools[kind].pop()
                yield kind, sid, value
        raise RuntimeError("scope pools exhausted")  # pragma: no cover - sizes are fixed above

    def rate_limits(self, u, admins, providers, aliases, keys, users, groups, roles) -> None:
        scopes = self.scopes(u, keys, users, groups, roles, 2, ("group", "api_key", "user", "role", "team",
                                                               "project", "api_key", "user"))
        traffic = ["all", "llm"]
        for k in range(30):
            if k == 29:
                stype, sid, value = ("llm_provider", providers[0]["id"], None)  # bad: never matches anything
            else:
                stype, sid, value = next(scopes)
            rpm = self.rng.choice((None, 60, 120, 600, 1200, 6000))
            tpm = self.rng.choice((100000, 1000000, 20000000)) if rpm is None or self.chance(0.5) else None
            target_p = providers[k % 6]["id"] if k % 9 == 4 else None
            policy = {"id": self.uuid(), "org_id": self.org_id, "name": f"{stype} limit {k + 1}",
                      "scope_type": stype, "scope_id": sid, "scope_value": value, "requests_per_minute": rpm,
                      "tokens_per_minute": tpm, "traffic_type": traffic[k % 2] if stype == "org" else "all",
                      "enabled": not self.chance(0.1), "member_of_group": None, "target_provider_id": target_p,
                      "target_upstream_model": None,
                      "target_model_alias": self.rng.choice(aliases) if k % 9 == 7 else None,
                      "target_mcp_server_id": None, **self.attribution(admins[k % 3])}
            self.lists["rate_limits"].append(policy)
            rpm_used = self.rng.randint(0, int((rpm or 0) * 1.1))
            tpm_used = self.rng.randint(0, int((tpm or 0) * 1.1))
            self.lists["rate_limit_status"].append({
                "policy": policy, "rpm_used": rpm_used, "rpm_limit": rpm or 0,
                "rpm_percentage": round(100 * rpm_used / rpm, 2) if rpm else 0.0,
                "tpm_used": tpm_used, "tpm_limit": tpm or 0,
                "tpm_percentage": round(100 * tpm_used / tpm, 2) if tpm else 0.0})

    def budgets(self, u, admins, providers, aliases, keys, users, groups, roles) -> None:
        scopes = self.scopes(u, keys, users, groups, roles, 3, ("group", "user", "api_key", "team", "project",
                                                               "role", "user", "group"))
        periods = ("monthly", "weekly", "daily")
        for k in range(40):
            stype, sid, value = next(scopes)
            period = periods[k % 3] if stype == "org" else self.rng.choice(periods + ("monthly",))
            tokens = self.rng.choice((1_000_000, 10_000_000, 50_000_000, 500_000_000))
            cost = self.rng.choice((None, 100.0, 1000.0, 25000.0))
            target = k % 8
            budget = {"id": self.uuid(), "org_id": self.org_id, "name": f"{stype} {period} budget {k + 1}",
                      "scope_type": stype, "scope_id": sid, "scope_value": value, "period": period,
                      "token_limit": tokens, "cost_limit": cost, "currency": "USD",
                      "alert_thresholds": self.rng.choice(([80, 90], [80, 90], [50, 75, 90], [])),
                      "action_on_exhaust": self.rng.choice(("block", "block", "warn", "throttle")),
                      "traffic_type": "all", "enabled": not self.chance(0.08), "member_of_group": None,
                      "target_provider_id": providers[k % 6]["id"] if target == 2 else None,
                      "target_upstream_model": None,
                      "target_model_alias": self.rng.choice(aliases) if target == 5 else None,
                      "target_mcp_server_id": None, "created_at": self.ts(self.rng.uniform(10, 300)),
                      **self.attribution(admins[k % 3])}
            self.lists["token_budgets"].append(budget)
            used = int(tokens * self.rng.choice((0.05, 0.3, 0.6, 0.85, 0.95, 1.02)))
            cost_used = round((cost or 0) * used / tokens, 2)
            self.lists["token_budget_status"].append({
                "budget": budget, "tokens_used": used, "percentage_used": round(100 * used / tokens, 2),
                "cost_used": cost_used, "cost_percentage_used": round(100 * cost_used / cost, 2) if cost else 0.0})

    def model_access(self, u, admins, providers, routes, aliases, route_groups, keys, users, groups, roles,
                     pfx) -> None:
        scopes = self.scopes(u, keys, users, groups, roles, 2, ("group", "role", "api_key", "user", "team"))
        upstreams = [r["upstream_model"] for r in routes if r["model_alias"] == r["upstream_model"]]
        for k in range(30):
            stype, sid, value = next(scopes)
            targets = []
            for _ in range(self.rng.choice((1, 1, 2, 3))):
                kind = self.rng.choice(("model_alias", "model", "provider", "provider_model", "route_group",
                                        "model_alias"))
                if kind == "model_alias":
                    targets.append({"kind": kind, "alias": self.rng.choice(aliases + [pfx + "gpt-*"])})
                elif kind == "model":
                    targets.append({"kind": kind, "model": self.rng.choice(upstreams)})
                elif kind == "provider":
                    targets.append({"kind": kind, "provider_id": self.rng.choice(providers)["id"]})
                elif kind == "provider_model":
                    r = self.rng.choice(routes)
                    targets.append({"kind": kind, "provider_id": r["provider_id"], "model": r["upstream_model"]})
                else:
                    targets.append({"kind": kind, "group_id": self.rng.choice(route_groups)["id"]})
            self.lists["model_access"].append({
                "id": self.uuid(), "org_id": self.org_id, "name": f"{stype} access {k + 1}", "scope_type": stype,
                "scope_id": sid, "scope_value": value,
                "policy_type": "denylist" if stype == "org" or self.chance(0.4) else "allowlist",
                "targets": targets, "traffic_type": self.rng.choice(("llm", "llm", "all")),
                "enabled": not self.chance(0.1), **self.attribution(admins[k % 3])})

    # ------------------------------------------------------------ aliases built on aliases

    def route_groups(self, admins, aliases, team) -> list[dict[str, Any]]:
        out = []
        for k in range(10):
            members = sorted(self.rng.sample(aliases, 0 if k == 9 else self.rng.randint(2, 6)))
            out.append({"id": self.uuid(), "org_id": self.org_id, "name": f"{team} route group {k + 1}",
                        "description": "Aliases for " + self.rng.choice(GROUPS), "model_aliases": members,
                        **self.attribution(admins[k % 3])})
        self.lists["model_route_groups"] += out
        return out

    def smart_models(self, aliases, pfx) -> list[dict[str, Any]]:
        out = []
        for k in range(5):
            slots = self.rng.sample(aliases, self.rng.choice((2, 3)))
            created = self.rng.uniform(10, 200)
            out.append({"id": self.uuid(), "org_id": self.org_id, "model_alias": f"{pfx}smart-{k + 1}",
                        "enabled": not self.chance(0.2), "determiner_model_alias": self.rng.choice(aliases),
                        "slots": [{"model_alias": a, "label": label} for a, label in zip(slots, ("fast", "deep", "max"))],
                        "context_breakpoints": [4000, 32000][: len(slots) - 1],
                        "determiner_input_max_chars": 2000, "default_slot_on_failure": 0,
                        "description": f"Smart model {k + 1}", "created_at": self.ts(created),
                        "updated_at": self.ts(self.rng.uniform(0, created))})
        self.lists["smart_models"] += out
        return out

    def routing_policies(self, aliases, pfx) -> None:
        for k in range(5):
            pid = self.uuid()
            slots = self.rng.sample(aliases, 2)
            created = self.rng.uniform(5, 100)
            self.lists["routing_policies"].append({
                "id": pid, "org_id": self.org_id, "model_alias": f"{pfx}routed-{k + 1}", "enabled": True,
                "description": None if k % 2 else "Posture-aware routing", "determiner_model_alias":
                self.rng.choice(aliases) if k % 3 else None, "determiner_prompt": None, "router_input_max_chars": 2000,
                "posture": ("savings", "balanced", "quality")[k % 3],
                "slots": [{"model_alias": a, "label": lbl, "description": None} for a, lbl in zip(slots, ("fast", "deep"))],
                "context_breakpoints": [8000], "default_slot_on_failure": 0, "created_at": self.ts(created),
                "updated_at": self.ts(self.rng.uniform(0, created))})
            rules = [{"id": self.uuid(), "policy_id": pid, "name": f"rule {j + 1}", "enabled": not self.chance(0.15),
                      "priority": j, "target_model_alias": self.rng.choice(aliases),
                      "conditions": {"min_prompt_tokens": 1000 * j, "requires_tools": j % 2 == 1},
                      "created_at": self.ts(self.rng.uniform(0, created))} for j in range(self.rng.randint(0, 5))]
            conflicts = ([{"rule_ids": [rules[0]["id"], rules[1]["id"]],
                           "reason": "overlapping conditions route to different aliases"}]
                         if len(rules) >= 2 and self.chance(0.3) else [])
            self.rules.append(({"policy_id": pid}, {"rules": rules, "conflicts": conflicts}))

    def user_models(self, routes, aliases, smart, providers) -> None:
        slug = {p["id"]: p["catalog_slug"] or p["model_provider"] for p in providers}
        primary: dict[str, list[dict[str, Any]]] = {}
        for r in routes:
            if r["enabled"]:
                primary.setdefault(r["model_alias"], []).append(r)
        out = []
        for alias, rs in primary.items():
            r = min(rs, key=lambda x: x["priority"])
            one_to_one = alias == r["upstream_model"]
            out.append({"model_alias": alias, "upstream_model": r["upstream_model"], "provider_name": r["provider_name"],
                        "provider_id": r["provider_id"],
                        "display_model": f"{slug[r['provider_id']]}/{alias}" if one_to_one else alias,
                        "is_grouped": len(rs) > 1, "model_kind": "route", "smart_slots": [], "budget_status": None})
        for s in smart:
            if s["enabled"]:
                out.append({"model_alias": s["model_alias"], "upstream_model": s["model_alias"], "provider_name": None,
                            "provider_id": None, "display_model": s["model_alias"], "is_grouped": True,
                            "model_kind": "smart",
                            "smart_slots": [{"label": x["label"], "model_alias": x["model_alias"]} for x in s["slots"]],
                            "budget_status": None})
        self.lists["user_models"] += out


def _pricing(source: str, version: dict[str, Any] | None, rule_id: bool = True) -> dict[str, Any]:
    v = version or {}
    return {"source": source, "input_cost_per_million_tokens": v.get("input_cost_per_million_tokens"),
            "output_cost_per_million_tokens": v.get("output_cost_per_million_tokens"),
            "cache_read_cost_per_million_tokens": v.get("cache_read_cost_per_million_tokens"),
            "cache_write_cost_per_million_tokens": v.get("cache_write_cost_per_million_tokens"),
            "long_context": v.get("long_context"), "pricing_rule_id": v.get("id") if rule_id and version else None}


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
