"""Running built-in rules on snapshots made of built objects: one snapshot (:class:`Kit`, through
tests/rulekit.py) or a previous/current pair for the change-control rules (:func:`run_pair`); and
snapshot folders as untrusted input: edit a folder's manifest or bodies as a forger would
(:func:`manifest`, :func:`save_manifest`, :func:`replace_body`), import it with ``gwaudit import``
(:func:`run_import`) and check it is refused with the database unchanged (:func:`refused`)."""

from __future__ import annotations

import copy
import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import duckdb

from gwaudit.rules import RuleResult, evaluate, load_rule_file
from gwaudit.testing import store_snapshot
from tests.factories.ids import EDITED_AT, NOW, PREVIOUS
from tests.rulekit import rule_file, run_rule


class Kit:
    """Runs rules against snapshots kept in one folder (one database per rule id), so a test module
    pays for the database schema once per rule instead of once per case."""

    def __init__(self, root: Path):
        self.root = root

    def rows(self, rule_id: str, data: dict[str, Any], **kw: Any) -> list[dict[str, Any]]:
        return run_rule(self.root, rule_id, data, **kw)

    def ids(self, rule_id: str, data: dict[str, Any], **kw: Any) -> list[str]:
        """The resource ids the rule reports, sorted."""
        return sorted(r["resource_id"] for r in self.rows(rule_id, data, **kw))


def ids(rows: list[dict[str, Any]]) -> set[str]:
    """The resource ids of a rule's rows."""
    return {r["resource_id"] for r in rows}


def edited(item: dict[str, Any], who: str = "alice@example.com", note: str | None = "CHG-1",
           **changes: Any) -> dict[str, Any]:
    """A copy of ``item`` with ``changes``, edited by ``who`` between the snapshots of a pair (the
    attribution the API writes with an update)."""
    out = copy.deepcopy(item)
    out.update(changes, last_modified_at=EDITED_AT, last_modified_by_email=who,
               last_modified_by_name=who.split("@")[0].title(), last_change_note=note)
    return out


def run_pair(tmp_path: Path, rule_id: str, previous: dict[str, Any] | None, current: dict[str, Any], *,
             params: dict[str, Any] | None = None, previous_failed: tuple[str, ...] = ()) -> RuleResult:
    """Store ``previous`` (taken at PREVIOUS, unless None) then ``current`` (taken at NOW) in a fresh
    database and evaluate the rule on the current snapshot. Returns the engine's result
    (``.raw_rows()``, ``.status``, ``.note``, ``.checked``)."""
    rule = load_rule_file(rule_file(rule_id))
    n = len(list(tmp_path.iterdir()))
    db = tmp_path / f"{rule_id}-{n}.duckdb"
    if previous is not None:
        store_snapshot(db, previous, taken_at=PREVIOUS, folder=tmp_path / f"prev-{n}", failed=previous_failed)
    sid = store_snapshot(db, current, taken_at=NOW, folder=tmp_path / f"cur-{n}")
    return evaluate(db, sid, rule, params)


def rows_of(result: RuleResult) -> dict[str, dict[str, Any]]:
    """A result's rows by resource id; the result must not be an error."""
    assert result.status != "error", result.error
    return {r["resource_id"]: r for r in result.raw_rows()}


# ---------------------------------------------------------------- snapshot folders as untrusted input

def manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text())


def save_manifest(folder: Path, data: dict) -> None:
    (folder / "manifest.json").write_text(json.dumps(data))


def replace_body(folder: Path, rel: str, body: bytes, *, count: int | None = None) -> None:
    """Rewrite one body and its manifest entry (hash, size, count), as a careful forger would."""
    (folder / rel).unlink(missing_ok=True)
    (folder / rel).write_bytes(body)
    data = manifest(folder)
    for entry in data["files"]:
        if entry["path"] == rel:
            entry.update(sha256=hashlib.sha256(body).hexdigest(), bytes=len(body), item_count=count)
    for st in data["families"].values():
        st.pop("item_count", None)
    save_manifest(folder, data)


def copy_db(template: Path, tmp_path: Path) -> Path:
    """A copy of a database made once per module (a seeded one), for a test to change."""
    db = tmp_path / "audit.duckdb"
    shutil.copyfile(template, db)
    return db


def run_import(db: Path, folder: Path, capsys, *extra: str) -> tuple[int, str]:
    """``gwaudit --db DB [EXTRA] import FOLDER``: the exit code and everything printed."""
    from gwaudit.cli import main

    capsys.readouterr()
    code = main(["--db", str(db), *extra, "import", str(folder)])
    out = capsys.readouterr()
    return code, out.out + out.err


def db_state(db: Path) -> object:
    """What an import would change: the snapshots and the counts of their rows."""
    if not db.exists():
        return None
    con = duckdb.connect(str(db), read_only=True)
    try:
        return (con.execute("SELECT id, taken_at, manifest_sha256 FROM snapshots ORDER BY id").fetchall(),
                con.execute("SELECT count(*) FROM snapshot_resources").fetchone(),
                con.execute("SELECT count(*) FROM collection_status").fetchone())
    finally:
        con.close()


def refused(db: Path, folder: Path, capsys, *words: str, extra: tuple[str, ...] = ()) -> str:
    """Import ``folder``: exit 2, no traceback, every word in the message, the database unchanged."""
    before = db_state(db)
    code, text = run_import(db, folder, capsys, *extra)
    assert code == 2, text
    assert "Traceback" not in text and "internal error" not in text
    for word in words:
        assert word in text, text
    assert db_state(db) == before
    return text
