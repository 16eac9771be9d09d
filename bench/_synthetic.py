"""A large snapshot folder for benchmarks, built from the reference's example objects.

Each example item is cloned with fresh ids (and varied names, timestamps, counters) until the
folder holds ``total`` resources spread over the families in proportion to a real org.
Used when the simulator's generator is not wanted (it is the same JSON for both sides of every
comparison, so the shape of the data matters more than its realism)."""

from __future__ import annotations

import json
import random
import uuid
from pathlib import Path

from gwaudit.testing import write_folder

EXAMPLES = Path(__file__).resolve().parents[1] / "tests" / "data" / "examples"

SHARE = {  # fraction of resources per family
    "api_keys": 0.45, "model_routes": 0.12, "route_health": 0.08, "user_models": 0.06,
    "user_api_keys": 0.05, "token_budgets": 0.04, "token_budget_status": 0.04, "rate_limits": 0.03,
    "rate_limit_status": 0.03, "model_access": 0.03, "model_pricing": 0.02, "model_pricing_defaults": 0.02,
    "providers": 0.01, "credentials": 0.01, "model_route_groups": 0.005, "smart_models": 0.005,
}
FILES = {"model_pricing_defaults": "model_pricing__defaults", "token_budget_status": "token_budgets__status",
         "rate_limit_status": "rate_limits__status"}


def _load(family: str):
    return json.loads((EXAMPLES / f"{FILES.get(family, family)}.json").read_text())


def _vary(item, rng: random.Random, i: int):
    text = json.dumps(item)
    obj = json.loads(text)
    def walk(o):
        if isinstance(o, dict):
            for k, v in list(o.items()):
                if k in ("id", "provider_id", "budget_id") and isinstance(v, str):
                    o[k] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
                elif k in ("name", "model_alias", "model_pattern") and isinstance(v, str):
                    o[k] = f"{v} {i}"
                elif isinstance(v, (dict, list)):
                    walk(v)
                elif isinstance(v, int) and not isinstance(v, bool) and k.endswith(("used", "in_flight")):
                    o[k] = rng.randint(0, 10_000)
        elif isinstance(o, list):
            for x in o:
                walk(x)
    walk(obj)
    return obj


def build(folder: Path, total: int = 100_000, seed: int = 7) -> Path:
    return write(folder, generate(total, seed))


def write(folder: Path, data: dict, taken_at: str = "2026-11-27T06:00:00Z") -> Path:
    return write_folder(folder, data, taken_at=taken_at, unavailable=["agent_runtime_profiles"])


def generate(total: int = 100_000, seed: int = 7) -> dict:
    """``{family: items}`` for :func:`gwaudit.testing.write_folder`."""
    rng = random.Random(seed)
    data = {}
    for family, share in SHARE.items():
        base = _load(family)
        if isinstance(base, dict):
            base = base.get("routes") or base.get("models")
        n = max(1, int(total * share))
        data[family] = [_vary(base[i % len(base)], rng, i) for i in range(n)]
    data["governance_config"] = _load("governance_config")
    data["model_pricing_archived"] = []
    return data


def count(folder: Path) -> int:
    manifest = json.loads((folder / "manifest.json").read_text())
    return sum(f.get("item_count") or 0 for f in manifest["files"])
