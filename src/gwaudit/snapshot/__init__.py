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

The package's modules: :mod:`.manifest` (the format and its limits), :mod:`.writer` (building a
folder) and :mod:`.reader` (reading an untrusted one); their public names are importable from here.
"""

from __future__ import annotations

from .manifest import (DEFAULT_LIMITS, FORMAT_VERSION, INT32, INT64, MANIFEST, MB, FamilyStatus, FileEntry, Limits,
                       Manifest, Status, sha256_bytes)
from .reader import PARENTS, LoadedFile, SnapshotFolder, load_folder
from .writer import FolderWriter

__all__ = ["DEFAULT_LIMITS", "FORMAT_VERSION", "INT32", "INT64", "MANIFEST", "MB", "PARENTS", "FamilyStatus",
           "FileEntry", "FolderWriter", "Limits", "LoadedFile", "Manifest", "SnapshotFolder", "Status",
           "load_folder", "sha256_bytes"]
