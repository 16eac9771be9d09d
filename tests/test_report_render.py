"""Renderers on ReportData fixtures: HTML structure and escaping, CSV neutralising, JSON shape,
template overrides. (PDF: test_report_pdf.py; a real browser: test_report_browser.py.)"""

from __future__ import annotations

import csv
import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from gwaudit.errors import UsageError
from gwaudit.report import tables
from gwaudit.report.html import csp_hash, render_html
from gwaudit.report.run import parse_formats, write_outputs
from tests.report_data import HOSTILE_FORMULA, KNOWN_REMEDIATION, report_data

SECTION_IDS = ("summary", "compliance", "findings", "changes", "waivers", "inventory", "rules")


class Page(HTMLParser):
    """Every start tag with its attributes, and the text of script and style elements."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self._in: str | None = None
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag in ("script", "style"):
            self._in = tag
            (self.scripts if tag == "script" else self.styles).append("")

    def handle_endtag(self, tag):
        if tag == self._in:
            self._in = None

    def handle_data(self, data):
        if self._in == "script":
            self.scripts[-1] += data
        elif self._in == "style":
            self.styles[-1] += data
        else:
            self.text.append(data)

    def ids(self) -> set[str]:
        return {a["id"] for _, a in self.tags if a.get("id")}


def parse(html: str) -> Page:
    p = Page()
    p.feed(html)
    return p


@pytest.fixture(scope="module")
def hostile_html() -> str:
    return render_html(report_data(60, hostile=True))


def test_html_has_every_section_and_the_header_facts(hostile_html: str) -> None:
    page = parse(hostile_html)
    assert set(SECTION_IDS) <= page.ids()
    text = " ".join(page.text)
    for fact in ("Organisation", "Base URL", "Snapshot", "Taken at", "Manifest SHA-256", "Tool version", "Period",
                 "2026-Q3", "07" * 32, "Mean time", "Collection completeness", "SOC 2", "ISO/IEC 27001",
                 "NIST SP 800-53", "ISO/IEC 42001", KNOWN_REMEDIATION, "alice@example.com"):
        assert fact.lower() in text.lower(), fact
    # charts are inline SVG, with no script of their own
    assert hostile_html.count("<svg") == 2


def test_trend_axis_labels_are_short_and_stay_unambiguous() -> None:
    from datetime import datetime, timezone

    from gwaudit.report.charts import trend_chart, trend_labels
    from gwaudit.report.model import SEVERITIES, TrendPoint

    def points(*stamps: str) -> list[TrendPoint]:
        return [TrendPoint(i + 1, datetime.fromisoformat(s).replace(tzinfo=timezone.utc), {"high": i})
                for i, s in enumerate(stamps)]

    # distinct days of one year: the day and month (the period and the snapshots table say the rest)
    assert trend_labels(points("2026-07-01T00:00", "2026-09-09T06:00")) == ["1 Jul", "9 Sep"]
    # across a new year: the full date
    assert trend_labels(points("2026-12-31T00:00", "2027-01-02T00:00")) == ["2026-12-31", "2027-01-02"]
    # two snapshots on one day: the snapshot id tells them apart
    assert trend_labels(points("2026-07-01T00:00", "2026-07-01T12:00")) == ["#1 2026-07-01", "#2 2026-07-01"]
    # the chart carries the labels, and a value axis of whole numbers (0 to 11 findings here)
    svg = trend_chart(points(*(f"2026-07-{d:02d}T00:00" for d in range(1, 13)))).standalone
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    assert "12 Jul" in texts
    assert [t for t in texts if not t.endswith("Jul") and t not in SEVERITIES] == ["0", "5", "10", "15"]


@pytest.mark.parametrize(("top", "labels"), [(0, [0, 1]), (3, [0, 1, 2, 3]), (40, [0, 10, 20, 30, 40]),
                                             (1000, [0, 200, 400, 600, 800, 1000]), (5322, [0, 2000, 4000, 6000])])
def test_count_axes_are_whole_numbers_in_at_most_six_steps(top: int, labels: list[int]) -> None:
    from gwaudit.report.charts import count_axis

    assert count_axis(top) == {"y_labels": labels, "range": (0, labels[-1])}


def test_hostile_names_are_escaped_and_nothing_executes_or_loads(hostile_html: str) -> None:
    page = parse(hostile_html)
    # exactly one script: ours, allowed by hash in the CSP
    assert len(page.scripts) == 1
    csp = [a["content"] for t, a in page.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
    assert len(csp) == 1
    assert csp_hash(page.scripts[0]) in csp[0]
    assert "default-src 'none'" in csp[0]
    assert all(csp_hash(s) in csp[0] for s in page.styles)
    # no element from the data: no img, no event handler, no link target from the data
    assert not [t for t, _ in page.tags if t in ("img", "iframe", "object", "embed", "link", "base", "form")]
    for tag, attrs in page.tags:
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)
            if name in ("href", "src", "action", "xlink:href", "poster", "srcset"):
                assert value and value.startswith("#"), (tag, name, value)
    # the hostile strings are there, as text
    assert "&lt;script&gt;window.__pwned = 1" in hostile_html
    assert "&lt;img src=x onerror=&#34;window.__pwned = 2&#34;&gt;" in hostile_html
    assert "javascript:window.__pwned=3" in hostile_html
    assert "<script>window.__pwned" not in hostile_html
    assert "<img src=x" not in hostile_html
    # no URL to another host anywhere in markup or CSS
    assert not re.search(r"""(?:src|href|action)\s*=\s*["']?\s*(?:https?:)?//""", hostile_html, re.I)
    assert not re.search(r"url\(\s*['\"]?(?:https?:)?//", hostile_html, re.I)
    assert "@import" not in hostile_html


def test_html_for_10000_findings_stays_under_10_mb() -> None:
    html = render_html(report_data(10_000))
    assert len(html.encode()) < 10 * 1024 * 1024
    assert html.count('data-status="') == 10_000


def test_html_of_an_incomplete_snapshot_warns_before_the_summary() -> None:
    html = render_html(report_data(10, incomplete=True))
    warning = html.index("Incomplete snapshot.")
    assert warning < html.index('id="summary"')
    assert "route_health" in html[warning:warning + 300]


def test_csv_neutralises_formulas_and_flattens_frameworks(tmp_path: Path) -> None:
    data = report_data(30, hostile=True)
    rows = list(csv.DictReader(io.StringIO(tables.findings_csv(data).decode("utf-8"))))
    assert len(rows) == 30
    first = next(r for r in rows if r["resource_id"] == "k-000000")
    assert first["resource_name"] == "'" + HOSTILE_FORMULA
    assert first["frameworks"] == "soc2:CC6.1;iso27001:A.5.17;nist_800_53:IA-5;iso42001:A.6.2.6"
    assert first["nist_800_53"] == "IA-5"
    assert json.loads(first["evidence"])["scopes"] == ["*"]
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value
    inv = tables.inventory_csvs(data)["api_keys"].decode()
    assert "'" + HOSTILE_FORMULA.replace('"', '""') in inv


def test_changes_csv_one_row_per_changed_field() -> None:
    data = report_data(5, n_changes=6)
    rows = list(csv.DictReader(io.StringIO(tables.changes_csv(data).decode())))
    modified = [r for r in rows if r["change"] == "modified"]
    assert {r["path"] for r in modified} == {"enabled", "name"}
    enabled = next(r for r in modified if r["path"] == "enabled")
    assert (enabled["before"], enabled["after"], enabled["changed_by"]) == ("true", "false", "bob@example.com")
    assert len([r for r in rows if r["change"] == "added"]) == 2


def test_json_outputs_have_the_audit_shape_plus_period_and_changes() -> None:
    data = report_data(20, incomplete=True)
    audit = json.loads(tables.findings_json(data))
    assert set(audit) == {"snapshot", "rule_selection", "summary", "rules", "findings"}
    assert audit["findings"][0].keys() >= {"fingerprint", "rule_id", "severity", "status", "frameworks",
                                           "first_seen", "waiver", "evidence"}
    full = json.loads(tables.report_json(data))
    assert full["findings"] == audit["findings"]
    assert full["summary"]["new_in_period"] == 12 and full["summary"]["mean_time_to_resolve_days"] == 17.25
    assert full["period"]["label"] == "2026-Q3" and full["period"]["baseline"]["id"] == 1
    assert full["report"]["incomplete"] is True and full["report"]["missing_families"] == ["route_health"]
    assert "route_health" in full["report"]["warning"]
    assert len(full["changes"]["items"]) == 30
    assert {c["framework"] for c in full["controls"]} == {"soc2", "iso27001", "nist_800_53", "iso42001"}


def test_every_format_of_an_incomplete_snapshot_carries_the_warning(tmp_path: Path) -> None:
    data = report_data(8, incomplete=True)
    paths = write_outputs(data, tmp_path, ["html", "csv", "json"])
    names = sorted(p.name for p in paths)
    stem = "acme-corp-2026-q3-s7"  # a period report is named for its period
    assert f"{stem}-report.html" in names and f"{stem}-INCOMPLETE.txt" in names
    for p in paths:
        if p.is_file():
            assert "route_health" in p.read_text(encoding="utf-8"), p.name
    for p in (tmp_path / f"{stem}-inventory").iterdir():
        assert p.suffix == ".csv"


def test_formats_are_validated() -> None:
    assert parse_formats(["html,pdf", "csv", "html"]) == ["html", "pdf", "csv"]
    with pytest.raises(UsageError, match="docx"):
        parse_formats(["html,docx"])


def test_a_user_template_extends_the_builtin_one(tmp_path: Path) -> None:
    (tmp_path / "report.html.j2").write_text(
        '{% extends "default:report.html.j2" %}{% block title_extra %} - ACME internal{% endblock %}')
    (tmp_path / "report.css").write_text("body { color: #000; }")
    html = render_html(report_data(3), template_dir=tmp_path)
    assert "snapshot 7 - ACME internal</title>" in html
    page = parse(html)
    assert page.styles[0].startswith("body { color: #000; }")
    assert "summary" in page.ids()


def test_a_template_dir_that_is_missing_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="template-dir"):
        render_html(report_data(1), template_dir=tmp_path / "nope")


@pytest.mark.parametrize("items, width, expected", [
    ([], 70, ""),
    (["GW-RL-001"], 70, "GW-RL-001"),
    (["GW-ACC-001", "GW-KEY-002", "GW-RL-004"], 24, "GW-ACC-001, GW-KEY-002,\nGW-RL-004"),
    (["A-1", "B-2", "C-3"], 8, "A-1,\nB-2,\nC-3"),
    (["X" * 12, "Y"], 5, "XXXXXXXXXXXX,\nY"),  # an item longer than a line: a line of its own
])
def test_packed_lines_break_between_items_only(items: list[str], width: int, expected: str) -> None:
    from gwaudit.report.templates import packed

    assert packed(items, width) == expected
