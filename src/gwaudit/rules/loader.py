"""Rule files: load, validate, and refuse anything that would run differently from what it says.

A rule is one YAML file (``rules/<area>/<ID>.yaml``, or any ``*.yaml`` under a ``--rules-dir``).
Its metadata is validated by :class:`Rule`; its SQL is parsed by DuckDB's own parser when it is
loaded, so a rule that cannot run, binds an undeclared ``$param`` or reads the wall clock is a
:class:`~gwaudit.errors.ConfigError` naming the file and the field, before any snapshot is read.
"""

from __future__ import annotations

import json
import re
import threading
from datetime import date, datetime
from pathlib import Path
from typing import Any, Iterable, Literal, Optional

import duckdb
import yaml
from pydantic import (BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator,
                      model_validator)

from .. import families as fam
from ..errors import ConfigError
from ..frameworks.catalog import FRAMEWORK_KEYS as FRAMEWORKS
from ..frameworks.catalog import Catalog, active_catalog
from ..severity import SEVERITIES, Severity

ID_PATTERN = r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$"
BUILTIN_BINDINGS = frozenset({"now", "snapshot_id"})
PREVIOUS_BINDING = "previous_snapshot_id"
RESERVED_PARAMS = BUILTIN_BINDINGS | {PREVIOUS_BINDING}
PREVIOUS_SNAPSHOT = "previous_snapshot"
OFFERED_PREFIX = "offered:"
PRECONDITIONS = (PREVIOUS_SNAPSHOT, OFFERED_PREFIX + "<family>")
"""What a rule may declare in ``requires``: ``previous_snapshot`` (an earlier snapshot to compare
with; implies ``needs_previous``) and ``offered:<family>`` (an optional family this tenant offers:
not recorded ``unavailable``). When one does not hold the engine records the rule ``skip`` with
the reason: never ``pass``."""


_HINT = "see README, 'Writing a rule', for the keys of a rule file"


RuleClass = Literal["exposure", "availability", "hygiene", "change-control"]
RULE_CLASSES: dict[str, str] = {
    "exposure": "fires when enforcement is weaker than it should be (a weakening never removes a finding)",
    "availability": "fires when traffic cannot be served (a weakening of enforcement never adds a finding)",
    "hygiene": "fires on upkeep: stale, dangling or inconsistent configuration, neither side of enforcement",
    "change-control": "fires on a change between the previous snapshot and this one",
}


class Rule(BaseModel):
    """One rule: metadata, parameter defaults and the SQL that finds failing resources."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    id: str = Field(pattern=ID_PATTERN)
    title: str = Field(min_length=1)
    severity: Severity
    rule_class: Optional[RuleClass] = Field(default=None, alias="class")
    """What makes the rule fire (:data:`RULE_CLASSES`): the catalog-wide property test
    (tests/test_properties.py) checks each rule against its class. Every built-in rule has one; a
    rule of your own may leave it out."""
    families: list[str] = Field(min_length=1)
    description: str = Field(min_length=1)
    risk: str = Field(min_length=1)
    remediation: str = Field(min_length=1)
    references: list[str]
    frameworks: dict[str, list[str]]
    """framework key -> control ids. In a rule file an item is a control id, or ``{id, why}``."""
    rationale: dict[str, dict[str, str]] = Field(default_factory=dict)
    """framework key -> control id -> why this rule is evidence for that control (one line). Filled
    from the ``{id, why}`` items of ``frameworks``; a rule file may give it as a mapping instead."""
    params: dict[str, Any] = Field(default_factory=dict)
    sql: str = Field(min_length=1)
    checked_sql: Optional[str] = None
    needs_previous: bool = False
    requires: list[str] = Field(default_factory=list)
    """Preconditions (:data:`PRECONDITIONS`); ``needs_previous: true`` implies ``previous_snapshot``."""

    _path: Optional[Path] = PrivateAttr(default=None)
    _origin: str = PrivateAttr(default="builtin")
    _bindings: frozenset[str] = PrivateAttr(default=frozenset())
    _checked_bindings: frozenset[str] = PrivateAttr(default=frozenset())

    @field_validator("families")
    @classmethod
    def _known_families(cls, value: list[str]) -> list[str]:
        for name in value:
            if name not in fam.BY_NAME:
                raise ValueError(f"unknown family {name!r}; known: {', '.join(fam.NAMES)}")
        if len(set(value)) != len(value):
            raise ValueError("a family is listed twice")
        return value

    @model_validator(mode="before")
    @classmethod
    def _split_rationale(cls, data: Any) -> Any:
        """``frameworks: {soc2: [{id: CC6.1, why: ...}, CC6.3]}`` -> ids in ``frameworks``, the
        reasons in ``rationale``."""
        if not isinstance(data, dict) or not isinstance(data.get("frameworks"), dict):
            return data
        rationale = data.get("rationale", {})
        if not isinstance(rationale, dict):
            return data  # the field's own validation says what is wrong
        why: dict[Any, Any] = {fw: dict(v) if isinstance(v, dict) else v for fw, v in rationale.items()}
        frameworks: dict[Any, Any] = {}
        for fw, items in data["frameworks"].items():
            if not isinstance(items, list):
                frameworks[fw] = items
                continue
            ids = []
            for i, item in enumerate(items):
                if isinstance(item, dict):
                    if "id" not in item or set(item) - {"id", "why"}:
                        raise ValueError(f"frameworks.{fw}[{i}]: a mapping is a control id or {{id: ..., why: ...}}")
                    cid = item["id"]
                    if "why" in item:
                        mine = why.setdefault(fw, {})
                        if not isinstance(mine, dict):
                            raise ValueError(f"rationale.{fw}: expected a mapping of control id to reason")
                        if cid in mine:
                            raise ValueError(f"frameworks.{fw}[{i}]: the reason for {cid} is given twice "
                                             "(here and under rationale)")
                        mine[cid] = item["why"]
                    ids.append(cid)
                else:
                    ids.append(item)
            frameworks[fw] = ids
        return {**data, "frameworks": frameworks, "rationale": why}

    @field_validator("frameworks")
    @classmethod
    def _known_frameworks(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for key, controls in value.items():
            if key not in FRAMEWORKS:
                raise ValueError(f"unknown framework {key!r}; use {', '.join(FRAMEWORKS)}")
            if not all(isinstance(c, str) and c.strip() for c in controls):
                raise ValueError(f"{key}: every control id must be a non-empty string")
            seen = set()
            for c in controls:
                if c in seen:
                    raise ValueError(f"{key}: {c} is listed twice")
                seen.add(c)
        return value

    @model_validator(mode="after")
    def _rationale_names_mapped_controls(self) -> "Rule":
        for fw, reasons in self.rationale.items():
            for cid, why in reasons.items():
                if cid not in self.frameworks.get(fw, []):
                    raise ValueError(f"rationale.{fw}.{cid}: {cid} is not among the rule's {fw} mappings")
                if not why.strip() or "\n" in why.strip():
                    raise ValueError(f"rationale.{fw}.{cid}: the reason must be one non-empty line")
        return self

    @model_validator(mode="before")
    @classmethod
    def _previous_is_required(cls, data: Any) -> Any:
        """``needs_previous: true`` and ``requires: [previous_snapshot]`` say the same thing: each
        implies the other, so the engine decides the skip from ``requires`` alone."""
        if not isinstance(data, dict) or not isinstance(data.get("requires", []), list):
            return data
        requires = list(data.get("requires") or [])
        if data.get("needs_previous") is True and PREVIOUS_SNAPSHOT not in requires:
            requires.insert(0, PREVIOUS_SNAPSHOT)
        if PREVIOUS_SNAPSHOT in requires and "needs_previous" not in data:
            data = {**data, "needs_previous": True}
        return {**data, "requires": requires} if requires or "requires" in data else data

    @model_validator(mode="after")
    def _known_preconditions(self) -> "Rule":
        if len(set(self.requires)) != len(self.requires):
            raise ValueError("requires: a precondition is listed twice")
        for item in self.requires:
            if item == PREVIOUS_SNAPSHOT:
                if not self.needs_previous:
                    raise ValueError("requires: previous_snapshot contradicts needs_previous: false")
            elif isinstance(item, str) and item.startswith(OFFERED_PREFIX):
                name = item[len(OFFERED_PREFIX):]
                if name not in self.families:
                    raise ValueError(f"requires: {item}: {name!r} is not among the rule's families")
                if not fam.BY_NAME[name].optional:
                    raise ValueError(f"requires: {item}: {name} is not optional (every tenant offers it; "
                                     "a family that was not collected makes the rule error, never skip)")
            else:
                raise ValueError(f"requires: unknown precondition {item!r}; known: {', '.join(PRECONDITIONS)}")
        return self

    @field_validator("params")
    @classmethod
    def _param_names(cls, value: dict[str, Any]) -> dict[str, Any]:
        for name, default in value.items():
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                raise ValueError(f"{name!r} is not a valid parameter name (letters, digits, _)")
            if name in RESERVED_PARAMS:
                raise ValueError(f"{name!r} is bound by the engine; choose another name")
            if not _bindable(default):
                raise ValueError(f"{name}: default {default!r} is not a number, string, boolean, date "
                                 "or list of those")
        return value

    # -- derived -------------------------------------------------------

    @property
    def path(self) -> Optional[Path]:
        return self._path

    @property
    def origin(self) -> str:
        """``builtin`` (shipped), ``user`` (a --rules-dir) or ``engine`` (generated by the engine)."""
        return self._origin

    @property
    def is_engine(self) -> bool:
        return self._origin == "engine"

    @property
    def family(self) -> str:
        """The default family of this rule's findings."""
        return self.families[0] if self.families else "waivers"

    def bindings(self, *, checked: bool = False) -> frozenset[str]:
        """Names of the ``$parameters`` the SQL (or checked_sql) uses."""
        return self._checked_bindings if checked else self._bindings

    def describe(self, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Everything about the rule, as plain data (``rules show``, ``rules list --format json``)."""
        out = self.model_dump(mode="json", by_alias=True)
        out["params"] = {k: _plain(v) for k, v in (params if params is not None else self.params).items()}
        out["defaults"] = {k: _plain(v) for k, v in self.params.items()}
        out["origin"] = self.origin
        out["path"] = str(self.path) if self.path else None
        out["mappings"] = self.mappings()
        return out

    def why(self, framework: str, control: str) -> Optional[str]:
        """The rationale of one mapping (None when the rule gives none)."""
        return self.rationale.get(framework, {}).get(control)

    def mappings(self, catalog: Catalog | None = None) -> list[dict[str, Any]]:
        """Every mapping in framework order: ``{framework, heading, id, title, why}`` (title from
        the catalog; None for an id it does not know)."""
        catalog = catalog or active_catalog()
        out = []
        for fw in [k for k in FRAMEWORKS if k in self.frameworks]:
            framework = catalog.get(fw)
            for cid in self.frameworks[fw]:
                out.append({"framework": fw, "heading": framework.heading if framework else fw, "id": cid,
                            "title": catalog.title(fw, cid), "why": self.why(fw, cid)})
        return out


def _bindable(value: Any) -> bool:
    if value is None or isinstance(value, (bool, int, float, str, date, datetime)):
        return True
    if isinstance(value, list):
        return all(v is not None and _bindable(v) and not isinstance(v, list) for v in value)
    return False


def _plain(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


# ---------------------------------------------------------------- YAML

class _StrictLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """A safe loader (libyaml's when present) that refuses a key given twice in one mapping
    (PyYAML would keep the last)."""


def _mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"key {key!r} is given twice", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def read_yaml(path: Path) -> Any:
    """Parse a YAML file; a read or syntax error is a ConfigError naming the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {' '.join(str(exc).split())}") from None


# ---------------------------------------------------------------- SQL checks

_parser_lock = threading.Lock()
_parser: duckdb.DuckDBPyConnection | None = None

# Functions and keywords that read the wall clock. Rules must use $now (the snapshot's taken_at).
_CLOCK_FUNCTIONS = {"now", "current_timestamp", "get_current_timestamp", "transaction_timestamp",
                    "current_date", "today", "current_time", "get_current_time", "localtimestamp",
                    "localtime", "current_localtimestamp", "current_localtime"}
_CLOCK_WORDS = re.compile(r"\b(now\s*\(|current_timestamp|current_date|current_time|localtimestamp|localtime"
                          r"|get_current_timestamp|transaction_timestamp|today\s*\()", re.IGNORECASE)


def _duck() -> duckdb.DuckDBPyConnection:
    global _parser
    if _parser is None:
        from ..db.connect import in_memory

        _parser = in_memory()
    return _parser


def parse_sql(sql: str, where: str) -> frozenset[str]:
    """Check that ``sql`` is exactly one SELECT (or WITH ... SELECT) that does not read the clock;
    return the names of the ``$parameters`` it uses. ``where`` prefixes error messages."""
    with _parser_lock:
        con = _duck()
        try:
            statements = con.extract_statements(sql)
        except duckdb.Error as exc:
            raise ConfigError(f"{where}: the SQL does not parse: {first_line(exc)}", hint=_HINT) from None
        if len(statements) != 1:
            raise ConfigError(f"{where}: expected exactly one SQL statement, found {len(statements)}", hint=_HINT)
        (stmt,) = statements
        if stmt.type != duckdb.StatementType.SELECT:
            raise ConfigError(f"{where}: a rule's SQL must be a SELECT (or WITH ... SELECT), "
                              f"not {stmt.type.name}", hint=_HINT)
        clock = _clock_reads(con, sql)
    if clock:
        raise ConfigError(f"{where}: uses {clock}; use $now instead (the snapshot's taken_at): re-auditing "
                          "an old snapshot must give the same answer", hint=_HINT)
    return frozenset(stmt.named_parameters)


def _clock_reads(con: duckdb.DuckDBPyConnection, sql: str) -> str | None:
    """The first wall-clock function the statement calls, from DuckDB's parse tree."""
    try:
        tree = json.loads(con.execute("SELECT json_serialize_sql(?)", [sql]).fetchall()[0][0])
    except duckdb.Error:
        tree = {"error": True}
    if tree.get("error"):
        # The serializer does not cover every statement; fall back to the text minus literals and comments.
        text = re.sub(r"'(?:[^']|'')*'|--[^\n]*|/\*.*?\*/", " ", sql, flags=re.S)
        m = _CLOCK_WORDS.search(text)
        return re.sub(r"\s*\($", "()", m.group(1).lower()) if m else None
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            cls = node.get("class")
            if cls == "FUNCTION" and str(node.get("function_name", "")).lower() in _CLOCK_FUNCTIONS:
                found.append(node["function_name"].lower() + "()")
            elif cls == "COLUMN_REF":
                names = node.get("column_names") or []
                if len(names) == 1 and str(names[0]).lower() in _CLOCK_FUNCTIONS:
                    found.append(str(names[0]).lower())
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(tree)
    return found[0] if found else None


def first_line(exc: Exception) -> str:
    """The first non-empty line of a DuckDB error (its kind and message, without the caret lines)."""
    lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
    return lines[0] if lines else type(exc).__name__


# ---------------------------------------------------------------- loading

def _describe_error(err: dict[str, Any]) -> str:
    loc = ".".join(str(p) for p in err["loc"]) or "(file)"
    kind = err["type"]
    if kind == "extra_forbidden":
        return f"{loc}: unknown key"
    if kind == "missing":
        return f"{loc}: missing (required)"
    if kind == "literal_error" and err["loc"][:1] == ("severity",):
        return f"severity: {err.get('input')!r} is not one of {', '.join(SEVERITIES)}"
    msg = str(err["msg"]).removeprefix("Value error, ")
    return f"{loc}: {msg}"


def check_mappings(rule: Rule, catalog: Catalog, where: str) -> None:
    """Every control id the rule maps to exists in ``catalog`` and is not withdrawn; else a
    ConfigError naming ``where`` (the rule file), the rule, the framework and the id."""
    for fw, ids in rule.frameworks.items():
        for cid in ids:
            problem = catalog.problem(fw, cid)
            if problem:
                raise ConfigError(f"{where}: frameworks.{fw}: {rule.id} maps to {cid!r}: {problem}",
                                  hint="gwaudit rules show <ID> lists a rule's mappings; the catalogs are in "
                                       "gwaudit/frameworks/data/ (or [frameworks] catalog_dir)")


def load_rule_file(path: Path | str, *, origin: str = "builtin", catalog: Catalog | None = None) -> Rule:
    """Load and validate one rule file (its mapped control ids against ``catalog``, by default the
    active one: see :func:`gwaudit.frameworks.use_catalog_dir`)."""
    path = Path(path)
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a rule file must be a YAML mapping of keys (id, title, ...)", hint=_HINT)
    try:
        rule = Rule.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(_describe_error(e) for e in exc.errors(include_url=False))
        raise ConfigError(f"{path}: {problems}", hint=_HINT) from None
    check_mappings(rule, catalog or active_catalog(), str(path))
    allowed = set(rule.params) | BUILTIN_BINDINGS | ({PREVIOUS_BINDING} if rule.needs_previous else set())
    used: set[str] = set()
    for field in ("sql", "checked_sql"):
        sql = getattr(rule, field)
        if sql is None:
            continue
        names = parse_sql(sql, f"{path}: {field}")
        for name in sorted(names - allowed):
            if name == PREVIOUS_BINDING:
                raise ConfigError(f"{path}: {field}: ${name} is bound only for rules with needs_previous: true",
                                  hint=_HINT)
            raise ConfigError(f"{path}: {field}: ${name} is used but not declared under params "
                              f"(add `params: {{{name}: <default>}}`)", hint=_HINT)
        used |= names
        if field == "sql":
            rule._bindings = names
        else:
            rule._checked_bindings = names
    for name in sorted(set(rule.params) - used):
        raise ConfigError(f"{path}: params.{name}: declared but neither sql nor checked_sql uses ${name}",
                          hint=_HINT)
    rule._path = path
    rule._origin = origin
    return rule


def rule_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())


def effective_params(rules: Iterable[Rule], overrides: dict[str, dict[str, Any]] | None) -> dict[str, dict[str, Any]]:
    """Per rule id: its declared defaults updated by the configuration's ``[rules.<ID>]`` tables.

    An override for a rule that is not loaded, of a parameter the rule does not declare, or of a
    different type than the default is a ConfigError naming rule and parameter.
    """
    by_id = {r.id: r for r in rules}
    out = {r.id: dict(r.params) for r in by_id.values()}
    for rule_id, values in (overrides or {}).items():
        rule = by_id.get(rule_id)
        if rule is None:
            raise ConfigError(f"[rules.{rule_id}]: no rule with id {rule_id} is loaded",
                              hint="gwaudit rules list shows the ids; check --rules-dir and [rules] dirs")
        for name, value in values.items():
            if name not in rule.params:
                declared = ", ".join(sorted(rule.params)) or "none"
                raise ConfigError(f"[rules.{rule_id}] {name}: {rule_id} has no parameter {name!r} "
                                  f"(declared: {declared})", hint=f"gwaudit rules show {rule_id}")
            default = rule.params[name]
            if not _same_kind(default, value):
                raise ConfigError(f"[rules.{rule_id}] {name} = {value!r}: expected a value like the default "
                                  f"{default!r}", hint=f"gwaudit rules show {rule_id}")
            out[rule_id][name] = value
    return out


def _same_kind(default: Any, value: Any) -> bool:
    if default is None:
        return _bindable(value)
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(default, bool) and isinstance(value, bool)
    if isinstance(default, (int, float)):
        return isinstance(value, (int, float))
    if isinstance(default, datetime) or isinstance(default, date):
        return isinstance(value, (date, datetime))
    if isinstance(default, list):
        return isinstance(value, list) and _bindable(value)
    return isinstance(value, type(default))
