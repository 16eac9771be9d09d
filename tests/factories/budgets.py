"""Token budgets (``GET /admin/budgets``) and their usage (``GET /admin/budgets/status``)."""

from __future__ import annotations

from typing import Any

from tests.factories.ids import ORG, build, unattributed


def budget(name: str, scope_type: str = "org", **kw: Any) -> dict[str, Any]:
    """An enabled, untargeted monthly budget of 500,000,000 tokens (no spend cap) on all traffic that
    blocks when exhausted and alerts at 80% and 90%."""
    return build("budget", name, {
        "org_id": ORG, "name": name, "scope_type": scope_type, "scope_id": None, "scope_value": None,
        "period": "monthly", "token_limit": 500_000_000, "cost_limit": None, "currency": "USD",
        "alert_thresholds": [80, 90], "action_on_exhaust": "block", "traffic_type": "all", "enabled": True,
        "member_of_group": None, "target_provider_id": None, "target_upstream_model": None,
        "target_model_alias": None, "target_mcp_server_id": None, "created_at": "2026-03-10T09:00:00Z",
        **unattributed(),
    }, kw)


def budget_status(b: dict[str, Any], *, tokens_pct: float = 0.0, cost_pct: float = 0.0) -> dict[str, Any]:
    """The ``/admin/budgets/status`` entry of budget ``b`` at the given usage percentages."""
    tokens_used = int((b.get("token_limit") or 0) * tokens_pct / 100)
    cost_used = round((b.get("cost_limit") or 0) * cost_pct / 100, 2)
    return {"budget": b, "tokens_used": tokens_used, "percentage_used": tokens_pct,
            "cost_used": cost_used, "cost_percentage_used": cost_pct}
