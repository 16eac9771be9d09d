"""Reports: HTML, the quarterly compliance PDF, CSV and JSON, from one data model.

    from gwaudit.report import ReportOptions, make_report
    result = make_report(db, ReportOptions(period="2026-Q3", out=Path("reports")))
    result.paths

Renderers take a :class:`ReportData` (:mod:`.model`) and are listed in :mod:`gwaudit.formats`;
:func:`build_report_data` fills one from the database, tests and benchmarks build one directly.
"""

from __future__ import annotations

from .model import ReportData
from .run import ReportOptions, ReportResult, make_report, write_outputs

__all__ = ["ReportData", "ReportOptions", "ReportResult", "build_report_data", "make_report", "write_outputs"]


def build_report_data(*args, **kwargs):  # noqa: ANN001, ANN201 - imported when first used
    from .data import build_report_data as build

    return build(*args, **kwargs)
