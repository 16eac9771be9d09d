"""The quarterly PDF, rendered for real by WeasyPrint and read back with pypdf."""

from __future__ import annotations

import http.server
import io
import threading
from pathlib import Path

import pypdf
import pytest

from gwaudit.report.pdf import render_pdf
from gwaudit.report.run import write_outputs
from tests.report_data import KNOWN_REMEDIATION, report_data

HEADINGS = ("Contents", "About this report", "Executive summary", "Compliance matrix", "Findings by rule",
            "Changes in the period", "Waivers", "Inventory", "Rules and parameters")
CAP = 5


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Path]]:
    out = tmp_path_factory.mktemp("pdf")
    paths = write_outputs(report_data(60, incomplete=True), out, ["pdf", "csv", "json"], max_resources_per_rule=CAP,
                          on_pdf_progress=lambda done, total: PROGRESS.append((done, total)))
    by_suffix = {p.name.split("-s7-", 1)[-1]: p for p in paths}
    return out, by_suffix


PROGRESS: list[tuple[int, int]] = []
"""The (done, total) calls ``written`` received while its PDF rendered."""


@pytest.fixture(scope="module")
def reader(written: tuple[Path, dict[str, Path]]) -> pypdf.PdfReader:
    return pypdf.PdfReader(written[1]["report.pdf"])


def test_cover_sections_and_a_known_finding_read_back(reader: pypdf.PdfReader) -> None:
    cover = reader.pages[0].extract_text()
    for text in ("Quarterly compliance report", "ACME Corp", "2026-Q3", "Confidential", "Prepared",
                 "#7", "07" * 32, "#1", "01" * 32):
        assert text in cover.replace("\n", " ") or text in cover, text
    # the incomplete snapshot is said on the first page
    assert "Incomplete snapshot" in cover and "route_health" in cover
    text = "\n".join(p.extract_text() for p in reader.pages)
    for heading in HEADINGS:
        assert heading in text, heading
    assert "GW-KEY-001" in text and "key-0" in text
    # a rule's heading, then its severity, status and counts as one line
    assert "GW-KEY-001 API key without expiry\nhigh · fail · " in text
    assert " ".join(KNOWN_REMEDIATION.split()) in " ".join(text.split())
    assert "(see the attached findings.csv)" in text
    # running footer: page X of Y
    n = len(reader.pages)
    assert f"Page 2 of {n}" in reader.pages[1].extract_text()
    assert f"Page {n} of {n}" in reader.pages[-1].extract_text()


def _section_text(reader: pypdf.PdfReader, heading: str, next_heading: str) -> str:
    """The text from ``heading`` to ``next_heading`` after the contents page, one line per line."""
    text = "\n".join(p.extract_text() for p in reader.pages[2:])
    start = text.index(heading)
    return text[start:text.index(next_heading, start)]


def test_completeness_exceptions_in_the_summary_and_every_family_in_the_inventory(reader: pypdf.PdfReader) -> None:
    from gwaudit import families as fam

    n = len(fam.FAMILIES)
    summary = " ".join(_section_text(reader, "Collection completeness", "Compliance matrix").split())
    assert f"{n - 1} of {n} families collected completely; 1 not: route_health." in summary
    assert "Route health (route_health) failed" in summary  # the exception's own row
    assert "Credentials (credentials)" not in summary  # families collected completely: not listed here

    inventory = _section_text(reader, "Each family of snapshot #7", "Rules and parameters")
    # one line per family: title · view · collection status · items · resources
    rows = {parts[1]: parts for parts in (line.split(" · ") for line in inventory.splitlines()) if len(parts) == 5}
    for family in fam.FAMILIES:
        assert family.name in rows, family.name
    assert rows["route_health"][2:4] == ["collection failed", "- items"]
    assert rows["credentials"][0] == "Credentials" and rows["credentials"][2] == "collection ok"
    assert rows["credentials"][3].endswith(" items") and rows["credentials"][4].endswith(" resources")


def test_snapshots_of_the_period_are_one_entry_each_with_the_full_hash(reader: pypdf.PdfReader) -> None:
    about = " ".join(_section_text(reader, "About this report", "Executive summary").split())
    assert "#1 · baseline · complete · taken 2026-07-11 00:00:00 UTC manifest SHA-256 " + "01" * 32 in about
    assert "#7 · audited · " in about and "manifest SHA-256 " + "07" * 32 in about


def test_waivers_are_one_entry_each_with_owner_expiry_and_justification(reader: pypdf.PdfReader) -> None:
    waivers = " ".join(_section_text(reader, "Waivers\n", "Inventory\n").split())
    assert "GW-KEY-001 · k-000003 · active owner alice@example.com · expires 2026-12-31 · 1 finding waived" in waivers
    assert "Break-glass key" in waivers
    assert "· expired owner bob@example.com · expires 2026-06-30 · 0 findings waived" in waivers


def test_rules_and_parameters_are_one_entry_per_rule(reader: pypdf.PdfReader) -> None:
    rules = " ".join(_section_text(reader, "Rules and parameters", "Page ").split())
    assert "GW-KEY-001 · API key without expiry" in rules
    assert "high · fail · 5000 checked," in rules
    assert "parameters: max_key_age_days = 90" in rules


def test_contents_bookmarks_and_metadata(reader: pypdf.PdfReader) -> None:
    titles = [o.title for o in reader.outline if not isinstance(o, list)]
    for heading in HEADINGS[1:]:
        assert heading in titles
    contents = reader.pages[1].extract_text()
    # each section with the number of the page its heading is on
    starts = {}
    for number, page in enumerate(reader.pages[2:], start=3):
        first_line = page.extract_text().splitlines()[0]
        starts.setdefault(first_line, number)
    for heading in HEADINGS[1:]:
        assert f"{heading} {starts[heading]}" in contents, heading
    # the running header: the organisation and the classification, from the second page on
    assert "ACME Corp · CONFIDENTIAL" in contents
    assert "CONFIDENTIAL" not in reader.pages[0].extract_text()
    meta = reader.metadata
    assert meta.title.startswith("Compliance report: ACME Corp, 2026-Q3")
    assert "ACME Corp" in meta.subject and meta.creator.startswith("gwaudit")


def test_the_running_header_without_a_classification_is_the_organisation_alone() -> None:
    data = report_data(5)
    data.classification = ""
    reader = pypdf.PdfReader(io.BytesIO(render_pdf(data, attachments={})))
    second = reader.pages[1].extract_text()
    assert "ACME Corp" in second.splitlines() and "·" not in second


def test_pdf_a_3b_identification_in_the_xmp_metadata(reader: pypdf.PdfReader) -> None:
    xmp = reader.xmp_metadata
    assert xmp is not None
    raw = xmp.stream.get_data().decode("utf-8")
    assert 'pdfaid:part="3"' in raw and 'pdfaid:conformance="B"' in raw
    assert "/OutputIntents" in reader.trailer["/Root"]


def test_attachments_are_byte_equal_to_the_csv_and_json_outputs(reader: pypdf.PdfReader,
                                                                written: tuple[Path, dict[str, Path]]) -> None:
    files = written[1]
    attached = {name: data[0] for name, data in reader.attachments.items()}
    assert set(attached) == {"findings.csv", "findings.json"}
    assert attached["findings.csv"] == files["findings.csv"].read_bytes()
    assert attached["findings.json"] == files["findings.json"].read_bytes()


def test_progress_follows_the_pages_and_ends_at_its_total(reader: pypdf.PdfReader) -> None:
    import logging

    pages = len(reader.pages)
    assert PROGRESS[0] == (1, 2)
    assert [d for d, _ in PROGRESS] == sorted({d for d, _ in PROGRESS})  # one call per new page, in order
    assert all(d < t for d, t in PROGRESS[:-1])
    assert PROGRESS[-1] == (pages + 1, pages + 1)  # every page laid out, then the file written
    # the hook leaves WeasyPrint's progress logger as it found it
    progress_log = logging.getLogger("weasyprint.progress")
    assert progress_log.propagate and not progress_log.handlers


def test_the_garbage_collector_is_paused_only_during_the_render() -> None:
    import gc

    data = report_data(20)
    during: list[bool] = []
    assert gc.isenabled()
    render_pdf(data, attachments={}, on_progress=lambda done, total: during.append(gc.isenabled()))
    assert during and not any(during)  # off while WeasyPrint lays the pages out ...
    assert gc.isenabled()  # ... and on again afterwards
    # a process that turned the collector off itself finds it still off
    gc.disable()
    try:
        render_pdf(data, attachments={})
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_page_count_is_bounded_by_the_per_rule_cap(reader: pypdf.PdfReader) -> None:
    assert 8 <= len(reader.pages) <= 40
    # every rule of the fixture has at least one finding: with one resource per rule, ten times
    # the findings make the same number of pages
    pages = [len(pypdf.PdfReader(io.BytesIO(render_pdf(report_data(n), attachments={},
                                                           max_resources_per_rule=1))).pages)
             for n in (60, 600)]
    assert pages[0] == pages[1]


class _Counter(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802
        _Counter.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "text/css")
        self.end_headers()
        self.wfile.write(b"body { color: red }")

    def log_message(self, *args: object) -> None:
        pass


def test_rendering_fetches_nothing_from_the_network(tmp_path: Path) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Counter)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        (tmp_path / "print.css").write_text(
            f"@import url(http://127.0.0.1:{port}/x.css);\n"
            f"body {{ background: url(http://127.0.0.1:{port}/bg.png); }}\n"
            f"@font-face {{ font-family: X; src: url(http://127.0.0.1:{port}/f.woff); }}\n"
            "h1 { font-family: X; }\n")
        data = report_data(3)
        data.org = f"ACME http://127.0.0.1:{port}/org"
        pdf = render_pdf(data, attachments={}, max_resources_per_rule=2, template_dir=tmp_path)
    finally:
        server.shutdown()
        server.server_close()
    assert pdf.startswith(b"%PDF-")
    assert _Counter.hits == []
