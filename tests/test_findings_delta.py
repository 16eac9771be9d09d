"""One answer for how findings moved: the run summary, its webhook, the report JSON and
`gwaudit diff` agree finding by finding, including when a family failed to collect."""
from __future__ import annotations

import json
import textwrap

import pytest

from gwaudit.db import Database
from gwaudit.db.ingest import import_folder
from gwaudit.findings import findings_delta
from gwaudit.resources import sample_snapshots
from gwaudit.rules import audit
from gwaudit.simulator import Faults, Simulator

from .test_ops import Receiver
from .test_run import gw

OLDER, NEWER = sample_snapshots()[0], sample_snapshots()[-1]


def _fps(items) -> set[str]:
    return {f["fingerprint"] for f in items}


@pytest.fixture(scope="module")
def failed_run(tmp_path_factory):
    """An audited older snapshot, then `gwaudit run` on the newer one with token_budgets failing."""
    tmp = tmp_path_factory.mktemp("delta")
    db = Database(tmp / "audit.duckdb")
    older = import_folder(db, OLDER).snapshot_id
    audit(db, older)
    rx = Receiver()
    try:
        with Simulator.from_folder(NEWER, faults=Faults(fail_families=("token_budgets",))) as sim:
            (tmp / "gwaudit.toml").write_text(textwrap.dedent(f"""
                [api]
                base_url = "{sim.base_url}"
                max_retry_seconds = 1
                [database]
                path = "audit.duckdb"
                [report]
                formats = ["json"]
                out = "reports"
                [notify]
                webhook = "{rx.url}"
            """))
            done = gw(["--config", "gwaudit.toml", "--log-format", "json", "run"], tmp,
                      {"GWAUDIT_TOKEN": sim.mint_token()})
    finally:
        rx.close()
    diff = gw(["--db", "audit.duckdb", "diff", "previous", "latest", "--format", "json"], tmp)
    return {"tmp": tmp, "db": db, "older": older, "run": done, "webhook": rx.bodies,
            "report": json.loads((tmp / "reports" / "latest" / "report.json").read_text()),
            "diff": json.loads(diff.stdout)}


def test_the_run_is_incomplete_and_some_old_findings_are_not_evaluated(failed_run):
    assert failed_run["run"].returncode == 4, failed_run["run"].stderr
    (summary,) = failed_run["webhook"]
    assert summary["findings_delta_status"] == "compared"
    # rules on token_budgets were not evaluated: their old findings are neither resolved nor open
    assert summary["not_evaluated_findings"]
    assert {f["rule_id"] for f in summary["not_evaluated_findings"]} <= {
        r["rule_id"] for r in failed_run["report"]["rules"] if r["status"] == "error"}


@pytest.mark.parametrize("group,summary_key", [("new", "new_findings"),
                                               ("resolved", "resolved_findings"),
                                               ("not_evaluated", "not_evaluated_findings")])
def test_summary_webhook_report_and_diff_agree_finding_by_finding(failed_run, group, summary_key):
    (summary,) = failed_run["webhook"]
    report = failed_run["report"]["findings_delta"]
    diff = failed_run["diff"]["findings"]
    if group == "resolved":
        from_report = _fps(report["resolved"]) | _fps(report["resolved_deleted"])
        from_diff = _fps(diff["resolved"]) | _fps(diff["resolved_deleted"])
    else:
        from_report, from_diff = _fps(report[group]), _fps(diff[group])
    assert from_report, f"the sample pair has {group} findings"
    assert _fps(summary[summary_key]) == from_report == from_diff


def test_not_evaluated_never_counts_as_resolved(failed_run):
    (summary,) = failed_run["webhook"]
    assert not _fps(summary["not_evaluated_findings"]) & _fps(summary["resolved_findings"])
    report = failed_run["report"]
    assert report["summary"]["resolved_in_period"] == len(summary["resolved_findings"])
    assert report["summary"]["new_in_period"] == len(summary["new_findings"])


def test_the_macro_is_the_same_answer_in_sql(failed_run):
    db = failed_run["db"]
    with db.reader() as con:
        new = con.execute("SELECT max(id) FROM snapshots").fetchone()[0]
        d = findings_delta(con, failed_run["older"], new)
        counts = dict(con.execute("SELECT change, count(*) FROM finding_delta(?, ?) GROUP BY ALL",
                                  [failed_run["older"], new]).fetchall())
    for group in ("new", "resolved", "resolved_deleted", "open", "waived", "not_evaluated"):
        assert counts.get(group, 0) == len(getattr(d, group)), group
