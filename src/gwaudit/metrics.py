"""``--metrics-file PATH``: a Prometheus textfile (node_exporter's textfile collector format)
describing the last run, for monitoring a scheduled audit.

Written with prometheus-client's ``write_to_textfile`` (a temporary file renamed over the old
one, so the collector never reads half a file). ``gwaudit_last_success_timestamp_seconds`` is
carried over from the previous file when this run did not succeed, so an alert on its age
("no successful audit in 26 h") keeps firing across failed runs.

Success means exit 0 or 1: the audit ran on complete evidence (findings are its result).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Gauge, write_to_textfile
from prometheus_client.parser import text_string_to_metric_families

from .errors import EXIT_FINDINGS, EXIT_OK
from .severity import SEVERITIES

PREFIX = "gwaudit"
LAST_SUCCESS = f"{PREFIX}_last_success_timestamp_seconds"


def previous_success(path: Path) -> float | None:
    """The last success time recorded in an earlier metrics file, if any."""
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError):
        return None
    try:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == LAST_SUCCESS:
                    return float(sample.value)
    except ValueError:
        return None
    return None


def write_metrics(path: Path | str, summary: dict[str, Any], *, finished_at: float | None = None) -> Path:
    """Write the metrics of one run (``summary``: the run summary of :mod:`gwaudit.runner`, or
    the like from ``collect``) to ``path`` atomically; returns the path."""
    path = Path(path)
    finished_at = time.time() if finished_at is None else finished_at
    code = int(summary.get("exit_code") if summary.get("exit_code") is not None else 5)
    reg = CollectorRegistry()

    def gauge(name: str, doc: str, labels: tuple[str, ...] = ()) -> Gauge:
        return Gauge(f"{PREFIX}_{name}", doc, labels, registry=reg)

    gauge("last_run_timestamp_seconds", "When the last gwaudit run finished (unix time).").set(finished_at)
    gauge("last_run_exit_code", "Exit code of the last run (0 ok, 1 findings, 2 usage, 3 auth, 4 incomplete, "
          "5 runtime, 6 no evidence).").set(code)
    gauge("last_run_duration_seconds", "How long the last run took.").set(float(summary.get("duration_seconds") or 0))
    success = gauge("last_success_timestamp_seconds",
                    "When a run last succeeded (exit 0 or 1: complete evidence, audit done).")
    if code in (EXIT_OK, EXIT_FINDINGS):
        success.set(finished_at)
    else:
        before = previous_success(path)
        success.set(before if before is not None else 0)
    gauge("last_run_success", "1 when the last run succeeded (exit 0 or 1), else 0.").set(
        1 if code in (EXIT_OK, EXIT_FINDINGS) else 0)

    findings = gauge("findings", "Findings of the last run's audit, by severity and status.", ("severity", "status"))
    by_status: dict[str, dict[str, int]] = summary.get("findings_by_status") or {}
    if not by_status and summary.get("counts_by_severity") is not None:
        by_status = {"fail": dict(summary.get("counts_by_severity") or {})}
    if by_status:
        for status in sorted(set(by_status) | {"fail"}):
            for severity in SEVERITIES:
                findings.labels(severity=severity, status=status).set(by_status.get(status, {}).get(severity, 0))
    if summary.get("findings_delta_status") == "compared":
        gauge("new_findings", "Findings new since the previous snapshot.").set(len(summary.get("new_findings") or []))
        gauge("resolved_findings", "Findings resolved since the previous snapshot.").set(
            len(summary.get("resolved_findings") or []))

    families = summary.get("families") or {}
    if families:
        fam_gauge = gauge("family_collected", "1 when the family was collected in the last run's snapshot, "
                          "by its collection status (ok, unavailable, failed).", ("family", "status"))
        for name, status in sorted(families.items()):
            fam_gauge.labels(family=name, status=status).set(1 if status in ("ok", "unavailable") else 0)

    if summary.get("snapshot_id") is not None:
        gauge("snapshot_id", "Id of the snapshot the last run stored.").set(int(summary["snapshot_id"]))
        gauge("snapshot_complete", "1 when that snapshot is complete.").set(
            1 if summary.get("snapshot_status") == "complete" else 0)
    latest = summary.get("latest_complete_taken_at")
    if latest is not None:
        taken = latest.timestamp() if hasattr(latest, "timestamp") else float(latest)
        gauge("latest_complete_snapshot_timestamp_seconds", "When the newest complete snapshot was taken.").set(taken)
        gauge("snapshot_age_seconds", "Age of the newest complete snapshot when the run finished.").set(
            max(0.0, finished_at - taken))

    path.parent.mkdir(parents=True, exist_ok=True)
    old = os.umask(0o022)  # node_exporter runs as another user: the textfile is world-readable, no audit data
    try:
        write_to_textfile(str(path), reg)
        os.chmod(path, 0o644)
    finally:
        os.umask(old)
    return path


def latest_complete_taken_at(db: Any) -> Any:
    """When the newest complete snapshot of ``db`` was taken (None without one)."""
    from .errors import GwauditError

    if not db.exists:
        return None
    try:
        rows = [s for s in db.snapshots() if s.get("status") == "complete"]
    except GwauditError:
        return None
    return rows[-1]["taken_at"] if rows else None


def write_collect_metrics(path: Path | str, db: Any, *, exit_code: int, duration: float,
                          stored: Any = None) -> None:
    """The textfile of a ``gwaudit collect`` (no audit: no findings metrics). Never raises: a
    metrics file that cannot be written is logged as an error."""
    from .logsetup import get

    summary: dict[str, Any] = {"exit_code": exit_code, "duration_seconds": duration}
    if stored is not None:
        summary.update(snapshot_id=stored.snapshot_id, snapshot_status="complete" if stored.complete else "incomplete",
                       families={n: st.get("status") for n, st in stored.families.items()})
    try:
        summary["latest_complete_taken_at"] = latest_complete_taken_at(db)
        write_metrics(path, summary)
    except Exception as exc:  # noqa: BLE001 - monitoring must not change the collection's outcome
        get().error(f"could not write the metrics file {path}: {type(exc).__name__}: {exc}")
