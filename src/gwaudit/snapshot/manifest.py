"""The snapshot folder's manifest: its models (:class:`Manifest`, :class:`FileEntry`,
:class:`FamilyStatus`), the format version and the :class:`Limits` on what is accepted. Shared by
the writer (:mod:`.writer`) and the reader of untrusted folders (:mod:`.reader`)."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..redact import redact
from ..timeutil import format_ts, parse_ts

FORMAT_VERSION = 1
MANIFEST = "manifest.json"

Status = Literal["ok", "failed", "unavailable"]

MB = 1 << 20
INT32 = 2**31 - 1  # the columns a manifest's numbers are stored in
INT64 = 2**63 - 1


@dataclass(frozen=True)
class Limits:
    """What gwaudit accepts from a snapshot folder (``[limits]`` in the configuration).

    The defaults are far above what a real gateway returns (the largest body of a 100,000-resource
    org is about 30 MB; API bodies nest about 6 levels deep) and far below what would exhaust a
    machine."""

    max_file_bytes: int = 64 * MB
    """One body file (and one HTTP response body when collecting)."""
    max_folder_bytes: int = 1024 * MB
    """All files of one snapshot folder together, the manifest included."""
    max_json_depth: int = 64
    """Arrays and objects nested in one body."""
    max_clock_skew_seconds: float = 300.0
    """How far in the future an imported snapshot's ``taken_at`` may be (clocks differ)."""


DEFAULT_LIMITS = Limits()


class FileEntry(BaseModel):
    model_config = ConfigDict(extra="allow")

    path: str
    family: str
    endpoint: Optional[str] = None
    query: dict[str, str] = Field(default_factory=dict)
    http_status: int = Field(default=200, ge=100, le=599)
    item_count: Optional[int] = Field(default=None, ge=0, le=INT32)
    sha256: str
    bytes: Optional[int] = Field(default=None, ge=0, le=INT64)

    @field_validator("path")
    @classmethod
    def _relative(cls, v: str) -> str:
        # one spelling per file: no absolute path, no '.', '..' or empty parts, no NUL
        parts = v.split("/")
        if v.startswith("/") or any(p in ("", ".", "..") for p in parts) or "\x00" in v or "\\" in v:
            raise ValueError("must be a relative path inside the snapshot folder, parts separated by '/' "
                             "(no '.', '..', empty part or backslash)")
        return v

    @field_validator("sha256")
    @classmethod
    def _hex(cls, v: str) -> str:
        v = v.lower().removeprefix("sha256:")
        if not re.fullmatch(r"[0-9a-f]{64}", v):
            raise ValueError("must be 64 hexadecimal characters")
        return v


class FamilyStatus(BaseModel):
    model_config = ConfigDict(extra="allow")

    status: Status
    http_status: Optional[int] = Field(default=None, ge=100, le=599)
    error: Optional[str] = None
    item_count: Optional[int] = Field(default=None, ge=0, le=INT32)
    request_count: Optional[int] = Field(default=None, ge=0, le=INT32)
    duration_ms: Optional[float] = Field(default=None, ge=0, allow_inf_nan=False)
    endpoint: Optional[str] = None

    @field_validator("error")
    @classmethod
    def _redacted(cls, v: Optional[str]) -> Optional[str]:
        return redact(v)  # an error text reaches the manifest, the database and reports


class Manifest(BaseModel):
    model_config = ConfigDict(extra="allow")

    format_version: int = Field(default=FORMAT_VERSION, ge=1)
    taken_at: datetime
    base_url: Optional[str] = None
    org_id: Optional[str] = None
    tool_version: Optional[str] = None
    families: dict[str, FamilyStatus] = Field(default_factory=dict)
    files: list[FileEntry] = Field(default_factory=list)

    @field_validator("taken_at", mode="before")
    @classmethod
    def _ts(cls, v: Any) -> Any:
        if not isinstance(v, (str, datetime)):
            raise ValueError("must be an RFC 3339 timestamp string, e.g. 2026-08-01T12:00:00Z")
        try:
            return parse_ts(v) if isinstance(v, str) else v
        except (ValueError, OverflowError) as exc:  # a year 1 with an offset overflows
            raise ValueError(str(exc) if isinstance(exc, ValueError) else f"out of range: {v!r}") from None

    def to_json(self) -> bytes:
        data = self.model_dump(mode="json", exclude_none=False)
        data["taken_at"] = format_ts(self.taken_at)
        return (json.dumps(data, indent=2, sort_keys=False) + "\n").encode()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
