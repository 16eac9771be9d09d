"""Docs that cannot drift: README commands run, every command has help and is documented,
the exit-code table matches the code, CI runs README's test command, completion works."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import click
from click.testing import CliRunner
import pytest

from gwaudit import errors
from gwaudit.cli import cli

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def blocks(lang: str) -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```", README, flags=re.S | re.M)


def readme_commands() -> list[str]:
    """Every command line of the README's ``sh`` blocks (``console`` blocks are illustrations)."""
    out = []
    for block in blocks("sh"):
        for line in block.splitlines():
            line = line.strip()
            if not line or line.startswith("#") or line.startswith("python3 -m venv"):
                continue  # the set-up commands are what CI itself runs
            out.append(line)
    return out


def _all_commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], click.Command]]:
    found = []
    for name, cmd in sorted(group.commands.items()):
        found.append((prefix + (name,), cmd))
        if isinstance(cmd, click.Group):
            found += _all_commands(cmd, prefix + (name,))
    return found


def test_every_readme_command_runs(tmp_path):
    """Run README's sh blocks in order, in a fresh folder holding the sample snapshots."""
    (tmp_path / "sample_snapshots").symlink_to(ROOT / "sample_snapshots")
    waiver_example = next(b for b in blocks("yaml") if "justification:" in b)
    (tmp_path / "waivers.yaml").write_text(waiver_example)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GWAUDIT_")}
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    commands = readme_commands()
    assert len(commands) >= 25
    for line in commands:
        assert line.startswith("gwaudit "), line
        done = subprocess.run(["bash", "-c", line], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=600)
        allowed = {0, 1} if "--fail-on" in line else {0}
        assert done.returncode in allowed, f"{line}\n{done.stderr[-2000:]}"
        assert "Traceback" not in done.stderr and "internal error" not in done.stderr, line


@pytest.mark.parametrize("path, command", _all_commands(cli), ids=lambda x: " ".join(x) if isinstance(x, tuple) else "")
def test_every_command_has_help_and_is_documented(path, command):
    assert command.help and len(command.help.split()) >= 5, f"gwaudit {' '.join(path)} needs a help text"
    for param in command.params:
        if isinstance(param, click.Option) and param.name != "help":
            assert param.help, f"gwaudit {' '.join(path)} {param.opts[0]} has no help"
    assert f"gwaudit {' '.join(path)}" in README or f"`{path[-1]}`" in README, path


def test_top_level_help_lists_exit_codes():
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for code in range(6):
        assert f"{code} " in result.output


def test_exit_code_table_matches_the_code():
    table = dict(re.findall(r"^\| (\d) \| (.+?) \|$", README, flags=re.M))
    assert table.keys() == {"0", "1", "2", "3", "4", "5", "6"}
    assert int(next(k for k, v in table.items() if "no evidence" in v)) == errors.NoEvidence.exit_code
    assert int(next(k for k, v in table.items() if "authentication" in v)) == errors.AuthError.exit_code
    assert int(next(k for k, v in table.items() if "incomplete" in v)) == errors.IncompleteEvidence.exit_code
    assert int(next(k for k, v in table.items() if "usage" in v)) == errors.UsageError.exit_code
    assert int(next(k for k, v in table.items() if "locked" in v)) == errors.LockTimeout.exit_code


def test_ci_runs_the_readme_test_command():
    setup = blocks("sh")[1]
    test_command = next(line for line in setup.splitlines() if line.startswith("python3 -m venv"))
    assert test_command in (ROOT / ".ci" / "run").read_text()


def test_shell_completion(tmp_path):
    exe = Path(sys.executable).parent / "gwaudit"
    script = subprocess.run([str(exe)], env={**os.environ, "_GWAUDIT_COMPLETE": "bash_source"},
                            capture_output=True, text=True, timeout=60)
    assert "complete" in script.stdout and "_gwaudit_completion" in script.stdout
    words = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60, env={
        **os.environ, "_GWAUDIT_COMPLETE": "bash_complete", "COMP_WORDS": "gwaudit au", "COMP_CWORD": "1"})
    assert "audit" in words.stdout
    opts = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60, env={
        **os.environ, "_GWAUDIT_COMPLETE": "bash_complete", "COMP_WORDS": "gwaudit audit --fail", "COMP_CWORD": "2"})
    assert "--fail-on" in opts.stdout
