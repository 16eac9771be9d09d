"""The HTML report: one file that opens from disk with no network.

CSS, script and charts are inlined; a Content Security Policy meta tag allows exactly those
(by SHA-256 hash) and nothing else: no other script, no network fetch, no form, no plugin.
Everything taken from the data is escaped by the template engine; the page works without
JavaScript, and the script only adds search, filters and sorting to the findings tables.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Optional

from .model import ReportData
from .templates import environment, static_text
from .view import SECTIONS, build_view

if TYPE_CHECKING:
    from ..formats import RenderContext


def csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def content_security_policy(styles: Iterable[str], scripts: Iterable[str]) -> str:
    return "; ".join([
        "default-src 'none'",
        "script-src " + " ".join(csp_hash(s) for s in scripts),
        "style-src " + " ".join(csp_hash(s) for s in styles),
        "img-src data:",
        "base-uri 'none'",
        "form-action 'none'",
    ])


def render_html(data: ReportData, *, template_dir: Optional[Path] = None) -> str:
    env = environment(template_dir)
    view = build_view(data, inline_charts=True)
    css = static_text(env, "report.css") + "\n" + view.chart_css
    js = static_text(env, "report.js")
    csp = content_security_policy([css], [js])
    return env.get_template("report.html.j2").render(r=data, v=view, css=css, js=js, csp=csp,
                                                     sections=SECTIONS)


def report_files(data: ReportData, ctx: "RenderContext") -> dict[str, bytes]:
    """The ``html`` format (:mod:`gwaudit.formats`)."""
    return {"report.html": render_html(data, template_dir=ctx.template_dir).encode("utf-8")}
