"""A report file is written aside and renamed: a killed writer's half-written copy is removed by
the next writer of that file, and a live writer's copy is left alone."""

from __future__ import annotations

import os
import subprocess
import sys

from gwaudit.report.run import _write


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_killed_writers_copy_is_removed_and_a_live_ones_kept(tmp_path):
    target = tmp_path / "acme-2026-11-27-s1-report.html"
    dead = tmp_path / f".{target.name}.{_dead_pid()}-k3y9.tmp"
    live = tmp_path / f".{target.name}.{os.getppid()}-a1b2.tmp"
    other = tmp_path / ".another-report.html.1-zz.tmp"  # another file's copy: not ours to judge
    for leftover in (dead, live, other):
        leftover.write_bytes(b"half a report")
    _write(target, b"<html>whole</html>", announce=False)
    assert target.read_bytes() == b"<html>whole</html>"
    assert not dead.exists() and live.exists() and other.exists()
    # the writer's own copy is gone after the rename
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")) == sorted([live.name, other.name])
