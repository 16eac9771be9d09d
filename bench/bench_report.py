"""Report rendering for a snapshot with 10,000 findings.

* HTML: file size and render time (goal: under 10 MB; a browser renders it in a few seconds).
* PDF: render time (layout + PDF/A-3b writing, attachments included) against WeasyPrint
  rendering a plain document - headings and paragraphs, same page size, margins, font and
  footer - with the same number of pages, in the same process (goal: ratio <= 1.5). The baseline
  is stock WeasyPrint as in a process of its own (the report data this process holds is frozen
  out of the garbage collector's scans); render_pdf pauses the collector while it renders, and
  --baseline-collector-paused pauses it for the baseline too, to compare the documents alone.
* PDF page count for 1,000 / 10,000 / 20,000 findings (goal: it does not grow: the per-rule
  cap holds it).

    python bench/bench_report.py [--findings 10000] [--repeat 9] [--browser] [--pdf-only]
                                 [--baseline-collector-paused]

Each measurement is the best of --repeat runs; ours and the baseline alternate (and take turns
going first) so machine load hits both alike; the ratio of the medians, the median of the ratios
of runs made side by side, and the ratio of CPU times are printed too, as are all the runs, since
the machine may be shared. --browser also times Chromium loading the HTML (needs /usr/bin/chromium and
Playwright).
"""

from __future__ import annotations

import argparse
import gc
import io
import logging
import statistics
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


def render_plain(html: str, *, collector_paused: bool = False) -> tuple[int, float, float, int]:
    """(pages, wall seconds, CPU seconds, bytes) of WeasyPrint rendering ``html`` as PDF/A-3b.

    Stock WeasyPrint, as in a process of its own: the objects this process already holds (the
    10,000-finding report data) are frozen out of the garbage collector's scans, so that they do
    not slow the baseline. ``collector_paused`` turns the collector off for the render as
    render_pdf does, to compare the documents alone."""
    from weasyprint import HTML

    gc.collect()  # the previous run's garbage is not this run's work
    gc.freeze()
    if collector_paused:
        gc.disable()
    try:
        wall, cpu = time.perf_counter(), time.process_time()
        pdf = HTML(string=html).write_pdf(pdf_variant="pdf/a-3b")
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    finally:
        gc.enable()
        gc.unfreeze()
    import pypdf

    return len(pypdf.PdfReader(io.BytesIO(pdf)).pages), wall, cpu, len(pdf)


def render_ours(data, attachments: dict[str, bytes]) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds of the whole process, bytes) of :func:`render_pdf`.

    The CPU time counts every thread of the process, so the attachments deflated on a worker
    thread while the pages are laid out are counted too."""
    gc.collect()  # the previous run's garbage is not this run's work
    wall, cpu = time.perf_counter(), time.process_time()
    pdf = render_pdf(data, attachments=attachments)
    return time.perf_counter() - wall, time.process_time() - cpu, len(pdf)


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
    ap.add_argument("--repeat", type=int, default=9)
    ap.add_argument("--pdf-only", action="store_true", help="time the PDF only (no HTML, no page counts)")
    ap.add_argument("--browser", action="store_true")
    ap.add_argument("--baseline-collector-paused", action="store_true",
                    help="render the plain document with the garbage collector off too, as render_pdf "
                         "does (the ratio then compares the documents alone)")
    args = ap.parse_args()
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)

    data = report_data(args.findings, n_changes=400)
    attachments = {"findings.csv": tables.findings_csv(data), "findings.json": tables.findings_json(data)}

    html_times = []
    for _ in range(0 if args.pdf_only else args.repeat):
        t = time.perf_counter()
        html = render_html(data)
        html_times.append(time.perf_counter() - t)
    if not args.pdf_only:
        size = len(html.encode())
        print(f"HTML: {args.findings} findings, {size / 1e6:.2f} MB, render {min(html_times):.2f}s (best of {args.repeat})")

    if args.browser and not args.pdf_only:
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

    import pypdf

    pdf = render_pdf(data, attachments=attachments)
    pages = len(pypdf.PdfReader(io.BytesIO(pdf)).pages)
    plain = plain_with_pages(pages)
    render_plain(plain)  # warm-up (fonts, caches) for both
    ours, base = [], []
    for i in range(args.repeat):
        # alternate which one goes first, so a burst of load elsewhere does not favour one side
        first_ours = i % 2 == 0
        if first_ours:
            ours.append(render_ours(data, attachments))
        plain_pages, wall, cpu, plain_bytes = render_plain(plain, collector_paused=args.baseline_collector_paused)
        base.append((wall, cpu))
        if not first_ours:
            ours.append(render_ours(data, attachments))
    best_ours, best_base = min(w for w, _, _ in ours), min(w for w, _ in base)
    ratio = best_ours / best_base
    median_ratio = statistics.median(w for w, _, _ in ours) / statistics.median(w for w, _ in base)
    cpu_ratio = min(c for _, c, _ in ours) / min(c for _, c in base)
    # each run of ours against the baseline run next to it in time: load on the shared machine
    # that slows a pair slows both, so the median of these ratios moves least between sessions
    paired_ratio = statistics.median(o[0] / b[0] for o, b in zip(ours, base))
    print(f"PDF: {pages} pages, {ours[0][2]:,} bytes (attachments included) in {best_ours:.2f}s; plain WeasyPrint "
          f"document of {plain_pages} pages, {plain_bytes:,} bytes, {best_base:.2f}s; ratio {ratio:.2f} "
          f"(goal <= 1.5; best of {args.repeat} each, alternating"
          + ("; baseline with the collector paused too)" if args.baseline_collector_paused else ")"))
    print(f"     median ratio {median_ratio:.2f}; median of paired ratios {paired_ratio:.2f}; "
          f"CPU-time ratio {cpu_ratio:.2f}; runs ours "
          + " ".join(f"{w:.2f}" for w, _, _ in ours) + " / plain " + " ".join(f"{w:.2f}" for w, _ in base))
    if args.pdf_only:
        return

    counts = {}
    for n in (1_000, 10_000, 20_000):
        d = data if n == args.findings else report_data(n, n_changes=400)
        counts[n] = len(pypdf.PdfReader(io.BytesIO(render_pdf(d, attachments={}))).pages)
    print("PDF pages by findings: " + ", ".join(f"{n}: {p}" for n, p in counts.items()))


if __name__ == "__main__":
    main()
