"""Write a report's files: ``write_outputs`` renders a ReportData in the chosen formats,
``make_report`` reads the database first (what ``gwaudit report`` calls)."""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Optional, Sequence

from ..errors import RuntimeFailure, UsageError
from .model import ReportData

FORMATS = ("html", "pdf", "csv", "json")


@dataclass
class ReportOptions:
    snapshot: Optional[str] = None
    period: Optional[str] = None
    date_from: Optional[str] = None
    date_to: Optional[str] = None
    formats: Sequence[str] = FORMATS
    out: Path = Path("reports")
    waivers: Optional[Path] = None
    classification: str = "Internal"
    max_resources_per_rule: int = 25
    template_dir: Optional[Path] = None
    rules_dirs: Sequence[Path] = ()
    params: Optional[dict[str, dict[str, Any]]] = None
    on_pdf_progress: Optional[Callable[[int, int], None]] = None
    """Called with (pages laid out, total so far) while the PDF renders (a terminal's progress bar)."""


@dataclass
class ReportResult:
    data: ReportData
    paths: list[Path] = field(default_factory=list)


def parse_formats(values: Iterable[str]) -> list[str]:
    """``["html,pdf", "csv"]`` -> ``["html", "pdf", "csv"]`` (order kept, duplicates dropped)."""
    out: list[str] = []
    for v in values:
        for f in str(v).split(","):
            f = f.strip().lower()
            if not f:
                continue
            if f not in FORMATS:
                raise UsageError(f"--format {f}: expected some of {', '.join(FORMATS)} (comma-separated)")
            if f not in out:
                out.append(f)
    if not out:
        raise UsageError("--format: give at least one of html, pdf, csv, json")
    return out


def file_stem(data: ReportData) -> str:
    """``<org>-<snapshot date>-s<id>``: e.g. ``acme-2026-09-30-s42``."""
    org = data.org.split(".")[0] if "." in data.org and not data.org.replace(".", "").isdigit() else data.org
    slug = re.sub(r"[^a-z0-9]+", "-", org.lower()).strip("-")[:40] or "org"
    return f"{slug}-{data.snapshot.taken_at:%Y-%m-%d}-s{data.snapshot.id}"


def _write(path: Path, body: bytes) -> Path:
    """Atomic: a reader never sees half a report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(body)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path


def write_outputs(data: ReportData, out: Path, formats: Sequence[str] = FORMATS, *,
                  max_resources_per_rule: int = 25, template_dir: Optional[Path] = None,
                  on_pdf_progress: Optional[Callable[[int, int], None]] = None) -> list[Path]:
    """Render ``data`` into ``out``; returns the paths written (inventory CSVs as their folder).

    Every string of ``data`` passes through :func:`gwaudit.redact.redact_obj` first, so no
    renderer (nor a user template) ever sees a credential.
    ``on_pdf_progress(done, total)`` follows the PDF's pages as they are laid out."""
    from ..redact import redact_obj
    from . import tables

    if max_resources_per_rule < 1:
        raise UsageError("--max-resources-per-rule must be at least 1")
    data = redact_obj(data)
    out = Path(out)
    stem = file_stem(data)
    findings_csv = tables.findings_csv(data)
    findings_json = tables.findings_json(data)
    paths: list[Path] = []
    try:
        if "html" in formats:
            from .html import render_html

            paths.append(_write(out / f"{stem}-report.html", render_html(data, template_dir=template_dir).encode()))
        if "pdf" in formats:
            from .pdf import render_pdf

            pdf = render_pdf(data, attachments={"findings.csv": findings_csv, "findings.json": findings_json},
                             max_resources_per_rule=max_resources_per_rule, template_dir=template_dir,
                             on_progress=on_pdf_progress)
            paths.append(_write(out / f"{stem}-report.pdf", pdf))
        if "csv" in formats:
            paths.append(_write(out / f"{stem}-findings.csv", findings_csv))
            paths.append(_write(out / f"{stem}-changes.csv", tables.changes_csv(data)))
            inv_dir = out / f"{stem}-inventory"
            for family, body in tables.inventory_csvs(data).items():
                _write(inv_dir / f"{family}.csv", body)
            paths.append(inv_dir)
            if data.incomplete_warning:
                paths.append(_write(out / f"{stem}-INCOMPLETE.txt", (data.incomplete_warning + "\n").encode()))
        if "json" in formats:
            paths.append(_write(out / f"{stem}-report.json", tables.report_json(data)))
            paths.append(_write(out / f"{stem}-findings.json", findings_json))
    except OSError as exc:
        raise RuntimeFailure(f"cannot write the report into {out}: {exc}",
                             hint="check that the folder is writable and the disk has room") from None
    return paths


def make_report(db: Path | str, opts: ReportOptions, *, wait: float = 30.0) -> ReportResult:
    from .data import build_report_data

    formats = parse_formats(opts.formats)
    data = build_report_data(db, snapshot=opts.snapshot, period=opts.period, date_from=opts.date_from,
                             date_to=opts.date_to, waivers=opts.waivers, classification=opts.classification,
                             rules_dirs=opts.rules_dirs, params=opts.params, wait=wait)
    paths = write_outputs(data, opts.out, formats, max_resources_per_rule=opts.max_resources_per_rule,
                          template_dir=opts.template_dir, on_pdf_progress=opts.on_pdf_progress)
    return ReportResult(data, paths)


def demo_report(db: Path | str, out: Path, echo: Any = print) -> list[Path]:
    """The demo's last step: every format for the newest snapshot, with the changes since the
    one before it, written to ``out``."""
    result = make_report(db, ReportOptions(snapshot="latest", out=Path(out), classification="Demo"))
    baseline = result.data.period.baseline
    since = f", changes since snapshot {baseline.id}" if baseline else ""
    echo(f"\nreports for snapshot {result.data.snapshot.id}{since}:")
    for path in result.paths:
        echo(f"  {path}")
    return result.paths
