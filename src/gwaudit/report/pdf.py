"""The quarterly compliance PDF: WeasyPrint, print CSS, PDF/A-3b with the data attached.

Cover page, contents with page numbers, PDF bookmarks (one per section and per rule), running
header and footer ("Page X of Y"), then the sections of the HTML report with at most
``max_resources_per_rule`` resources per rule (the rest: "and N more", in the attached CSV).
Rendering fetches nothing from the network: the URL fetcher answers ``data:`` URIs and files
inside the template folders, and refuses everything else.
"""

from __future__ import annotations

import io
import logging
import zlib
from datetime import datetime
from pathlib import Path
from typing import Optional
from urllib.parse import unquote, urlsplit

from .model import ReportData
from .templates import environment, static_text
from .view import SECTIONS, build_view

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


def _deflate_attachments(document, pdf) -> None:
    """A WeasyPrint finisher: deflate the embedded files at :data:`ATTACHMENT_DEFLATE_LEVEL`.

    Runs after WeasyPrint has built the PDF objects and before it writes them; a stream it
    would still compress (``compress`` set) is compressed here and marked as Flate-encoded.
    """
    for obj in pdf.objects:
        extra = getattr(obj, "extra", None)
        if (not isinstance(extra, dict) or extra.get("Type") != "/EmbeddedFile"
                or not getattr(obj, "compress", False) or "Filter" in extra):
            continue
        body = b"".join(part if isinstance(part, bytes) else bytes(part) for part in obj.stream)
        obj.stream, obj.compress = [zlib.compress(body, ATTACHMENT_DEFLATE_LEVEL)], False
        extra["Filter"] = "/FlateDecode"


def render_pdf(data: ReportData, *, attachments: dict[str, bytes], max_resources_per_rule: int = DEFAULT_MAX_RESOURCES,
               template_dir: Optional[Path] = None) -> bytes:
    """The PDF/A-3b document, with ``attachments`` ({file name: bytes}) embedded."""
    from weasyprint import HTML, Attachment

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
    doc = HTML(string=html, base_url=templates_dir().as_uri() + "/", url_fetcher=fetcher)
    return doc.write_pdf(pdf_variant=PDF_VARIANT, attachments=files, pdf_identifier=None,
                         finisher=_deflate_attachments)
