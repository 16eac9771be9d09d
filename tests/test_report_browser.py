"""The HTML report in a real headless Chromium (Debian's /usr/bin/chromium, driven by
Playwright): the page loads from disk, no script from the data runs, the CSP lets our own
script run, and the findings filter works. In CI (CI=true) a missing browser fails the test."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from gwaudit.report.html import render_html
from tests.report_data import report_data

CHROMIUM = os.environ.get("GWAUDIT_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-dev-shm-usage"]


def _browser_or_skip():
    missing = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - the test extra installs it
        missing = "playwright is not installed (pip install -e '.[test]')"
    if missing is None and not Path(CHROMIUM).exists():
        missing = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    if missing:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI needs a browser for the HTML report test: {missing}")
        pytest.skip(missing)
    return sync_playwright


@pytest.fixture(scope="module")
def report_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("html") / "report.html"
    path.write_text(render_html(report_data(120, hostile=True)), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def browser(report_file: Path):
    sync_playwright = _browser_or_skip()
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def page(browser, report_file: Path):
    context = browser.new_context(java_script_enabled=True)
    requests: list[str] = []
    context.on("request", lambda r: requests.append(r.url))
    pg = context.new_page()
    messages: list[str] = []
    pg.on("console", lambda m: messages.append(f"{m.type}: {m.text}"))
    pg.on("pageerror", lambda e: messages.append(f"pageerror: {e}"))
    try:
        pg.goto(report_file.as_uri(), wait_until="load")
        yield pg, requests, messages
    finally:
        context.close()


def visible_rows(pg) -> int:
    return pg.evaluate("""() => Array.from(document.querySelectorAll('table.findings tbody tr'))
                           .filter(r => r.offsetParent !== null).length""")


def test_the_page_loads_and_no_script_from_the_data_runs(page) -> None:
    pg, requests, messages = page
    assert pg.evaluate("() => window.__pwned") is None
    assert pg.title() != "PWNED"  # the hostile script would have set it
    assert pg.title().startswith("gwaudit report: ACME <script>")  # the text, shown as text
    assert pg.evaluate("() => document.querySelectorAll('img, iframe, object, embed').length") == 0
    assert pg.locator("h1.org").inner_text().startswith("ACME <script>window.__pwned")
    # only the file itself was requested
    assert all(u.startswith("file://") for u in requests), requests
    assert not [m for m in messages if "Content Security Policy" in m], messages
    assert not [m for m in messages if m.startswith("pageerror")], messages


def test_our_script_runs_and_the_filter_works(page) -> None:
    pg, _, _ = page
    controls = pg.locator("#finding-controls")
    assert controls.is_visible()  # shown by the script: the CSP hash let it run
    assert visible_rows(pg) == 120
    assert pg.locator("#finding-count").inner_text() == "120 of 120 findings"
    pg.fill("#finding-search", "k-000042")
    assert visible_rows(pg) == 1
    assert pg.locator("#finding-count").inner_text() == "1 of 120 findings"
    pg.fill("#finding-search", "")
    pg.select_option("#finding-severity", "critical")
    critical = visible_rows(pg)
    assert 0 < critical < 120
    assert pg.evaluate("""() => Array.from(document.querySelectorAll('section.rule'))
                            .filter(s => !s.hidden).every(s => s.dataset.severity === 'critical')""")
    pg.select_option("#finding-severity", "")
    pg.select_option("#finding-status", "waived")
    waived = visible_rows(pg)
    assert 0 < waived < 120
    pg.select_option("#finding-status", "")
    assert visible_rows(pg) == 120


def test_sorting_a_findings_table(page) -> None:
    pg, _, _ = page
    first_table = pg.locator("table.findings").first
    first_table.locator("th button.sort").nth(4).click()  # first seen
    dates = first_table.locator("tbody tr td:nth-child(5)").all_inner_texts()
    assert dates == sorted(dates)
    first_table.locator("th button.sort").nth(4).click()
    dates = first_table.locator("tbody tr td:nth-child(5)").all_inner_texts()
    assert dates == sorted(dates, reverse=True)


def test_without_javascript_everything_is_there(browser, report_file: Path) -> None:
    context = browser.new_context(java_script_enabled=False)
    try:
        pg = context.new_page()
        pg.goto(report_file.as_uri(), wait_until="load")
        assert not pg.locator("#finding-controls").is_visible()  # nothing that would not work
        assert visible_rows(pg) == 120
        for section in ("summary", "compliance", "findings", "changes", "waivers", "inventory", "rules"):
            assert pg.locator(f"#{section}").count() == 1
        assert pg.locator("#figure-severity svg").is_visible()
    finally:
        context.close()
