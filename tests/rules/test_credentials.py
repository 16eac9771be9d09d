"""GW-CRED-001..004: shared upstream credentials. Snapshot time: 2026-11-27T06:00:00Z."""

from __future__ import annotations

import pytest

from tests.factories.credentials import credential
from tests.factories.ids import DROP
from tests.factories.providers import provider
from tests.factories.snapshots import Kit


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    return Kit(tmp_path_factory.mktemp("credentials"))


def _used(cred, **kw):
    """The credential plus a provider that uses it."""
    return {"credentials": [cred], "providers": [provider("user of " + cred["name"], connection_id=cred["id"], **kw)]}


def test_default_credential_in_use_is_clean_for_every_credential_rule(kit):
    data = _used(credential("OpenAI Production"))
    for rule_id in ("GW-CRED-001", "GW-CRED-002", "GW-CRED-003", "GW-CRED-004"):
        assert kit.rows(rule_id, data) == [], rule_id


# ---------------------------------------------------------------- GW-CRED-001 unrotated secret

def test_cred_001_fires_on_secret_unchanged_past_limit(kit):
    c = credential("OpenAI Production", updated_at="2026-06-18T09:12:40Z", last_modified_at="2026-06-18T09:12:40Z")
    (row,) = kit.rows("GW-CRED-001", {"credentials": [c]})
    assert row["resource_id"] == c["id"]
    assert row["age_days"] == 161
    assert "'OpenAI Production'" in row["message"]
    assert "last changed 2026-06-18, 161 days before the snapshot (limit 90 days)" in row["message"]


def test_cred_001_uses_the_later_of_updated_and_last_modified(kit):
    rotated = credential("rotated", updated_at="2026-01-01T00:00:00Z", last_modified_at="2026-11-01T00:00:00Z")
    touched = credential("touched", updated_at="2026-11-01T00:00:00Z", last_modified_at=None)
    stale = credential("stale", updated_at="2026-01-01T00:00:00Z", last_modified_at=DROP)
    assert kit.ids("GW-CRED-001", {"credentials": [rotated, touched, stale]}) == [stale["id"]]


def test_cred_001_falls_back_to_created_at(kit):
    c = credential("old", created_at="2026-01-01T00:00:00Z", updated_at=DROP, last_modified_at=DROP)
    (row,) = kit.rows("GW-CRED-001", {"credentials": [c]})
    assert row["resource_id"] == c["id"]
    assert "last changed 2026-01-01" in row["message"]


def test_cred_001_ignores_role_auth_without_key_material(kit):
    role = credential("Bedrock role", model_provider="bedrock", auth_type="aws_role", stores_key_material=False,
                      updated_at="2026-01-01T00:00:00Z", last_modified_at=None)
    assert kit.rows("GW-CRED-001", {"credentials": [role]}) == []


def test_cred_001_derives_key_material_from_auth_type_when_field_missing(kit):
    old = {"updated_at": "2026-01-01T00:00:00Z", "last_modified_at": None, "stores_key_material": DROP}
    adc = credential("vertex adc", model_provider="vertex", auth_type="google_adc", **old)
    keyed = credential("anthropic key", model_provider="anthropic", auth_type="x_api_key", **old)
    assert kit.ids("GW-CRED-001", {"credentials": [adc, keyed]}) == [keyed["id"]]


def test_cred_001_boundary_and_param(kit):
    at_limit = credential("at limit", updated_at="2026-08-29T06:00:00Z", last_modified_at=None)  # 90 days
    past = credential("past", updated_at="2026-08-29T05:00:00Z", last_modified_at=None)
    data = {"credentials": [at_limit, past]}
    assert kit.ids("GW-CRED-001", data) == [past["id"]]
    assert kit.ids("GW-CRED-001", data, params={"max_credential_age_days": 180}) == []


# ---------------------------------------------------------------- GW-CRED-002 unused

def test_cred_002_fires_on_credential_no_provider_uses(kit):
    used, orphan = credential("in use"), credential("left over", created_at="2026-04-20T08:30:00Z")
    data = {"credentials": [used, orphan], "providers": [provider("p", connection_id=used["id"])]}
    (row,) = kit.rows("GW-CRED-002", data)
    assert row["resource_id"] == orphan["id"]
    assert "'left over'" in row["message"] and "used by no provider" in row["message"]
    assert "created 2026-04-20" in row["message"]


def test_cred_002_a_disabled_provider_still_counts_as_a_user(kit):
    assert kit.rows("GW-CRED-002", _used(credential("c"), enabled=False)) == []


def test_cred_002_matches_ids_case_insensitively(kit):
    c = credential("c")
    data = {"credentials": [c], "providers": [provider("p", connection_id=c["id"].upper())]}
    assert kit.rows("GW-CRED-002", data) == []


# ---------------------------------------------------------------- GW-CRED-003 static cloud keys

def test_cred_003_fires_on_static_aws_keys_for_bedrock(kit):
    c = credential("Bedrock keys", model_provider="bedrock", auth_type="aws_keys",
                   base_url="https://bedrock-runtime.us-east-1.amazonaws.com")
    (row,) = kit.rows("GW-CRED-003", _used(c))
    assert row["resource_id"] == c["id"]
    assert row["family"] == "credentials"
    assert row["safer_auth_type"] == "aws_role"
    assert "static AWS access keys (auth_type aws_keys); use auth_type aws_role instead" in row["message"]


def test_cred_003_fires_on_service_account_key_for_vertex(kit):
    c = credential("Vertex SA", model_provider="vertex", auth_type="google_service_account")
    (row,) = kit.rows("GW-CRED-003", _used(c))
    assert row["resource_id"] == c["id"]
    assert "use auth_type google_adc or google_impersonation instead" in row["message"]


def test_cred_003_silent_for_role_and_ambient_auth(kit):
    creds = [credential(f"{mp} {auth}", model_provider=mp, auth_type=auth)
             for mp, auth in [("bedrock", "aws_role"), ("vertex", "google_adc"), ("vertex", "google_impersonation"),
                              ("bedrock", "api_key"), ("custom", "bearer_api_key")]]
    data = {"credentials": creds, "providers": [provider(f"p{i}", connection_id=c["id"]) for i, c in enumerate(creds)]}
    assert [r["resource_name"] for r in kit.rows("GW-CRED-003", data)] == []


def test_cred_003_every_long_lived_cloud_credential_kind(kit):
    """Class 8: every kind the reference lists, whatever model_provider says."""
    creds = [credential(f"{mp} {auth}", model_provider=mp, auth_type=auth)
             for mp, auth in [("bedrock", "bedrock_api_key"), ("custom", "aws_keys"), ("aws_bedrock", " AWS_KEYS "),
                              ("vertex", "google_service_account"), (None, "google_service_account")]]
    data = {"credentials": creds, "providers": [provider(f"p{i}", connection_id=c["id"]) for i, c in enumerate(creds)]}
    rows = {r["resource_name"]: r for r in kit.rows("GW-CRED-003", data)}
    assert set(rows) == {c["name"] for c in creds}
    assert rows["bedrock bedrock_api_key"]["safer_auth_type"] == "aws_role"
    assert rows["None google_service_account"]["safer_auth_type"] == "google_adc or google_impersonation"


def test_cred_003_covers_inline_provider_secrets_but_not_credential_backed_providers(kit):
    c = credential("Bedrock role", model_provider="bedrock", auth_type="aws_role")
    inline = provider("Bedrock inline", model_provider="bedrock", auth_type="aws_keys", connection_id=None)
    backed = provider("Bedrock backed", model_provider="bedrock", auth_type="aws_keys", connection_id=c["id"])
    (row,) = kit.rows("GW-CRED-003", {"credentials": [c], "providers": [inline, backed]})
    assert (row["resource_id"], row["family"]) == (inline["id"], "providers")
    assert row["message"].startswith("provider 'Bedrock inline'")


# ---------------------------------------------------------------- GW-CRED-004 no TLS

def test_cred_004_fires_on_plain_http(kit):
    c = credential("internal proxy", base_url="http://llm-proxy.corp.example:8080/v1")
    (row,) = kit.rows("GW-CRED-004", _used(c))
    assert row["resource_id"] == c["id"]
    assert row["host"] == "llm-proxy.corp.example"
    assert "base_url 'http://llm-proxy.corp.example:8080/v1' over http, not https" in row["message"]


def _with_urls(urls):
    creds = [credential(f"c{i}", base_url=url) for i, url in enumerate(urls)]
    return creds, {"credentials": creds,
                   "providers": [provider(f"p{i}", connection_id=c["id"]) for i, c in enumerate(creds)]}


def test_cred_004_allows_https_loopback_and_default(kit):
    _, data = _with_urls(["http://localhost:11434/v1", "http://127.0.0.1:8000", "http://127.10.0.3/v1",
                          "http://[::1]:8080/v1", "HTTP://LOCALHOST/v1", "https://api.openai.com/v1",
                          "HTTPS://API.OPENAI.COM", "http://svc:secret@localhost:8080/v1", None, ""])
    assert [r["base_url"] for r in kit.rows("GW-CRED-004", data)] == []


def test_cred_004_flags_lookalike_and_non_loopback_hosts(kit):
    creds, data = _with_urls(["http://127.0.0.1.nip.io/v1", "http://localhost@evil.example/v1",
                              "http://localhost:80@evil.example/v1", "http://localhost.evil.example",
                              "ftp://files.example", "api.openai.com/v1", "http://10.0.0.5:8000"])
    assert kit.ids("GW-CRED-004", data) == sorted(c["id"] for c in creds)


def test_cred_004_masks_user_information_in_the_url(kit):
    (row,) = kit.rows("GW-CRED-004", _used(credential("c", base_url="http://svc:hunter2@proxy.example/v1")))
    assert "hunter2" not in repr(row)
    assert "base_url 'http://***@proxy.example/v1'" in row["message"] and row["base_url"] == "http://***@proxy.example/v1"


def test_cred_004_message_for_missing_scheme(kit):
    (row,) = kit.rows("GW-CRED-004", _used(credential("c", base_url="api.openai.com/v1")))
    assert "which has no https:// scheme" in row["message"]
