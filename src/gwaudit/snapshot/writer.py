"""Writing a snapshot folder (the collector's spool, ``--export-dir``, generated orgs): owner-only
files, the manifest last."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from .. import __version__
from .. import families as fam
from ..errors import SnapshotFormatError
from .manifest import MANIFEST, FamilyStatus, FileEntry, Manifest, sha256_bytes


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
