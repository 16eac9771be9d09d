"""Write a report's files: ``write_outputs`` renders a ReportData in the chosen formats,
``make_report`` reads the database first (what ``gwaudit report`` calls)."""

from __future__ import annotations

import glob
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from ..db import Database
from ..errors import RuntimeFailure, UsageError
from ..formats import REGISTRY, RenderContext, default_formats, parse_formats
from ..lock import pid_alive, register_temp, unregister_temp
from .model import ReportData


@dataclass
class ReportOptions:
    snapshot: Optional[str] = None
    period: Optional[str] = None
    date_from: Optional[str] = None
    date_to: Optional[str] = None
    formats: Sequence[str] = field(default_factory=default_formats)
    out: Path = Path("reports")
    waivers: Optional[Path] = None
    """A waiver file: the audited snapshot is re-audited with it first."""
    classification: str = "Internal"
    org_name: Optional[str] = None
    """The organisation's display name (file names, headers, PDF metadata); default: the gateway's
    host name, else the org id."""
    max_resources_per_rule: int = 25
    template_dir: Optional[Path] = None
    rules_dirs: Sequence[Path] = ()
    params: Optional[dict[str, dict[str, Any]]] = None
    soc2_categories: Optional[Sequence[str]] = None
    """SOC 2 categories the compliance matrix covers (None: all five)."""
    on_pdf_progress: Optional[Callable[[int, int], None]] = None
    """Called with (pages laid out, total so far) while the PDF renders (a terminal's progress bar)."""


@dataclass
class ReportResult:
    data: ReportData
    paths: list[Path] = field(default_factory=list)


def file_stem(data: ReportData) -> str:
    """``<org>-<snapshot date>-s<id>`` (``acme-2026-09-30-s42``), or for a period
    ``<org>-<period>-s<id>`` (``acme-2026-q3-s42``, ``acme-2026-07-01-to-2026-09-30-s42``), so a
    period report never takes the name of a plain one."""
    org = data.org.split(".")[0] if "." in data.org and not data.org.replace(".", "").isdigit() else data.org
    slug = _slug(org)[:40] or "org"
    when = _slug(data.period.label) if data.period.label else f"{data.snapshot.taken_at:%Y-%m-%d}"
    return f"{slug}-{when}-s{data.snapshot.id}"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _write(path: Path, body: bytes, *, announce: bool = True) -> Path:
    """Atomic: a reader never sees half a report. Replacing an earlier file of the same name (the
    same report made again) is logged, never silent."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if announce and path.exists():
        _replacing(path)
    _remove_dead_temps(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}-", suffix=".tmp")
    register_temp(tmp)  # removed by the SIGTERM handler too
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
    finally:
        unregister_temp(tmp)
    return path


def _remove_dead_temps(path: Path) -> None:
    """Remove the half-written copies of ``path`` that a killed process left (``.NAME.<pid>-*.tmp``
    whose pid is no longer running); a live writer's copy is left alone."""
    for leftover in path.parent.glob(f".{glob.escape(path.name)}.*-*.tmp"):
        pid = leftover.name[len(path.name) + 2:].split("-", 1)[0]
        if pid.isdigit() and not pid_alive(int(pid)):
            try:
                leftover.unlink()
            except OSError:
                pass


def write_outputs(data: ReportData, out: Path, formats: Sequence[str] | None = None, *,
                  max_resources_per_rule: int = 25, template_dir: Optional[Path] = None,
                  on_pdf_progress: Optional[Callable[[int, int], None]] = None) -> list[Path]:
    """Render ``data`` into ``out`` in each format (default: the registry's defaults); returns
    the paths written, a folder of files (``inventory/...``) once as the folder.

    Every string of ``data`` passes through :func:`gwaudit.redact.redact_obj` first, so no
    renderer (nor a user template) ever sees a credential.
    ``on_pdf_progress(done, total)`` follows the PDF's pages as they are laid out."""
    from ..redact import redact_obj
    from . import tables

    if max_resources_per_rule < 1:
        raise UsageError("--max-resources-per-rule must be at least 1")
    data = redact_obj(data)
    formats = parse_formats(formats if formats is not None else default_formats())
    out = Path(out)
    stem = file_stem(data)
    ctx = RenderContext(max_resources_per_rule=max_resources_per_rule, template_dir=template_dir,
                        on_pdf_progress=on_pdf_progress)
    if "pdf" in formats and ({"csv", "json"} & set(formats)):  # made once, attached and written
        ctx.attachments = {"findings.csv": tables.findings_csv(data), "findings.json": tables.findings_json(data)}
    paths: list[Path] = []
    try:
        for name in formats:
            for suffix, body in REGISTRY[name].render_files(data, ctx).items():
                folder, _, leaf = suffix.rpartition("/")
                if folder:
                    target = out / f"{stem}-{folder}"
                    if target not in paths:
                        if target.exists():
                            _replacing(target)
                        paths.append(target)
                    _write(target / leaf, body, announce=False)
                else:
                    paths.append(_write(out / f"{stem}-{suffix}", body))
    except OSError as exc:
        raise RuntimeFailure(f"cannot write the report into {out}: {exc}",
                             hint="check that the folder is writable and the disk has room") from None
    return paths


def make_report(db: Database | Path | str, opts: ReportOptions) -> ReportResult:
    """Build the report data from the database and write it (``gwaudit report``)."""
    from .data import build_report_data

    formats = parse_formats(opts.formats)
    data = build_report_data(Database.of(db), snapshot=opts.snapshot, period=opts.period, date_from=opts.date_from,
                             date_to=opts.date_to, waivers=opts.waivers, classification=opts.classification,
                             rules_dirs=opts.rules_dirs, params=opts.params, soc2_categories=opts.soc2_categories,
                             org=opts.org_name)
    paths = write_outputs(data, opts.out, formats, max_resources_per_rule=opts.max_resources_per_rule,
                          template_dir=opts.template_dir, on_pdf_progress=opts.on_pdf_progress)
    return ReportResult(data, paths)


def demo_report(db: Database | Path | str, out: Path, echo: Any = print) -> list[Path]:
    """The demo's last step: every format for the newest snapshot, with the changes since the
    one before it, written to ``out``."""
    result = make_report(db, ReportOptions(snapshot="latest", out=Path(out), classification="Demo"))
    baseline = result.data.period.baseline
    since = f", changes since snapshot {baseline.id}" if baseline else ""
    echo(f"\nreports for snapshot {result.data.snapshot.id}{since}:")
    for path in result.paths:
        echo(f"  {path}")
    return result.paths


def _replacing(path: Path) -> None:
    from ..logsetup import get

    get("report").warning(f"replacing {path} (written {_mtime(path)})")


def _mtime(path: Path) -> str:
    from datetime import datetime, timezone

    return datetime.fromtimestamp(path.stat().st_mtime, timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")
