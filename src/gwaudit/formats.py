"""Output formats: one registry from format name to renderer.

Every format renders a :class:`gwaudit.report.model.ReportData` - the audit of a snapshot with
everything around it - in one or both of two ways:

* ``files(data, ctx)`` for ``gwaudit report`` and ``gwaudit run``: the files it writes, as
  ``{suffix: bytes}`` (``"report.html"``, ``"inventory/api_keys.csv"``); the report names each
  ``<org>-<date>-s<id>-<suffix>``;
* ``stream(data, ctx)`` for ``gwaudit audit --format``: one document on standard output.

The command line's choices and help, the configuration's ``report.formats`` validation and
``run``'s default formats all come from :data:`REGISTRY`. Adding a format is one module with its
render functions plus one :func:`register` line (below for the built-in ones; a plugin or a test
may call :func:`register` itself), as README's "Adding a format" shows.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Union

from .errors import UsageError
from .output import Styler, plain

Render = Callable[..., Any]
Ref = Union[str, Render]
"""A render function, or ``"module:function"`` imported when first used (the PDF renderer pulls in
WeasyPrint, which the other commands should not pay for)."""


@dataclass
class RenderContext:
    """What a renderer may need besides the data."""
    max_resources_per_rule: int = 25
    template_dir: Optional[Path] = None
    on_pdf_progress: Optional[Callable[[int, int], None]] = None
    style: Styler = plain
    """Colours for terminal output (``click.style`` from the command line on a terminal)."""
    attachments: dict[str, bytes] = field(default_factory=dict)
    """Files the PDF attaches (findings.csv, findings.json), filled by the report writer."""


@dataclass(frozen=True)
class Renderer:
    name: str
    help: str
    """One line for ``--help`` and README."""
    files: Optional[Ref] = None
    stream: Optional[Ref] = None
    default: bool = False
    """Written by ``gwaudit report`` and ``gwaudit run`` when no format is configured."""

    def render_files(self, data: Any, ctx: RenderContext) -> dict[str, bytes]:
        return _resolve(self.files)(data, ctx)

    def render_stream(self, data: Any, ctx: RenderContext) -> str:
        from .redact import redact_obj  # as write_outputs does for files: no renderer sees a credential

        return _resolve(self.stream)(redact_obj(data), ctx)


def _resolve(ref: Optional[Ref]) -> Render:
    if ref is None:
        raise UsageError("this format cannot be rendered here")
    if isinstance(ref, str):
        module, _, name = ref.partition(":")
        return getattr(importlib.import_module(module), name)
    return ref


REGISTRY: dict[str, Renderer] = {}


def register(renderer: Renderer) -> Renderer:
    """Add (or replace) a format."""
    REGISTRY[renderer.name] = renderer
    return renderer


def unregister(name: str) -> None:
    REGISTRY.pop(name, None)


def report_formats() -> list[str]:
    """Formats ``gwaudit report`` can write."""
    return [r.name for r in REGISTRY.values() if r.files is not None]


def stream_formats() -> list[str]:
    """Formats ``gwaudit audit`` can print."""
    return [r.name for r in REGISTRY.values() if r.stream is not None]


def default_formats() -> list[str]:
    return [r.name for r in REGISTRY.values() if r.default and r.files is not None]


def formats_help(names: list[str]) -> str:
    return "; ".join(f"{n}: {REGISTRY[n].help}" for n in names)


def parse_formats(values: Any) -> list[str]:
    """``["html,pdf", "csv"]`` -> ``["html", "pdf", "csv"]`` (order kept, duplicates dropped);
    each must be a format reports can be written in."""
    known = report_formats()
    out: list[str] = []
    for v in ([values] if isinstance(values, str) else values):
        for f in str(v).split(","):
            f = f.strip().lower()
            if not f:
                continue
            if f not in known:
                raise UsageError(f"--format {f}: expected some of {', '.join(known)} (comma-separated)")
            if f not in out:
                out.append(f)
    if not out:
        raise UsageError(f"--format: give at least one of {', '.join(known)}")
    return out


# ---------------------------------------------------------------- the built-in formats

register(Renderer("table", "findings grouped by severity, for a terminal",
                  stream="gwaudit.rules.render:audit_table"))
register(Renderer("html", "one self-contained page that opens from disk",
                  files="gwaudit.report.html:report_files", default=True))
register(Renderer("pdf", "the compliance PDF (PDF/A-3b, findings attached)",
                  files="gwaudit.report.pdf:report_files", default=True))
register(Renderer("csv", "findings, changes and the inventory as CSV",
                  files="gwaudit.report.tables:csv_files", stream="gwaudit.rules.render:audit_csv", default=True))
register(Renderer("json", "the report and its findings as JSON",
                  files="gwaudit.report.tables:json_files", stream="gwaudit.report.tables:audit_json", default=True))
register(Renderer("ocsf", "OCSF 1.5 Compliance Finding events, one JSON object per line, for a SIEM",
                  files="gwaudit.report.ocsf:files", stream="gwaudit.report.ocsf:stream"))
register(Renderer("junit", "JUnit XML: a test case per rule, a failure per open finding, for CI",
                  files="gwaudit.report.junit:files", stream="gwaudit.report.junit:stream"))
