"""Reading an untrusted snapshot folder (``import``, ``collect``'s spool, the simulator, the sample
org): every path opened without following links, sizes and JSON depth bounded (:class:`Limits`),
each file's SHA-256 checked against the manifest, and the evidence checked for consistency before
anything is stored."""

from __future__ import annotations

import errno
import json
import os
import stat
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .. import families as fam
from ..errors import SnapshotFormatError
from ..rawjson import JSONRefused, loads_strict
from ..timeutil import format_ts
from .manifest import (DEFAULT_LIMITS, FORMAT_VERSION, MANIFEST, FamilyStatus, FileEntry, Limits, Manifest,
                       sha256_bytes)


class LoadedFile:
    """One verified body file of a snapshot folder: the bytes read (once), hashed and parsed."""

    __slots__ = ("entry", "path", "data", "items", "n_items", "envelope_extra")

    def __init__(self, entry: FileEntry, path: Path, data: bytes, items: list[Any] | None, n_items: int,
                 envelope_extra: dict[str, Any]):
        self.entry = entry
        self.path = path  # for messages; the store reads ``data``, never the path again
        self.data = data
        self.items = items  # None for bare arrays loaded with parse=False (the store parses them)
        self.n_items = n_items
        self.envelope_extra = envelope_extra

    def count(self) -> int:
        return self.n_items


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


# ---------------------------------------------------------------- reading an untrusted folder

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_FILE_FLAGS = (os.O_RDONLY | _NOFOLLOW | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
               | getattr(os, "O_NOCTTY", 0))
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
_LINK_HINT = ("a snapshot folder holds plain files and folders only: copy the files in "
              "(cp -L) instead of linking them")


class _FolderReader:
    """Reads files of one folder without following a symbolic link anywhere below it.

    Every path is opened one part at a time relative to the folder's descriptor, each with
    ``O_NOFOLLOW``, so no link (to a file or to a folder) is followed and no path leaves the
    folder. Only regular files are read (a FIFO or device is refused without blocking), each at
    most ``max_file_bytes``, all of them together at most ``max_folder_bytes``."""

    def __init__(self, root: Path, limits: Limits):
        self.root = root
        self.limits = limits
        self.total = 0
        try:
            self.fd = os.open(root, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0))
        except FileNotFoundError:
            raise SnapshotFormatError(f"{root} does not exist",
                                      hint="pass the folder that holds manifest.json") from None
        except NotADirectoryError:
            raise SnapshotFormatError(f"{root} is not a folder",
                                      hint="pass the folder that holds manifest.json") from None
        except OSError as exc:
            raise SnapshotFormatError(f"cannot open {root}: {exc.strerror}") from None

    def close(self) -> None:
        os.close(self.fd)

    def _refuse(self, rel: str, part_at: int, dir_fd: int, exc: OSError, name: str) -> SnapshotFormatError:
        parts = rel.split("/")
        shown = self.root / "/".join(parts[: part_at + 1])
        try:
            st = os.lstat(name, dir_fd=dir_fd)
        except OSError:
            st = None
        if st is not None and stat.S_ISLNK(st.st_mode):
            kind = "folder" if part_at < len(parts) - 1 else "file"
            return SnapshotFormatError(f"{shown} is a symbolic link; links in a snapshot folder are not followed "
                                       f"(listed {kind} of {self.root / rel})", hint=_LINK_HINT)
        if exc.errno == errno.ENOENT:
            return SnapshotFormatError(f"{self.root / rel} is listed in the manifest but missing")
        if exc.errno in (errno.ENOTDIR, errno.EISDIR):
            what = "not a folder" if part_at < len(parts) - 1 else "a folder, not a file"
            return SnapshotFormatError(f"{shown} is {what}")
        return SnapshotFormatError(f"cannot read {shown}: {exc.strerror}")

    def read(self, rel: str) -> bytes:
        parts = rel.split("/")
        fds: list[int] = []
        dir_fd = self.fd
        try:
            for n, part in enumerate(parts):
                last = n == len(parts) - 1
                try:
                    fd = os.open(part, _FILE_FLAGS if last else _DIR_FLAGS, dir_fd=dir_fd)
                except OSError as exc:
                    raise self._refuse(rel, n, dir_fd, exc, part) from None
                fds.append(fd)
                dir_fd = fd
            return self._read_fd(fds[-1], self.root / rel)
        finally:
            for fd in fds:
                os.close(fd)

    def _read_fd(self, fd: int, shown: Path) -> bytes:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise SnapshotFormatError(f"{shown} is not a regular file")
        cap = self.limits.max_file_bytes
        if st.st_size > cap:
            raise SnapshotFormatError(f"{shown} is {st.st_size:,} bytes, more than the {cap:,} bytes one file may "
                                      "hold", hint="raise [limits] max_file_bytes if the file is genuine")
        chunks: list[bytes] = []
        size = 0
        while True:  # read to the end, at most cap + 1 bytes (a file growing while read is caught)
            chunk = os.read(fd, min(1 << 20, cap + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size > cap:
                raise SnapshotFormatError(f"{shown} is more than the {cap:,} bytes one file may hold",
                                          hint="raise [limits] max_file_bytes if the file is genuine")
        self.total += size
        if self.total > self.limits.max_folder_bytes:
            raise SnapshotFormatError(
                f"{self.root}: the files listed hold more than the {self.limits.max_folder_bytes:,} bytes one "
                f"snapshot folder may hold (at {shown.name})",
                hint="raise [limits] max_folder_bytes if the folder is genuine")
        return b"".join(chunks)


PARENTS = frozenset(p for f in fam.FAMILIES for p in f.parents)
"""Families whose items decide which per-item requests a complete collection makes."""


def _parse(data: bytes, shown: Path, limits: Limits, what: str = "") -> Any:
    try:
        return loads_strict(data, max_depth=limits.max_json_depth)
    except JSONRefused as exc:
        raise SnapshotFormatError(f"{shown}: {what}{exc}", hint="re-export the snapshot or fix the file") from None


def load_folder(root: Path | str, *, parse: bool = True, limits: Limits | None = None,
                now: datetime | None = None) -> SnapshotFolder:
    """Read and verify a snapshot folder. Every problem names the file and the reason
    (:class:`SnapshotFormatError`, exit 2); nothing in the folder is trusted.

    Verifies: no symbolic link is followed and no path leaves the folder; every listed file is a
    regular file within the size limits, read once (the bytes hashed are the bytes parsed and
    stored) and matching its SHA-256 (and ``bytes`` when given); every body is strict JSON
    (:func:`gwaudit.rawjson.loads_strict`: UTF-8, nesting depth, no duplicate keys) of the
    family's shape, holding the declared ``item_count``; the evidence is consistent (see
    :func:`_statuses`); with ``now``, ``taken_at`` is not later than ``now`` plus the allowed
    clock skew. With ``parse=False`` the items of bare arrays are counted and dropped (the store
    reads them from ``data`` with DuckDB); other bodies keep their parsed items. Families the
    manifest does not mention and that have no file are recorded ``failed`` (``unavailable``
    for families a tenant may lack), so that a hand-written folder never makes a missing family
    look empty.
    """
    limits = limits or DEFAULT_LIMITS
    root = Path(root)
    reader = _FolderReader(root, limits)
    try:
        return _load(reader, root, parse, limits, now)
    finally:
        reader.close()


def _load(reader: _FolderReader, root: Path, parse: bool, limits: Limits, now: datetime | None) -> SnapshotFolder:
    mpath = root / MANIFEST
    try:
        raw_manifest = reader.read(MANIFEST)
    except SnapshotFormatError as exc:
        if "is listed in the manifest but missing" in exc.message:
            raise SnapshotFormatError(f"{mpath} is missing",
                                      hint="a snapshot folder needs manifest.json (see README, 'Snapshot folders')"
                                      ) from None
        raise
    data = _parse(raw_manifest, mpath, limits)
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
    if now is not None:
        allowed = now + timedelta(seconds=limits.max_clock_skew_seconds)
        if manifest.taken_at > allowed:
            raise SnapshotFormatError(
                f"{mpath}: taken_at {format_ts(manifest.taken_at)} is in the future (now {format_ts(now)}, "
                f"clock skew allowed {limits.max_clock_skew_seconds:g}s)",
                hint="a snapshot cannot be taken later than it is imported: fix taken_at, or the clock "
                     "([limits] max_clock_skew_seconds)")
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
        if entry.path in seen_paths or entry.path == MANIFEST:
            raise SnapshotFormatError(f"{mpath}: file {entry.path} is listed twice")
        seen_paths.add(entry.path)
        path = root / entry.path
        body = reader.read(entry.path)
        actual = sha256_bytes(body)
        if actual != entry.sha256:
            raise SnapshotFormatError(
                f"{path}: SHA-256 mismatch (manifest {entry.sha256[:12]}…, file {actual[:12]}…)",
                hint="the file changed after the manifest was written; restore it or re-export the snapshot")
        if entry.bytes is not None and entry.bytes != len(body):
            raise SnapshotFormatError(f"{path}: manifest says {entry.bytes} bytes, the file holds {len(body)}",
                                      hint="fix bytes in manifest.json or re-export the snapshot")
        family = fam.get(entry.family)
        parsed = _parse(body, path, limits)
        try:
            items: list[Any] | None = family.items_of(parsed)
        except ValueError as exc:
            raise SnapshotFormatError(f"{path}: {exc} (family {family.name} is a {family.shape})") from None
        assert items is not None
        n_items = len(items)
        extra: dict[str, Any] = {}
        if family.shape == "envelope":
            extra = {k: v for k, v in parsed.items() if k != family.items_key}
        if entry.item_count is not None and entry.item_count != n_items:
            raise SnapshotFormatError(
                f"{path}: manifest says {entry.item_count} items, the file holds {n_items}",
                hint="fix item_count in manifest.json or re-export the snapshot")
        if not parse and family.shape == "array" and family.name not in PARENTS:
            items = None  # the store parses bare arrays (DuckDB, from ``body``); free the objects now
        del parsed
        loaded.append(LoadedFile(entry, path, body, items, n_items, extra))

    statuses = _statuses(mpath, manifest, loaded)
    return SnapshotFolder(root, manifest, sha256_bytes(raw_manifest), loaded, statuses)


def _query_key(query: dict[str, Any]) -> str:
    return json.dumps(query, sort_keys=True)


def _statuses(mpath: Path, manifest: Manifest, loaded: list[LoadedFile]) -> dict[str, FamilyStatus]:
    """Each family's collection status, as declared and as the files bear out.

    Evidence is not taken on trust (a hand-edited folder may claim anything):

    - ``unavailable`` only for a family the collector treats as optional (a tenant may lack it), with
      no files, and for a per-item family only when none of its parents was collected;
    - ``ok`` for a top-level family needs its file; for a per-item family at least one body per
      distinct request its parents' items call for (the queries, when the manifest records them,
      must be those requests), and no parent that failed;
    - a family's ``item_count`` must equal the items its files hold.

    Anything else is refused (:class:`SnapshotFormatError`), so no rule is ever evaluated on a view
    emptied by a claim."""
    by_family: dict[str, list[LoadedFile]] = {}
    for lf in loaded:
        by_family.setdefault(lf.entry.family, []).append(lf)
    optional = ", ".join(f.name for f in fam.FAMILIES if f.optional)
    statuses: dict[str, FamilyStatus] = {}
    for family in fam.FAMILIES:  # parents come before their per-item families
        name = family.name
        declared = manifest.families.get(name)
        files = by_family.get(name, [])
        n_items = sum(f.n_items for f in files)
        parent_status = {p: statuses[p].status for p in family.parents}
        if declared is not None:
            status = declared.model_copy()
            if status.status == "unavailable":
                if not family.optional:
                    raise SnapshotFormatError(
                        f"{mpath}: family {name} is declared 'unavailable', but every tenant has it: only "
                        f"{optional} may be unavailable",
                        hint=f"a family that could not be collected is 'failed' (its rules report error); "
                             f"re-collect, or add {name}'s body")
                if files:
                    raise SnapshotFormatError(f"{mpath}: family {name} is declared 'unavailable' but "
                                              f"{len(files)} file(s) of it are listed")
                collected = [p for p, st in parent_status.items() if st != "unavailable"]
                if collected:
                    raise SnapshotFormatError(
                        f"{mpath}: family {name} is declared 'unavailable' but its parent family "
                        f"{collected[0]} was {parent_status[collected[0]]}",
                        hint="per-item bodies are unavailable only when the tenant lacks their parent family")
            if status.status == "ok" and not files and not family.per_item:
                raise SnapshotFormatError(f"{mpath}: family {name} is 'ok' but has no file")
            if status.status == "ok" and status.item_count is not None and status.item_count != n_items:
                raise SnapshotFormatError(
                    f"{mpath}: family {name}: manifest says {status.item_count} items, its files hold {n_items}",
                    hint="fix item_count in manifest.json or re-export the snapshot")
        elif files:
            status = FamilyStatus(status="ok", http_status=max(f.entry.http_status for f in files))
        elif family.per_item and any(st == "failed" for st in parent_status.values()):
            status = FamilyStatus(status="failed", error="its parent family could not be collected")
        elif family.per_item:
            if _expected_queries(family, by_family):
                status = FamilyStatus(status="failed", error="no per-item bodies in the snapshot folder")
            elif all(st == "unavailable" for st in parent_status.values()):
                status = FamilyStatus(status="unavailable" if family.optional else "failed",
                                      error="not present in the snapshot folder")
            else:
                status = FamilyStatus(status="ok")  # no parent item, so no request to make
        else:
            status = FamilyStatus(status="unavailable" if family.optional else "failed",
                                  error="not present in the snapshot folder")
        if family.per_item and status.status == "ok":
            _check_per_item(mpath, family, files, parent_status, by_family)
        if status.request_count is None:
            status.request_count = len(files)
        statuses[name] = status
    return statuses


def _expected_queries(family: fam.Family, by_family: dict[str, list[LoadedFile]]) -> dict[str, dict[str, str]]:
    """The distinct queries a complete collection of ``family`` makes: one per parent item."""
    assert family.query is not None
    out: dict[str, dict[str, str]] = {}
    for p in family.parents:
        for lf in by_family.get(p, []):
            for item in lf.items or []:
                if isinstance(item, dict):
                    q = family.query(item)
                    out.setdefault(_query_key(q), q)
    return out


def _check_per_item(mpath: Path, family: fam.Family, files: list[LoadedFile], parent_status: dict[str, str],
                    by_family: dict[str, list[LoadedFile]]) -> None:
    failed = [p for p, st in parent_status.items() if st == "failed"]
    if failed:
        raise SnapshotFormatError(f"{mpath}: family {family.name} is 'ok' but its parent family {failed[0]} "
                                  "failed, so its requests are not known to be complete",
                                  hint=f"mark {family.name} 'failed'")
    expected = _expected_queries(family, by_family)
    # Fewer bodies than requests is missing evidence (rules would pass on what is absent); more is
    # not refused (a hand-written folder may carry extra versions; they are stored as given).
    if len(files) < len(expected):
        raise SnapshotFormatError(
            f"{mpath}: family {family.name} is 'ok' with {len(files)} per-item bod{'y' if len(files) == 1 else 'ies'}, "
            f"but the items of {' and '.join(family.parents)} call for {len(expected)} request(s)",
            hint=f"a complete collection has one body per distinct request; mark {family.name} 'failed' "
                 "if some are missing")
    if files and all(lf.entry.query for lf in files):
        got = {_query_key(lf.entry.query) for lf in files}
        missing = sorted(set(expected) - got)
        if missing:
            raise SnapshotFormatError(
                f"{mpath}: family {family.name} has no body for the request ?"
                + "&".join(f"{k}={v}" for k, v in expected[missing[0]].items())
                + f" that an item of {' or '.join(family.parents)} calls for",
                hint=f"mark {family.name} 'failed' if some bodies are missing")
