"""``gwaudit report``: the audit of a snapshot or a period as files."""

from __future__ import annotations

from pathlib import Path

import click

from ..formats import default_formats
from .context import Ctx, pass_ctx, soc2_scope


@click.command("report")
@click.option("--snapshot", metavar="ID", help="Snapshot to report on: an id, latest, previous or a date [latest].")
@click.option("--period", metavar="PERIOD", help="A quarter (2026-Q3), month (2026-08) or year: audits the last "
              "complete snapshot taken in it, with the changes of the period.")
@click.option("--from", "date_from", metavar="DATE", help="Start of a period (with --to).")
@click.option("--to", "date_to", metavar="DATE", help="End of a period, inclusive.")
@click.option("--format", "formats", multiple=True, metavar="LIST",
              help="Comma-separated formats [config report.formats; default: "
                   f"{','.join(default_formats())}]; gwaudit formats lists them.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the files [config report.out; ./reports].")
@click.option("--waivers", type=click.Path(dir_okay=False, path_type=Path),
              help="Waivers file; the snapshot is re-audited with it [config waivers.file].")
@click.option("--classification", metavar="TEXT", help="Marking for the cover and header [config; Internal].")
@click.option("--org-name", metavar="TEXT",
              help="The organisation's name in file names, headers and PDF metadata [config report.org_name; "
                   "the gateway's host name, else the org id].")
@click.option("--max-resources-per-rule", type=click.IntRange(min=1), default=None,
              help="Resources listed per rule in the PDF; the rest are in findings.csv [25].")
@click.option("--template-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Your templates, looked up before the built-in ones (extend them as default:NAME).")
@click.option("--soc2-categories", metavar="LIST",
              help="SOC 2 categories the compliance matrix covers, comma-separated, security always among them: "
                   "security,availability,processing_integrity,confidentiality,privacy [config "
                   "report.soc2_categories; all five].")
@pass_ctx
def report_cmd(c: Ctx, snapshot: str | None, period: str | None, date_from: str | None, date_to: str | None,
               formats: tuple[str, ...], out_dir: Path | None, waivers: Path | None, classification: str | None,
               org_name: str | None,
               max_resources_per_rule: int | None, template_dir: Path | None, soc2_categories: str | None) -> None:
    """Render the audit of a snapshot, or of a period, as HTML, PDF, CSV and JSON.

    A snapshot without stored findings is audited first. File names carry the org and the
    snapshot date; the paths written are printed, one per line.
    """
    from ..report import ReportOptions, make_report

    cfg = c.config.report
    opts = ReportOptions(
        snapshot=snapshot, period=period, date_from=date_from, date_to=date_to,
        formats=list(formats) or list(cfg.formats), out=out_dir or cfg.out,
        waivers=waivers or c.config.waivers.file, classification=classification or cfg.classification,
        org_name=org_name or cfg.org_name,
        max_resources_per_rule=max_resources_per_rule or cfg.max_resources_per_rule, template_dir=template_dir,
        rules_dirs=c.config.rules.dirs, params=c.config.rule_params(),
        soc2_categories=soc2_scope(soc2_categories, cfg.soc2_categories),
        on_pdf_progress=c.progress("rendering PDF (pages)"))
    result = make_report(c.db, opts)
    for path in result.paths:
        click.echo(str(path))
    if result.data.incomplete:
        from ..errors import IncompleteEvidence

        raise IncompleteEvidence(f"the report is written, but snapshot {result.data.snapshot.id} is incomplete: "
                                 f"{', '.join(result.data.missing_families)} could not be collected",
                                 hint="every format says so; collect again for a complete report")
