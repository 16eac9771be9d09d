"""``gwaudit demo``: the pipeline end to end on the bundled sample snapshots, offline."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable

from .ingest import import_folder
from .output import text_table
from .resources import sample_snapshots
from .store import Store


def run_demo(out_dir: Path, echo: Callable[[str], None] = print) -> Path:
    """Build a fresh database in ``out_dir`` from the sample snapshots; returns its path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    db = out_dir / "gwaudit.duckdb"
    for stale in out_dir.glob("gwaudit.duckdb*"):
        stale.unlink()
    for folder in sample_snapshots():
        result = import_folder(db, folder)
        echo(result.summary())
    store = Store(db)
    rows = store.snapshots()
    echo("")
    echo(text_table(["id", "taken_at", "source", "status", "resource_count"],
                    ([r["id"], r["taken_at"], r["source"], r["status"], r["resource_count"]] for r in rows)))
    with store.reader() as con:
        counts = con.execute("""SELECT family, status, item_count FROM collection_status
                                WHERE snapshot_id = (SELECT id FROM snapshots ORDER BY taken_at DESC LIMIT 1)
                                ORDER BY family""").fetchall()
    echo("")
    echo(text_table(["family", "status", "items"], counts))
    echo(f"\ndatabase: {db}\ntry: gwaudit --db {db} sql \"SELECT name, expires_at FROM api_keys\"")
    return db
