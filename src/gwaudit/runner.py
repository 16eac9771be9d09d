"""``gwaudit run``: collect, audit, report, prune and notify in one step, for cron.

The whole run holds the database's write lock, so two overlapping runs never write at the same
time: the second waits up to ``--wait`` seconds, then exits 5 naming the holder. The exit code
is the worst thing that happened, ranked for an operator:

    5 runtime failure  >  6 no evidence (nothing reached)  >  3 authentication refused  >  4 evidence incomplete  >  1 findings  >  0

A webhook that fails is logged and does not change the exit code.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from . import __version__
from .auth import Token
from .collector import CollectOptions, CollectResult, collect
from .db import Database
from .errors import (EXIT_AUTH, EXIT_FINDINGS, EXIT_INCOMPLETE, EXIT_NO_EVIDENCE, EXIT_OK, EXIT_RUNTIME, AuthError,
                     GwauditError)
from .formats import default_formats
from .logsetup import get

log = get("run")

_RANK = {EXIT_OK: 0, EXIT_FINDINGS: 1, EXIT_INCOMPLETE: 2, EXIT_AUTH: 3, EXIT_NO_EVIDENCE: 4, EXIT_RUNTIME: 5}


def worst(*codes: int) -> int:
    return max(codes, key=lambda c: _RANK.get(c, 6))


@dataclass
class RunOptions:
    db: Database
    collect: CollectOptions
    token: Token
    rules_dirs: Sequence[Path] = ()
    params: Optional[dict[str, dict[str, Any]]] = None
    waivers: Optional[Path] = None
    fail_on: Optional[str] = None
    formats: Sequence[str] = field(default_factory=default_formats)
    out: Path = Path("reports")
    classification: str = "Internal"
    org_name: Optional[str] = None
    max_resources_per_rule: int = 25
    template_dir: Optional[Path] = None
    soc2_categories: Optional[Sequence[str]] = None
    retention: Optional[dict[str, int]] = None  # keep_daily/... -> count; None or all empty: no pruning
    webhook: Optional[str] = None
    webhook_format: str = "json"
    webhook_timeout: float = 10.0
    webhook_max_bytes: int = 256 * 1024
    webhook_hmac_secret: Optional[bytes] = None
    export_dir: Optional[Path] = None
    metrics_file: Optional[Path] = None
    on_pdf_progress: Optional[Callable[[int, int], None]] = None
    lake_dir: Optional[str] = None
    """Export to this lake after the audit ([lake] dir; docs/lake.md)."""
    lake_org_id: Optional[str] = None


@dataclass
class RunResult:
    exit_code: int
    summary: dict[str, Any]
    reports: list[Path] = field(default_factory=list)


def run(opts: RunOptions, *, echo: Callable[[str], None] = log.info) -> RunResult:
    """Run the pipeline; never raises for what it can report (the exit code says it).

    The last log line (``run finished: ...``) carries the whole outcome as fields (``exit_code``,
    ``status``, ``snapshot_id``, ``snapshot_status``, ``missing_families``, ``counts_by_severity``,
    ``new``, ``resolved``, ``duration_seconds``); it is an error line, shown under ``--quiet`` too,
    when the run did not succeed (exit 2 or more) or its webhook was not delivered."""
    import time

    started = time.monotonic()
    summary: dict[str, Any] = {"tool_version": __version__, "status": "started", "exit_code": None,
                               "base_url": opts.collect.api_root(), "evidence_problems": [],
                               "counts_by_severity": {}, "new_findings": [], "resolved_findings": [],
                               "reports": []}
    code = EXIT_OK
    reports: list[Path] = []
    try:
        opts.db.lock.command = "gwaudit run"
        with opts.db.lock:
            code = _steps(opts, summary, reports, echo)
    except AuthError as exc:
        code = EXIT_AUTH
        summary["status"] = "authentication refused"
        summary["evidence_problems"].append(exc.message)
        log.error(exc.message, extra={"hint": exc.hint, "exit_code": code})
    except GwauditError as exc:
        code = exc.exit_code
        summary["status"] = "no evidence" if code == EXIT_NO_EVIDENCE else "failed"
        summary["evidence_problems"].append(exc.message)
        log.error(exc.message, extra={"hint": exc.hint, "exit_code": code})
    except Exception as exc:  # an internal error still gets its notification
        code = EXIT_RUNTIME
        summary["status"] = "failed"
        summary["evidence_problems"].append(f"internal error: {type(exc).__name__}: {exc}")
        log.error(f"internal error: {type(exc).__name__}: {exc}", extra={"exit_code": code}, exc_info=True)
    summary["exit_code"] = code
    if summary["status"] == "started":
        summary["status"] = {EXIT_OK: "ok", EXIT_FINDINGS: "findings over threshold",
                             EXIT_INCOMPLETE: "evidence incomplete"}.get(code, "failed")
    summary["reports"] = [str(p) for p in reports]
    summary["duration_seconds"] = round(time.monotonic() - started, 3)
    webhook_ok: bool | None = None
    if opts.webhook:
        from .notify import post

        webhook_ok = post(opts.webhook, summary, fmt=opts.webhook_format, timeout=opts.webhook_timeout,
                          max_bytes=opts.webhook_max_bytes, hmac_secret=opts.webhook_hmac_secret)
    summary["duration_seconds"] = round(time.monotonic() - started, 3)
    if opts.metrics_file is not None:
        _write_metrics(opts, summary)
    _final_line(summary, webhook_ok)
    return RunResult(code, summary, reports)


def _write_metrics(opts: RunOptions, summary: dict[str, Any]) -> None:
    """The Prometheus textfile; a failure to write it is an error line, never a changed exit code."""
    from .metrics import write_metrics

    try:
        summary["latest_complete_taken_at"] = _latest_complete(opts.db)
        write_metrics(opts.metrics_file, summary)  # type: ignore[arg-type]
    except Exception as exc:  # noqa: BLE001 - monitoring must not break the audit
        log.error(f"could not write the metrics file {opts.metrics_file}: {type(exc).__name__}: {exc}",
                  extra={"hint": "check the folder exists and is writable"})
    finally:
        summary.pop("latest_complete_taken_at", None)


def _latest_complete(db: Database) -> Any:
    from .metrics import latest_complete_taken_at

    return latest_complete_taken_at(db)


def _final_line(summary: dict[str, Any], webhook_ok: bool | None) -> None:
    import logging

    code = summary["exit_code"]
    fields = {k: summary.get(k) for k in ("exit_code", "status", "snapshot_id", "snapshot_status",
                                          "missing_families", "counts_by_severity", "duration_seconds")}
    fields["new"] = len(summary.get("new_findings") or [])
    fields["resolved"] = len(summary.get("resolved_findings") or [])
    fields["webhook"] = None if webhook_ok is None else ("delivered" if webhook_ok else "failed")
    snap = ""
    if summary.get("snapshot_id") is not None:
        snap = f"; snapshot {summary['snapshot_id']} {summary.get('snapshot_status')}"
        if summary.get("missing_families"):
            snap += f", missing {', '.join(summary['missing_families'])}"
    hook = "; webhook not delivered" if webhook_ok is False else ""
    level = logging.ERROR if code not in (EXIT_OK, EXIT_FINDINGS) or webhook_ok is False else logging.INFO
    log.log(level, f"run finished: {summary['status']} (exit {code}){snap}{hook}", extra=fields)


def _steps(opts: RunOptions, summary: dict[str, Any], reports: list[Path], echo: Callable[[str], None]) -> int:
    from .rules import audit

    # 1. collect
    collected: CollectResult = collect(opts.db, opts.collect, opts.token, export_dir=opts.export_dir)
    stored = collected.stored
    sid = stored.snapshot_id
    summary.update(snapshot_id=sid, taken_at=stored.taken_at.isoformat(), org_id=collected.report.org_id,
                   resource_count=stored.resource_count,
                   snapshot_status="complete" if stored.complete else "incomplete",
                   missing_families=list(stored.failed),
                   families={n: st.get("status") for n, st in stored.families.items()})
    echo(f"collected snapshot {sid}: {stored.resource_count} resources, {collected.report.requests} requests "
         f"in {collected.report.seconds:.1f}s")
    code = EXIT_OK
    from .fetch import group_errors

    for names, error in group_errors([(n, stored.families[n].get("error")) for n in stored.failed]):
        problem = (f"family {names[0]} could not be collected: {error}" if len(names) == 1 else
                   f"{len(names)} families could not be collected ({', '.join(names)}), e.g. {names[0]}: {error}")
        summary["evidence_problems"].append(problem)
        log.warning(problem)
        code = EXIT_INCOMPLETE

    # 2. audit, once: the report below reads what it stored
    result = audit(opts.db, sid, rules_dirs=list(opts.rules_dirs), params=opts.params, waivers=opts.waivers,
                   fail_on=opts.fail_on)
    code = worst(code, result.exit_code)
    for r in result.rules:
        if r.status == "error":
            summary["evidence_problems"].append(f"rule {r.rule_id} could not be evaluated: {r.error}")
    counts: dict[str, int] = {}
    for f in result.findings:
        if f.status == "fail":
            counts[f.severity] = counts.get(f.severity, 0) + 1
    summary["counts_by_severity"] = counts
    by_status: dict[str, dict[str, int]] = {}
    for f in result.findings:
        by_status.setdefault(f.status, {})
        by_status[f.status][f.severity] = by_status[f.status].get(f.severity, 0) + 1
    summary["findings_by_status"] = by_status
    summary["waived"] = sum(1 for f in result.findings if f.status == "waived")
    summary["rules"] = result.summary()["rules"]  # skipped rules are counted apart: never as passed
    summary["skipped_rules"] = [{"rule_id": r.rule_id, "reason": r.note} for r in result.rules if r.status == "skip"]

    # 3. report (which audits the previous snapshot first if it never was)
    delta = None
    if opts.formats:
        from .report import ReportOptions, make_report

        made = make_report(opts.db, ReportOptions(
            snapshot=str(sid), formats=list(opts.formats), out=opts.out, classification=opts.classification,
            org_name=opts.org_name,
            max_resources_per_rule=opts.max_resources_per_rule, template_dir=opts.template_dir,
            rules_dirs=list(opts.rules_dirs), params=opts.params, soc2_categories=opts.soc2_categories,
            on_pdf_progress=opts.on_pdf_progress))
        reports.extend(made.paths)
        delta = made.data.delta
        latest = publish_latest(made.paths, opts.out)
        echo("reports: " + ", ".join(str(p) for p in made.paths))
        echo(f"latest copies in {latest}")
    else:
        delta = _delta_since_previous(opts.db, sid)
    _summarise_delta(summary, delta)
    echo(f"audited snapshot {sid}: {sum(counts.values())} open findings "
         f"({', '.join(f'{n} {s}' for s, n in counts.items()) or 'none'}); {len(summary['new_findings'])} new, "
         f"{len(summary['resolved_findings'])} resolved"
         + (f", {len(summary['not_evaluated_findings'])} not evaluated" if summary["not_evaluated_findings"] else ""))

    # 4. the lake: this run's snapshot, audit and changes (unchanged partitions are skipped)
    if opts.lake_dir:
        from .lake import export

        try:
            exported = export(opts.db, opts.lake_dir, org_id=opts.lake_org_id)
            echo(exported.summary())
            summary["lake"] = {"dir": exported.lake, "written": exported.written}
        except Exception as exc:  # noqa: BLE001 - the audit stands; the export failure is the run's exit 5
            from .redact import redact

            problem = redact(f"export to the lake {opts.lake_dir} failed: {exc}")
            log.error(problem)
            summary["lake"] = {"dir": str(opts.lake_dir), "error": problem}
            code = worst(code, EXIT_RUNTIME)

    # 5. retention
    if opts.retention and any(opts.retention.values()):
        from .prune import Policy, prune

        policy = Policy(**{k.removeprefix("keep_"): v or 0 for k, v in opts.retention.items()})
        pruned = prune(opts.db, policy)
        echo(pruned.summary())
    return code


_DELTA_KEYS = ("fingerprint", "rule_id", "severity", "resource_id", "resource_name")


def _delta_since_previous(db: Database, sid: int) -> dict[str, Any] | None:
    """The findings delta from the snapshot before ``sid`` (None when there is none): the one the
    report computes, for a run that writes no report."""
    from .findings import findings_delta
    from .db import previous_snapshot

    with db.reader() as con:
        prev = previous_snapshot(con, sid)
        return None if prev is None else findings_delta(con, prev, sid).to_dict()


def _summarise_delta(summary: dict[str, Any], delta: dict[str, Any] | None) -> None:
    """``new_findings``, ``resolved_findings`` (resolved, with or without the resource) and
    ``not_evaluated_findings`` of the run summary, from the one findings delta."""
    def pick(*groups: str) -> list[dict[str, Any]]:
        rows = [f for g in groups for f in (delta or {}).get(g, [])]
        rows.sort(key=lambda f: (f["rule_id"], f["resource_id"]))
        return [{k: f[k] for k in _DELTA_KEYS} for f in rows]

    summary["findings_delta_status"] = (delta or {}).get("status", "no previous snapshot")
    summary["new_findings"] = pick("new")
    summary["resolved_findings"] = pick("resolved", "resolved_deleted")
    summary["not_evaluated_findings"] = pick("not_evaluated")


def publish_latest(paths: Sequence[Path], out: Path) -> Path:
    """Replace ``out/latest/`` as a whole with copies of this run's outputs, named by kind
    (``latest/report.pdf``, ``latest/inventory/``, ...).

    The new set is built in a hidden folder beside it and swapped in at once
    (:func:`gwaudit.atomicdir.replace_dir`): a reader sees the previous set or this one, never a
    mix of two snapshots' files (a stale ``INCOMPLETE.txt``, say). Hidden ``.latest-*`` folders
    over an hour old, left by a run killed mid-way, are removed first.
    """
    import tempfile
    import time

    from .atomicdir import replace_dir

    out.mkdir(parents=True, exist_ok=True)
    for leftover in out.glob(".latest-*"):
        try:
            if leftover.is_dir() and not leftover.is_symlink() and time.time() - leftover.stat().st_mtime > 3600:
                shutil.rmtree(leftover, ignore_errors=True)
        except OSError:
            pass
    staging = Path(tempfile.mkdtemp(prefix=".latest-new-", dir=out))
    try:
        for path in paths:
            target = staging / _kind(path.name)
            if path.is_dir():
                shutil.copytree(path, target)
            else:
                shutil.copyfile(path, target)
                os.chmod(target, 0o600)
        replace_dir(staging, out / "latest")
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out / "latest"


def _kind(name: str) -> str:
    """``northwind-2026-11-27-s3-report.pdf`` -> ``report.pdf``."""
    import re

    m = re.match(r"^.*-s\d+-(.+)$", name)
    return m.group(1) if m else name
