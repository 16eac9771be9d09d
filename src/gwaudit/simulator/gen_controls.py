"""The generated org's controls: API keys, the scopes limits name, rate limits, token budgets and
model-access policies - who may spend, and how much. A mixin of
:class:`gwaudit.simulator.generate._Gen` (it uses its seeded helpers)."""

from __future__ import annotations

from typing import Any

UNIT_API_KEYS = 900
"""API keys per unit, ``UNIT_USER_KEYS`` of them the calling user's."""
UNIT_USER_KEYS = 100


class ControlUnits:
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
