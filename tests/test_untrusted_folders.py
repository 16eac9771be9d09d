"""Snapshot folders are untrusted input: links, sizes, nesting, duplicate keys, future dates.

Every refusal goes through ``gwaudit import`` (exit 2, the file and the reason named, no
traceback) and leaves the database exactly as it was.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from gwaudit.db.ingest import import_folder
from gwaudit.errors import SnapshotFormatError
from gwaudit.rawjson import JSONRefused, loads_strict, nesting_depth
from gwaudit.snapshot import Limits, load_folder
from gwaudit.testing import write_folder
from gwaudit.timeutil import format_ts, utcnow
from tests.factories.snapshots import copy_db, manifest, refused, replace_body, run_import, save_manifest

KEYS = [{"id": "k1", "name": "ci", "created_at": "2026-01-01T00:00:00Z"},
        {"id": "k2", "name": "ops", "created_at": "2026-01-01T00:00:00Z"}]


def folder_with(tmp_path: Path, name: str = "snap", **kw) -> Path:
    return write_folder(tmp_path / name, {"api_keys": KEYS}, taken_at=kw.pop("taken_at", "2026-08-01T12:00:00Z"),
                        **kw)


@pytest.fixture(scope="module")
def seeded_template(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("seed")
    db = root / "audit.duckdb"
    import_folder(db, folder_with(root, "good"))
    return db


@pytest.fixture
def seeded(tmp_path: Path, seeded_template: Path) -> Path:
    """A database holding one good snapshot, so 'unchanged' means something (a copy per test)."""
    return copy_db(seeded_template, tmp_path)


# ---------------------------------------------------------------- links

def test_a_symlinked_body_is_refused_not_followed(tmp_path, seeded, capsys):
    folder = folder_with(tmp_path)
    outside = tmp_path / "outside.json"
    outside.write_bytes((folder / "api_keys.json").read_bytes())  # same bytes: the hash would match
    (folder / "api_keys.json").unlink()
    os.symlink(outside, folder / "api_keys.json")
    text = refused(seeded, folder, capsys, "api_keys.json", "symbolic link")
    assert "outside.json" not in text or "not followed" in text


def test_a_symlinked_manifest_is_refused(tmp_path, seeded, capsys):
    folder = folder_with(tmp_path)
    real = tmp_path / "elsewhere-manifest.json"
    (folder / "manifest.json").rename(real)
    os.symlink(real, folder / "manifest.json")
    refused(seeded, folder, capsys, "manifest.json", "symbolic link")


def test_a_symlinked_sub_folder_is_refused(tmp_path, seeded, capsys, example_data):
    folder = write_folder(tmp_path / "snap", example_data, taken_at="2026-08-01T12:00:00Z")
    sub = folder / "model_pricing_history"
    assert sub.is_dir()
    real = tmp_path / "real-history"
    sub.rename(real)
    os.symlink(real, sub)
    refused(seeded, folder, capsys, "model_pricing_history", "symbolic link")


def test_paths_that_leave_the_folder_are_refused(tmp_path, seeded, capsys):
    for bad in ("../outside.json", "/etc/passwd", "./api_keys.json", "a//b.json", "sub\\x.json"):
        folder = folder_with(tmp_path, f"snap-{abs(hash(bad))}")
        data = manifest(folder)
        data["files"][0]["path"] = bad
        save_manifest(folder, data)
        refused(seeded, folder, capsys, "manifest.json", "relative path")


def test_a_fifo_is_refused_without_blocking(tmp_path, seeded, capsys):
    folder = folder_with(tmp_path)
    (folder / "api_keys.json").unlink()
    os.mkfifo(folder / "api_keys.json")
    refused(seeded, folder, capsys, "api_keys.json", "not a regular file")


# ---------------------------------------------------------------- read once

def test_what_is_stored_is_what_was_hashed(tmp_path, db):
    """The folder is read once: changing a file after verification cannot change what is stored."""
    folder = folder_with(tmp_path)
    loaded = load_folder(folder, parse=False)
    forged = json.dumps([{"id": "evil", "name": "evil", "created_at": "2026-01-01T00:00:00Z"}]).encode()
    (folder / "api_keys.json").write_bytes(forged)  # after the check, before the store
    from gwaudit.db.ingest import store_folder

    store_folder(db, loaded, source="import")
    con = duckdb.connect(str(db), read_only=True)
    assert {r[0] for r in con.execute("SELECT resource_key FROM api_keys").fetchall()} == {"k1", "k2"}


# ---------------------------------------------------------------- sizes

def test_size_limits_per_file_and_per_folder(tmp_path, seeded, capsys):
    folder = folder_with(tmp_path)
    body = json.dumps(KEYS * 400).encode()  # ~60 kB
    replace_body(folder, "api_keys.json", body, count=800)
    config = tmp_path / "small.toml"
    config.write_text("[limits]\nmax_file_mb = 0.01\n")
    refused(seeded, folder, capsys, "api_keys.json", "more than the 10,485 bytes", "max_file_bytes",
            extra=("--config", str(config)))
    config.write_text("[limits]\nmax_folder_mb = 0.03\n")
    refused(seeded, folder, capsys, "one snapshot folder may hold", "max_folder_bytes",
            extra=("--config", str(config)))
    code, _ = run_import(seeded, folder, capsys)  # the defaults accept it
    assert code == 0


def test_a_file_growing_past_the_cap_while_read_is_refused(tmp_path):
    folder = folder_with(tmp_path)
    with pytest.raises(SnapshotFormatError, match="more than the 64 bytes"):
        load_folder(folder, limits=Limits(max_file_bytes=64))


# ---------------------------------------------------------------- JSON

def test_nesting_depth_is_linear_and_exact():
    deep = b"[" * 100_000 + b"]" * 100_000
    assert nesting_depth(deep, 64) == 65  # counted up to the limit, never recursing
    assert nesting_depth(b'{"a": [1, {"b": "]]]}"}], "c": "\\"[\\\\"}', 64) == 3
    assert nesting_depth(b'[["[", "]"], {"x": "{{"}]', 64) == 2
    assert nesting_depth(b"7", 64) == 0
    with pytest.raises(JSONRefused, match="nested deeper than 64"):
        loads_strict(deep, max_depth=64)
    with pytest.raises(JSONRefused, match="nested deeper than 3"):
        loads_strict(b'[[[[1]]]]', max_depth=3)
    assert loads_strict(b'[[[1]]]', max_depth=3) == [[[1]]]


@pytest.mark.parametrize("body, reason", [
    (b"[" * 100_000 + b"]" * 100_000, "nested deeper than 64 levels"),
    (b'[{"id": "k1", "name": "a", "id": "k2"}]', "duplicate key 'id'"),
    (b'[{"id": "k1", "x": {"a": 1, "a": 2}}]', "duplicate key 'a'"),
    (b'[{"id": "k1", "n": NaN}]', "NaN is not JSON"),
    (b'\xef\xbb\xbf[]', "byte order mark"),
    (b'["\xff"]', "not UTF-8"),
    (b'[{"id": "k1"}] []', "not valid JSON"),
    (b"[" + b"9" * 5000 + b"]", "not valid JSON"),
])
def test_bodies_that_readers_would_disagree_on_are_refused(tmp_path, seeded, capsys, body, reason):
    folder = folder_with(tmp_path)
    replace_body(folder, "api_keys.json", body)
    refused(seeded, folder, capsys, "api_keys.json", reason)


def test_a_deep_or_duplicate_manifest_is_refused(tmp_path, seeded, capsys):
    folder = folder_with(tmp_path)
    text = (folder / "manifest.json").read_text()
    (folder / "manifest.json").write_text(text.replace('{', '{"taken_at": "2026-08-02T00:00:00Z", ', 1))
    refused(seeded, folder, capsys, "manifest.json", "duplicate key 'taken_at'")
    (folder / "manifest.json").write_text('{"files": ' + "[" * 5000 + "]" * 5000 + "}")
    refused(seeded, folder, capsys, "manifest.json", "nested deeper")


def test_depth_limit_is_configurable(tmp_path, seeded, capsys):
    folder = folder_with(tmp_path)
    nested = {"id": "k1", "name": "n", "created_at": "2026-01-01T00:00:00Z", "x": [[[[[1]]]]]}
    replace_body(folder, "api_keys.json", json.dumps([nested]).encode(), count=1)
    config = tmp_path / "depth.toml"
    config.write_text("[limits]\nmax_json_depth = 5\n")
    refused(seeded, folder, capsys, "api_keys.json", "nested deeper than 5", extra=("--config", str(config)))
    assert run_import(seeded, folder, capsys)[0] == 0


# ---------------------------------------------------------------- time

def test_taken_at_in_the_future_is_refused_beyond_the_skew(tmp_path, seeded, capsys):
    refused(seeded, folder_with(tmp_path, "far", taken_at="9999-12-31T23:59:59Z"), capsys,
            "manifest.json", "taken_at 9999-12-31", "in the future")
    soon = format_ts(utcnow() + timedelta(minutes=10))
    refused(seeded, folder_with(tmp_path, "soon", taken_at=soon), capsys, "in the future")
    config = tmp_path / "skew.toml"
    config.write_text("[limits]\nmax_clock_skew_seconds = 900\n")
    assert run_import(seeded, folder_with(tmp_path, "soon2", taken_at=soon), capsys, "--config", str(config))[0] == 0
    within = format_ts(utcnow() + timedelta(minutes=2))
    assert run_import(seeded, folder_with(tmp_path, "within", taken_at=within), capsys)[0] == 0


def test_a_taken_at_out_of_range_is_a_format_error(tmp_path, seeded, capsys):
    folder = folder_with(tmp_path)
    data = manifest(folder)
    data["taken_at"] = "0001-01-01T00:00:00+14:00"
    save_manifest(folder, data)
    refused(seeded, folder, capsys, "manifest.json", "taken_at")


# ---------------------------------------------------------------- manifest bytes

def test_declared_size_must_match(tmp_path, seeded, capsys):
    folder = folder_with(tmp_path)
    data = manifest(folder)
    data["files"][0]["bytes"] += 1
    save_manifest(folder, data)
    refused(seeded, folder, capsys, "bytes")


def test_import_folder_refuses_before_opening_the_database(tmp_path):
    db = tmp_path / "never.duckdb"
    with pytest.raises(SnapshotFormatError):
        import_folder(db, folder_with(tmp_path, taken_at="9999-01-01T00:00:00Z"))
    assert not db.exists()


@pytest.mark.parametrize("where, key, value, reason", [
    ("family", "http_status", 2 ** 40, "less than or equal to 599"),
    ("family", "request_count", -(2 ** 63) - 5, "greater than or equal to 0"),
    ("family", "item_count", 2 ** 31, "less than or equal to"),
    ("family", "duration_ms", -1.0, "greater than or equal to 0"),
    ("family", "error", "\ud800", "unpaired UTF-16 surrogate"),
    ("file", "http_status", 2 ** 40, "less than or equal to 599"),
    ("file", "bytes", -1, "greater than or equal to 0"),
    ("top", "format_version", -5, "greater than or equal to 1"),
    ("top", "taken_at", 2 ** 40, "RFC 3339 timestamp string"),
    ("top", "families", [], "valid dictionary"),
])
def test_manifest_values_outside_what_can_be_stored_are_format_errors(tmp_path, seeded, capsys, where, key, value,
                                                                      reason):
    """Found by the fuzz test: these were 'internal error: ConversionException' (exit 5)."""
    folder = folder_with(tmp_path)
    data = manifest(folder)
    target = {"family": data["families"]["api_keys"], "file": data["files"][0], "top": data}[where]
    target[key] = value
    save_manifest(folder, data)
    refused(seeded, folder, capsys, "manifest.json", reason)
