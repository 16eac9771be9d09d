"""Deployment examples that work as written: the Dockerfile runs README's install steps, and the
crontab, systemd and Kubernetes examples use what those steps install. (The image itself cannot be
built on these machines; README's development section says so.)"""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import yaml

from gwaudit import __version__

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
DOCKERFILE = (ROOT / "Dockerfile").read_text()
GWAUDIT = "/opt/gwaudit/.venv/bin/gwaudit"


def _section(title: str) -> str:
    """From the heading ``title`` to the next heading of its level or higher (not a root
    prompt ``# ...`` inside a console block)."""
    level = len(title) - len(title.lstrip("#"))
    start = README.index(title)
    m = re.compile(rf"^#{{1,{level}}} [A-Z`]", re.M).search(README, start + len(title))
    return README[start:m.start() if m else None]


def _blocks(text: str, lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", text, flags=re.S)


def readme_install_steps() -> list[str]:
    block = _blocks(_section("### Installing on a server"), "console")[0]
    return [" ".join(line[2:].split()) for line in block.splitlines() if line.startswith("# ")]


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(instruction, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n\s*", " ", "\n".join(ln for ln in DOCKERFILE.splitlines() if not ln.lstrip().startswith("#")))
    out = []
    for line in text.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def dockerfile_run_commands() -> list[str]:
    return [" ".join(cmd.split()) for word, rest in dockerfile_instructions() if word == "RUN"
            for cmd in rest.split("&&")]


def test_the_dockerfile_runs_the_readme_install_steps_in_order():
    steps = readme_install_steps()
    assert len(steps) >= 4 and any(s.startswith("python3 -m venv") for s in steps)
    commands = dockerfile_run_commands()
    positions = []
    for step in steps:
        assert step in commands, f"README step not in the Dockerfile: {step}"
        positions.append(commands.index(step))
    assert positions == sorted(positions)


def test_dockerfile_base_user_and_entrypoint():
    instructions = dockerfile_instructions()
    base = next(rest for word, rest in instructions if word == "FROM")
    assert re.fullmatch(r"python:3\.\d+-slim", base)
    users = [rest for word, rest in instructions if word == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    entry = next(rest for word, rest in instructions if word == "ENTRYPOINT")
    assert entry == f'["{GWAUDIT}"]'
    # the uid the CronJob's securityContext runs as is the image's user
    assert "--uid 10001" in DOCKERFILE and users[-1].startswith("10001")
    # whatever the Dockerfile copies exists in the repository
    for word, rest in instructions:
        if word == "COPY":
            for src in shlex.split(rest)[:-1]:
                assert (ROOT / src).exists(), src


def test_cron_and_systemd_examples_use_the_venv_path():
    section = _section("## Running from cron")
    cron = next(line for line in section.splitlines() if re.match(r"^[0-9*]+ [0-9*]+ \* \* \* ", line))
    assert cron.split()[5] == GWAUDIT
    ini = _blocks(section, "ini")[0]
    exec_start = next(line for line in ini.splitlines() if line.startswith("ExecStart="))
    assert exec_start.split("=", 1)[1].split()[0] == GWAUDIT


def test_the_cronjob_names_the_image_readme_builds():
    section = _section("## Running from cron")
    build = next(line for line in section.splitlines() if line.startswith("$ docker build "))
    tag = shlex.split(build[2:])[shlex.split(build[2:]).index("-t") + 1]
    assert tag.endswith(f":{__version__}")
    job = yaml.safe_load(next(b for b in _blocks(section, "yaml") if "kind: CronJob" in b))
    pod = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["image"] == tag
    assert pod["securityContext"]["runAsUser"] == 10001 and pod["securityContext"]["runAsNonRoot"] is True
    assert container["args"][-1] == "run"
    assert f"docker build -t {tag} ." in DOCKERFILE
