"""Small rule files and fixtures for the engine's tests (independent of the built-in catalog)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from gwaudit.rules import Rule, load_rules
from gwaudit.testing import store_snapshot
from tests.factories.ids import NOW
from tests.factories.keys import api_key
from tests.factories.providers import provider

TAKEN = NOW

# Keys older than $max_age_days (from created_at to the snapshot's taken_at).
KEY_AGE_SQL = """
SELECT id AS resource_id, name AS resource_name,
       'key ' || name || ' is ' || date_diff('day', created_at, $now) || ' days old (limit '
         || $max_age_days || ')' AS message,
       created_at, date_diff('day', created_at, $now) AS age_days
FROM api_keys
WHERE revoked_at IS NULL AND date_diff('day', created_at, $now) > $max_age_days
"""

NO_EXPIRY_SQL = """
SELECT id AS resource_id, name AS resource_name, 'key ' || name || ' never expires' AS message
FROM api_keys WHERE expires_at IS NULL AND revoked_at IS NULL
"""

PROVIDER_SQL = """
SELECT id AS resource_id, name AS resource_name, 'provider ' || name || ' is disabled' AS message
FROM providers WHERE enabled = false
"""


def chosen(folder: Path, *patterns: str) -> list[Rule]:
    """The rules of ``folder`` matching ``patterns`` (as ``--only``), as a whole catalog: an
    audit with them is stored as the snapshot's audit (an ``only=`` selection would be partial,
    and a partial audit is not stored)."""
    from gwaudit.rules.engine import select_rules

    return select_rules(catalog(folder), patterns)


def catalog(folder: Path) -> list[Rule]:
    """The rules of ``folder`` plus the engine's own, without the built-in catalog (whose contents
    these tests must not depend on)."""
    return load_rules([folder], builtin=False)


def rule_dict(rule_id: str, sql: str, **fields: Any) -> dict[str, Any]:
    d: dict[str, Any] = {
        "id": rule_id,
        "title": f"Test rule {rule_id}",
        "severity": "high",
        "families": ["api_keys"],
        "description": "What the rule checks.",
        "risk": "Why it matters.",
        "remediation": "How to fix it.",
        "references": ["https://docs.barndoor.ai/"],
        "frameworks": {"soc2": ["CC6.1"], "iso27001": ["A.5.17"]},
        "sql": sql,
    }
    d.update(fields)
    return {k: v for k, v in d.items() if v is not None}


def write_rule(folder: Path, rule_id: str, sql: str = NO_EXPIRY_SQL, *, name: str | None = None,
               **fields: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (name or f"{rule_id}.yaml")
    path.write_text(yaml.safe_dump(rule_dict(rule_id, sql, **fields), sort_keys=False))
    return path


def standard_rules(folder: Path) -> Path:
    """Three rules: T-AGE-001 (high, params), T-EXP-001 (critical), T-PRV-001 (low, providers)."""
    write_rule(folder, "T-AGE-001", KEY_AGE_SQL, params={"max_age_days": 90})
    write_rule(folder, "T-EXP-001", NO_EXPIRY_SQL, severity="critical")
    write_rule(folder, "T-PRV-001", PROVIDER_SQL, severity="low", families=["providers"],
               frameworks={"nist_800_53": ["CM-6"]})
    return folder


def org(**extra: Any) -> dict[str, Any]:
    """An org where T-AGE-001 fires on k-old, T-EXP-001 on k-forever, T-PRV-001 on p-off (short
    explicit ids, so the engine's tests read like the findings they expect)."""
    data = {
        "api_keys": [api_key("old ci key", id="k-old", created_at="2026-01-05T00:00:00Z"),
                     api_key("new key", id="k-new", created_at="2026-11-01T00:00:00Z"),
                     api_key("forever", id="k-forever", created_at="2026-11-20T00:00:00Z", expires_at=None)],
        "providers": [provider("openai-prod", id="p-on"), provider("legacy", id="p-off", enabled=False)],
    }
    data.update(extra)
    return data


def snapshot(db: Path, data: dict[str, Any] | None = None, taken_at: str = TAKEN, **kw: Any) -> int:
    return store_snapshot(db, org() if data is None else data, taken_at=taken_at, **kw)
