"""Builders and a two-snapshot harness for the change-control rules (rules/change_control/).

Each builder returns a plain dict shaped like /work/shared/barndoor-api/examples/ and takes keyword
overrides, so a test states only what it changes between the previous and the current snapshot.
"""

from __future__ import annotations

import copy
import uuid
from pathlib import Path
from typing import Any

from gwaudit.rules import evaluate, load_rule_file
from gwaudit.testing import store_snapshot
from tests.rulekit import rule_file

ORG = "8593dfad-de07-4701-aee3-ba0aa376afd9"
PREVIOUS, CURRENT = "2026-11-26T06:00:00Z", "2026-11-27T06:00:00Z"
ATTRIBUTION = ("created_by_email", "last_modified_at", "last_modified_by_email", "last_modified_by_name",
               "last_change_note")


def uid(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"gwaudit-diff:{name}"))


def _with(base: dict[str, Any], kw: dict[str, Any]) -> dict[str, Any]:
    out = {**base, **{a: None for a in ATTRIBUTION if a not in base}}
    out.update(kw)
    return out


def policy(name: str, policy_type: str = "allowlist", targets: list[dict] | None = None, **kw: Any) -> dict[str, Any]:
    return _with({"id": uid(f"policy:{name}"), "org_id": ORG, "name": name, "scope_type": "group",
                  "scope_id": None, "scope_value": "engineering", "policy_type": policy_type,
                  "targets": targets if targets is not None else [alias("chat-default")],
                  "traffic_type": "llm", "enabled": True, "created_by_email": "ops@example.com"}, kw)


def alias(name: str) -> dict[str, Any]:
    return {"kind": "model_alias", "alias": name}


def governance(**kw: Any) -> dict[str, Any]:
    return {"require_pricing_for_mappings": True, "default_model_access": "deny", "require_routing_policy": False,
            **kw}


def budget(name: str, **kw: Any) -> dict[str, Any]:
    return _with({"id": uid(f"budget:{name}"), "org_id": ORG, "name": name, "scope_type": "group",
                  "scope_id": None, "scope_value": "data-science", "period": "monthly", "token_limit": 300_000_000,
                  "cost_limit": 15000.0, "currency": "USD", "alert_thresholds": [80, 90],
                  "action_on_exhaust": "block", "traffic_type": "all", "enabled": True,
                  "created_at": "2026-03-10T09:00:00Z"}, kw)


def rate_limit(name: str, **kw: Any) -> dict[str, Any]:
    return _with({"id": uid(f"rl:{name}"), "org_id": ORG, "name": name, "scope_type": "group", "scope_id": None,
                  "scope_value": "data-science", "requests_per_minute": 600, "tokens_per_minute": 2_000_000,
                  "traffic_type": "all", "enabled": True}, kw)


def credential(name: str, **kw: Any) -> dict[str, Any]:
    return _with({"id": uid(f"cred:{name}"), "org_id": ORG, "name": name, "model_provider": "groq",
                  "auth_type": "bearer_api_key", "base_url": "https://api.groq.com/openai/v1", "settings": {},
                  "secret_path": f"orgs/{ORG}/connections/{uid(name)}", "key_last4": "Ab12",
                  "stores_key_material": True, "created_at": "2026-11-26T09:12:00Z",
                  "updated_at": "2026-11-26T09:12:00Z"}, kw)


def provider(name: str, **kw: Any) -> dict[str, Any]:
    return _with({"id": uid(f"prov:{name}"), "org_id": ORG, "name": name, "model_provider": "groq",
                  "auth_type": "bearer_api_key", "base_url": "https://api.groq.com/openai/v1", "enabled": True,
                  "settings": {}, "connection_id": None, "secret_path": f"orgs/{ORG}/providers/{uid(name)}",
                  "enforce_health_check": True, "health_status": "healthy", "billing_mode": "per_token",
                  "model_sync_mode": "off", "created_at": "2026-11-26T09:20:00Z"}, kw)


def edited(item: dict[str, Any], who: str = "alice@example.com", note: str | None = "CHG-1",
           **changes: Any) -> dict[str, Any]:
    """``item`` changed by ``who`` (the attribution the API writes with an update)."""
    out = copy.deepcopy(item)
    out.update(changes, last_modified_at="2026-11-26T15:00:00Z", last_modified_by_email=who,
               last_modified_by_name=who.split("@")[0].title(), last_change_note=note)
    return out


def run_pair(tmp_path: Path, rule_id: str, previous: dict[str, Any] | None, current: dict[str, Any], *,
             params: dict[str, Any] | None = None, previous_failed: tuple[str, ...] = ()):
    """Store ``previous`` (unless None) then ``current``; evaluate the rule on the current snapshot.
    Returns the engine's RuleResult (``.raw_rows()``, ``.status``, ``.note``, ``.checked``)."""
    rule = load_rule_file(rule_file(rule_id))
    n = len(list(tmp_path.iterdir()))
    db = tmp_path / f"{rule_id}-{n}.duckdb"
    if previous is not None:
        store_snapshot(db, previous, taken_at=PREVIOUS, folder=tmp_path / f"prev-{n}", failed=previous_failed)
    sid = store_snapshot(db, current, taken_at=CURRENT, folder=tmp_path / f"cur-{n}")
    return evaluate(db, sid, rule, params)


def rows_of(result) -> dict[str, dict[str, Any]]:
    assert result.status != "error", result.error
    return {r["resource_id"]: r for r in result.raw_rows()}
