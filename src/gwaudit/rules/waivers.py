"""Waivers: accepted exceptions, each with an owner, a justification and an expiry.

A waiver file is YAML: a list of entries, or ``{waivers: [...]}``. Each entry has ``rule_id``,
exactly one of ``resource_id`` (matched against the finding's resource id or its identity key)
or ``resource_name`` (an fnmatch glob on the resource name), ``justification``, ``owner`` and
``expires`` (a date - valid through the end of that day, UTC - or a timestamp). Entries are
numbered from 1 in messages and in ``waiver:<n>`` resource ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, Iterable, Optional

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from ..errors import ConfigError
from ..timeutil import UTC, format_ts, parse_date_or_ts
from .engine_rules import ENGINE_RULE_IDS
from .loader import read_yaml

_HINT = "see README, 'Waivers', for the format of a waiver file"


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rule_id: str
    resource_id: Optional[str] = None
    resource_name: Optional[str] = None
    justification: str
    owner: str
    expires: Any

    @field_validator("rule_id", "justification", "owner")
    @classmethod
    def _text(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value.strip()

    @field_validator("resource_id", "resource_name", mode="before")
    @classmethod
    def _scalar(cls, value: Any) -> Any:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        return value


@dataclass(frozen=True)
class Waiver:
    index: int
    """Position in the file, counting from 1."""
    rule_id: str
    resource_id: Optional[str]
    resource_name: Optional[str]
    justification: str
    owner: str
    expires: datetime
    """The last instant the waiver applies."""
    expires_text: str
    """``expires`` as written (a date stays a date)."""

    def active(self, when: datetime) -> bool:
        return when <= self.expires

    def matches(self, rule_id: str, resource_id: str, resource_name: str | None, identity: str) -> bool:
        if rule_id != self.rule_id:
            return False
        if self.resource_id is not None:
            return self.resource_id in (resource_id, identity)
        return fnmatchcase(resource_name or "", self.resource_name or "")

    @property
    def target(self) -> str:
        """How the entry names its resource, for messages."""
        if self.resource_id is not None:
            return f"resource_id {self.resource_id!r}"
        return f"resource_name {self.resource_name!r}"

    @property
    def resource_key(self) -> str:
        """Identity of the entry itself (for the fingerprints of GW-WAIVER-* findings): independent
        of its position in the file."""
        return f"{self.rule_id}|{'id' if self.resource_id is not None else 'name'}:" \
               f"{self.resource_id if self.resource_id is not None else self.resource_name}"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"index": self.index, "rule_id": self.rule_id}
        if self.resource_id is not None:
            out["resource_id"] = self.resource_id
        else:
            out["resource_name"] = self.resource_name
        out.update(justification=self.justification, owner=self.owner, expires=self.expires_text)
        return out


def _expiry(value: Any) -> tuple[datetime, str, bool]:
    """(last instant it applies, text as written, given as a date)."""
    if isinstance(value, datetime):
        when = value if value.tzinfo else value.replace(tzinfo=UTC)
        return when.astimezone(UTC), format_ts(when), False
    if isinstance(value, date):
        return parse_date_or_ts(value.isoformat()), value.isoformat(), True
    if isinstance(value, str) and value.strip():
        text = value.strip()
        try:
            return parse_date_or_ts(text), text, len(text) == 10
        except ValueError:
            pass
    raise ValueError(f"{value!r} is not a date (2026-12-31) or an RFC 3339 timestamp")


def _one_year_after(when: datetime) -> datetime:
    try:
        return when.replace(year=when.year + 1)
    except ValueError:  # 29 February
        return when.replace(year=when.year + 1, day=28)


def parse_waivers(data: Any, taken_at: datetime, *, source: str = "waivers") -> list[Waiver]:
    """Validate waiver entries (already parsed from YAML) against a snapshot taken at ``taken_at``."""


    if data is None:
        return []
    if isinstance(data, dict) and set(data) == {"waivers"}:
        data = data["waivers"] or []
    if not isinstance(data, list):
        raise ConfigError(f"{source}: expected a list of waivers (or a mapping with the single key 'waivers')",
                          hint=_HINT)
    engine_ids = ENGINE_RULE_IDS
    limit = _one_year_after(taken_at)
    out: list[Waiver] = []
    for n, raw in enumerate(data, start=1):
        rid = raw.get("rule_id") if isinstance(raw, dict) else None
        where = f"{source}: waiver #{n}" + (f" (rule_id {rid})" if rid else "")

        def fail(field: str, msg: str) -> ConfigError:
            return ConfigError(f"{where}: {field}: {msg}", hint=_HINT)

        if not isinstance(raw, dict):
            raise ConfigError(f"{where}: expected a mapping with rule_id, resource_id or resource_name, "
                              "justification, owner, expires", hint=_HINT)
        try:
            entry = _Entry.model_validate(raw)
        except ValidationError as exc:
            err = exc.errors(include_url=False)[0]
            field = ".".join(str(p) for p in err["loc"]) or "(entry)"
            msg = {"extra_forbidden": "unknown key", "missing": "missing (required)"}.get(
                err["type"], str(err["msg"]).removeprefix("Value error, "))
            raise fail(field, msg) from None
        if (entry.resource_id is None) == (entry.resource_name is None):
            raise fail("resource_id", "give exactly one of resource_id or resource_name (a glob)")
        if entry.rule_id in engine_ids:
            raise fail("rule_id", f"{entry.rule_id} findings are about the waiver file itself and cannot be waived")
        try:
            expires, text, is_date = _expiry(entry.expires)
        except ValueError as exc:
            raise fail("expires", str(exc)) from None
        too_late = (date.fromisoformat(text[:10]) > limit.date()) if is_date else expires > limit
        if too_late:
            raise fail("expires", f"{text} is more than a year after the snapshot was taken "
                                  f"({format_ts(taken_at)}); waivers must be reviewed at least yearly")
        out.append(Waiver(n, entry.rule_id, entry.resource_id, entry.resource_name, entry.justification,
                          entry.owner, expires, text))
    return out


def load_waivers(path: Path | str, taken_at: datetime) -> list[Waiver]:
    """Read and validate a waiver file for a snapshot taken at ``taken_at``."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"waiver file {path} does not exist",
                          hint="fix --waivers or [waivers] file in the configuration file")
    return parse_waivers(read_yaml(path), taken_at, source=str(path))


def resolve_waivers(waivers: Path | str | Iterable[Any] | None, taken_at: datetime) -> list[Waiver]:
    """Accept a path, parsed entries, ready :class:`Waiver` objects, or nothing."""
    if waivers is None:
        return []
    if isinstance(waivers, (str, Path)):
        return load_waivers(waivers, taken_at)
    items = list(waivers)
    if all(isinstance(w, Waiver) for w in items):
        return items
    return parse_waivers(items, taken_at)

