"""``gwaudit demo``: the pipeline end to end on the bundled sample snapshots, offline.

It starts the simulator on the newer sample snapshot on a free loopback port, collects it over
HTTP into a fresh database (exactly as ``gwaudit collect`` would), imports the older snapshot,
and prints what it stored. The collector's clock is pinned to the sample's own date, so the
demo's findings do not drift as the calendar moves on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from .auth import Token
from .collector import CollectOptions, collect
from .db import Database
from .db.ingest import import_folder
from .output import text_table
from .report.run import demo_report
from .resources import sample_snapshots
from .snapshot import load_folder


def run_demo(out_dir: Path, echo: Callable[[str], None] = print) -> Path:
    """Build a fresh database in ``out_dir`` from the sample snapshots; returns its path."""
    from .simulator import Simulator

    folders = sample_snapshots()
    if not folders:
        raise FileNotFoundError("no sample snapshots are installed")
    newest, older = folders[-1], folders[:-1]
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in out_dir.glob("gwaudit.duckdb*"):
        stale.unlink()
    db = Database(out_dir / "gwaudit.duckdb")

    taken_at = load_folder(newest, parse=False).manifest.taken_at
    with Simulator.from_folder(newest) as sim:
        echo(f"simulated Barndoor admin API on {sim.base_url} (serving {newest.name})")
        token = Token(sim.mint_token(role="admin"), "the demo's simulator")
        opts = CollectOptions(base_url=sim.base_url, clock=lambda: taken_at)
        result = collect(db, opts, token)
    echo(f"collected over HTTP: {result.report.requests} requests in {result.report.seconds:.1f}s")
    echo(result.stored.summary())
    for folder in older:
        echo(f"importing {folder.name}")
        echo(import_folder(db, folder).summary())

    rows = db.snapshots()
    echo("")
    echo(text_table(["id", "taken_at", "source", "status", "resource_count"],
                    ([r["id"], r["taken_at"], r["source"], r["status"], r["resource_count"]] for r in rows)))
    with db.reader() as con:
        counts = con.execute("""
            SELECT c.family, n.status AS newest, n.item_count AS items_newest, c.item_count AS items_older
            FROM collection_status n
            LEFT JOIN collection_status c ON c.family = n.family
                 AND c.snapshot_id = (SELECT id FROM snapshots ORDER BY taken_at LIMIT 1)
            WHERE n.snapshot_id = (SELECT id FROM snapshots ORDER BY taken_at DESC LIMIT 1)
            ORDER BY n.family""").fetchall()
    echo("")
    echo(text_table(["family", "status", "items (newest)", "items (oldest)"], counts))
    from .rules import audit

    echo("")
    for row in rows:
        result = audit(db, row["id"])
        s = result.summary()
        sev = ", ".join(f"{v['fail']} {k}" for k, v in s["by_severity"].items() if v["fail"])
        echo(f"audited snapshot {row['id']} ({row['taken_at']:%Y-%m-%d}): {s['by_status']['fail']} open findings "
             f"({sev}); rules {s['rules']['failed']} failed, {s['rules']['passed']} passed, "
             f"{s['rules'].get('skipped', 0)} skipped, {s['rules']['error']} errors")
    echo(f"\ndatabase: {db.path}\ntry: gwaudit --db {db.path} audit --format table\n"
         f"     gwaudit --db {db.path} sql \"SELECT rule_id, severity, resource_name FROM latest_findings\"")
    demo_report(db, out_dir, echo)
    return db.path
