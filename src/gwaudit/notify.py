"""Post a run's summary to a webhook (plain JSON, or a Slack-compatible message).

A webhook that fails is logged and never changes the audit's exit code. The summary is built
from counts, rule ids, resource names and report paths, and passes through
:func:`gwaudit.redact.redact_obj` before it is serialised: no credential reaches the receiver.

The body is at most ``max_bytes`` (``[notify] max_bytes``, default 256 KiB): the counts are always
there (``counts``, ``counts_by_severity``); when the lists of new and resolved findings and of
evidence problems do not fit, they are cut, and ``truncated`` and ``note`` say how many items
were left out.

With a secret (``[notify] hmac_secret_file``, ``--notify-hmac-secret-file``) every request
carries ``X-Gwaudit-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + body>``, so a
receiver can check that the body came from gwaudit, unchanged, and recently (README, "Webhook").
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import stat
import time
from pathlib import Path
from typing import Any, Callable

import httpx

from . import __version__
from .errors import ConfigError
from .logsetup import get
from .redact import redact_obj, register
from .severity import SEVERITIES

log = get("notify")

DEFAULT_MAX_BYTES = 256 * 1024
MIN_MAX_BYTES = 4096
"""The smallest cap accepted: the summary without its lists always fits."""
SIGNATURE_HEADER = "X-Gwaudit-Signature"
LISTS = ("new_findings", "resolved_findings", "evidence_problems")
"""The summary's lists that may be cut to fit; everything else is always sent."""
MIN_SECRET_BYTES = 16


def slack_payload(summary: dict[str, Any]) -> dict[str, Any]:
    """A Slack incoming-webhook message (``text`` plus ``blocks``) for a run summary."""
    counts = summary.get("counts_by_severity") or {}
    totals = summary.get("counts") or {}
    open_counts = ", ".join(f"{counts.get(s, 0)} {s}" for s in SEVERITIES if counts.get(s))
    org = summary.get("org_id") or summary.get("base_url") or "gateway"
    status = summary.get("status", "done")
    title = f"gwaudit {status} for {org}: {open_counts or 'no open findings'}"
    lines = [f"*{title}*",
             f"snapshot {summary.get('snapshot_id')} taken {summary.get('taken_at')}; exit code {summary.get('exit_code')}"]
    new = summary.get("new_findings") or []
    resolved = summary.get("resolved_findings") or []
    n_new = totals.get("new_findings", len(new))
    lines.append(f"{n_new} new, {totals.get('resolved_findings', len(resolved))} resolved since the previous run")
    for f in new[:10]:
        lines.append(f"• new {f.get('severity', '')} {f.get('rule_id')}: {f.get('resource_name') or f.get('resource_id')}")
    if n_new > min(len(new), 10):
        lines.append(f"… and {n_new - min(len(new), 10)} more new findings (see the reports)")
    problems = summary.get("evidence_problems") or []
    if problems:
        more = totals.get("evidence_problems", len(problems)) - min(len(problems), 5)
        lines.append("evidence problems: " + "; ".join(problems[:5]) + (f"; and {more} more" if more > 0 else ""))
    reports = summary.get("reports") or []
    if reports:
        lines.append("reports: " + ", ".join(str(r) for r in reports))
    text = "\n".join(lines)
    return {"text": title, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text[:2900]}}]}


def _dumps(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=str).encode("utf-8")


def fit_summary(summary: dict[str, Any], max_bytes: int = DEFAULT_MAX_BYTES) -> dict[str, Any]:
    """The summary with ``counts`` added and, when its JSON is over ``max_bytes``, its lists cut
    (items kept in order, round-robin across the lists) with ``truncated`` and ``note`` saying
    how many were left out. The result's JSON is at most ``max_bytes``."""
    if max_bytes < MIN_MAX_BYTES:
        raise ConfigError(f"notify max_bytes {max_bytes} is below the minimum of {MIN_MAX_BYTES}")
    full = {k: list(summary.get(k) or []) for k in LISTS}
    out = dict(summary)
    out["counts"] = {k: len(v) for k, v in full.items()}
    if len(_dumps(out)) <= max_bytes:
        return out
    kept = {k: 0 for k in LISTS}

    def build() -> dict[str, Any]:
        trimmed = dict(out)
        for k in LISTS:
            trimmed[k] = full[k][:kept[k]]
        omitted = {k: len(full[k]) - kept[k] for k in LISTS if kept[k] < len(full[k])}
        trimmed["truncated"] = {k: {"shown": kept[k], "omitted": n} for k, n in omitted.items()}
        trimmed["note"] = (f"the payload is capped at {max_bytes} bytes: left out "
                           + ", ".join(f"{n} of {len(full[k])} {k.replace('_', ' ')}" for k, n in omitted.items())
                           + "; the reports hold everything")
        return trimmed

    base = build()
    if len(_dumps(base)) > max_bytes:  # even without lists (absurdly long fields): the scalars alone
        small = {k: (v[:200] if isinstance(v, str) else v) for k, v in base.items()
                 if not isinstance(v, (list, dict)) or k in ("counts", "counts_by_severity", "truncated")}
        return small
    # Greedy, round-robin: each item costs its JSON plus a comma; the note's numbers may grow by
    # a few digits, kept as slack. Then check exactly and step back while over.
    budget = max_bytes - len(_dumps(base)) - 64
    progress = True
    while progress:
        progress = False
        for k in LISTS:
            if kept[k] < len(full[k]):
                cost = len(_dumps(full[k][kept[k]])) + 1
                if cost <= budget:
                    budget -= cost
                    kept[k] += 1
                    progress = True
    result = build()
    while len(_dumps(result)) > max_bytes:
        k = max(LISTS, key=lambda name: kept[name])
        kept[k] -= 1
        result = build()
    return result


def signature(secret: bytes, body: bytes, timestamp: int) -> str:
    """The ``X-Gwaudit-Signature`` value: ``t=<timestamp>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>``."""
    mac = hmac.new(secret, str(timestamp).encode("ascii") + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def read_hmac_secret(path: Path | str, *, strict: bool = False) -> bytes:
    """The webhook signing secret held in ``path`` (surrounding whitespace removed). A file
    group or others may read is warned about (refused with ``strict``)."""
    path = Path(os.path.expanduser(str(path)))
    try:
        with open(path, "rb") as fh:
            mode = os.fstat(fh.fileno()).st_mode
            raw = fh.read(65537)
    except OSError as exc:
        raise ConfigError(f"cannot read the webhook secret file {path}: {exc.strerror or exc}",
                          hint="pass a readable file holding the secret (e.g. openssl rand -hex 32 > FILE)") from None
    if not stat.S_ISREG(mode) or len(raw) > 65536:
        raise ConfigError(f"the webhook secret file {path} is not a small regular file")
    secret = raw.strip(b" \t\r\n")
    if len(secret) < MIN_SECRET_BYTES:
        raise ConfigError(f"the webhook secret in {path} is shorter than {MIN_SECRET_BYTES} bytes",
                          hint="use a random secret of 32 bytes or more: openssl rand -hex 32 > FILE")
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        why = f"the webhook secret file {path} is readable by {'others' if mode & stat.S_IROTH else 'its group'}"
        if strict:
            raise ConfigError(f"{why}; refused (--strict-token-file / api.strict_token_file)",
                              hint=f"chmod 600 {path}")
        log.warning(f"{why}: chmod 600 it", extra={"hint": f"chmod 600 {path}"})
    register(secret.decode("utf-8", "surrogateescape"))
    return secret


def post(url: str, summary: dict[str, Any], *, fmt: str = "json", timeout: float = 10.0,
         max_bytes: int = DEFAULT_MAX_BYTES, hmac_secret: bytes | None = None,
         transport: httpx.BaseTransport | None = None, clock: Callable[[], float] = time.time) -> bool:
    """POST the summary; returns whether the receiver accepted it (2xx). Never raises."""
    summary = fit_summary(redact_obj(summary), max_bytes)
    body = _dumps(slack_payload(summary) if fmt == "slack" else summary)
    headers = {"User-Agent": f"gwaudit/{__version__}", "Content-Type": "application/json"}
    if hmac_secret:
        headers[SIGNATURE_HEADER] = signature(hmac_secret, body, int(clock()))
    try:
        with httpx.Client(timeout=timeout, transport=transport, follow_redirects=False) as client:
            response = client.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        log.warning(f"webhook {redact_url(url)} failed: {type(exc).__name__}: {exc}; the audit result is unchanged",
                    extra={"webhook": redact_url(url)})
        return False
    if response.status_code // 100 != 2:
        log.warning(f"webhook {redact_url(url)} answered HTTP {response.status_code}; the audit result is unchanged",
                    extra={"webhook": redact_url(url), "http_status": response.status_code})
        return False
    log.info(f"posted the run summary to {redact_url(url)} ({len(body)} bytes)", extra={"webhook": redact_url(url)})
    return True


def redact_url(url: str) -> str:
    """A webhook URL often embeds a secret path (Slack): log only scheme, host and port."""
    parsed = httpx.URL(url)
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{parsed.host}{port}/…"
