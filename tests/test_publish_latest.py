"""reports/latest/ is replaced as a whole: never a mix of two runs' files."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

from gwaudit.atomicdir import exchange, replace_dir
from gwaudit.resources import sample_snapshots
from gwaudit.runner import publish_latest
from gwaudit.simulator import Faults, Simulator

SAMPLE = sample_snapshots()[-1]


def _outputs(folder: Path, sid: int, *, incomplete: bool) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"acme-2026-11-{sid:02d}-s{sid}"
    paths = []
    for kind in ("report.json", "findings.csv", "report.html"):
        p = folder / f"{stem}-{kind}"
        p.write_text(f"snapshot {sid}\n")
        paths.append(p)
    inv = folder / f"{stem}-inventory"
    inv.mkdir(exist_ok=True)
    (inv / "api_keys.csv").write_text(f"snapshot {sid}\n")
    paths.append(inv)
    if incomplete:
        p = folder / f"{stem}-INCOMPLETE.txt"
        p.write_text(f"snapshot {sid}\n")
        paths.append(p)
    return paths


def _tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


def test_a_complete_run_after_an_incomplete_one_leaves_no_stale_file(tmp_path):
    out = tmp_path / "reports"
    publish_latest(_outputs(out, 1, incomplete=True), out)
    assert (out / "latest" / "INCOMPLETE.txt").exists()
    publish_latest(_outputs(out, 2, incomplete=False), out)
    assert _tree(out / "latest") == {"report.json": "snapshot 2\n", "findings.csv": "snapshot 2\n",
                                     "report.html": "snapshot 2\n", "inventory/api_keys.csv": "snapshot 2\n"}
    assert oct((out / "latest" / "report.json").stat().st_mode & 0o777) == "0o600"
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []  # nothing left aside


def test_readers_never_see_a_mix(tmp_path):
    out = tmp_path / "reports"
    sets = {1: _outputs(out / "a", 1, incomplete=True), 2: _outputs(out / "b", 2, incomplete=False)}
    names = {1: {"report.json", "findings.csv", "report.html", "inventory", "INCOMPLETE.txt"},
             2: {"report.json", "findings.csv", "report.html", "inventory"}}
    publish_latest(sets[1], out)
    stop = threading.Event()
    seen: list[tuple[frozenset[str], set[str]]] = []
    problems: list[str] = []

    def reader() -> None:
        while not stop.is_set():
            try:
                fd = os.open(out / "latest", os.O_RDONLY | os.O_DIRECTORY)
            except FileNotFoundError:
                problems.append("latest/ missing")
                continue
            try:
                listing = frozenset(os.listdir(fd))
                markers = set()
                for name in listing - {"inventory"}:
                    f = os.open(name, os.O_RDONLY, dir_fd=fd)
                    try:
                        markers.add(os.read(f, 100).decode())
                    finally:
                        os.close(f)
                try:
                    still_latest = os.fstat(fd).st_ino == os.stat(out / "latest").st_ino
                except FileNotFoundError:
                    still_latest = False
                if still_latest:  # else swapped out and being deleted while we read: stale, not mixed
                    seen.append((listing, markers))
                elif not markers <= {"snapshot 1\n"} and not markers <= {"snapshot 2\n"}:
                    problems.append(f"a folder swapped out held {markers}")
            except FileNotFoundError:
                pass  # the old folder was deleted under us after the swap: not a mix
            finally:
                os.close(fd)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for i in range(150):
            publish_latest(sets[2 if i % 2 == 0 else 1], out)
    finally:
        stop.set()
        thread.join()
    assert len(seen) > 50
    for listing, markers in seen:
        assert listing in (frozenset(names[1]), frozenset(names[2])), listing
        assert len(markers) == 1
        sid = 1 if listing == frozenset(names[1]) else 2
        assert markers == {f"snapshot {sid}\n"}
    # with renameat2 (Linux) latest/ exists at every moment; elsewhere it may be briefly absent
    assert [p for p in problems if p != "latest/ missing" or sys.platform.startswith("linux")] == []


def test_exchange_and_the_fallback(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    (a / "f").write_text("a")
    (b / "f").write_text("b")
    if sys.platform.startswith("linux"):
        assert exchange(a, b)
        assert (a / "f").read_text() == "b" and (b / "f").read_text() == "a"
    # a target that is a symlink cannot be exchanged as a folder: it is replaced, its target untouched
    real = tmp_path / "real"
    real.mkdir()
    (real / "keep").write_text("keep")
    link = tmp_path / "latest"
    link.symlink_to(real)
    new = tmp_path / "new"
    new.mkdir()
    (new / "f").write_text("new")
    replace_dir(new, link)
    assert not link.is_symlink() and (link / "f").read_text() == "new"
    assert (real / "keep").read_text() == "keep" and not new.exists()


def test_leftovers_of_a_killed_run_are_removed_when_old(tmp_path):
    out = tmp_path / "reports"
    old = out / ".latest-new-abc123"
    fresh = out / ".latest-new-def456"
    for d in (old, fresh):
        d.mkdir(parents=True)
        (d / "report.json").write_text("x")
    two_hours_ago = time.time() - 7200
    os.utime(old, (two_hours_ago, two_hours_ago))
    publish_latest(_outputs(out, 3, incomplete=False), out)
    assert not old.exists() and fresh.exists()  # a fresh one may belong to a run in progress


def test_gwaudit_run_replaces_latest_as_a_whole(tmp_path):
    def cfg(sim: Simulator) -> Path:
        path = tmp_path / "gwaudit.toml"
        path.write_text(textwrap.dedent(f"""
            [api]
            base_url = "{sim.base_url}"
            max_retry_seconds = 1
            [database]
            path = "audit.duckdb"
            [report]
            formats = ["json", "csv"]
            out = "reports"
        """))
        return path

    def run(sim: Simulator) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "gwaudit.cli", "--config", str(cfg(sim)), "run"],
                              capture_output=True, text=True, cwd=tmp_path, timeout=600,
                              env={**os.environ, "GWAUDIT_TOKEN": sim.mint_token()})

    with Simulator.from_folder(SAMPLE, faults=Faults(fail_families=("token_budgets",))) as sim:
        first = run(sim)
    assert first.returncode == 4, first.stderr
    latest = tmp_path / "reports" / "latest"
    assert (latest / "INCOMPLETE.txt").exists()
    with Simulator.from_folder(SAMPLE) as sim:
        second = run(sim)
    # exit 4 still: change-control rules cannot compare with the incomplete snapshot before it
    assert second.returncode in (0, 4), second.stderr
    assert not (latest / "INCOMPLETE.txt").exists()
    report = json.loads((latest / "report.json").read_text())
    assert report["snapshot"]["id"] == 2 and report["snapshot"]["status"] == "complete"
    assert json.loads((latest / "findings.json").read_text())["snapshot"]["id"] == 2
    assert sorted(p.name for p in latest.iterdir()) == ["changes.csv", "findings.csv", "findings.json",
                                                        "inventory", "report.json", "rules.csv"]
