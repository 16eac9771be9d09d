"""``gwaudit fleet report``: one HTML (and PDF) for every org in a lake.

The figures come from the fleet views (:mod:`.fleet`): each org's open findings by severity
(the fleet audit's findings when the lake has them, else the findings each org's own audit
exported), its trend (open findings per audited snapshot), the rules failing in most orgs, the
worst exposures (open critical and high findings), and the orgs whose last complete snapshot is
older than ``stale_days``. Rendered by ``templates/fleet_report.html.j2``; the PDF by WeasyPrint
with the same local-only URL fetcher as the audit reports.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ..severity import SEVERITIES
from ..timeutil import utcnow
from .fleet import connect, fetch

TREND_POINTS = 8
EXPOSURES = 50


@dataclass
class FleetData:
    lake: str
    generated_at: datetime
    source: str
    orgs: list[dict[str, Any]] = field(default_factory=list)
    rules: list[dict[str, Any]] = field(default_factory=list)
    exposures: list[dict[str, Any]] = field(default_factory=list)
    exposure_total: int = 0
    stale: list[dict[str, Any]] = field(default_factory=list)
    stale_days: float = 2.0


def _has(con: Any, name: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM duckdb_views() WHERE view_name = ?", [name]).fetchone()[0]
                or con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [name]).fetchone()[0])


def fleet_data(lake_dir: str | Path, *, stale_days: float = 2.0, now: datetime | None = None) -> FleetData:
    """The report's figures, read from the lake with DuckDB."""
    now = now or utcnow()
    con = connect(lake_dir)
    try:
        if _has(con, "fleet_latest_findings"):
            latest, history, source = "fleet_latest_findings", "fleet_findings", "gwaudit fleet audit"
        elif _has(con, "latest_findings"):
            latest, history, source = "latest_findings", "findings", "each organisation's own audits"
        else:
            latest = history = None
            source = "no audit yet (run gwaudit fleet audit)"
        data = FleetData(str(lake_dir), now, source, stale_days=stale_days)
        open_by = {}
        if latest:
            for r in fetch(con, f"SELECT org_id, severity, count(*) AS n FROM {latest} WHERE status = 'fail' "
                                "GROUP BY ALL"):
                open_by.setdefault(r["org_id"], {})[r["severity"]] = r["n"]
        trends: dict[str, list[int]] = {}
        if history:
            key = "taken_at" if history == "fleet_findings" else "snapshot_id"
            for r in fetch(con, f"""
                    SELECT org_id, {key} AS k, count(*) FILTER (WHERE status = 'fail') AS n
                    FROM {history} GROUP BY ALL ORDER BY org_id, k"""):
                trends.setdefault(r["org_id"], []).append(int(r["n"]))
        for r in fetch(con, "SELECT org_id, taken_at, status FROM latest_snapshots ORDER BY org_id"):
            by = open_by.get(r["org_id"], {})
            data.orgs.append({"org_id": r["org_id"], "taken_at": f"{r['taken_at']:%Y-%m-%d %H:%M}Z",
                              "status": r["status"], "by_severity": by, "open": sum(by.values()),
                              "trend": trends.get(r["org_id"], [])[-TREND_POINTS:]})
        if latest:
            data.rules = fetch(con, f"""
                SELECT rule_id, any_value(title) AS title, any_value(severity) AS severity,
                       count(DISTINCT org_id) AS orgs, count(*) AS findings
                FROM {latest} WHERE status = 'fail' GROUP BY rule_id
                ORDER BY orgs DESC, severity_rank(any_value(severity)), rule_id LIMIT 25""".replace(
                "severity_rank(any_value(severity))",
                "list_position(" + repr(list(SEVERITIES)) + ", any_value(severity))"))
            worst = f"FROM {latest} WHERE status = 'fail' AND severity IN ('critical', 'high')"
            data.exposure_total = con.execute(f"SELECT count(*) {worst}").fetchone()[0]
            data.exposures = fetch(con, f"""
                SELECT severity, org_id, rule_id, resource_id, resource_name, message {worst}
                ORDER BY severity <> 'critical', org_id, rule_id, resource_id LIMIT {EXPOSURES}""")
        complete = {r["org_id"]: r["taken_at"] for r in fetch(
            con, "SELECT org_id, taken_at FROM latest_complete_snapshots")}
        for org in [o["org_id"] for o in data.orgs]:
            when = complete.get(org)
            age = (now - when).total_seconds() / 86400 if when is not None else None
            if age is None or age > stale_days:
                data.stale.append({"org_id": org, "taken_at": f"{when:%Y-%m-%d %H:%M}Z" if when else None,
                                   "age_days": round(age, 1) if age is not None else None})
        return data
    finally:
        con.close()


def render_html(data: FleetData) -> str:
    import jinja2

    from ..resources import templates_dir

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates_dir())), autoescape=True,
                             undefined=jinja2.StrictUndefined)
    return env.get_template("fleet_report.html.j2").render(
        lake=data.lake, generated_at=f"{data.generated_at:%Y-%m-%d %H:%M}Z", source=data.source, orgs=data.orgs,
        rules=data.rules, exposures=data.exposures, exposure_total=data.exposure_total, stale=data.stale,
        stale_days=f"{data.stale_days:g}", severities=SEVERITIES)


def render_pdf(html: str) -> bytes:
    import logging

    from weasyprint import HTML

    from ..report.pdf import _fetcher
    from ..resources import templates_dir

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    return HTML(string=html, base_url=templates_dir().as_uri() + "/", url_fetcher=_fetcher([templates_dir()])
                ).write_pdf()


def fleet_report(lake_dir: str | Path, out: Path | str, *, formats: list[str] = ("html", "pdf"),  # type: ignore
                 stale_days: float = 2.0, now: datetime | None = None) -> list[Path]:
    """Write ``fleet-report.html`` / ``.pdf`` into ``out`` (each written aside, then renamed)."""
    data = fleet_data(lake_dir, stale_days=stale_days, now=now)
    html = render_html(data)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True, mode=0o700)
    stamp = f"{data.generated_at:%Y%m%dT%H%M%SZ}"
    paths = []
    for fmt in formats:
        body = html.encode() if fmt == "html" else render_pdf(html)
        path = out / f"fleet-report-{stamp}.{fmt}"
        tmp = path.with_name("." + path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(body)
        os.replace(tmp, path)
        paths.append(path)
    return paths
