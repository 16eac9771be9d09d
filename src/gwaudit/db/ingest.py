"""Storing a verified snapshot folder: the one write path shared by ``import`` and ``collect``.

Everything a snapshot writes happens in one transaction: a crash or Ctrl-C mid-write leaves the
earlier snapshots exactly as they were and no trace of the new one. Versions are
content-addressed: an item whose bytes were stored before (by any snapshot) is not stored again,
only its membership row (``snapshot_resources``) is.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import duckdb
import pandas as pd

from .. import families as fam
from ..errors import SnapshotFormatError
from ..rawjson import envelope_items, whole
from ..snapshot import Limits, LoadedFile, SnapshotFolder, load_folder
from ..timeutil import utcnow
from .database import Database, transaction
from .drift import drift_sql, nested
from .layout import SYSTEM_COLUMNS, cast_text, family_columns, stable_hash_sql, typed_from_raw, version_table
from .snapshots import family_status, snapshot_info
from .sql import ident, json_path, json_text, literal

MAX_OBJECT = 1 << 28  # 256 MiB: the largest single item read_json_objects accepts


@dataclass
class StoreResult:
    snapshot_id: int
    taken_at: Any
    resource_count: int
    families: dict[str, Any]
    drift: list[dict[str, Any]] = field(default_factory=list)

    @property
    def failed(self) -> list[str]:
        return sorted(n for n, s in self.families.items() if s["status"] == "failed")

    @property
    def unavailable(self) -> list[str]:
        return sorted(n for n, s in self.families.items() if s["status"] == "unavailable")

    @property
    def complete(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        lines = [f"stored snapshot {self.snapshot_id} taken at {self.taken_at:%Y-%m-%d %H:%M:%SZ}: "
                 f"{self.resource_count} resources in {sum(1 for s in self.families.values() if s['status'] == 'ok')}"
                 f" families ({'complete' if self.complete else 'INCOMPLETE'})"]
        from ..fetch import failure_lines  # identical errors once, with the families they hit

        lines += ["  " + line for line in failure_lines([(n, self.families[n].get("error")) for n in self.failed])]
        if self.unavailable:
            lines.append(f"  not offered by this tenant: {', '.join(self.unavailable)}")
        if self.drift:
            lines.append(f"  schema drift: {len(self.drift)} value(s) outside the documented schema "
                         f"(gwaudit sql \"SELECT * FROM snapshot_drift\")")
        return "\n".join(lines)


def store_folder(db: Database | Path | str, folder: SnapshotFolder, *, source: str,
                 progress: Callable[[str, int], None] | None = None) -> StoreResult:
    """Store a verified snapshot folder in one transaction and describe what was stored.

    ``progress(family, items)`` is called after each family is written (inside the transaction:
    nothing is visible to readers until the final commit)."""
    db = Database.of(db)
    with db.writer() as con:
        sid = write_folder(con, folder, source, progress)
        info = snapshot_info(con, sid)
        statuses = family_status(con, sid)
        drift = [dict(zip(("family", "path", "kind", "value", "resources"), r)) for r in con.execute(
            "SELECT family, path, kind, value, resources FROM snapshot_drift WHERE snapshot_id = ? "
            "ORDER BY family, path", [sid]).fetchall()]
    return StoreResult(sid, info["taken_at"], info["resource_count"], statuses, drift)


def import_folder(db: Database | Path | str, folder: Path | str, *, limits: Limits | None = None) -> StoreResult:
    """Verify and store a snapshot folder; on any error nothing is stored (the folder is read
    and checked in full before the database is opened). ``taken_at`` may not be later than now
    plus ``limits.max_clock_skew_seconds``."""
    return store_folder(db, load_folder(folder, parse=False, limits=limits, now=utcnow()), source="import")


@contextlib.contextmanager
def _staged(files: list[LoadedFile]):
    """``{id(file): path}`` of a private copy of each bare-array body, for DuckDB to read.

    The copy is written from the bytes that were hashed and checked, so what is stored is what
    was verified even if the folder changes meanwhile. On Linux each copy is an anonymous memory
    file (``memfd``: nothing on disk, nothing left behind by a killed process); elsewhere a private
    temporary folder, removed afterwards."""
    arrays = [lf for lf in files if fam.get(lf.entry.family).shape == "array"]
    paths: dict[int, str] = {}
    fds: list[int] = []
    tmp: str | None = None
    try:
        for lf in arrays:
            if hasattr(os, "memfd_create") and os.path.isdir("/proc/self/fd"):
                fd = os.memfd_create("gwaudit-body", getattr(os, "MFD_CLOEXEC", 0))
                fds.append(fd)
                view = memoryview(lf.data)
                while view:
                    view = view[os.write(fd, view):]
                paths[id(lf)] = f"/proc/self/fd/{fd}"
            else:  # pragma: no cover - non-Linux
                tmp = tmp or tempfile.mkdtemp(prefix="gwaudit-stage-")
                path = os.path.join(tmp, f"{len(paths):06d}.json")
                with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as fh:
                    fh.write(lf.data)
                paths[id(lf)] = path
        yield paths
    finally:
        for fd in fds:
            os.close(fd)
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------- the write path

def write_folder(con: duckdb.DuckDBPyConnection, folder: SnapshotFolder, source: str,
                 progress: Callable[[str, int], None] | None = None) -> int:
    """Write the snapshot on a writer connection, in one transaction; returns its id."""
    with _staged(folder.files) as staged:
        return _write(con, folder, source, progress, staged)


def _write(con: duckdb.DuckDBPyConnection, folder: SnapshotFolder, source: str,
           progress: Callable[[str, int], None] | None, staged: dict[int, str]) -> int:
    manifest = folder.manifest
    with transaction(con):
        sid = con.execute("SELECT nextval('snapshot_id_seq')").fetchone()[0]
        failed = sorted(n for n, s in folder.families.items() if s.status == "failed")
        con.execute("INSERT INTO snapshots VALUES (?, ?, now(), ?, ?, ?, ?, ?, ?, 0, ?, ?)", [
            sid, manifest.taken_at, source, manifest.base_url, manifest.org_id,
            "incomplete" if failed else "complete", manifest.tool_version, folder.manifest_sha256,
            failed, manifest.to_json().decode()])
        status_rows = [(sid, name, st.status, st.http_status, st.error, st.item_count, st.request_count,
                        st.duration_ms, st.endpoint or fam.get(name).endpoint)
                       for name, st in folder.families.items()]
        con.executemany("INSERT INTO collection_status VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", status_rows)

        numbered = list(enumerate(folder.files, start=1))
        files_df = pd.DataFrame({
            "snapshot_id": [sid] * len(numbered),
            "file_no": [n for n, _ in numbered],
            "family": [lf.entry.family for _, lf in numbered],
            "path": [lf.entry.path for _, lf in numbered],
            "endpoint": [lf.entry.endpoint for _, lf in numbered],
            "query": [json_text(lf.entry.query) for _, lf in numbered],
            "http_status": [lf.entry.http_status for _, lf in numbered],
            "item_count": [lf.entry.item_count for _, lf in numbered],
            "sha256": [lf.entry.sha256 for _, lf in numbered],
            "bytes": [lf.entry.bytes for _, lf in numbered],
            "envelope": [json_text(lf.envelope_extra) if lf.envelope_extra else None for _, lf in numbered],
            "abs_path": [staged.get(id(lf)) for _, lf in numbered],
        })
        con.register("files_df", files_df)
        con.execute("""INSERT INTO snapshot_files SELECT snapshot_id, file_no, family, path, endpoint,
                       CAST(query AS JSON), http_status, item_count, sha256, bytes, CAST(envelope AS JSON)
                       FROM files_df""")
        total = 0
        for family in fam.FAMILIES:
            files = [(n, lf) for n, lf in numbered if lf.entry.family == family.name
                     and (lf.entry.item_count is None or lf.entry.item_count > 0)]
            if files:
                n = _write_family(con, sid, family, folder, files, staged)
                total += n
                if progress:
                    progress(family.name, n)
        con.unregister("files_df")
        _check_counts(con, sid, folder)
        con.execute("UPDATE snapshots SET resource_count = ? WHERE id = ?", [total, sid])
        from ..changes import sync as sync_changes

        sync_changes(con)  # the new snapshot's changes (and its successor's, when stored out of order)
    return sid


def _write_family(con: duckdb.DuckDBPyConnection, sid: int, family: fam.Family, folder: SnapshotFolder,
                  files: list[tuple[int, Any]], staged: dict[int, str]) -> int:
    table = version_table(family)
    if family.shape == "array":
        paths = [staged[id(lf)] for _, lf in files]
        try:
            con.execute(f"""
                CREATE OR REPLACE TEMP TABLE stage AS
                SELECT file_no,
                       CAST(row_number() OVER (PARTITION BY file_no ORDER BY n) - 1 AS INTEGER) AS ord,
                       raw, sha256(CAST(raw AS VARCHAR)) AS sha256
                FROM (SELECT f.file_no, o.ordinality AS n, o.json AS raw
                      FROM read_json_objects($paths, format = 'array', filename = true,
                                             maximum_object_size = {MAX_OBJECT}) WITH ORDINALITY AS o
                      JOIN files_df f ON f.abs_path = o.filename)""", {"paths": paths})
        except duckdb.Error as exc:
            raise SnapshotFormatError(_json_error(exc, files, staged),
                                      hint="the body is not the JSON array this family returns; "
                                           "re-export the snapshot or fix the file") from None
    else:
        frame = _stage_frame(family, files)
        con.register("stage_df", frame)
        con.execute("CREATE OR REPLACE TEMP TABLE stage AS SELECT file_no, ord, CAST(raw AS JSON) AS raw, "
                    "sha256(raw) AS sha256 FROM stage_df")
        con.unregister("stage_df")

    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE new_versions AS
        SELECT nextval('version_id_seq') AS vid, sha256, raw, json_transform(raw, {literal(_spec(family))}) AS s
        FROM (SELECT sha256, any_value(raw) AS raw FROM stage
              WHERE NOT EXISTS (SELECT 1 FROM {table} r WHERE r.sha256 = stage.sha256)
              GROUP BY sha256)""")
    columns = ", ".join(ident(c) for c in SYSTEM_COLUMNS + tuple(c for c, _t, _p in family_columns(family)))
    con.execute(f"""
        INSERT INTO {table} ({columns}) SELECT vid, sha256, {_key_sql(family.key, family.name)},
               {_key_sql(family.name_field, family.name)}, raw, {stable_hash_sql(family)}, {_typed_select(family)}
        FROM new_versions""")
    drift = drift_sql(family)
    if drift:
        con.execute(drift)
    con.execute(f"""
        INSERT INTO snapshot_resources
        SELECT {int(sid)}, {literal(family.name)}, st.file_no, st.ord, r.vid
        FROM stage st JOIN {table} r ON r.sha256 = st.sha256
        ORDER BY st.file_no, st.ord""")
    n = con.execute("SELECT count(*) FROM stage").fetchone()[0]
    con.execute("DROP TABLE stage")
    con.execute("DROP TABLE new_versions")
    return int(n)


def _stage_frame(family: fam.Family, files: list[tuple[int, Any]]) -> pd.DataFrame:
    """Verbatim items of envelope and singleton bodies (small families), cut in Python."""
    file_nos: list[int] = []
    ords: list[int] = []
    raws: list[str] = []
    for file_no, lf in files:
        text = lf.data.decode("utf-8")  # the bytes verified (loads_strict checked the encoding)
        try:
            items = envelope_items(text, family.items_key or "") if family.shape == "envelope" else [whole(text)]
        except ValueError as exc:
            raise SnapshotFormatError(f"{lf.path}: {exc}") from None
        for i, raw in enumerate(items):
            file_nos.append(file_no)
            ords.append(i)
            raws.append(raw)
    return pd.DataFrame({"file_no": pd.Series(file_nos, dtype="int32"),
                         "ord": pd.Series(ords, dtype="int32"),
                         "raw": pd.Series(raws, dtype=object)})


def _spec(family: fam.Family) -> str:
    """json_transform spec: every top-level field as a JSON fragment, so the item is parsed once
    and typing and validation work on small fragments."""
    parts = [f'"{path}":"JSON"' for _col, _typ, path in family_columns(family) if "." not in path]
    return "{" + ",".join(parts) + "}"


def _key_sql(paths: Sequence[str], default: str) -> str:
    if not paths:
        return literal(default)
    pieces = [f"COALESCE(json_extract_string(raw, {literal(json_path(p))}), '')" for p in paths]
    return pieces[0] if len(pieces) == 1 else "concat_ws('/', " + ", ".join(pieces) + ")"


def _typed_select(family: fam.Family) -> str:
    out = []
    tops = {p for _c, _t, p in family_columns(family) if "." not in p}
    for _col, typ, path in family_columns(family):
        ref = f"s.{ident(path)}"
        if "." in path:
            frag, inner = nested(path)
            if path.split(".", 1)[0] not in tops:
                out.append(typed_from_raw(typ, path))
            elif typ == "JSON":
                out.append(f"json_extract({frag}, {literal(inner)})")
            elif typ == "VARCHAR":
                out.append(f"json_extract_string({frag}, {literal(inner)})")
            else:
                out.append(cast_text(typ, f"json_extract_string({frag}, {literal(inner)})"))
        elif typ == "JSON":
            out.append(ref)
        elif typ == "VARCHAR":
            out.append(f"json_extract_string({ref}, '$')")
        else:
            out.append(cast_text(typ, f"json_extract_string({ref}, '$')"))
    return ", ".join(out)



def _json_error(exc: Exception, files: list[tuple[int, Any]], staged: dict[int, str]) -> str:
    text = str(exc)
    # longest staged path first: /proc/self/fd/31 must not be taken for /proc/self/fd/3
    for _, lf in sorted(files, key=lambda f: -len(staged.get(id(f[1]), ""))):
        if staged.get(id(lf), "\0") in text or lf.entry.path in text:
            return f"{lf.path}: {text.splitlines()[0].replace(staged.get(id(lf), '') or '', str(lf.path))}"
    if len(files) == 1:
        return f"{files[0][1].path}: {text.splitlines()[0]}"
    return f"one of {', '.join(str(lf.path) for _, lf in files[:3])}: {text.splitlines()[0]}"


def _check_counts(con: duckdb.DuckDBPyConnection, sid: int, folder: SnapshotFolder) -> None:
    """A manifest's item_count must match what was stored (a hand-edited folder may lie)."""
    rows = con.execute("""
        SELECT f.path, f.item_count, count(m.vid)
        FROM snapshot_files f LEFT JOIN snapshot_resources m
          ON m.snapshot_id = f.snapshot_id AND m.file_no = f.file_no
        WHERE f.snapshot_id = ? AND f.item_count IS NOT NULL
        GROUP BY f.path, f.item_count HAVING f.item_count <> count(m.vid)""", [sid]).fetchall()
    if rows:
        path, declared, actual = rows[0]
        raise SnapshotFormatError(f"{folder.root / path}: manifest says {declared} items, the file holds {actual}",
                                  hint="fix item_count in manifest.json or re-export the snapshot")
    # fill in family item counts the manifest did not give
    con.execute("""
        UPDATE collection_status c SET item_count = x.n
        FROM (SELECT family, count(*) AS n FROM snapshot_resources WHERE snapshot_id = ? GROUP BY family) x
        WHERE c.snapshot_id = ? AND c.family = x.family AND c.item_count IS NULL""", [sid, sid])
    con.execute("""UPDATE collection_status SET item_count = 0
                   WHERE snapshot_id = ? AND item_count IS NULL AND status = 'ok'""", [sid])
