"""Shared mapping concepts (``concepts.yaml``): what several rules test alike, and the control
mappings every one of them carries for it.

A concept names the aspect ("an enabled route the gateway cannot price"), the mappings that aspect
is evidence for, and the rules that test it. The catalog test asserts that each of those rules maps
(at least) to the concept's controls, so one aspect is never mapped four different ways.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Mapping

from ..errors import ConfigError
from .catalog import FRAMEWORK_KEYS

CONCEPTS_FILE = Path(__file__).resolve().parent / "concepts.yaml"


@dataclass(frozen=True)
class Concept:
    name: str
    description: str
    mappings: Mapping[str, tuple[str, ...]]
    """framework key -> control ids."""
    why: Mapping[tuple[str, str], str]
    """(framework, control id) -> why a rule testing this concept is evidence for that control."""
    rules: tuple[str, ...]


@lru_cache(maxsize=1)
def load_concepts(path: Path = CONCEPTS_FILE) -> dict[str, Concept]:
    from ..rules.loader import read_yaml

    data = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of concept name to concept")
    out = {}
    for name, spec in data.items():
        where = f"{path}: {name}"
        if not isinstance(spec, dict) or set(spec) != {"description", "mappings", "rules"}:
            raise ConfigError(f"{where}: expected exactly description, mappings and rules")
        mappings: dict[str, tuple[str, ...]] = {}
        why: dict[tuple[str, str], str] = {}
        for fw, items in (spec["mappings"] or {}).items():
            if fw not in FRAMEWORK_KEYS:
                raise ConfigError(f"{where}.mappings: unknown framework {fw!r}")
            ids = []
            for item in items:
                if not isinstance(item, dict) or set(item) != {"id", "why"}:
                    raise ConfigError(f"{where}.mappings.{fw}: each item is {{id, why}}")
                ids.append(str(item["id"]))
                why[(fw, str(item["id"]))] = str(item["why"])
            mappings[fw] = tuple(ids)
        rules = spec["rules"]
        if not isinstance(rules, list) or not rules or len(set(rules)) != len(rules):
            raise ConfigError(f"{where}.rules: a non-empty list of distinct rule ids")
        out[str(name)] = Concept(str(name), " ".join(str(spec["description"]).split()), mappings, why,
                                 tuple(str(r) for r in rules))
    return out
