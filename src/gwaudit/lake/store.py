"""The lake's files: where a table's partition lives, how it is replaced, how it is read.

A lake is a directory (local, or any URI pyarrow's filesystem layer opens: ``s3://bucket/lake``,
``gs://...``, ``abfs://...``) holding one folder per table, Hive-partitioned::

    DIR/_lake.json                                   format version of the lake
    DIR/<table>/org_id=<org>/date=<YYYY-MM-DD>/data.parquet
    DIR/<table>/org_id=<org>/date=<YYYY-MM-DD>/_manifest.json
    DIR/resources/<family>/org_id=<org>/date=<...>/data.parquet   (each family's resources)

A partition is written whole into ``DIR/_staging/`` and renamed into place (the old one renamed
aside first, then deleted): a reader sees the old partition or the new one, never half of one.
Names starting with ``_`` or ``.`` are ignored by every reader (pyarrow datasets, Spark, the
fleet views), so staging folders and manifests never show up as data.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import quote

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from ..errors import UsageError

LAKE_FORMAT = 1
"""Version of the lake's layout and columns (docs/lake.md, "Versions")."""

DATA_FILE = "data.parquet"
MANIFEST_FILE = "_manifest.json"
PARTITIONING = ds.partitioning(pa.schema([("org_id", pa.string()), ("date", pa.date32())]), flavor="hive")
_SAFE = re.compile(r"[A-Za-z0-9._-]+")


@dataclass
class Lake:
    """A lake directory on a pyarrow filesystem."""

    uri: str
    fs: pafs.FileSystem
    root: str

    @classmethod
    def open(cls, where: str | Any) -> "Lake":
        text = str(where)
        if "://" in text:
            try:
                fs, root = pafs.FileSystem.from_uri(text)
            except Exception as exc:  # pyarrow raises several types for a bad URI
                raise UsageError(f"--lake {text}: pyarrow cannot open it ({exc})",
                                 hint="a local folder, or a URI such as s3://bucket/lake") from None
        else:
            import os

            fs, root = pafs.LocalFileSystem(), os.path.abspath(text)
        return cls(text, fs, root.rstrip("/"))

    def path(self, *parts: str) -> str:
        return "/".join([self.root, *parts])

    def exists(self, path: str) -> bool:
        return self.fs.get_file_info(path).type != pafs.FileType.NotFound

    def ensure(self) -> None:
        """Create the lake (owner-only when local) and record its format, once."""
        self.fs.create_dir(self.root, recursive=True)
        marker = self.path("_lake.json")
        if not self.exists(marker):
            self.write_bytes(marker, (json.dumps({"lake_format": LAKE_FORMAT}, indent=2) + "\n").encode())

    def write_bytes(self, path: str, data: bytes) -> None:
        with self.fs.open_output_stream(path) as out:
            out.write(data)

    def read_bytes(self, path: str) -> bytes | None:
        try:
            with self.fs.open_input_stream(path) as inp:
                return inp.read()
        except (FileNotFoundError, OSError):
            return None

    # -- partitions --------------------------------------------------

    def partition_dir(self, table: str, org_id: str, day: date | str) -> str:
        return self.path(table, f"org_id={org_dir(org_id)}", f"date={day}")

    def manifest(self, table: str, org_id: str, day: date | str) -> dict[str, Any] | None:
        data = self.read_bytes(self.partition_dir(table, org_id, day) + "/" + MANIFEST_FILE)
        if data is None:
            return None
        try:
            return json.loads(data)
        except ValueError:
            return None

    def write_partition(self, table: str, org_id: str, day: date | str, data: pa.Table,
                        manifest: dict[str, Any]) -> None:
        """Replace one partition as a whole: data file and manifest written aside, then renamed."""
        staging = self.path("_staging", uuid.uuid4().hex)
        self.fs.create_dir(staging, recursive=True)
        pq.write_table(data, staging + "/" + DATA_FILE, filesystem=self.fs, compression="zstd")
        self.write_bytes(staging + "/" + MANIFEST_FILE,
                         (json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n").encode())
        self.swap(staging, self.partition_dir(table, org_id, day))

    def swap(self, staging: str, target: str) -> None:
        """Put folder ``staging`` at ``target``: the old folder (if any) is renamed aside first and
        deleted after, so a crash leaves either the old or the new partition (or, for a moment,
        none), never a mixture."""
        parent = target.rsplit("/", 1)[0]
        self.fs.create_dir(parent, recursive=True)
        trash = None
        if self.exists(target):
            trash = self.path("_staging", "old-" + uuid.uuid4().hex)
            self.fs.move(target, trash)
        self.fs.move(staging, target)
        if trash is not None:
            self.fs.delete_dir(trash)

    def dataset(self, table: str) -> ds.Dataset | None:
        """A table's rows across every partition (None when the lake has no such table)."""
        base = self.path(table)
        if not self.exists(base):
            return None
        data = ds.dataset(base, filesystem=self.fs, format="parquet", partitioning=PARTITIONING,
                          exclude_invalid_files=False)
        # pyarrow takes the schema of the first file; partitions written by another gwaudit version
        # may have more columns (docs/lake.md, "Versions"): read with the union of every file's
        # columns, a column a file lacks reading as null.
        schemas = {f.physical_schema for f in data.get_fragments()}
        if len(schemas) <= 1:
            return data
        merged = pa.unify_schemas([data.schema, *sorted(schemas, key=str)], promote_options="permissive")
        return ds.dataset(base, schema=merged, filesystem=self.fs, format="parquet", partitioning=PARTITIONING,
                          exclude_invalid_files=False)

    def read(self, table: str, org_id: str, days: list[date] | None = None) -> pa.Table | None:
        """One org's rows of a table (of the given days only), partition columns included."""
        base = self.path(table, f"org_id={org_dir(org_id)}")
        if not self.exists(base):
            return None
        wanted = sorted({str(d) for d in days}) if days is not None else None
        files = []
        for info in self.fs.get_file_info(pafs.FileSelector(base, recursive=True)):
            if not info.path.endswith("/" + DATA_FILE) and not info.path.endswith(".parquet"):
                continue
            rel = info.path[len(base) + 1:]
            if any(part.startswith(("_", ".")) for part in rel.split("/")):
                continue
            if wanted is not None and rel.split("/")[0].removeprefix("date=") not in wanted:
                continue
            files.append(info.path)
        if not files:
            return None
        parts = []
        for path in sorted(files):
            t = pq.read_table(path, filesystem=self.fs)
            day = date.fromisoformat(path[len(base) + 1:].split("/")[0].removeprefix("date="))
            t = t.append_column("org_id", pa.array([org_id] * t.num_rows, pa.string()))
            t = t.append_column("date", pa.array([day] * t.num_rows, pa.date32()))
            parts.append(t)
        return pa.concat_tables(parts, promote_options="default")

    def tables(self) -> list[str]:
        """Tables present in the lake (family tables as ``resources/<family>``)."""
        out = []
        for info in self.fs.get_file_info(pafs.FileSelector(self.root, allow_not_found=True)):
            name = info.path.rsplit("/", 1)[-1]
            if info.type != pafs.FileType.Directory or name.startswith(("_", ".")):
                continue
            if name == "resources":
                out.extend("resources/" + i.path.rsplit("/", 1)[-1] for i in self.fs.get_file_info(
                    pafs.FileSelector(info.path)) if i.type == pafs.FileType.Directory)
            else:
                out.append(name)
        return sorted(out)

    def orgs(self) -> list[str]:
        base = self.path("snapshots")
        if not self.exists(base):
            return []
        return sorted(org_from_dir(i.path.rsplit("/", 1)[-1].removeprefix("org_id="))
                      for i in self.fs.get_file_info(pafs.FileSelector(base))
                      if i.type == pafs.FileType.Directory and i.path.rsplit("/", 1)[-1].startswith("org_id="))


def org_dir(org_id: str) -> str:
    """An org id as a partition value (Hive escaping of anything outside ``[A-Za-z0-9._-]``)."""
    return org_id if _SAFE.fullmatch(org_id) else quote(org_id, safe="")


def org_from_dir(text: str) -> str:
    from urllib.parse import unquote

    return unquote(text)


def table_key(table: pa.Table) -> str:
    """SHA-256 of a table's content (Arrow IPC bytes): equal tables, equal keys."""
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return hashlib.sha256(sink.getvalue()).hexdigest()
