"""Bodies the collector receives are untrusted too: size cap, duplicate keys, nesting depth.

A body the store would refuse marks its family ``failed`` with a clear error (the snapshot is
stored incomplete, exit 4), instead of failing the whole collection or being stored."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import httpx

from gwaudit import families as fam
from gwaudit.auth import Token
from gwaudit.collector import CollectOptions, collect
from gwaudit.snapshot import MB, Limits
from gwaudit.testing import write_folder
from tests.test_collector_unit import NOW, _jwt, _serving

KEYS = fam.get("api_keys").endpoint


def _collect(tmp_path, db, example_data, replace, **opts):
    folder = write_folder(tmp_path / "served", example_data, taken_at=NOW, unavailable=["agent_runtime_profiles"])
    serve, _calls = _serving(folder)
    seen: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == KEYS:
            seen.append(1)
            return replace(request)
        return serve(request)

    token = Token(_jwt(datetime.now(timezone.utc) + timedelta(hours=1), org_id="org-1"), "test")
    options = CollectOptions(base_url="https://gw.example", transport=httpx.MockTransport(handler),
                             clock=lambda: NOW, backoff_base=0.001, backoff_max=0.002, seed=1, **opts)
    result = collect(db, options, token)
    return result.stored.families["api_keys"], len(seen)


class Endless(httpx.AsyncByteStream):
    """A body that never ends (200 MB and counting), produced lazily; counts what was read."""

    def __init__(self, total: int = 200 * MB):
        self.total = total
        self.sent = 0

    async def __aiter__(self):
        chunk = b" " * (1 << 20)
        while self.sent < self.total:
            self.sent += len(chunk)
            yield chunk


def test_a_200_mb_body_is_refused_while_it_streams(tmp_path, db, example_data):
    streams: list[Endless] = []

    def huge(_request):
        streams.append(Endless())
        return httpx.Response(200, stream=streams[-1], headers={"content-type": "application/json"})

    status, requests = _collect(tmp_path, db, example_data, huge)
    assert status["status"] == "failed"
    assert "response body is over 67,108,864 bytes" in status["error"] and "[limits] max_file_mb" in status["error"]
    assert requests == 1  # not retried: the same body would come back
    assert streams[0].sent <= 65 * MB  # stopped at the cap, never held 200 MB


def test_a_declared_oversized_body_is_refused_before_reading(tmp_path, db, example_data):
    streams: list[Endless] = []

    def declared(_request):
        streams.append(Endless())
        return httpx.Response(200, stream=streams[-1], headers={"content-length": str(200 * MB)})

    status, _ = _collect(tmp_path, db, example_data, declared)
    assert status["status"] == "failed" and "209,715,200 bytes" in status["error"]
    assert streams[0].sent == 0


def test_the_body_cap_follows_the_limits(tmp_path, db, example_data):
    body = json.dumps(example_data["api_keys"] * 50).encode()

    status, _ = _collect(tmp_path, db, example_data, lambda _r: httpx.Response(200, content=body),
                         limits=Limits(max_file_bytes=len(body) - 1))
    assert status["status"] == "failed" and "gwaudit accepts at most" in status["error"]


def test_duplicate_keys_and_deep_bodies_mark_the_family_failed(tmp_path, db, example_data):
    dup = b'[{"id": "k1", "name": "a", "id": "k2"}]'
    status, requests = _collect(tmp_path, db, example_data, lambda _r: httpx.Response(200, content=dup))
    assert status["status"] == "failed" and "duplicate key 'id'" in status["error"]


def test_a_large_deep_body_is_checked_too(tmp_path, db, example_data):
    # over 1 MB: the collector checks it off the event loop instead of keeping its items
    deep = b"[" + b" " * (2 * MB) + b"[" * 1000 + b"]" * 1000 + b"]"
    status, _ = _collect(tmp_path, db, example_data, lambda _r: httpx.Response(200, content=deep))
    assert status["status"] == "failed" and "nested deeper than 64" in status["error"]
