from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "tests" / "data" / "examples"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "gwaudit.duckdb"


def load_example(name: str):
    return json.loads((EXAMPLES / f"{name}.json").read_text())


# Each family of the reference's example org and the file (tests/data/examples/<stem>.json) holding it.
EXAMPLE_FILES = {
    "credentials": "credentials", "providers": "providers", "model_routes": "model_routes",
    "model_route_groups": "model_route_groups", "model_pricing": "model_pricing",
    "model_pricing_archived": "model_pricing__archived", "model_pricing_defaults": "model_pricing__defaults",
    "rate_limits": "rate_limits", "rate_limit_status": "rate_limits__status",
    "token_budgets": "token_budgets", "token_budget_status": "token_budgets__status",
    "model_access": "model_access", "smart_models": "smart_models", "routing_policies": "routing_policies",
    "governance_config": "governance_config", "route_health": "route_health", "api_keys": "api_keys",
    "user_api_keys": "user_api_keys", "user_models": "user_models",
}


def example_org() -> dict:
    """The reference's example org as ``{family: items}``."""
    return {family: load_example(stem) for family, stem in EXAMPLE_FILES.items()}


@pytest.fixture
def example_data() -> dict:
    """The reference's example org as ``{family: items}`` for gwaudit.testing.write_folder."""
    return example_org()
