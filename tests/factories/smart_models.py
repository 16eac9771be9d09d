"""Smart models (``GET /admin/smart-models``) and routing policies (``GET /admin/routing-policies``):
an alias whose requests a determiner model sends to one of several slots."""

from __future__ import annotations

from typing import Any

from tests.factories.ids import ORG, build


def smart_model(alias: str, slots: list[str], determiner: str | None = "gpt-4o-mini", **kw: Any) -> dict[str, Any]:
    """An enabled smart model choosing among ``slots`` (aliases, labelled slot0, slot1, ...); it falls
    back to slot 0 when the determiner fails."""
    return build("smart_model", alias, {
        "org_id": ORG, "model_alias": alias, "enabled": True, "determiner_model_alias": determiner,
        "slots": [{"model_alias": s, "label": f"slot{i}"} for i, s in enumerate(slots)],
        "context_breakpoints": [4000], "determiner_input_max_chars": 2000, "default_slot_on_failure": 0,
        "description": None, "created_at": "2026-06-05T10:00:00Z", "updated_at": "2026-06-05T10:00:00Z",
    }, kw)


def routing_policy(alias: str, slots: list[str], determiner: str | None = "gpt-4o-mini", **kw: Any) -> dict[str, Any]:
    """An enabled routing policy choosing among ``slots`` (unlabelled aliases); it falls back to slot 0
    when the determiner fails."""
    return build("routing_policy", alias, {
        "org_id": ORG, "model_alias": alias, "enabled": True, "description": None,
        "determiner_model_alias": determiner, "determiner_prompt": None, "router_input_max_chars": 2000,
        "posture": "balanced", "slots": [{"model_alias": s, "label": None, "description": None} for s in slots],
        "context_breakpoints": [4000], "default_slot_on_failure": 0,
        "created_at": "2026-07-25T12:00:00Z", "updated_at": "2026-07-25T12:00:00Z",
    }, kw)
