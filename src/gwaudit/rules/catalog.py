"""The rule catalog an audit runs with: the shipped rules, the user's rule folders and the
engine's own rules, each rule id defined once.

Sources, in order: the rules shipped with gwaudit (origin ``builtin``), each ``--rules-dir`` /
``[rules] dirs`` folder (origin ``user``), and :mod:`gwaudit.rules.engine_rules` (origin ``engine``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from ..errors import ConfigError
from .engine_rules import engine_rules
from .loader import Rule, load_rule_file, rule_files


def builtin_rules_dir() -> Path | None:
    from ..resources import rules_dir

    try:
        return rules_dir()
    except FileNotFoundError:
        return None


def load_rules(extra_dirs: Iterable[Path | str] = (), *, builtin: bool = True, engine: bool = True) -> list[Rule]:
    """The built-in rules, plus every rule file under ``extra_dirs``, plus the engine's own rules
    (GW-WAIVER-*), sorted by id. A rule id defined twice anywhere is a ConfigError."""
    sources: list[tuple[Path, str]] = []
    if builtin:
        root = builtin_rules_dir()
        if root is not None:
            sources.append((root, "builtin"))
    for d in extra_dirs:
        d = Path(d)
        if not d.is_dir():
            raise ConfigError(f"rules directory {d} does not exist",
                              hint="fix --rules-dir or [rules] dirs in the configuration file")
        sources.append((d, "user"))
    rules: dict[str, Rule] = {}
    if engine:
        rules.update({r.id: r for r in engine_rules()})
    for root, origin in sources:
        for path in rule_files(root):
            rule = load_rule_file(path, origin=origin)
            if rule.id in rules:
                first = rules[rule.id].path or "the engine's own rules"
                raise ConfigError(f"{path}: id: {rule.id} is already defined by {first}",
                                  hint="rule ids must be unique across the built-in rules and every --rules-dir")
            rules[rule.id] = rule
    return sorted(rules.values(), key=lambda r: r.id)
