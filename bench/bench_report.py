"""Report rendering for a snapshot with 10,000 findings.

* HTML: file size and render time (goal: under 10 MB; a browser renders it in a few seconds).
* PDF: render time (layout + PDF/A-3b writing, attachments included) against WeasyPrint
  rendering a plain document - headings and paragraphs, same page size, margins, font and
  footer - with the same number of pages, in the same process (goal: ratio <= 1.5).
* PDF page count for 1,000 / 10,000 / 20,000 findings (goal: it does not grow: the per-rule
  cap holds it).

    python bench/bench_report.py [--findings 10000] [--repeat 3] [--browser]

Each measurement is the best of --repeat runs; ours and the baseline alternate so machine load
hits both alike. --browser also times Chromium loading the HTML (needs /usr/bin/chromium and
Playwright).
"""

from __future__ import annotations

import argparse
import io
import logging
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gwaudit.report import tables  # noqa: E402
from gwaudit.report.html import render_html  # noqa: E402
from gwaudit.report.pdf import render_pdf  # noqa: E402
from tests.report_data import report_data  # noqa: E402

PLAIN_CSS = """@page { size: A4; margin: 22mm 16mm 20mm 16mm; font-family: "DejaVu Sans";
  @bottom-right { content: "Page " counter(page) " of " counter(pages); font-size: 8pt; } }
body { font-family: "DejaVu Sans", sans-serif; font-size: 9pt; line-height: 1.45; }"""
PARA = "<p>" + " ".join(["The configuration of the gateway was reviewed against the control."] * 8) + "</p>"


def plain_document(pages: int) -> str:
    """Headings and paragraphs filling about ``pages`` A4 pages (tuned by the caller)."""
    per_page = 6
    body = "".join(f"<h1>Section {i}</h1>" + PARA * per_page for i in range(pages))
    return f"<html><head><style>{PLAIN_CSS}</style></head><body>{body}</body></html>"


def render_plain(html: str) -> tuple[int, float]:
    from weasyprint import HTML

    t = time.perf_counter()
    pdf = HTML(string=html).write_pdf(pdf_variant="pdf/a-3b")
    elapsed = time.perf_counter() - t
    import pypdf

    return len(pypdf.PdfReader(io.BytesIO(pdf)).pages), elapsed


def plain_with_pages(target: int) -> str:
    """A plain document with exactly ``target`` pages (searching the section count)."""
    from weasyprint import HTML

    n = target
    for _ in range(12):
        html = plain_document(n)
        pages = len(HTML(string=html).render().pages)
        if pages == target:
            return html
        n = max(1, n + (target - pages))
    return html


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--findings", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--browser", action="store_true")
    args = ap.parse_args()
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)

    data = report_data(args.findings, n_changes=400)
    attachments = {"findings.csv": tables.findings_csv(data), "findings.json": tables.findings_json(data)}

    html_times = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        html = render_html(data)
        html_times.append(time.perf_counter() - t)
    size = len(html.encode())
    print(f"HTML: {args.findings} findings, {size / 1e6:.2f} MB, render {min(html_times):.2f}s (best of {args.repeat})")

    if args.browser:
        from playwright.sync_api import sync_playwright

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "report.html"
            path.write_text(html, encoding="utf-8")
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=[
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--disable-component-update", "--no-first-run"])
                page = browser.new_page()
                times = []
                for _ in range(args.repeat):
                    t = time.perf_counter()
                    page.goto(path.as_uri(), wait_until="load")
                    page.evaluate("() => new Promise(r => requestAnimationFrame(() => r()))")
                    times.append(time.perf_counter() - t)
                t = time.perf_counter()
                page.fill("#finding-search", "k-000042")
                filter_time = time.perf_counter() - t
                browser.close()
        print(f"Chromium: load and first paint {min(times):.2f}s; one filter keystroke run {filter_time:.2f}s")

    ours, base = [], []
    pdf = render_pdf(data, attachments=attachments)
    import pypdf

    pages = len(pypdf.PdfReader(io.BytesIO(pdf)).pages)
    plain = plain_with_pages(pages)
    for _ in range(args.repeat):
        t = time.perf_counter()
        render_pdf(data, attachments=attachments)
        ours.append(time.perf_counter() - t)
        plain_pages, elapsed = render_plain(plain)
        base.append(elapsed)
    ratio = min(ours) / min(base)
    print(f"PDF: {pages} pages in {min(ours):.2f}s; plain WeasyPrint document of {plain_pages} pages "
          f"{min(base):.2f}s; ratio {ratio:.2f} (goal <= 1.5)")

    counts = {}
    for n in (1_000, 10_000, 20_000):
        d = data if n == args.findings else report_data(n, n_changes=400)
        counts[n] = len(pypdf.PdfReader(io.BytesIO(render_pdf(d, attachments={}))).pages)
    print("PDF pages by findings: " + ", ".join(f"{n}: {p}" for n, p in counts.items()))


if __name__ == "__main__":
    main()
