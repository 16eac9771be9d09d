"""GW-PROV-001..006: upstream provider instances. Snapshot time: 2026-11-27T06:00:00Z."""

from __future__ import annotations

import pytest

from tests.factories.credentials import credential
from tests.factories.ids import DROP
from tests.factories.providers import provider
from tests.factories.routes import route
from tests.factories.snapshots import Kit


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    return Kit(tmp_path_factory.mktemp("providers"))


def test_default_provider_is_clean_for_every_provider_rule(kit):
    c = credential("OpenAI Production")
    data = {"credentials": [c], "providers": [provider("OpenAI", connection_id=c["id"])]}
    for rule_id in ("GW-PROV-001", "GW-PROV-002", "GW-PROV-003", "GW-PROV-004", "GW-PROV-005", "GW-PROV-006"):
        assert kit.rows(rule_id, data) == [], rule_id


# ---------------------------------------------------------------- GW-PROV-001 missing credential

def test_prov_001_fires_on_dangling_connection_id(kit):
    gone = credential("deleted")["id"]
    p = provider("OpenAI", connection_id=gone)
    (row,) = kit.rows("GW-PROV-001", {"credentials": [credential("another")], "providers": [p]})
    assert row["resource_id"] == p["id"]
    assert f"uses credential {gone} (connection_id), which does not exist" in row["message"]


def test_prov_001_silent_for_existing_credential_and_inline_secret(kit):
    c = credential("present")
    data = {"credentials": [c], "providers": [provider("backed", connection_id=c["id"]),
                                              provider("inline", connection_id=None)]}
    assert kit.rows("GW-PROV-001", data) == []


# ---------------------------------------------------------------- GW-PROV-002 health gate off

def test_prov_002_fires_on_enabled_provider_without_health_gate(kit):
    p = provider("Anthropic Direct", model_provider="anthropic", enforce_health_check=False, health_status="unhealthy")
    (row,) = kit.rows("GW-PROV-002", {"providers": [p]})
    assert row["resource_id"] == p["id"]
    assert "'Anthropic Direct'" in row["message"] and "enforce_health_check = false" in row["message"]
    assert "health_status unhealthy" in row["message"]


def test_prov_002_silent_when_gate_enforced_missing_or_provider_disabled(kit):
    data = {"providers": [provider("enforced", enforce_health_check=True),
                          provider("default", enforce_health_check=DROP),
                          provider("disabled", enforce_health_check=False, enabled=False)]}
    assert kit.rows("GW-PROV-002", data) == []


# ---------------------------------------------------------------- GW-PROV-003 unhealthy

def test_prov_003_fires_on_enabled_unhealthy_provider(kit):
    p = provider("OpenAI", health_status="unhealthy", health_detail="upstream answered 401 to the connectivity probe",
                 health_checked_at="2026-11-27T05:54:47Z")
    (row,) = kit.rows("GW-PROV-003", {"providers": [p]})
    assert row["resource_id"] == p["id"]
    assert "last probe 2026-11-27 05:54 UTC: upstream answered 401" in row["message"]
    assert "the gateway does not route to it" in row["message"]


def test_prov_003_says_when_traffic_still_flows(kit):
    p = provider("OpenAI", health_status="unhealthy", enforce_health_check=False, health_detail=None)
    (row,) = kit.rows("GW-PROV-003", {"providers": [p]})
    assert "no detail given" in row["message"]
    assert "still receives traffic because enforce_health_check is false" in row["message"]


def test_prov_003_silent_for_healthy_unverified_or_disabled(kit):
    provs = [provider("healthy", health_status="healthy"), provider("unverified", health_status="unverified"),
             provider("unprobed", health_status=DROP), provider("off", health_status="unhealthy", enabled=False)]
    assert [r["resource_name"] for r in kit.rows("GW-PROV-003", {"providers": provs})] == []


# ---------------------------------------------------------------- GW-PROV-004 no TLS

def test_prov_004_fires_on_plain_http_even_when_disabled(kit):
    on = provider("vLLM cluster", model_provider="custom", base_url="http://vllm.internal:8000/v1")
    off = provider("old proxy", base_url="http://proxy.example/v1", enabled=False)
    rows = kit.rows("GW-PROV-004", {"providers": [on, off]})
    assert sorted(r["resource_id"] for r in rows) == sorted([on["id"], off["id"]])
    by_id = {r["resource_id"]: r for r in rows}
    assert "base_url 'http://vllm.internal:8000/v1' over http, not https" in by_id[on["id"]]["message"]
    assert "(openai, disabled)" in by_id[off["id"]]["message"]


def test_prov_004_allows_https_and_loopback(kit):
    provs = [provider(f"p{i}", base_url=url) for i, url in enumerate(
        ["http://localhost:11434", "http://127.0.0.1:8000/v1", "http://[::1]/v1", "https://api.anthropic.com", None])]
    assert [r["base_url"] for r in kit.rows("GW-PROV-004", {"providers": provs})] == []


def test_prov_004_masks_user_information_in_the_url(kit):
    p = provider("p", base_url="http://admin:s3cret@gpu-box.lan:8000/v1")
    (row,) = kit.rows("GW-PROV-004", {"providers": [p]})
    assert "s3cret" not in repr(row) and "'http://***@gpu-box.lan:8000/v1'" in row["message"]


def test_prov_004_flags_loopback_lookalikes(kit):
    p = provider("p", base_url="http://127.0.0.1.evil.example:8000")
    assert kit.ids("GW-PROV-004", {"providers": [p]}) == [p["id"]]


# ---------------------------------------------------------------- GW-PROV-005 unmetered without reason

def test_prov_005_fires_on_not_metered_without_reason(kit):
    p = provider("Bedrock", billing_mode="not_metered", billing_reason=None, billing_note="covered by EDP")
    (row,) = kit.rows("GW-PROV-005", {"providers": [p]})
    assert row["resource_id"] == p["id"]
    assert "'Bedrock'" in row["message"] and "no billing_reason" in row["message"]
    assert "billing_note: covered by EDP" in row["message"]


def test_prov_005_silent_with_reason_or_metered(kit):
    provs = [provider("reasoned", billing_mode="not_metered", billing_reason="subscription"),
             provider("metered", billing_mode="per_token"), provider("default", billing_mode=DROP)]
    assert [r["resource_name"] for r in kit.rows("GW-PROV-005", {"providers": provs})] == []


def test_prov_005_empty_reason_counts_as_missing(kit):
    p = provider("p", billing_mode="not_metered", billing_reason="")
    assert kit.ids("GW-PROV-005", {"providers": [p]}) == [p["id"]]


# ---------------------------------------------------------------- GW-PROV-006 full catalog sync

def test_prov_006_reports_full_sync_with_auto_disabled_route_count(kit):
    p = provider("Bedrock", model_provider="bedrock", model_sync_mode="full")
    retired = route(p, "anthropic.claude-v2", enabled=False, auto_disabled_reason="catalog_retired")
    live = route(p, "anthropic.claude-3-5-haiku")
    other = provider("OpenAI", model_sync_mode="additive")
    (row,) = kit.rows("GW-PROV-006", {"providers": [p, other], "model_routes": [retired, live]})
    assert row["resource_id"] == p["id"]
    assert row["auto_disabled_routes"] == 1
    assert "full sync mode" in row["message"] and "(1 route(s) disabled so far)" in row["message"]


def test_prov_006_silent_for_other_modes(kit):
    provs = [provider("off", model_sync_mode="off"), provider("additive", model_sync_mode="additive"),
             provider("unknown", model_sync_mode=DROP)]
    assert kit.rows("GW-PROV-006", {"providers": provs}) == []
