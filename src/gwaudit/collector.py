"""Collect a snapshot of every family from the admin API into a snapshot folder, then store it.

One async httpx client with keep-alive and bounded concurrency. Per-item requests (pricing
history per rule, routing rules per policy) start as soon as their parent list arrives. Each
request retries on 5xx, connection errors, timeouts and 429 (honouring ``Retry-After``) with
exponential backoff and full jitter, within a per-request time cap. A 401/403 stops everything:
nothing is stored. A family that still fails is recorded ``failed`` with its error; the snapshot
is stored ``incomplete`` and the command exits 4. The HTTP transport is a parameter
(``transport=``) so tests can run against the simulator or an ``httpx.MockTransport``.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

import httpx

from . import __version__
from . import families as fam
from .auth import Token, check_token
from .db import Database
from .db.ingest import StoreResult, store_folder
from .errors import IncompleteEvidence, NoEvidence, UsageError
from .fetch import PARENTS, Abort, Client, Fetcher, Outcome, group_errors
from .fetch import describe_error  # noqa: F401 - part of this module's interface
from .lock import register_temp, unregister_temp
from .redact import redact_bytes
from .snapshot import FamilyStatus, FolderWriter, Limits, load_folder
from .timeutil import utcnow


@dataclass
class CollectOptions:
    base_url: str
    concurrency: int = 8
    timeout: float = 30.0
    max_retry_seconds: float = 60.0
    max_attempts: int = 6
    backoff_base: float = 0.25
    backoff_max: float = 10.0
    transport: httpx.AsyncBaseTransport | None = None
    clock: Callable[[], datetime] = utcnow
    on_progress: Callable[[int, int], None] | None = None
    seed: int | None = None  # jitter seed, for reproducible tests
    store_unreached: bool = False  # store a collection that reached no family (normally refused, exit 6)
    limits: Limits = field(default_factory=Limits)  # response body size and JSON depth ([limits])

    def api_root(self) -> str:
        return api_root(self.base_url)


def api_root(base_url: str) -> str:
    """Accept a host root or the full ``.../api/llm-gateway`` root; return the latter."""
    if not base_url:
        raise UsageError("no API base URL", hint="pass --base-url or set GWAUDIT_BASE_URL "
                                                 "(e.g. https://<org>.platform.barndoor.ai)")
    parts = urlsplit(base_url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"base URL {base_url!r} is not an http(s) URL",
                         hint="e.g. https://<org>.platform.barndoor.ai")
    path = parts.path.rstrip("/")
    idx = path.find(fam.API_ROOT)
    if idx >= 0:
        path = path[: idx + len(fam.API_ROOT)]
    else:
        path = path + fam.API_ROOT
    return f"{parts.scheme}://{parts.netloc}{path}"


def _count_deferred(writer: FolderWriter) -> None:
    """Count (and so fully parse) the bodies :func:`_parse` deferred; a body that is not valid
    JSON after all marks its family failed and is removed, so that the folder always stores."""
    deferred = [e for e in writer.files if e.item_count is None and fam.get(e.family).shape == "array"
                and not fam.get(e.family).per_item]
    if not deferred:
        return
    import duckdb

    con = duckdb.connect()

    def count(entries: list[Any]) -> dict[str, int]:
        paths = [str((writer.root / e.path).resolve()) for e in entries]
        rows = con.execute("SELECT filename, count(*) FROM read_json_objects($p, format = 'array', filename = true, "
                           "maximum_object_size = 268435456) GROUP BY filename", {"p": paths}).fetchall()
        counts = dict(rows)
        return {e.path: counts.get(p, 0) for e, p in zip(entries, paths)}

    try:
        counts = count(deferred)
    except duckdb.Error:
        counts = {}
        for entry in deferred:
            try:
                counts.update(count([entry]))
            except duckdb.Error as exc:
                writer.files.remove(entry)
                (writer.root / entry.path).unlink(missing_ok=True)
                status = writer.families.get(entry.family)
                writer.set_status(entry.family, FamilyStatus(
                    status="failed", http_status=200, error=f"the body is not valid JSON: {str(exc).splitlines()[0]}",
                    request_count=status.request_count if status else None, endpoint=fam.get(entry.family).endpoint))
    finally:
        con.close()
    for entry in deferred:
        if entry.path in counts:
            entry.item_count = counts[entry.path]
            status = writer.families.get(entry.family)
            if status is not None and status.status == "ok":
                status.item_count = counts[entry.path]




# ---------------------------------------------------------------- the whole collection

@dataclass
class CollectReport:
    folder: Path
    taken_at: datetime
    families: dict[str, FamilyStatus]
    requests: int
    retries: int
    seconds: float
    org_id: str | None = None
    warnings: list[str] = field(default_factory=list)
    answers: dict[str, tuple[int | None, bool]] = field(default_factory=dict)
    """Top-level family -> (final HTTP status or None, whether an error body was JSON)."""
    api_root: str = ""

    @property
    def failed(self) -> list[str]:
        return sorted(n for n, s in self.families.items() if s.status == "failed")

    @property
    def reached(self) -> bool:
        """Whether any family was collected at all."""
        return any(s.status == "ok" for s in self.families.values())

    def no_evidence(self) -> NoEvidence:
        """The one error for a collection that reached no family: the URL, the likely cause."""
        root = self.api_root
        host = urlsplit(root).netloc
        statuses = [st for st, _ in self.answers.values()]
        errors = [(n, s.error) for n, s in sorted(self.families.items()) if s.status != "ok" and s.error]
        groups = sorted(group_errors(errors), key=lambda g: -len(g[0]))
        first = f" ({groups[0][1]})" if groups else ""
        if statuses and all(st is None for st in statuses):
            cause = (f"{host} is unreachable: no connection could be made{first}",
                     "check the host name and port, that the gateway is up, and any proxy or firewall between")
        elif statuses and all(st == 404 for st in statuses):
            if any(is_json for _, is_json in self.answers.values()):
                cause = (f"wrong base URL: {host} answers, but every endpoint under {urlsplit(root).path} is "
                         "404 (not found)",
                         "give the gateway's host root (https://<org>.platform.barndoor.ai) or its "
                         f"...{fam.API_ROOT} root")
            else:
                cause = (f"not a Barndoor gateway (or a wrong base URL): every endpoint answered 404 without "
                         "the gateway's JSON error body",
                         "check --base-url / api.base_url: it should name your Barndoor gateway's host, "
                         f"e.g. https://<org>.platform.barndoor.ai (the API lives under {fam.API_ROOT})")
        elif statuses and all(st is not None and st < 500 for st in statuses):
            cause = (f"not a Barndoor gateway: {host} answers, but not with the admin API's JSON{first}",
                     "check --base-url / api.base_url: it should name your Barndoor gateway's host")
        else:
            cause = (f"every family failed{first}",
                     "the gateway may be down or overloaded: rerun later, or check its health")
        return NoEvidence(f"collection from {root} reached no family: {cause[0]}; nothing was stored",
                          hint=cause[1] + " (--store-unreached stores such an empty, incomplete snapshot anyway)")


async def collect_to_folder(opts: CollectOptions, token: Token, folder: Path) -> CollectReport:
    """Fetch every family into ``folder`` (snapshot folder format). Raises AuthError on 401/403."""
    taken_at = opts.clock()
    check_token(token, utcnow())
    root = opts.api_root()
    writer = FolderWriter(folder)
    started = time.monotonic()
    headers = {"Authorization": f"Bearer {token.reveal()}", "Accept": "application/json",
               "User-Agent": f"gwaudit/{__version__}"}
    limits = httpx.Limits(max_connections=opts.concurrency, max_keepalive_connections=opts.concurrency)
    timeout = httpx.Timeout(opts.timeout)
    async with Client(base_url=root, headers=headers, limits=limits, timeout=timeout,
                       transport=opts.transport, follow_redirects=False) as client:
        fetcher = Fetcher(client, opts)
        # Body files are written by one spool thread, so disk writes overlap the network.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="gwaudit-spool") as spool:
            run = _Run(fetcher, writer, opts, spool)
            try:
                await run.all()
            except Abort as abort:
                raise abort.error from None
    _count_deferred(writer)
    org_id = _org_id(token, run.parent_items)
    report = CollectReport(folder, taken_at, writer.families, fetcher.requests, fetcher.retries,
                           time.monotonic() - started, org_id, answers=run.answers, api_root=root)
    if not report.reached and not opts.store_unreached:
        return report  # nothing to finish: collect() refuses to store it
    writer.finish(taken_at=taken_at, base_url=root, org_id=org_id)
    return report


class _Run:
    def __init__(self, fetcher: Fetcher, writer: FolderWriter, opts: CollectOptions, spool: ThreadPoolExecutor):
        self.fetcher = fetcher
        self.writer = writer
        self.opts = opts
        self.spool = spool
        self.parent_items: dict[str, list[dict[str, Any]]] = {}
        self.answers: dict[str, tuple[int | None, bool]] = {}
        self.done = 0
        self.total = len(fam.top_level())

    def _progress(self) -> None:
        self.done += 1
        if self.opts.on_progress:
            self.opts.on_progress(self.done, self.total)

    async def all(self) -> None:
        parents_needed = {p for f in fam.per_item() for p in f.parents}
        events = {name: asyncio.Event() for name in parents_needed}
        tasks = [asyncio.create_task(self.top(f, events.get(f.name))) for f in fam.top_level()]
        tasks += [asyncio.create_task(self.per_item(f, [events[p] for p in f.parents])) for f in fam.per_item()]
        try:
            await asyncio.gather(*tasks)
        except BaseException:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise

    async def top(self, family: fam.Family, done: asyncio.Event | None) -> None:
        try:
            out = await self.fetcher.get(family)
            if out.ok:
                assert out.body is not None
                await self._spool(family, out.body, None if out.items is None else len(out.items))
            self._record(family, out)
        finally:
            if done is not None:
                done.set()
            self._progress()

    def _record(self, family: fam.Family, out: Outcome) -> None:
        self.answers[family.name] = (out.status, _is_json(out.body) if not out.ok else True)
        if out.ok:
            items = out.items or []
            if family.name in PARENTS:
                self.parent_items[family.name] = [i for i in items if isinstance(i, dict)]
            elif family.name in ("credentials", "providers") and items:
                self.parent_items.setdefault("_org", [i for i in items[:1] if isinstance(i, dict)])
            self.writer.set_status(family.name, FamilyStatus(
                status="ok", http_status=200, item_count=None if out.items is None else len(items),
                request_count=out.attempts,
                duration_ms=round(out.duration_ms, 1), endpoint=family.endpoint))
        elif out.status == 404 and family.optional:
            self.writer.set_status(family.name, FamilyStatus(
                status="unavailable", http_status=404, error="this tenant does not offer the endpoint (404)",
                request_count=out.attempts, duration_ms=round(out.duration_ms, 1), endpoint=family.endpoint))
        else:
            self.writer.set_status(family.name, FamilyStatus(
                status="failed", http_status=out.status, error=out.error, request_count=out.attempts,
                duration_ms=round(out.duration_ms, 1), endpoint=family.endpoint))

    async def per_item(self, family: fam.Family, parents: list[asyncio.Event]) -> None:
        for event in parents:
            await event.wait()
        parent_status = {p: self.writer.families.get(p) for p in family.parents}
        failed_parents = [p for p, s in parent_status.items() if s is None or s.status == "failed"]
        if all(s is not None and s.status == "unavailable" for s in parent_status.values()):
            self.writer.set_status(family.name, FamilyStatus(
                status="unavailable", error=f"{', '.join(family.parents)} not offered by this tenant",
                request_count=0, endpoint=family.endpoint))
            return
        queries: list[dict[str, str]] = []
        seen: set[str] = set()
        assert family.query is not None
        for p in family.parents:
            for item in self.parent_items.get(p, []):
                q = family.query(item)
                key = json.dumps(q, sort_keys=True)
                if key not in seen:
                    seen.add(key)
                    queries.append(q)
        self.total += len(queries)
        started = time.monotonic()
        outcomes = await asyncio.gather(*(self._one(family, q, i) for i, q in enumerate(queries, start=1)))
        errors = [(q, o) for q, o in zip(queries, outcomes) if not o.ok]
        requests = sum(o.attempts for o in outcomes)
        elapsed = round((time.monotonic() - started) * 1000, 1)
        if failed_parents or errors:
            parts = []
            if failed_parents:
                parts.append(f"parent family {', '.join(failed_parents)} could not be collected")
            if errors:
                q, o = errors[0]
                parts.append(f"{len(errors)} of {len(queries)} requests failed; first: "
                             f"?{'&'.join(f'{k}={v}' for k, v in q.items())}: {o.error}")
            self.writer.set_status(family.name, FamilyStatus(
                status="failed", http_status=errors[0][1].status if errors else None, error="; ".join(parts),
                request_count=requests, duration_ms=elapsed, endpoint=family.endpoint))
        else:
            self.writer.set_status(family.name, FamilyStatus(
                status="ok", http_status=200, request_count=requests, duration_ms=elapsed,
                item_count=None, endpoint=family.endpoint))

    async def _one(self, family: fam.Family, query: dict[str, str], index: int) -> Outcome:
        try:
            out = await self.fetcher.get(family, params=query)
            if out.ok:
                assert out.body is not None and out.items is not None
                await self._spool(family, out.body, len(out.items), query=query, index=index)
                out.body = out.items = None  # written: free the memory now
            return out
        finally:
            self._progress()

    async def _spool(self, family: fam.Family, body: bytes, count: int | None, *, query: dict[str, str] | None = None,
                     index: int | None = None) -> None:
        loop = asyncio.get_running_loop()
        body = redact_bytes(body)  # our own token never becomes evidence, even if the gateway echoes it
        await loop.run_in_executor(self.spool, partial(self.writer.add_body, family.name, body, query=query,
                                                       item_count=count, index=index))


def _is_json(body: bytes | None) -> bool:
    if not body:
        return False
    try:
        json.loads(body)
    except ValueError:
        return False
    return True


def _org_id(token: Token, items: dict[str, list[dict[str, Any]]]) -> str | None:
    claims = token.claims() or {}
    for key in ("org_id", "organization_id", "org"):
        if isinstance(claims.get(key), str):
            return claims[key]
    for group in items.values():
        for item in group:
            if isinstance(item.get("org_id"), str):
                return item["org_id"]
    return None


# ---------------------------------------------------------------- collect + store

@dataclass
class CollectResult:
    report: CollectReport
    stored: StoreResult
    export_dir: Path | None


def collect(db: Database | Path | str, opts: CollectOptions, token: Token, *,
            export_dir: Path | None = None) -> CollectResult:
    """Collect every family and store the snapshot; raises IncompleteEvidence (exit 4) after
    storing when a family failed, AuthError (exit 3, nothing stored) on 401/403."""
    check_token(token, utcnow())
    if export_dir is not None:
        export_dir = Path(export_dir)
        if export_dir.exists() and any(export_dir.iterdir()):
            raise UsageError(f"--export-dir {export_dir} is not empty",
                             hint="choose a new or empty folder; an export is never merged into another")
        spool = export_dir
    else:
        cleanup_spools()
        spool = Path(tempfile.mkdtemp(prefix=f"{SPOOL_PREFIX}{os.getpid()}-"))
    keep = export_dir is not None
    if not keep:
        register_temp(spool)
    try:
        report = asyncio.run(collect_to_folder(opts, token, spool))
        if not report.reached and not opts.store_unreached:
            raise report.no_evidence()
        folder = load_folder(spool, parse=False, limits=opts.limits)
        stored = store_folder(db, folder, source="api")
    except BaseException:
        keep = False  # a partial export must not look like a snapshot folder
        raise
    finally:
        if not keep:
            shutil.rmtree(spool, ignore_errors=True)
        unregister_temp(spool)
    return CollectResult(report, stored, export_dir)


SPOOL_PREFIX = "gwaudit-collect-"
"""Temporary folders of a collection: ``gwaudit-collect-<pid>-<random>`` in the temp directory."""


def cleanup_spools(tmp: Path | None = None) -> list[Path]:
    """Remove the temporary folders of collections killed before they could (SIGKILL, power cut):
    only folders of this user whose owning pid no longer runs (folders named without a pid, by
    older versions, once a day old)."""
    import re

    from .lock import pid_alive

    tmp = Path(tmp or tempfile.gettempdir())
    removed: list[Path] = []
    try:
        entries = [p for p in tmp.iterdir() if p.name.startswith(SPOOL_PREFIX)]
    except OSError:
        return removed
    for p in entries:
        try:
            st = p.lstat()
        except OSError:
            continue
        if p.is_symlink() or not p.is_dir() or (hasattr(os, "getuid") and st.st_uid != os.getuid()):
            continue
        m = re.match(rf"^{re.escape(SPOOL_PREFIX)}(\d+)-", p.name)
        if m:
            if pid_alive(int(m.group(1))):
                continue
        elif time.time() - st.st_mtime < 86400:
            continue
        shutil.rmtree(p, ignore_errors=True)
        removed.append(p)
    return removed


def incomplete_error(result: CollectResult) -> IncompleteEvidence | None:
    failed = result.stored.failed
    if not failed:
        return None
    return IncompleteEvidence.families(
        failed, snapshot_id=result.stored.snapshot_id,
        hint="see the errors above; rerun later or check the gateway's health. Rules that need those "
             "families will report 'error'")
