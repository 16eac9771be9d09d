"""The Jinja environment for reports: autoescape on, StrictUndefined, user overrides.

Templates are looked up in ``--template-dir`` first, then in the built-in folder
(:func:`gwaudit.resources.templates_dir`). A user template can extend the built-in one it
replaces through the ``default:`` prefix, as datasette does::

    {% extends "default:report.html.j2" %}
    {% block title_extra %} - ACME internal{% endblock %}

Static files (``report.css``, ``print.css``, ``report.js``) resolve the same way, so a user
folder may override them too.

Every ``{{ value }}`` goes through :func:`isolate`: a string that can reorder the text around it
(a bidi control such as U+202E, or a right-to-left letter) is wrapped in ``<bdi>``, so a resource
name cannot turn the rest of a line around. Where an element cannot hold ``<bdi>`` (``<title>``,
an attribute), use the ``plain`` filter: it shows bidi controls escaped (``\\u202e``).
"""

from __future__ import annotations

import functools
import json
from datetime import date, datetime
from pathlib import Path
from typing import Any, Optional

import jinja2
from markupsafe import Markup, escape

from ..errors import UsageError
from ..output import escape_bidi, has_bidi, jsonable
from ..resources import templates_dir
from ..timeutil import format_ts
from .model import FRAMEWORKS


def environment(template_dir: Optional[Path] = None) -> jinja2.Environment:
    """The environment for ``template_dir`` (or the built-in templates alone).

    One environment per folder and process, so a template is compiled once rather than on
    every report (compiling the report templates costs more than rendering them); Jinja
    still reloads a template whose file changed.
    """
    if template_dir is not None and not Path(template_dir).is_dir():
        raise UsageError(f"--template-dir {template_dir} is not a folder",
                         hint="give a folder holding your .j2 templates (see README, 'Reports')")
    return _environment(str(Path(template_dir).resolve()) if template_dir is not None else None,
                        str(templates_dir()))


@functools.lru_cache(maxsize=8)
def _environment(template_dir: Optional[str], builtin_dir: str) -> jinja2.Environment:
    builtin = jinja2.FileSystemLoader(builtin_dir)
    loaders: list[jinja2.BaseLoader] = []
    if template_dir is not None:
        loaders.append(jinja2.FileSystemLoader(template_dir))
    loaders.append(jinja2.PrefixLoader({"default": builtin}, delimiter=":"))
    loaders.append(builtin)
    env = jinja2.Environment(loader=jinja2.ChoiceLoader(loaders), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=False, finalize=isolate)
    env.filters.update(ts=fmt_ts, day=fmt_day, value=fmt_value, sha=short_sha, plural=plural,
                       evidence=evidence_items, oneline=oneline, packed=packed, plain=plain)
    env.globals.update(FRAMEWORKS=FRAMEWORKS)
    return env


def static_text(env: jinja2.Environment, name: str) -> str:
    """A static file (CSS or JS) through the same loaders as the templates. It is inlined into
    a ``<style>``/``<script>`` element, so it must not close that element early."""
    assert env.loader is not None
    try:
        text, _, _ = env.loader.get_source(env, name)
    except jinja2.TemplateNotFound:
        raise UsageError(f"report file {name} not found in the template folders",
                         hint="restore it or remove your override") from None
    tag = "script" if name.endswith(".js") else "style"
    if f"</{tag}" in text.lower():
        raise UsageError(f"{name} contains '</{tag}', which would end the inlined element early")
    return text


# ---------------------------------------------------------------- filters

def isolate(value: Any) -> Any:
    """The environment's ``finalize``: a string holding a bidi control or a right-to-left letter
    comes out escaped inside ``<bdi>`` (an isolate: nothing in it reorders what is around it)."""
    if isinstance(value, str) and not isinstance(value, Markup) and has_bidi(value):
        return Markup("<bdi>") + escape(value) + Markup("</bdi>")
    return value


def plain(value: Any) -> Markup:
    """For ``<title>`` and attributes, which cannot hold ``<bdi>``: escaped, bidi controls shown as
    ``\\u202e``."""
    return escape(escape_bidi("" if value is None else str(value)))


def fmt_ts(value: Any) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, datetime):
        return format_ts(value.replace(microsecond=0)).replace("T", " ").replace("Z", " UTC")
    return str(value)


def fmt_day(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, (datetime, date)):
        return value.strftime("%Y-%m-%d")
    return str(value)


def fmt_value(value: Any, limit: int = 300) -> str:
    """One value as short text: JSON for structures, ``-`` for nothing, cut at ``limit``."""
    if value is None:
        return "null"
    if isinstance(value, str):
        text = value
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, (datetime, date)):
        text = fmt_ts(value)
    else:
        text = json.dumps(jsonable(value), ensure_ascii=False, separators=(", ", ": "))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def evidence_items(evidence: Any, limit: int = 300) -> list[tuple[str, str]]:
    if not isinstance(evidence, dict):
        return [("value", fmt_value(evidence, limit))] if evidence not in (None, "") else []
    return [(str(k), fmt_value(v, limit)) for k, v in evidence.items()]


def oneline(value: Any) -> str:
    """Text on one line: runs of whitespace (line breaks too) become one space."""
    return " ".join(str(value).split()) if value is not None else ""


def packed(items: Any, width: int = 70, sep: str = ", ") -> str:
    """``items`` joined by ``sep``, in lines of at most ``width`` characters broken between items
    only (an item longer than a line has a line of its own). For a cell set with ``white-space:
    pre-line``: left to itself, the line breaking splits an id like GW-RL-004 after a hyphen."""
    lines: list[str] = []
    line = ""
    for item in map(str, items):
        candidate = f"{line}{sep}{item}" if line else item
        if line and len(candidate) + len(sep.rstrip()) > width:
            lines.append(line + sep.rstrip())
            line = item
        else:
            line = candidate
    if line:
        lines.append(line)
    return "\n".join(lines)


def short_sha(value: Optional[str], n: int = 16) -> str:
    return (value or "-")[:n]


def plural(n: int, word: str, many: Optional[str] = None) -> str:
    return f"{n} {word if n == 1 else (many or word + 's')}"
