"""Post a run's summary to a webhook (plain JSON, or a Slack-compatible message).

A webhook that fails is logged and never changes the audit's exit code. The summary is built
from counts, rule ids, resource names and report paths: the API token is never part of it.
"""

from __future__ import annotations

from typing import Any

import httpx

from . import __version__
from .logsetup import get
from .severity import SEVERITIES

log = get("notify")



def slack_payload(summary: dict[str, Any]) -> dict[str, Any]:
    """A Slack incoming-webhook message (``text`` plus ``blocks``) for a run summary."""
    counts = summary.get("counts_by_severity") or {}
    open_counts = ", ".join(f"{counts.get(s, 0)} {s}" for s in SEVERITIES if counts.get(s))
    org = summary.get("org_id") or summary.get("base_url") or "gateway"
    status = summary.get("status", "done")
    title = f"gwaudit {status} for {org}: {open_counts or 'no open findings'}"
    lines = [f"*{title}*",
             f"snapshot {summary.get('snapshot_id')} taken {summary.get('taken_at')}; exit code {summary.get('exit_code')}"]
    new = summary.get("new_findings") or []
    resolved = summary.get("resolved_findings") or []
    lines.append(f"{len(new)} new, {len(resolved)} resolved since the previous run")
    for f in new[:10]:
        lines.append(f"• new {f.get('severity', '')} {f.get('rule_id')}: {f.get('resource_name') or f.get('resource_id')}")
    problems = summary.get("evidence_problems") or []
    if problems:
        lines.append("evidence problems: " + "; ".join(problems[:5]))
    reports = summary.get("reports") or []
    if reports:
        lines.append("reports: " + ", ".join(str(r) for r in reports))
    text = "\n".join(lines)
    return {"text": title, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text[:2900]}}]}


def post(url: str, summary: dict[str, Any], *, fmt: str = "json", timeout: float = 10.0,
         transport: httpx.BaseTransport | None = None) -> bool:
    """POST the summary; returns whether the receiver accepted it (2xx). Never raises."""
    payload = slack_payload(summary) if fmt == "slack" else summary
    try:
        with httpx.Client(timeout=timeout, transport=transport, follow_redirects=False,
                          headers={"User-Agent": f"gwaudit/{__version__}"}) as client:
            response = client.post(url, json=payload)
    except httpx.HTTPError as exc:
        log.warning(f"webhook {redact_url(url)} failed: {type(exc).__name__}: {exc}; the audit result is unchanged",
                    extra={"webhook": redact_url(url)})
        return False
    if response.status_code // 100 != 2:
        log.warning(f"webhook {redact_url(url)} answered HTTP {response.status_code}; the audit result is unchanged",
                    extra={"webhook": redact_url(url), "http_status": response.status_code})
        return False
    log.info(f"posted the run summary to {redact_url(url)}", extra={"webhook": redact_url(url)})
    return True


def redact_url(url: str) -> str:
    """A webhook URL often embeds a secret path (Slack): log only scheme, host and port."""
    parsed = httpx.URL(url)
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{parsed.host}{port}/…"
