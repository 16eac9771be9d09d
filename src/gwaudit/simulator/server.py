"""The simulated Barndoor admin API: a threaded HTTP/1.1 server on loopback.

Order of a request: count it; wait ``latency_ms``; inject a random fault (drop, truncate,
5xx, 429); then method (405), route (404), token (401), role (403), denied/failed families
(403/503), the family's recorded status (unavailable 404, failed 503), and the body.
"""

from __future__ import annotations

import email.utils
import ipaddress
import json
import math
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qs, unquote, urlsplit

from .. import families as fam
from ..errors import UsageError
from .dataset import PER_ITEM_PARAMS, Dataset, canonical_query, dumps
from .faults import Counters, Decision, FaultPlan, Faults, Stats, unit_hash
from .tokens import DEFAULT_ORG_ID, DEV_SECRET, Principal, Rejected, TokenCache, mint_token

ERROR_STYLES = ("openai", "flat", "mixed")
JSON = "application/json"
TEXT = "text/plain; charset=utf-8"

OPENAI_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                404: "not_found_error", 409: "conflict_error", 429: "rate_limit_error"}
"""``error.type`` per status; others get ``invalid_request_error`` (the service's default)."""
FLAT_TYPES = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
              405: "MethodNotAllowed", 409: "Conflict", 429: "RateLimited", 500: "InternalServerError",
              502: "BadGateway", 503: "ServiceUnavailable"}

# get-by-id endpoints: (family, path suffix after the family's list path, lookup)
BY_ID: tuple[tuple[str, str, str], ...] = (
    ("credentials", "/{id}", "id"),
    ("providers", "/{id}", "id"),
    ("providers", "/{id}/model-mappings", "provider_routes"),
    ("api_keys", "/{id}", "id"),
    ("model_pricing", "/version/{id}", "pricing_version"),
    ("agent_runtime_profiles", "/{id}", "slug"),
)
NOUNS = {"credentials": "connection", "providers": "provider", "api_keys": "api key",
         "model_pricing": "pricing version", "agent_runtime_profiles": "agent runtime profile"}


@dataclass
class Reply:
    status: int
    body: bytes = b""
    content_type: str = JSON
    headers: list[tuple[str, str]] = field(default_factory=list)
    action: str | None = None  # None, "drop" or "truncate"


def echo_header(reply: Reply, authorization: str | None) -> bytes:
    """The error body with the request's Authorization header appended to its message."""
    echo = f" (request had Authorization: {authorization if authorization is not None else '<none>'})"
    if reply.content_type != JSON:
        return reply.body + echo.encode("utf-8", "surrogateescape")
    body = json.loads(reply.body)
    if isinstance(body.get("error"), dict):
        body["error"]["message"] += echo
    else:
        body["message"] = str(body.get("message", "")) + echo
    return dumps(body)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_host(host: str) -> None:
    """Refuse any address but loopback: the simulator serves tokens anyone can mint."""
    if not is_loopback(host):
        raise UsageError(f"refusing to serve the simulator on {host!r}: only loopback addresses are allowed",
                         hint="use --host 127.0.0.1 (the default), localhost or ::1")


class App:
    """Turns a request (method, target, Authorization header) into a :class:`Reply`."""

    def __init__(self, dataset: Dataset, *, faults: Faults, error_style: str, secret: str):
        if error_style not in ERROR_STYLES:
            raise UsageError(f"unknown error style {error_style!r}", hint=f"use one of: {', '.join(ERROR_STYLES)}")
        self.dataset = dataset
        self.error_style = error_style
        self.secret = secret
        self.tokens = TokenCache(secret)
        self.counters = Counters()
        self.set_faults(faults)
        self._exact = {f.path: f.name for f in fam.FAMILIES}
        self._by_id = [(re.compile(re.escape(fam.get(name).path + suffix).replace(re.escape("{id}"), "([^/]+)") + "$"),
                        name, lookup) for name, suffix, lookup in BY_ID]

    def set_faults(self, faults: Faults) -> None:
        self.faults = faults
        self.plan = FaultPlan(faults)

    # ------------------------------------------------------------ errors

    def error(self, status: int, message: str, decision: Decision, headers: list[tuple[str, str]] | None = None) -> Reply:
        style = self.error_style
        if style == "mixed":
            style = "openai" if unit_hash(self.faults.seed, "style", decision.bits) & 1 == 0 else "flat"
        if style == "openai":
            body = {"error": {"message": message, "type": OPENAI_TYPES.get(status, "invalid_request_error")}}
        else:
            body = {"error": FLAT_TYPES.get(status, "Error"), "message": message}
        return Reply(status, dumps(body), JSON, list(headers or []))

    @staticmethod
    def plain(status: int, message: str) -> Reply:
        return Reply(status, message.encode(), TEXT)

    # ------------------------------------------------------------ dispatch

    def respond(self, method: str, target: str, authorization: str | None) -> Reply:
        reply = self._respond(method, target, authorization)
        if self.faults.echo_authorization and reply.status >= 400:
            self.counters.fault("echo_authorization")
            reply.body = echo_header(reply, authorization)
        return reply

    def _respond(self, method: str, target: str, authorization: str | None) -> Reply:
        split = urlsplit(target)
        path = unquote(split.path)
        self.counters.request(path)
        decision = self.plan.decide(method, target)
        if decision.kind == "drop":
            self.counters.fault("drop")
            return Reply(0, action="drop")
        if decision.kind == "error":
            self.counters.fault("error")
            status = (500, 502, 503)[decision.bits % 3]
            return self.error(status, f"simulated upstream failure ({status})", decision)
        if decision.kind == "rate_limit":
            self.counters.fault("rate_limit")
            return self.error(429, "rate limit exceeded; retry later", decision,
                              [("Retry-After", self.retry_after(decision))])
        reply = self.serve(method, path, split.query, authorization, decision)
        if decision.kind == "truncate":
            self.counters.fault("truncate")
            reply.action = "truncate"
        return reply

    def retry_after(self, decision: Decision) -> str:
        wait = self.faults.retry_after_s
        if (decision.bits >> 1) & 1:
            return email.utils.formatdate(math.ceil(time.time()) + wait, usegmt=True)
        return str(wait)

    def serve(self, method: str, path: str, query: str, authorization: str | None, decision: Decision) -> Reply:
        if method != "GET":
            reply = self.error(405, f"method {method} is not allowed here; this API is read-only in the simulator",
                               decision)
            reply.headers.append(("Allow", "GET"))
            return reply
        rel = path[len(fam.API_ROOT):] if path.startswith(fam.API_ROOT + "/") else None
        route = self.route(rel) if rel is not None else None
        if route is None:
            return self.error(404, f"no route for GET {path}", decision)
        family, lookup, ident = route
        try:
            principal = self.tokens.authenticate(authorization)
            self.authorize(principal, rel or "")
        except Rejected as exc:
            return self.error(exc.status, exc.message, decision)
        if family in self.faults.deny_families:
            self.counters.fault("deny_family")
            return self.error(403, "principal is not permitted to perform this action", decision)
        if family in self.faults.fail_families:
            self.counters.fault("fail_family")
            return self.error(503, f"{family} is temporarily unavailable (simulated failure)", decision)
        status = self.dataset.status(family)
        if status == "unavailable":
            return self.error(404, f"no route for GET {path}", decision)
        if status == "failed":
            return self.error(503, f"{family} is temporarily unavailable", decision)
        if lookup == "list":
            payload = self.dataset.lists.get(family)
            if payload is None:
                return self.error(503, f"{family} is temporarily unavailable", decision)
            return Reply(payload.status, payload.body)
        if lookup == "per_item":
            return self.per_item(family, parse_qs(query, keep_blank_values=True), decision)
        return self.by_id(family, lookup, ident or "", decision)

    def route(self, rel: str) -> tuple[str, str, str | None] | None:
        """(family, lookup, id) for a path relative to the API root, or None."""
        name = self._exact.get(rel)
        if name is not None:
            return name, "per_item" if fam.get(name).per_item else "list", None
        for pattern, name, lookup in self._by_id:
            m = pattern.match(rel)
            if m:
                return name, lookup, m.group(1)
        return None

    @staticmethod
    def authorize(principal: Principal, rel: str) -> None:
        if rel.startswith("/admin/") and principal.role != "admin":
            raise Rejected(403, "principal is not permitted to perform this action")

    def per_item(self, family: str, params: dict[str, list[str]], decision: Decision) -> Reply:
        required, optional = PER_ITEM_PARAMS[family]
        query = {k: v[0] for k, v in params.items() if v}
        for name in required:
            if not query.get(name):
                return self.plain(400, f"Failed to deserialize query string: missing field `{name}`")
        key = canonical_query(family, query)
        payload = self.dataset.per_item.get(family, {}).get(key)
        if payload is not None:
            return Reply(payload.status, payload.body)
        if family == "routing_rules":
            if query["policy_id"] not in self.dataset.index("routing_policies", "id"):
                return self.error(404, f"routing policy {{id: {query['policy_id']}}} not found", decision)
            return Reply(200, dumps({"rules": [], "conflicts": []}))
        return Reply(200, b"[]")

    def by_id(self, family: str, lookup: str, ident: str, decision: Decision) -> Reply:
        noun = NOUNS.get(family, family)
        if lookup == "provider_routes":
            if ident not in self.dataset.index("providers", "id"):
                return self.error(404, f"provider {{id: {ident}}} not found", decision)
            return Reply(200, self.dataset.cached(("provider_routes_body", ident),
                                                  lambda: dumps(self.dataset.provider_routes(ident))))
        if lookup == "pricing_version":
            item = self.dataset.pricing_versions().get(ident)
        else:
            item = self.dataset.index(family, lookup).get(ident)
        if item is None:
            key = "slug" if lookup == "slug" else "id"
            return self.error(404, f"{noun} {{{key}: {ident}}} not found", decision)
        return Reply(200, self.dataset.cached(("item_body", family, lookup, ident), lambda: dumps(item)))


# ---------------------------------------------------------------- HTTP plumbing

class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "gwaudit-simulator"
    sys_version = ""
    timeout = 120  # idle keep-alive connections end after this many seconds
    server: "_Server"

    def setup(self) -> None:
        super().setup()
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:  # pragma: no cover - not a TCP socket
            pass

    def _handle(self) -> None:
        method = self.command
        self._discard_body()
        started = time.perf_counter()
        sim = self.server.simulator
        app = sim.app
        reply = app.respond(method, self.path, self.headers.get("Authorization"))
        latency = app.faults.latency_ms
        if latency:
            time.sleep(latency / 1000.0)
        if reply.action == "drop":
            self.close_connection = True
            self._abort()
            sim.log_request(method, self.path, 0, started)
            return
        head = [f"HTTP/1.1 {reply.status} {self.responses.get(reply.status, ('',))[0]}",
                f"Server: {self.server_version}", f"Date: {self.date_time_string()}",
                f"Content-Type: {reply.content_type}", f"Content-Length: {len(reply.body)}"]
        head += [f"{k}: {v}" for k, v in reply.headers]
        if self.close_connection or reply.action == "truncate":
            head.append("Connection: close")
        data = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")
        body = reply.body if method != "HEAD" else b""
        sent = len(body)
        if reply.action == "truncate":
            sent = len(body) // 2
            body = body[:sent]
            self.close_connection = True
        if len(body) < 65536:
            self.wfile.write(data + body)
        else:
            self.wfile.write(data)
            self.wfile.write(body)
        app.counters.response(reply.status, sent)
        if reply.action == "truncate":
            self._abort()
        sim.log_request(method, self.path, reply.status, started)

    def _discard_body(self) -> None:
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > 1 << 20:
            self.close_connection = True
        elif length > 0:
            self.rfile.read(length)

    def _abort(self) -> None:
        """Close the connection now, mid-response if need be."""
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _handle

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass  # requests are logged by Simulator.log_request (never with headers)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], simulator: "Simulator", family: int):
        self.address_family = family
        self.simulator = simulator
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._conns_lock:
            self._conns.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._conns_lock:
            self._conns.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError, OSError)):
            return  # the client went away (or a fault cut the connection): nothing to report
        super().handle_error(request, client_address)


class Simulator:
    """A simulated Barndoor admin API on a loopback port, served from a background thread.

        with Simulator.from_folder(path, faults=Faults(error_rate=0.1, seed=1)) as sim:
            token = sim.mint_token()
            httpx.get(sim.api_root + "/admin/api-keys", headers={"Authorization": f"Bearer {token}"})
    """

    def __init__(self, dataset: Dataset, *, faults: Faults | None = None, error_style: str = "openai",
                 host: str = "127.0.0.1", port: int = 0, jwt_secret: str = DEV_SECRET,
                 log: Callable[[str], None] | None = None):
        check_host(host)
        self.dataset = dataset
        self.host = "127.0.0.1" if host == "localhost" else host.strip("[]")
        self.requested_port = port
        self.jwt_secret = jwt_secret
        self.log = log
        self.app = App(dataset, faults=faults or Faults(), error_style=error_style, secret=jwt_secret)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @classmethod
    def from_folder(cls, path: Path | str, **kw: Any) -> "Simulator":
        """Serve a snapshot folder (``manifest.json`` plus bodies), verified first."""
        return cls(Dataset.from_folder(path), **kw)

    @classmethod
    def from_generated(cls, n: int = 1, seed: int = 0, *, taken_at: datetime | None = None, **kw: Any) -> "Simulator":
        """Serve a generated org of scale ``n`` (see :func:`generate_org`)."""
        from .generate import generate_org

        return cls(generate_org(n, seed=seed, taken_at=taken_at).dataset(), **kw)

    # ------------------------------------------------------------ lifecycle

    def start(self) -> "Simulator":
        if self._server is not None:
            return self
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        try:
            self._server = _Server((self.host, self.requested_port), self, family)
        except OSError as exc:
            raise UsageError(f"cannot listen on {self.host}:{self.requested_port}: {exc.strerror or exc}",
                             hint="choose another --port, or 0 for any free port") from None
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name=f"gwaudit-simulator:{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> "Simulator":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

    # ------------------------------------------------------------ addresses and tokens

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the simulator is not running: call start() or use it as a context manager")
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def api_root(self) -> str:
        return self.base_url + fam.API_ROOT

    def mint_token(self, role: str = "admin", expires_in: int = 3600, **claims: Any) -> str:
        """A token this simulator accepts, for the served org (members get the caller's id)."""
        claims.setdefault("org_id", self.dataset.org_id or DEFAULT_ORG_ID)
        if role != "admin" and self.dataset.caller_user_id:
            claims.setdefault("sub", self.dataset.caller_user_id)
        return mint_token(role, expires_in, self.jwt_secret, **claims)

    # ------------------------------------------------------------ faults and counters

    @property
    def faults(self) -> Faults:
        return self.app.faults

    def set_faults(self, faults: Faults) -> None:
        """Replace the fault settings; attempt counts start again from zero."""
        self.app.set_faults(faults)

    @property
    def stats(self) -> Stats:
        """A copy of the counters: requests by path, faults by kind, responses by status."""
        return self.app.counters.snapshot()

    def reset_stats(self) -> None:
        self.app.counters.reset()

    def expected_requests(self) -> int:
        """GETs a complete collection makes: every list endpoint plus every per-item request."""
        return self.dataset.expected_requests()

    def log_request(self, method: str, target: str, status: int, started: float) -> None:
        if self.log is not None:
            shown = status if status else "dropped"
            self.log(f"{method} {target} {shown} {1000 * (time.perf_counter() - started):.1f}ms")
