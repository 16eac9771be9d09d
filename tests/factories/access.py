"""Model-access policies (``GET /admin/model-access``) and their targets."""

from __future__ import annotations

from typing import Any

from tests.factories.ids import ORG, build, unattributed


def access(name: str, targets: list[dict[str, Any]], policy_type: str = "allowlist", scope_type: str = "group",
           **kw: Any) -> dict[str, Any]:
    """An enabled LLM-traffic policy of ``policy_type`` over ``targets``; a group policy is scoped to
    the IdP group ``engineering``."""
    return build("access", name, {
        "org_id": ORG, "name": name, "scope_type": scope_type, "scope_id": None,
        "scope_value": "engineering" if scope_type == "group" else None, "policy_type": policy_type,
        "targets": targets, "traffic_type": "llm", "enabled": True, **unattributed(),
    }, kw)


def t_alias(alias: str) -> dict[str, Any]:
    return {"kind": "model_alias", "alias": alias}


def t_model(model: str) -> dict[str, Any]:
    return {"kind": "model", "model": model}


def t_provider(prov: dict[str, Any] | str) -> dict[str, Any]:
    """A target naming a provider (the object, or its id)."""
    return {"kind": "provider", "provider_id": prov if isinstance(prov, str) else prov["id"]}


def t_provider_model(prov: dict[str, Any] | str, model: str) -> dict[str, Any]:
    return {"kind": "provider_model", "provider_id": prov if isinstance(prov, str) else prov["id"], "model": model}


def t_group(group: dict[str, Any] | str) -> dict[str, Any]:
    """A target naming a route group (the object, or its id)."""
    return {"kind": "route_group", "group_id": group if isinstance(group, str) else group["id"]}
