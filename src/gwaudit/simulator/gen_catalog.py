"""The generated org's catalog: credentials, providers, pricing, routes, route health, route groups,
smart models, routing policies and the user model catalog - what can be reached, and at what price.
A mixin of :class:`gwaudit.simulator.generate._Gen` (it uses its seeded helpers)."""

from __future__ import annotations

from typing import Any

from .. import families as fam
from .catalog import ALIASES, CREDENTIALS, GROUPS, MODELS, PROVIDERS, WILDCARDS


class CatalogUnits:
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
