"""Issue 14 class 6: the TLS/loopback rules read base_url through one standards-following parse
(credential_urls / provider_urls), tested on the hostile forms."""
from __future__ import annotations

import pytest

from tests.factories.credentials import credential
from tests.factories.providers import provider
from tests.factories.snapshots import Kit

HOSTILE = [
    # (base_url, reported: not https and not certainly loopback)
    ("http://localhost:8080/v1", False),
    ("HTTP://LOCALHOST./x", False),            # mixed case, trailing dot
    ("http://local%68ost/", False),            # percent-encoded host
    ("http://[::1]:9/", False),                # IPv6 literal with port
    ("http://[0000:0:0:0:0:0:0:0001]/", False),
    ("http://user:pw@127.0.0.1:80/", False),   # userinfo before a loopback host
    ("http:\\\\localhost", False),              # backslashes are slashes for http
    ("http://localhost@evil.com", True),       # userinfo that looks like loopback
    ("http://localhost:80@evil.com/", True),
    ("http://evil.com\\@localhost/", True),     # a backslash ends the authority
    ("http://127.0.0.1.evil.com/", True),
    ("http://127.0.0.256/", True),
    ("http://127.1/", True),                   # not certain: reported
    ("http://0177.0.0.1/", True),
    ("http://[::ffff:127.0.0.1]/", True),
    ("localhost:8080", True),                  # no http(s) scheme
    (" https://api.example.com ", False),
    ("HTTPS://api.example.com", False),
    ("ftp://api.example.com", True),
]


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    return Kit(tmp_path_factory.mktemp("urls"))


def test_cred004_hostile_urls(kit):
    creds = [credential(f"c{i}", base_url=u) for i, (u, _) in enumerate(HOSTILE)]
    got = {r["resource_name"] for r in kit.rows("GW-CRED-004", {"credentials": creds})}
    assert got == {f"c{i}" for i, (_, bad) in enumerate(HOSTILE) if bad}


def test_prov004_hostile_urls_and_userinfo_masked(kit):
    provs = [provider(f"p{i}", base_url=u) for i, (u, _) in enumerate(HOSTILE)]
    rows = {r["resource_name"]: r for r in kit.rows("GW-PROV-004", {"providers": provs})}
    assert set(rows) == {f"p{i}" for i, (_, bad) in enumerate(HOSTILE) if bad}
    assert rows["p7"]["base_url"] == "http://***@evil.com"
    assert "pw" not in str(rows)
