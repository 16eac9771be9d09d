"""Text an attacker can give resources through the API: bidi controls isolated in the HTML report
(a real Chromium lays the text out), escaped on the terminal; spreadsheet formulas neutralised in
CSV even behind leading whitespace."""
from __future__ import annotations

import copy
import csv
import io
import json
import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from gwaudit.output import BIDI_CONTROLS, safe_cell, terminal_text, text_table
from gwaudit.report import ReportOptions, make_report
from gwaudit.report.html import render_html
from gwaudit.testing import store_snapshot
from tests.report_data import report_data
from tests.test_report_browser import ARGS, CHROMIUM, _browser_or_skip

EXAMPLES = Path(__file__).parent / "data" / "examples"
RLO_NAME = "ci-key\u202e-evil\u2066"  # an override and an isolate left open
RTL_NAME = "\u0645\u0641\u062a\u0627\u062d 7"  # Arabic "key" then a number
FORMULA_NAMES = [" =HYPERLINK(\"http://x\")", "\n@SUM(A1)", "\t =1+1", "\n\t+cmd|' /C calc'!A0", "-42", "+3.5"]


def _keys(names: list[str]) -> list[dict]:
    base = json.loads((EXAMPLES / "api_keys.json").read_text())[0]
    keys = []
    for i, name in enumerate(names):
        k = copy.deepcopy(base)
        k.update(id=f"00000000-0000-4000-8000-{i:012d}", name=name, expires_at=None, revoked_at=None,
                 disabled_at=None, key_prefix=f"bd-{i:04d}")
        keys.append(k)
    return keys


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("hostile")
    path = root / "audit.duckdb"
    store_snapshot(path, {"api_keys": _keys(["plain-key", "to-be-renamed"])}, taken_at="2026-10-01T06:00:00Z",
                   folder=root / "s1")
    names = ["plain-key", "renamed\u202ecod\x1b[2J", RLO_NAME, RTL_NAME, *FORMULA_NAMES]
    store_snapshot(path, {"api_keys": _keys(names)}, taken_at="2026-11-01T06:00:00Z", folder=root / "s2")
    return path


def gw(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gwaudit.cli", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=300, env={**os.environ, "NO_COLOR": "1"})


# ---------------------------------------------------------------- terminal

def test_terminal_text_escapes_bidi_and_control_characters():
    for ch in BIDI_CONTROLS:
        assert terminal_text(f"a{ch}b") == f"a\\u{ord(ch):04x}b"
    assert terminal_text("x\x1b[31mred\x07\x9b") == "x\\x1b[31mred\\x07\\x9b"
    assert terminal_text("tab\tand \u0645 stay") == "tab\tand \u0645 stay"
    table = text_table(["name"], [[RLO_NAME], ["a\x1b]0;title\x07"]])
    assert "\u202e" not in table and "\x1b" not in table and "ci-key\\u202e-evil\\u2066" in table


def test_audit_sql_and_diff_on_a_terminal_show_bidi_escaped(db, tmp_path):
    audit = gw(["--db", str(db), "audit", "--only", "GW-KEY-001"], tmp_path)
    assert audit.returncode == 0, audit.stderr
    sql = gw(["--db", str(db), "sql", "SELECT name FROM api_keys ORDER BY name"], tmp_path)
    diff = gw(["--db", str(db), "diff"], tmp_path)
    for out in (audit.stdout, sql.stdout, diff.stdout):
        assert not any(ch in out for ch in BIDI_CONTROLS) and "\x1b" not in out, out
    assert "ci-key\\u202e-evil\\u2066" in audit.stdout and "renamed\\u202ecod\\x1b[2J" in diff.stdout
    assert "ci-key\\u202e-evil\\u2066" in sql.stdout
    assert RTL_NAME in audit.stdout  # right-to-left letters are text, not controls: kept
    # CSV and JSON keep the data exactly as received
    data = json.loads(gw(["--db", str(db), "audit", "--only", "GW-KEY-001", "--format", "json"], tmp_path).stdout)
    assert RLO_NAME in {f["resource_name"] for f in data["findings"]}


# ---------------------------------------------------------------- CSV

@pytest.mark.parametrize("text, expected", [
    ("=1+1", "'=1+1"), (" =cmd", "' =cmd"), ("\n@SUM(A1)", "'\n@SUM(A1)"), ("\t =1", "'\t =1"),
    ("\r\n+x", "'\r\n+x"), ("  -2+3+cmd", "'  -2+3+cmd"), ("\u00a0=x", "'\u00a0=x"),
    ("-42", "-42"), ("+3.5", "+3.5"), (" -1e5 ", " -1e5 "), ("key-1", "key-1"), ("a=b", "a=b"), ("", ""),
])
def test_safe_cell(text, expected):
    assert safe_cell(text) == expected


def test_csv_outputs_neutralise_formulas_behind_whitespace(db, tmp_path):
    audit_csv = gw(["--db", str(db), "audit", "--only", "GW-KEY-001", "--format", "csv"], tmp_path).stdout
    out = tmp_path / "reports"
    result = make_report(db, ReportOptions(formats=["csv"], out=out))
    findings_csv = next(p for p in result.paths if p.name.endswith("-findings.csv")).read_text(encoding="utf-8")
    inventory = next(p for p in result.paths if p.name.endswith("-inventory"))
    keys_csv = (inventory / "api_keys.csv").read_text(encoding="utf-8")
    for text in (audit_csv, findings_csv, keys_csv):
        names = {row["resource_name"] if "resource_name" in row else row["name"]
                 for row in csv.DictReader(io.StringIO(text))}
        for name in FORMULA_NAMES:
            if name in ("-42", "+3.5"):
                assert name in names  # a number stays a number
            else:
                assert "'" + name in names and name not in names, (name, text[:200])
        assert RLO_NAME in names  # bidi controls are data in CSV: kept as received


# ---------------------------------------------------------------- HTML

class _BidiCheck(HTMLParser):
    """Collects bidi controls found outside <bdi> (in text, attributes or the title)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.depth = 0
        self.tag: list[str] = []
        self.outside: list[str] = []
        self.inside = 0

    def handle_starttag(self, tag, attrs):
        for _, value in attrs:
            if value and any(ch in value for ch in BIDI_CONTROLS):
                self.outside.append(f"attribute of <{tag}>: {value!r}")
        if tag == "bdi":
            self.depth += 1
        self.tag.append(tag)

    def handle_endtag(self, tag):
        if tag == "bdi":
            self.depth -= 1
        if self.tag:
            self.tag.pop()

    def handle_data(self, data):
        if any(ch in data for ch in BIDI_CONTROLS):
            if self.depth > 0 and (not self.tag or self.tag[-1] != "title"):
                self.inside += 1
            else:
                self.outside.append(data)


def _hostile_data():
    data = report_data(12)
    data.org = "Acme\u202eevil"
    f = data.findings
    f[0].resource_name, f[0].message = RLO_NAME, f"key {RLO_NAME} never expires"
    f[1].resource_name, f[1].evidence = RTL_NAME, {"\u202ekey": "visible-value-123", "note": "\u2067x"}
    data.changes[0].name = "chg\u202b"
    data.waivers[0].justification = "ok\u200f"
    data.inventory[0].rows[0][0] = "inv\u061c"
    return data


def test_every_bidi_control_in_the_html_report_is_inside_bdi(tmp_path):
    html = render_html(_hostile_data())
    check = _BidiCheck()
    check.feed(html)
    assert check.outside == []
    assert check.inside >= 7
    assert "<title>gwaudit report: Acme\\u202eevil, snapshot" in html
    assert f"<bdi>{RTL_NAME}</bdi>" in html  # right-to-left text is isolated too
    assert "<bdi>plain" not in html and html.count("<bdi>") < 40  # only what needs it


def test_the_pdf_renders_isolated_text(tmp_path):
    from pypdf import PdfReader

    from gwaudit.report.pdf import render_pdf

    reader = PdfReader(io.BytesIO(render_pdf(_hostile_data(), attachments={})))
    assert reader.metadata.title and "\u202e" not in reader.metadata.title
    assert "\\u202e" in reader.metadata.title
    assert "visible-value-123" in "".join(page.extract_text() for page in reader.pages)


def _direction(page, needle: str) -> str:
    """'ltr' when the first character of ``needle`` is laid out left of its last, else 'rtl'."""
    xs = page.evaluate("""(needle) => {
        const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
        for (let n = walker.nextNode(); n; n = walker.nextNode()) {
            const i = n.textContent.indexOf(needle);
            if (i < 0) continue;
            const r = document.createRange();
            r.setStart(n, i); r.setEnd(n, i + 1);
            const first = r.getBoundingClientRect().left;
            r.setStart(n, i + needle.length - 1); r.setEnd(n, i + needle.length);
            return [first, r.getBoundingClientRect().left];
        }
        return null;
    }""", needle)
    assert xs is not None, needle
    return "ltr" if xs[0] < xs[1] else "rtl"


def test_in_a_browser_an_override_does_not_turn_the_text_after_it_around(tmp_path):
    sync_playwright = _browser_or_skip()
    html = render_html(_hostile_data())
    isolated = tmp_path / "isolated.html"
    isolated.write_text(html, encoding="utf-8")
    naked = tmp_path / "naked.html"  # the same page without the isolation: the control check
    naked.write_text(html.replace("<bdi>", "").replace("</bdi>", ""), encoding="utf-8")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = browser.new_page()
            page.goto(isolated.as_uri())
            assert _direction(page, "visible-value-123") == "ltr"
            assert page.evaluate("getComputedStyle(document.querySelector('bdi')).unicodeBidi") == "isolate"
            page.goto(naked.as_uri())
            assert _direction(page, "visible-value-123") == "rtl"  # the attack works without <bdi>
        finally:
            browser.close()


def test_report_from_the_database_isolates_api_names(db, tmp_path):
    result = make_report(db, ReportOptions(formats=["html"], out=tmp_path / "r"))
    html = result.paths[0].read_text(encoding="utf-8")
    check = _BidiCheck()
    check.feed(html)
    assert check.outside == [] and check.inside > 0
    assert "<bdi>ci-key\u202e-evil\u2066</bdi>" in html
