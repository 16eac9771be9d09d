"""Per-route health as the gateway's circuit breaker reports it (``GET /admin/route-health``)."""

from __future__ import annotations

from typing import Any


def health(prov: dict[str, Any], upstream: str, **kw: Any) -> dict[str, Any]:
    """The health entry of ``upstream`` on provider ``prov``: healthy, no state field, nothing in flight
    (override ``state=``, ``eject_remaining_secs=``, ``consecutive_failures=``, ``recent_transitions=``)."""
    return {
        "provider_id": prov["id"], "provider_name": prov["name"], "model_provider": prov["model_provider"],
        "upstream_model": upstream, "consecutive_failures": 0, "multiplier": 1, "eject_remaining_secs": 0,
        "in_flight": 0, "concurrency_cap": 100, "recent_transitions": [], **kw,
    }


def transition(to: str, frm: str, age_secs: int, reason: str = "rolling_failures") -> dict[str, Any]:
    """One of a route's ``recent_transitions``: from state ``frm`` to ``to``, ``age_secs`` ago."""
    return {"from": frm, "to": to, "reason": reason, "window_secs": 60, "age_secs": age_secs}
