"""The PDF's lean user-agent stylesheet: the same document, fewer styles computed, footnotes kept."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import cssselect2
import pypdf
import pytest
from weasyprint import HTML
from weasyprint.html import UA_STYLESHEET

from gwaudit.report import ua_sheet
from gwaudit.report.pdf import pdf_html, render_pdf
from tests.report_data import report_data


def _pages_text(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages]


def _computed_pseudo_types(cls: type, html: str) -> list:
    """The pseudo-element types WeasyPrint computed a style for while rendering ``html``."""
    doc = cls(string=html)
    from weasyprint.css import StyleFor

    seen = []
    original = StyleFor.set_computed_styles

    def spy(self, element, parent, root=None, pseudo_type=None, **kw):
        seen.append(pseudo_type)
        return original(self, element, parent, root=root, pseudo_type=pseudo_type, **kw)

    StyleFor.set_computed_styles = spy
    try:
        doc.render()
    finally:
        StyleFor.set_computed_styles = original
    return seen


def test_the_report_renders_the_same_with_the_lean_stylesheet() -> None:
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    html = pdf_html(report_data(40, incomplete=True), max_resources_per_rule=5)
    lean = ua_sheet.html_class(html)
    assert lean is not HTML and issubclass(lean, HTML)
    stock_pages = _pages_text(HTML(string=html).write_pdf())
    lean_pages = _pages_text(lean(string=html).write_pdf())
    assert len(lean_pages) == len(stock_pages) > 5
    assert lean_pages == stock_pages


def test_only_the_footnote_and_note_pseudo_elements_are_left_out() -> None:
    html = "<html><body><h1>T</h1><ol><li>one</li><li>two</li></ol><p>text</p></body></html>"
    stock = _computed_pseudo_types(HTML, html)
    lean = _computed_pseudo_types(ua_sheet.html_class(html), html)
    assert set(stock) - set(lean) == ua_sheet.SKIPPED
    assert not set(lean) & ua_sheet.SKIPPED
    assert [t for t in stock if t not in ua_sheet.SKIPPED] == lean
    assert lean.count("marker") == stock.count("marker") > 0  # list markers are still styled

    # The filter sits on the user-agent stylesheet's matcher alone: every other match stays.
    element = cssselect2.ElementWrapper.from_html_root(HTML(string=html).etree_element)
    for el in element.iter_subtree():
        kept = ua_sheet._Matcher(UA_STYLESHEET.matcher).match(el)
        assert kept == [m for m in UA_STYLESHEET.matcher.match(el) if m[2] not in ua_sheet.SKIPPED]


@pytest.mark.parametrize("markup", [
    '<style>.fn { float: footnote }</style><p>Reviewed<span class="fn">Signed off.</span></p>',
    '<p style="x: 1">A NOTE( in text</p>',
])
def test_a_document_that_may_use_footnotes_or_notes_gets_weasyprints_own_stylesheet(markup: str) -> None:
    assert ua_sheet.html_class(f"<html><body>{markup}</body></html>") is HTML


def test_a_template_override_with_a_footnote_still_prints_it(tmp_path: Path) -> None:
    (tmp_path / "report_pdf.html.j2").write_text(
        '{% extends "default:report_pdf.html.j2" %}{% block body %}{{ super() }}'
        '<style>.fn { float: footnote }</style>'
        '<p>Reviewed by the audit team<span class="fn">Signed off by the CISO.</span></p>{% endblock %}')
    pdf = render_pdf(report_data(3), attachments={}, max_resources_per_rule=2, template_dir=tmp_path)
    text = "\n".join(_pages_text(pdf))
    assert "Reviewed by the audit team1" in text.replace(" \n", "").replace("\n", "")
    assert "1. Signed off by the CISO." in text
