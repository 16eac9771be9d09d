"""Charts as SVG, drawn by pygal with its JavaScript left out.

Each chart comes in two forms: ``inline`` (an ``<svg>`` element for the HTML page, its CSS moved
to ``css`` so the page's Content Security Policy covers one stylesheet) and ``standalone`` (a
complete SVG document with its style inside, for the PDF as a ``data:`` image). Neither holds a
script, a comment or a reference to anything outside itself.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from functools import cached_property
from typing import Callable
from xml.etree import ElementTree as ET

import pygal
from pygal.style import Style

from .model import SEVERITIES, Summary, TrendPoint

SEVERITY_COLORS = {"critical": "#7f1d1d", "high": "#dc2626", "medium": "#f59e0b", "low": "#2563eb",
                   "info": "#6b7280"}
WAIVED_COLOR = "#a3a3a3"
FONT = "'DejaVu Sans', Verdana, Arial, sans-serif"


@dataclass
class Chart:
    """A chart as pygal drew it; the forms below are made when first asked for (the PDF needs
    only ``standalone``, the HTML page only ``inline`` and ``css``)."""
    name: str
    title: str
    svg: str
    """The complete SVG document pygal rendered (scripts, comments and tooltips removed)."""

    @cached_property
    def _inline_and_css(self) -> tuple[str, str]:
        return _split_style(self.svg)

    @property
    def inline(self) -> str:
        """``<svg>`` element without its style (for HTML; pair with ``css``)."""
        return self._inline_and_css[0]

    @property
    def css(self) -> str:
        """The chart's stylesheet, every selector scoped to ``#chart-<name>``."""
        return self._inline_and_css[1]

    @cached_property
    def standalone(self) -> str:
        """A complete SVG document for print (PDF): see :func:`_for_print`."""
        return _for_print(self.svg)

    @property
    def data_uri(self) -> str:
        return "data:image/svg+xml;base64," + base64.b64encode(self.standalone.encode("utf-8")).decode("ascii")


def _style(colors: tuple[str, ...]) -> Style:
    return Style(background="#ffffff", plot_background="#ffffff", foreground="#1f2937",
                 foreground_strong="#111827", foreground_subtle="#6b7280", colors=colors,
                 font_family=FONT, label_font_family=FONT, major_label_font_family=FONT,
                 value_font_family=FONT, value_label_font_family=FONT, tooltip_font_family=FONT,
                 title_font_family=FONT, legend_font_family=FONT, no_data_font_family=FONT,
                 title_font_size=14, legend_font_size=12, label_font_size=11, major_label_font_size=11,
                 no_data_font_size=20, transition="0s")


def _filter(name: str) -> Callable[[ET.Element], ET.Element]:
    """An xml filter: drop scripts, comments and the JS tooltip layer; give a stable id."""
    def strip(root: ET.Element) -> ET.Element:
        old = root.get("id", "")
        new = f"chart-{name}"
        root.set("id", new)
        for parent in list(root.iter()):
            for child in list(parent):
                tag = child.tag if isinstance(child.tag, str) else ""
                if (child.tag is ET.Comment or tag.endswith("script")
                        or "tooltip-overlay" in (child.get("class") or "")):
                    parent.remove(child)
                elif tag.endswith("style") and child.text and old:
                    child.text = child.text.replace(old, new)
        return root
    return strip


def _config(name: str, title: str, colors: tuple[str, ...], **kw) -> dict:
    return dict(js=[], disable_xml_declaration=True, explicit_size=True, width=kw.pop("width", 520),
                height=kw.pop("height", 300), style=_style(colors), legend_at_bottom=True,
                legend_at_bottom_columns=kw.pop("legend_columns", 5), print_values=False,
                show_y_guides=True, no_data_text="No findings", **kw)


def count_axis(top: int) -> dict:
    """The value axis of a chart of counts: whole numbers from 0 in steps of 1, 2 or 5 times a
    power of ten, at most six graduations. Enough to read a bar by; pygal's own scale printed up
    to sixteen (fractions of a finding among them), and each label is text WeasyPrint lays out
    glyph by glyph in the PDF."""
    top = max(int(top), 1)
    scale = 1
    while True:
        for m in (1, 2, 5):
            step = m * scale
            if top <= 5 * step:
                last = -(-top // step) * step
                return {"y_labels": list(range(0, last + 1, step)), "range": (0, last)}
        scale *= 10


_SVG = "http://www.w3.org/2000/svg"
_RULE = re.compile(r"([^{}]+)\{([^{}]*)\}")
_NEGATION = re.compile(r":not\([^)]*\)")
_CLASS = re.compile(r"\.(-?[_a-zA-Z][\w-]*)")


def _tostring(root: ET.Element) -> str:
    """``root`` as text, SVG in the default namespace (registered each time: other code, pygal
    among it, registers prefixes of its own)."""
    ET.register_namespace("", _SVG)
    return ET.tostring(root, encoding="unicode")


def _for_print(svg: str) -> str:
    """The chart as it stands on paper, lighter for WeasyPrint to draw (it matches every style
    rule against every node, and lays out text it never shows): without the ``<desc>`` and
    ``<title>`` texts of the tooltips, and with only the style rules that can match a node of
    this chart when nothing hovers over it (no ``:hover``/``:visited``, no class it lacks)."""
    root = ET.fromstring(svg)
    for parent in list(root.iter()):
        for child in list(parent):
            if child.tag in (f"{{{_SVG}}}desc", f"{{{_SVG}}}title"):
                parent.remove(child)
    used = {c for node in root.iter() for c in (node.get("class") or "").split()}

    def can_match(selector: str) -> bool:
        if ":hover" in selector or ":visited" in selector:
            return False
        return all(c in used for c in _CLASS.findall(_NEGATION.sub("", selector)))

    for node in root.iter(f"{{{_SVG}}}style"):
        rules = []
        for selectors, body in _RULE.findall(node.text or ""):
            kept = [sel for sel in selectors.split(",") if can_match(sel)]
            if kept:
                rules.append(",".join(kept) + "{" + body + "}")
        node.text = "\n".join(rules)
    return _tostring(root)


def _split_style(svg: str) -> tuple[str, str]:
    """(the ``<svg>`` element without its ``<style>``, for HTML; that style's text)."""
    root = ET.fromstring(svg)
    css = ""
    for parent in list(root.iter()):
        for child in list(parent):
            if isinstance(child.tag, str) and child.tag.endswith("style"):
                css += (child.text or "") + "\n"
                parent.remove(child)
    inline = _tostring(root)
    # In HTML the element needs no namespace declarations (and names no other host).
    inline = re.sub(r'\s+xmlns(:\w+)?="[^"]*"', "", inline)
    inline = re.sub(r"<(/?)ns\d+:", r"<\1", inline)
    return inline, css.strip()


def _finish(chart: pygal.graph.graph.Graph, name: str, title: str) -> Chart:
    chart.add_xml_filter(_filter(name))
    return Chart(name=name, title=title, svg=chart.render(is_unicode=True))


def severity_chart(summary: Summary) -> Chart:
    """Open and waived findings per severity (stacked bars)."""
    title = "Findings by severity"
    open_ = [summary.by_severity.get(s, {}).get("fail", 0) for s in SEVERITIES]
    waived = [summary.by_severity.get(s, {}).get("waived", 0) for s in SEVERITIES]
    chart = pygal.StackedBar(**_config("severity", title, ("#b91c1c", WAIVED_COLOR), legend_columns=2,
                                       **count_axis(max(o + w for o, w in zip(open_, waived)))))
    chart.x_labels = list(SEVERITIES)
    chart.add("open", open_)
    chart.add("waived", waived)
    return _finish(chart, "severity", title)


def trend_labels(trend: list[TrendPoint]) -> list[str]:
    """Short labels for the snapshots along the trend's axis: the day ("9 Sep") when the days are
    distinct and in one year (the period and the snapshots table give the rest), else the full
    date, with the snapshot id when two fall on one day. Short, because SVG text in the PDF is
    laid out one glyph at a time: full "#7 2026-09-09" labels were half the charts' text."""
    days = [p.taken_at.date() for p in trend]
    if len(set(days)) == len(days) and len({d.year for d in days}) <= 1:
        return [f"{d.day} {d:%b}" for d in days]
    if len(set(days)) == len(days):
        return [f"{d:%Y-%m-%d}" for d in days]
    return [f"#{p.snapshot_id} {p.taken_at:%Y-%m-%d}" for p in trend]


def trend_chart(trend: list[TrendPoint]) -> Chart:
    """Open findings per severity in each audited snapshot of the period."""
    title = "Open findings by severity across the period"
    colors = tuple(SEVERITY_COLORS[s] for s in SEVERITIES)
    labels = trend_labels(trend)
    crowded = sum(len(label) for label in labels) > 60
    top = max((sum(p.open_by_severity.get(s, 0) for s in SEVERITIES) for p in trend), default=0)
    chart = pygal.StackedBar(**_config("trend", title, colors, x_label_rotation=30 if crowded else 0,
                                       **count_axis(top)))
    chart.x_labels = labels
    for sev in SEVERITIES:
        chart.add(sev, [p.open_by_severity.get(sev, 0) for p in trend])
    return _finish(chart, "trend", title)


def report_charts(summary: Summary, trend: list[TrendPoint]) -> list[Chart]:
    return [severity_chart(summary), trend_chart(trend)]
