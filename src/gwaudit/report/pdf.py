"""The quarterly compliance PDF: WeasyPrint, print CSS, PDF/A-3b with the data attached.

Cover page, contents with page numbers, PDF bookmarks (one per section and per rule), running
header and footer ("Page X of Y"), then the sections of the HTML report with at most
``max_resources_per_rule`` resources per rule (the rest: "and N more", in the attached CSV).
Rendering fetches nothing from the network: the URL fetcher answers ``data:`` URIs and files
inside the template folders, and refuses everything else.
"""

from __future__ import annotations

import gc
import io
import logging
import zlib
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional
from urllib.parse import unquote, urlsplit

from .model import ReportData
from .templates import environment, static_text
from .ua_sheet import html_class
from .view import SECTIONS, build_view

if TYPE_CHECKING:
    from ..formats import RenderContext

PDF_VARIANT = "pdf/a-3b"
DEFAULT_MAX_RESOURCES = 25
ATTACHMENT_DESCRIPTIONS = {
    "findings.csv": "Every finding of the audited snapshot (CSV, UTF-8, frameworks flattened)",
    "findings.json": "The audit of the snapshot in gwaudit's JSON shape (snapshot, summary, rules, findings)",
}


def _fetcher(roots: list[Path]):
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    allowed = [r.resolve() for r in roots]

    class LocalOnlyFetcher(URLFetcher):
        """``data:`` URIs and files inside the template folders; nothing else, no network."""

        def __init__(self) -> None:
            super().__init__(allowed_protocols=("data", "file"), allow_redirects=False, timeout=1)

        def fetch(self, url: str, headers: Optional[dict] = None) -> URLFetcherResponse:
            scheme = url.split(":", 1)[0].lower()
            if scheme == "data":
                return super().fetch(url, headers)
            if scheme == "file":
                path = Path(unquote(urlsplit(url).path)).resolve()
                if path.is_file() and any(path.is_relative_to(root) for root in allowed):
                    return URLFetcherResponse(url, path.read_bytes(), {}, 200)
            raise ValueError(f"gwaudit reports fetch nothing from outside: refused {url[:80]}")

    return LocalOnlyFetcher()


def pdf_html(data: ReportData, *, max_resources_per_rule: int = DEFAULT_MAX_RESOURCES,
             template_dir: Optional[Path] = None) -> str:
    """The HTML that WeasyPrint lays out (useful to inspect a template override)."""
    env = environment(template_dir)
    view = build_view(data, cap=max_resources_per_rule, inline_charts=False)
    period = data.period.label or f"snapshot {data.snapshot.id} of {data.snapshot.taken_at:%Y-%m-%d}"
    return env.get_template("report_pdf.html.j2").render(
        r=data, v=view, print_css=static_text(env, "print.css"), printed=True,
        sections=[("about", "About this report")] + SECTIONS,
        pdf_title=f"Compliance report: {data.org}, {period}",
        pdf_subject=(f"Audit of the Barndoor LLM Gateway configuration of {data.org} "
                     f"({data.snapshot.base_url or 'unknown gateway'}), {period}; "
                     f"snapshot {data.snapshot.id}, manifest SHA-256 {data.snapshot.manifest_sha256}"))


ATTACHMENT_DEFLATE_LEVEL = 2
"""zlib level for the attached files. WeasyPrint deflates every stream at level 9, which for the
megabytes of findings.csv and findings.json took longer than writing all the pages; level 2
(zlib's fast strategy) took an eighth of that on the 10,000-finding benchmark for a third more
bytes (attachments of 0.36 MB instead of 0.28 MB)."""


@contextmanager
def _attachments_deflated(bodies: list[bytes]):
    """Deflate ``bodies`` (the attachments) at :data:`ATTACHMENT_DEFLATE_LEVEL` on a thread of
    their own while the block runs (WeasyPrint lays the pages out meanwhile: zlib lets go of the
    GIL as it works); the block gets the WeasyPrint finisher that puts them in the PDF."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gwaudit-deflate")
    pending = [(body, pool.submit(zlib.compress, body, ATTACHMENT_DEFLATE_LEVEL)) for body in bodies]

    def finisher(document, pdf) -> None:
        """Runs after WeasyPrint has built the PDF objects and before it writes them: each embedded
        file it would still compress (``compress`` set) gets its deflated bytes and the
        Flate filter. A body not among ``bodies`` is deflated here."""
        for obj in pdf.objects:
            extra = getattr(obj, "extra", None)
            if (not isinstance(extra, dict) or extra.get("Type") != "/EmbeddedFile"
                    or not getattr(obj, "compress", False) or "Filter" in extra):
                continue
            body = b"".join(part if isinstance(part, bytes) else bytes(part) for part in obj.stream)
            done = next((future for original, future in pending
                         if len(original) == len(body) and original == body), None)
            deflated = done.result() if done is not None else zlib.compress(body, ATTACHMENT_DEFLATE_LEVEL)
            obj.stream, obj.compress = [deflated], False
            extra["Filter"] = "/FlateDecode"

    try:
        yield finisher
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


@contextmanager
def _collector_paused():
    """Python's cyclic garbage collector off while WeasyPrint renders, back as it was afterwards.

    WeasyPrint allocates millions of short-lived objects while laying pages out, so the collector
    ran a few hundred times per document; yet it finds next to nothing to free until the render
    is over (the document holds its boxes until then, and the rest goes by reference counting).
    Measured on the 10,000-finding report: the peak memory is the same with the collector off
    (158 MB against 156 MB; 206 MB against 204 MB with eight times the resources per rule) and
    the render takes 6-10% less time. The cycles the render leaves are collected as usual
    afterwards. A caller that had turned the collector off finds it still off."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class _PageProgress(logging.Handler):
    """Turns WeasyPrint's progress log ("Step 5 - Creating layout - Page N", "Step 6 - Creating
    PDF") into ``on_progress(done, total)`` calls. The page count is only known at the end, so
    the total is the pages laid out so far plus one (the writing step) until then."""

    def __init__(self, on_progress: Callable[[int, int], None]) -> None:
        super().__init__(logging.INFO)
        self.on_progress = on_progress
        self.pages = 0

    def emit(self, record: logging.LogRecord) -> None:
        msg = record.msg if isinstance(record.msg, str) else ""
        if msg.startswith("Step 5") and record.args:
            page = record.args[0] if isinstance(record.args, tuple) else None
            if isinstance(page, int) and page > self.pages:
                self.pages = page
                self.on_progress(self.pages, self.pages + 1)

    def finish(self) -> None:
        self.on_progress(self.pages + 1, self.pages + 1)


@contextmanager
def _pages_reported(on_progress: Optional[Callable[[int, int], None]]):
    """Feed WeasyPrint's progress log to ``on_progress`` while the block runs (nothing if None);
    the logger is restored afterwards and the last call (the file written) made on success."""
    if on_progress is None:
        yield
        return
    progress_log = logging.getLogger("weasyprint.progress")
    handler, level, propagate = _PageProgress(on_progress), progress_log.level, progress_log.propagate
    progress_log.addHandler(handler)
    progress_log.setLevel(logging.INFO)
    progress_log.propagate = False  # the steps feed the bar, not the log
    try:
        yield
    finally:
        progress_log.removeHandler(handler)
        progress_log.setLevel(level)
        progress_log.propagate = propagate
    handler.finish()


def render_pdf(data: ReportData, *, attachments: dict[str, bytes], max_resources_per_rule: int = DEFAULT_MAX_RESOURCES,
               template_dir: Optional[Path] = None,
               on_progress: Optional[Callable[[int, int], None]] = None) -> bytes:
    """The PDF/A-3b document, with ``attachments`` ({file name: bytes}) embedded.

    ``on_progress(done, total)``, if given, is called as pages are laid out and once more when
    the file is written (for a progress bar on a terminal)."""
    from weasyprint import Attachment

    from ..resources import templates_dir

    html = pdf_html(data, max_resources_per_rule=max_resources_per_rule, template_dir=template_dir)
    roots = [templates_dir()] + ([Path(template_dir)] if template_dir else [])
    fetcher = _fetcher(roots)
    when = data.generated_at.replace(tzinfo=None) if isinstance(data.generated_at, datetime) else None
    files = [Attachment(file_obj=io.BytesIO(body), name=name, url_fetcher=fetcher,
                        description=ATTACHMENT_DESCRIPTIONS.get(name, name), relationship="Data",
                        created=when, modified=when)
             for name, body in attachments.items()]
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    with (_attachments_deflated(list(attachments.values())) as finisher, _collector_paused(),
          _pages_reported(on_progress)):
        doc = html_class(html)(string=html, base_url=templates_dir().as_uri() + "/", url_fetcher=fetcher)
        return doc.write_pdf(pdf_variant=PDF_VARIANT, attachments=files, pdf_identifier=None,
                             finisher=finisher)


def report_files(data: ReportData, ctx: "RenderContext") -> dict[str, bytes]:
    """The ``pdf`` format (:mod:`gwaudit.formats`): findings.csv and findings.json attached
    (taken from ``ctx.attachments`` when the writer made them already)."""
    from . import tables

    attachments = ctx.attachments or {"findings.csv": tables.findings_csv(data),
                                      "findings.json": tables.findings_json(data)}
    return {"report.pdf": render_pdf(data, attachments=attachments, max_resources_per_rule=ctx.max_resources_per_rule,
                                     template_dir=ctx.template_dir, on_progress=ctx.on_pdf_progress)}
