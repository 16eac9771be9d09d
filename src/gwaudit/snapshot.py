"""The snapshot folder format: ``manifest.json`` plus one file per endpoint body.

The collector writes a folder (into a private spool directory, or ``--export-dir``), the store
reads one (``import`` and ``collect`` share that path), the simulator serves one, and the
sample organisation ships as two of them. Layout::

    manifest.json
    credentials.json                   exact body of GET /admin/connections
    ...
    model_pricing_history/0001.json    one body per rule, query recorded in the manifest
    routing_rules/0001.json

A family that failed has no file; the manifest records its status and error instead.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from . import __version__
from . import families as fam
from .errors import SnapshotFormatError
from .redact import redact
from .timeutil import format_ts, parse_ts

FORMAT_VERSION = 1
MANIFEST = "manifest.json"

Status = Literal["ok", "failed", "unavailable"]


class FileEntry(BaseModel):
    model_config = ConfigDict(extra="allow")

    path: str
    family: str
    endpoint: Optional[str] = None
    query: dict[str, str] = Field(default_factory=dict)
    http_status: int = 200
    item_count: Optional[int] = None
    sha256: str
    bytes: Optional[int] = None

    @field_validator("path")
    @classmethod
    def _relative(cls, v: str) -> str:
        p = Path(v)
        if p.is_absolute() or ".." in p.parts:
            raise ValueError("must be a relative path inside the snapshot folder")
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
    http_status: Optional[int] = None
    error: Optional[str] = None
    item_count: Optional[int] = None
    request_count: Optional[int] = None
    duration_ms: Optional[float] = None
    endpoint: Optional[str] = None

    @field_validator("error")
    @classmethod
    def _redacted(cls, v: Optional[str]) -> Optional[str]:
        return redact(v)  # an error text reaches the manifest, the database and reports


class Manifest(BaseModel):
    model_config = ConfigDict(extra="allow")

    format_version: int = FORMAT_VERSION
    taken_at: datetime
    base_url: Optional[str] = None
    org_id: Optional[str] = None
    tool_version: Optional[str] = None
    families: dict[str, FamilyStatus] = Field(default_factory=dict)
    files: list[FileEntry] = Field(default_factory=list)

    @field_validator("taken_at", mode="before")
    @classmethod
    def _ts(cls, v: Any) -> Any:
        return parse_ts(v) if isinstance(v, str) else v

    def to_json(self) -> bytes:
        data = self.model_dump(mode="json", exclude_none=False)
        data["taken_at"] = format_ts(self.taken_at)
        return (json.dumps(data, indent=2, sort_keys=False) + "\n").encode()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()




def _private_dir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)


def _write_private(path: Path, data: bytes) -> None:
    """Create ``path`` owner-only (a new file: the mode is set at creation, no window)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


class FolderWriter:
    """Builds a snapshot folder body by body; :meth:`finish` writes the manifest last.

    A folder without ``manifest.json`` is incomplete by construction, so a crash while
    writing never leaves something that imports.
    """

    def __init__(self, root: Path | str):
        self.root = Path(root)
        _private_dir(self.root)
        if (self.root / MANIFEST).exists():
            raise SnapshotFormatError(f"{self.root} already holds a snapshot (manifest.json exists)",
                                      hint="choose an empty folder for --export-dir")
        self.files: list[FileEntry] = []
        self.families: dict[str, FamilyStatus] = {}
        self._counters: dict[str, int] = {}
        self._dirs: set[str] = set()

    def add_body(self, family: str, body: bytes, *, http_status: int = 200,
                 query: dict[str, str] | None = None, item_count: int | None = None,
                 endpoint: str | None = None, index: int | None = None) -> FileEntry:
        """Write one body. Per-item bodies are numbered ``index`` (default: the next number)."""
        f = fam.get(family)
        if f.per_item:
            n = self._counters[family] = max(self._counters.get(family, 0), 0) + 1
            if family not in self._dirs:
                _private_dir(self.root / family)
                self._dirs.add(family)
            rel = f"{family}/{index or n:04d}.json"
        else:
            rel = f"{family}.json"
        _write_private(self.root / rel, body)
        # model_construct: every value is produced here, so validation would only cost time
        entry = FileEntry.model_construct(path=rel, family=family, endpoint=endpoint or f.endpoint,
                                          query=dict(query or {}), http_status=http_status,
                                          item_count=item_count, sha256=sha256_bytes(body), bytes=len(body))
        self.files.append(entry)
        return entry

    def set_status(self, family: str, status: FamilyStatus) -> None:
        self.families[family] = status

    def finish(self, *, taken_at: datetime, base_url: str | None, org_id: str | None,
               tool_version: str | None = None) -> Manifest:
        manifest = Manifest(taken_at=taken_at, base_url=base_url, org_id=org_id,
                            tool_version=tool_version or f"gwaudit {__version__}",
                            families=dict(sorted(self.families.items())),
                            files=sorted(self.files, key=lambda e: e.path))
        _write_private(self.root / MANIFEST, manifest.to_json())
        return manifest


class LoadedFile:
    """One verified body file of a snapshot folder."""

    __slots__ = ("entry", "path", "items", "envelope_extra")

    def __init__(self, entry: FileEntry, path: Path, items: list[Any] | None, envelope_extra: dict[str, Any]):
        self.entry = entry
        self.path = path
        self.items = items  # None until parsed (bare arrays are parsed by the store)
        self.envelope_extra = envelope_extra

    def count(self) -> int:
        if self.items is not None:
            return len(self.items)
        if self.entry.item_count is not None:
            return self.entry.item_count
        self.items = fam.get(self.entry.family).items_of(json.loads(self.path.read_bytes()))
        return len(self.items)


class SnapshotFolder:
    """A verified snapshot folder, ready to store."""

    def __init__(self, root: Path, manifest: Manifest, manifest_sha256: str, files: list[LoadedFile],
                 families: dict[str, FamilyStatus]):
        self.root = root
        self.manifest = manifest
        self.manifest_sha256 = manifest_sha256
        self.files = files
        self.families = families

    @property
    def complete(self) -> bool:
        return all(s.status != "failed" for s in self.families.values())

    def files_of(self, family: str) -> list[LoadedFile]:
        return [f for f in self.files if f.entry.family == family]


def load_folder(root: Path | str, *, parse: bool = True) -> SnapshotFolder:
    """Read and verify a snapshot folder. Every problem names the file and how to fix it.

    Verifies: the manifest's schema, every listed file exists and matches its SHA-256, every
    body is JSON of the family's shape. With ``parse=False`` bare-array bodies are left for the
    store to parse (DuckDB does it far faster, and its errors are mapped to the file too);
    envelope and singleton bodies are always parsed here. Families the manifest does not mention and that have
    no file are recorded ``failed`` (``unavailable`` for families a tenant may lack), so that a
    hand-written folder never makes a missing family look empty.
    """
    root = Path(root)
    mpath = root / MANIFEST
    if not root.is_dir():
        raise SnapshotFormatError(f"{root} is not a folder", hint="pass the folder that holds manifest.json")
    if not mpath.is_file():
        raise SnapshotFormatError(f"{mpath} is missing",
                                  hint="a snapshot folder needs manifest.json (see README, 'Snapshot folders')")
    raw_manifest = mpath.read_bytes()
    try:
        data = json.loads(raw_manifest)
    except ValueError as exc:
        raise SnapshotFormatError(f"{mpath} is not valid JSON: {exc}") from None
    try:
        manifest = Manifest.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        raise SnapshotFormatError(f"{mpath}: field {where!r}: {first['msg']}",
                                  hint="fix the manifest (see README, 'Snapshot folders')") from None
    if manifest.format_version > FORMAT_VERSION:
        raise SnapshotFormatError(
            f"{mpath}: format_version {manifest.format_version} is newer than this gwaudit understands "
            f"({FORMAT_VERSION})", hint="upgrade gwaudit")
    for name in manifest.families:
        if name not in fam.BY_NAME:
            raise SnapshotFormatError(f"{mpath}: unknown family {name!r} in 'families'",
                                      hint=f"known families: {', '.join(fam.NAMES)}")

    loaded: list[LoadedFile] = []
    seen_paths: set[str] = set()
    for entry in manifest.files:
        if entry.family not in fam.BY_NAME:
            raise SnapshotFormatError(f"{mpath}: file {entry.path}: unknown family {entry.family!r}",
                                      hint=f"known families: {', '.join(fam.NAMES)}")
        if entry.path in seen_paths:
            raise SnapshotFormatError(f"{mpath}: file {entry.path} is listed twice")
        seen_paths.add(entry.path)
        path = root / entry.path
        if not path.is_file():
            raise SnapshotFormatError(f"{path} is listed in the manifest but missing")
        body = path.read_bytes()
        actual = sha256_bytes(body)
        if actual != entry.sha256:
            raise SnapshotFormatError(
                f"{path}: SHA-256 mismatch (manifest {entry.sha256[:12]}…, file {actual[:12]}…)",
                hint="the file changed after the manifest was written; restore it or re-export the snapshot")
        family = fam.get(entry.family)
        items: list[Any] | None = None
        extra: dict[str, Any] = {}
        if parse or family.shape != "array":
            try:
                parsed = json.loads(body)
            except ValueError as exc:
                raise SnapshotFormatError(f"{path}: not valid JSON ({exc})",
                                          hint="re-export the snapshot or fix the file") from None
            try:
                items = family.items_of(parsed)
            except ValueError as exc:
                raise SnapshotFormatError(f"{path}: {exc} (family {family.name} is a {family.shape})") from None
            if family.shape == "envelope":
                extra = {k: v for k, v in parsed.items() if k != family.items_key}
            if entry.item_count is not None and entry.item_count != len(items):
                raise SnapshotFormatError(
                    f"{path}: manifest says {entry.item_count} items, the file holds {len(items)}",
                    hint="fix item_count in manifest.json or re-export the snapshot")
        loaded.append(LoadedFile(entry, path, items, extra))

    statuses: dict[str, FamilyStatus] = {}
    for family in fam.FAMILIES:
        declared = manifest.families.get(family.name)
        files = [f for f in loaded if f.entry.family == family.name]
        if declared is not None:
            status = declared.model_copy()
            if status.status == "ok" and not files and not family.per_item:
                raise SnapshotFormatError(f"{mpath}: family {family.name} is 'ok' but has no file")
        elif files:
            status = FamilyStatus(status="ok", http_status=max(f.entry.http_status for f in files))
        elif family.per_item and any(
                (manifest.families.get(p) is not None and manifest.families[p].status == "failed")
                for p in family.parents):
            status = FamilyStatus(status="failed", error="its parent family could not be collected")
        elif family.per_item:
            # No parents, no per-item requests: fine when every parent is empty or absent.
            parents_have_items = any(f.count() for p in family.parents for f in loaded if f.entry.family == p)
            parents_ok = all(p in manifest.families or any(f.entry.family == p for f in loaded)
                             for p in family.parents)
            if parents_have_items:
                status = FamilyStatus(status="failed", error="no per-item bodies in the snapshot folder")
            elif parents_ok:
                status = FamilyStatus(status="ok")
            else:
                status = FamilyStatus(status="unavailable" if family.optional else "failed",
                                      error="not present in the snapshot folder")
        else:
            status = FamilyStatus(status="unavailable" if family.optional else "failed",
                                  error="not present in the snapshot folder")
        if status.request_count is None:
            status.request_count = len(files)
        statuses[family.name] = status
    return SnapshotFolder(root, manifest, sha256_bytes(raw_manifest), loaded, statuses)
