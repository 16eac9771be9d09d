"""The org's governance settings (``GET /admin/governance``)."""

from __future__ import annotations

from typing import Any

from tests.factories.ids import DROP


def governance(**kw: Any) -> dict[str, Any]:
    """Pricing required for new mappings, model access denied by default, no routing policy required.
    Overrides replace or add settings; ``DROP`` leaves one out (the API's documented default applies)."""
    body = {"require_pricing_for_mappings": True, "default_model_access": "deny", "require_routing_policy": False,
            **kw}
    return {k: v for k, v in body.items() if v is not DROP}
