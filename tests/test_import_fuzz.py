"""Fuzzing ``gwaudit import`` (issue 19): mutate a valid snapshot folder and import it.

Mutations: manifest fields (set to odd values or removed), file bytes (flipped, cut, inserted,
with the manifest's hash updated or not), JSON structure (a body replaced by generated JSON,
duplicate keys, deep nesting), paths (escaping, odd, renamed files), symbolic links (to files
and folders, inside and outside), extra and duplicate entries, ``taken_at``.

For every example: the exit code is 0, 2 or 4 (stored incomplete, a documented outcome when
a family's file is gone), never an internal error or a traceback; on 2 the database is
unchanged; on 0/4 exactly one snapshot was added. 40 examples in CI (about 30 s);
``GWAUDIT_FUZZ_EXAMPLES=2000`` for a long run.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import re
import os
import shutil
import tempfile
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from gwaudit.cli import main
from gwaudit.db.ingest import import_folder
from gwaudit.testing import write_folder
from tests.conftest import example_org

EXAMPLES = int(os.environ.get("GWAUDIT_FUZZ_EXAMPLES", "40"))
TAKEN = "2026-08-01T12:00:00Z"


def _small_org() -> dict:
    org = example_org()
    keep = {"api_keys": 3, "model_pricing": 2, "model_pricing_archived": 1, "routing_policies": 1, "providers": 1,
            "model_routes": 2, "rate_limits": 1, "token_budgets": 1, "route_health": 2}
    return {k: v[:keep[k]] if isinstance(v, list) else v for k, v in org.items() if k in keep}


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("fuzz")
    folder = write_folder(root / "snap", _small_org(), taken_at=TAKEN)
    db = root / "seed.duckdb"
    import_folder(db, write_folder(root / "seed", _small_org(), taken_at="2026-07-01T00:00:00Z"))
    return folder, db


def state(db: Path) -> tuple:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return (con.execute("SELECT id, taken_at, status, manifest_sha256 FROM snapshots ORDER BY id").fetchall(),
                con.execute("SELECT count(*) FROM snapshot_resources").fetchone(),
                con.execute("SELECT count(*) FROM collection_status").fetchone(),
                con.execute("SELECT count(*) FROM snapshot_files").fetchone())
    finally:
        con.close()


# ---------------------------------------------------------------- strategies

ODD_TEXT = st.sampled_from(["", " ", "ok", "failed", "unavailable", "../x", "/etc/passwd", "a/../b", "./a.json",
                            "a//b.json", "x\x00y", "é" * 40, "\u202e", "9999-12-31T23:59:59Z",
                            "0001-01-01T00:00:00+14:00", "2026-13-45T99:99:99Z", "sha256:" + "0" * 64, "A" * 300])
LEAF = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2 ** 70), max_value=2 ** 70),
                 st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=12), ODD_TEXT)
JSON = st.recursive(LEAF, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                  st.dictionaries(st.text(max_size=6), inner, max_size=4)),
                    max_leaves=12)


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*.json") if p.name != "manifest.json")


def _rehash(folder: Path, rel: str) -> None:
    data = json.loads((folder / "manifest.json").read_text())
    body = (folder / rel).read_bytes() if (folder / rel).is_file() else b""
    for entry in data.get("files", []):
        if isinstance(entry, dict) and entry.get("path") == rel:
            entry["sha256"] = hashlib.sha256(body).hexdigest()
            entry["bytes"] = len(body)
    (folder / "manifest.json").write_text(json.dumps(data))


@st.composite
def mutation(draw):
    kind = draw(st.sampled_from(["manifest_field", "manifest_drop", "bytes", "json", "path", "symlink", "extra",
                                 "taken_at", "manifest_bytes", "dup_key", "deep", "benign", "benign"]))
    return kind, draw(st.randoms(use_true_random=False)), draw(JSON), draw(st.booleans())


def apply(folder: Path, outside: Path, kind: str, rnd, value, flag: bool) -> None:
    mpath = folder / "manifest.json"
    files = _files(folder)
    rel = rnd.choice(files)
    if kind in ("manifest_field", "manifest_drop", "taken_at", "extra", "path"):
        data = json.loads(mpath.read_text())
        if kind == "taken_at":
            data["taken_at"] = value if flag else rnd.choice(["9999-12-31T23:59:59Z", "2026-02-30T00:00:00Z",
                                                              "0001-01-01T00:00:00+14:00", "1970-01-01T00:00:00Z"])
        elif kind == "extra":
            entry = dict(rnd.choice(data["files"]))
            if flag:
                entry["family"] = rnd.choice(["nope", "api_keys", "routing_rules", "governance_config"])
            data["files"].append(entry)
        elif kind == "path":
            entry = rnd.choice(data["files"])
            entry["path"] = rnd.choice(["../outside/x.json", "/etc/hostname", "./api_keys.json", "a//b.json",
                                        "sub\\x.json", "", ".", "model_pricing_history", "missing.json",
                                        "é.json", "x\x00.json", "manifest.json", "a" * 300 + ".json"])
        else:
            targets: list[tuple[dict, str]] = [(data, k) for k in list(data)]
            for name, fst in data.get("families", {}).items():
                targets += [(fst, k) for k in list(fst)]
            for entry in data.get("files", []):
                targets += [(entry, k) for k in list(entry)]
            obj, key = rnd.choice(targets)
            if kind == "manifest_drop":
                del obj[key]
            elif flag:  # values at the edges of the columns they are stored in
                obj[key] = rnd.choice([2 ** 31, 2 ** 63, -1, -(2 ** 63) - 1, 2 ** 70, 1e308, 0, "\ud800", [], {}])
            else:
                obj[key] = value
        mpath.write_text(json.dumps(data))
    elif kind == "manifest_bytes":
        raw = bytearray(mpath.read_bytes())
        for _ in range(rnd.randint(1, 4)):
            i = rnd.randrange(len(raw))
            raw[i] = rnd.randrange(256)
        mpath.write_bytes(bytes(raw))
    elif kind == "bytes":
        raw = bytearray((folder / rel).read_bytes())
        op = rnd.choice(["flip", "cut", "insert"])
        if op == "flip" and raw:
            raw[rnd.randrange(len(raw))] = rnd.randrange(256)
        elif op == "cut":
            del raw[rnd.randrange(len(raw) + 1):]
        else:
            raw[rnd.randrange(len(raw) + 1):0] = bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 8)))
        (folder / rel).write_bytes(bytes(raw))
        if flag:
            _rehash(folder, rel)
    elif kind == "json":
        (folder / rel).write_text(json.dumps(value))
        _rehash(folder, rel)
    elif kind == "dup_key":
        text = (folder / rel).read_text()
        i = text.find("{")
        if i >= 0:
            text = text[:i + 1] + '"id": "dup", ' + text[i + 1:]
        (folder / rel).write_text(text)
        _rehash(folder, rel)
    elif kind == "benign":  # same evidence, other bytes: must still import
        if flag:
            (folder / rel).write_text(json.dumps(json.loads((folder / rel).read_text()), indent=rnd.randint(0, 3)))
            _rehash(folder, rel)
        else:
            data = json.loads(mpath.read_text())
            rnd.shuffle(data["files"])
            data["comment"] = value
            mpath.write_text(json.dumps(data, indent=1))
    elif kind == "deep":
        depth = rnd.choice([63, 64, 65, 1000, 100_000])
        (folder / rel).write_text("[" * depth + "]" * depth)
        _rehash(folder, rel)
    elif kind == "symlink":
        target = (folder / rel)
        if flag and "/" in rel:  # a linked sub-folder
            sub = folder / rel.split("/")[0]
            copy = outside / f"dir{rnd.randrange(10 ** 6)}"
            shutil.copytree(sub, copy)
            shutil.rmtree(sub)
            os.symlink(copy, sub)
        else:
            copy = outside / f"file{rnd.randrange(10 ** 6)}.json"
            shutil.copyfile(target, copy)
            target.unlink()
            os.symlink(copy if rnd.random() < 0.5 else folder / rnd.choice(files), target)


@settings(max_examples=EXAMPLES, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(mutation(), min_size=1, max_size=3))
def test_import_of_a_mutated_folder_is_stored_or_refused_cleanly(template, mutations):
    folder_template, seed_db = template
    with tempfile.TemporaryDirectory(prefix="gwaudit-fuzz-") as tmp:
        tmp = Path(tmp)
        folder = tmp / "snap"
        shutil.copytree(folder_template, folder)
        outside = tmp / "outside"
        outside.mkdir()
        for kind, rnd, value, flag in mutations:
            try:
                apply(folder, outside, kind, rnd, value, flag)
            except (OSError, ValueError, LookupError, TypeError, AttributeError):
                pass  # an earlier mutation broke what this one edits: the folder is odd enough
        db = tmp / "audit.duckdb"
        shutil.copyfile(seed_db, db)
        before = state(db)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["--db", str(db), "import", str(folder)])
        text = out.getvalue() + err.getvalue()
        event(f"exit {code}")
        assert code in (0, 2, 4), (code, [m[0] for m in mutations], text)
        assert "Traceback" not in text and "internal error" not in text, text
        after = state(db)
        if code == 2:
            assert after == before, text
            # off a terminal a log line starts with its time: "[2026-12-07T12:36:20Z] error: ..."
            line = re.sub(r"^\[[^\]]*\] ", "", text)
            assert line.startswith("error: ") and len(text.strip().splitlines()) <= 3, text
        else:
            assert len(after[0]) == len(before[0]) + 1
            assert after[0][-1][2] == ("complete" if code == 0 else "incomplete")
