"""GW-PRICE-001..005: model pricing coverage and changes. Snapshot time: 2026-11-27T06:00:00Z."""

from __future__ import annotations

import pytest

from tests.factories.ids import DROP
from tests.factories.pricing import default_price, history, price, version
from tests.factories.providers import provider
from tests.factories.routes import route
from tests.factories.snapshots import Kit


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    return Kit(tmp_path_factory.mktemp("pricing"))


A = provider("OpenAI US")  # catalog_slug openai, model_provider openai, per_token
B = provider("OpenAI EU")
GPT4O = route(A, "gpt-4o")


def _priced(*rules, defaults=(), routes=(GPT4O,), providers=(A, B)):
    return {"providers": list(providers), "model_routes": list(routes), "model_pricing": list(rules),
            "model_pricing_defaults": list(defaults)}


# ---------------------------------------------------------------- GW-PRICE-001 unpriced route

def test_price_001_fires_on_route_without_any_price(kit):
    (row,) = kit.rows("GW-PRICE-001", _priced(price("gpt-4o-mini")))
    assert row["resource_id"] == GPT4O["id"]
    assert row["resource_name"] == "gpt-4o/gpt-4o"
    assert "on metered provider 'OpenAI US' has no price" in row["message"]
    assert "no live pricing rule or Barndoor default matches 'gpt-4o'" in row["message"]
    assert row["price_found"] is False


@pytest.mark.parametrize("rule", [
    price("gpt-4o"),                                                   # org rule, same model_provider
    price("gpt-4o", model_provider=None),                              # org rule, any provider
    price("gpt-4o*"),                                                  # trailing wildcard
    price("*", model_provider=None),                                   # match-all
    price("gpt-4o", catalog_slug="openai"),                            # catalog rule
    price("gpt-4o", provider_id=A["id"], model_provider="openai"),     # instance rule
])
def test_price_001_silent_when_a_live_rule_matches(kit, rule):
    assert kit.rows("GW-PRICE-001", _priced(rule)) == []


def test_price_001_fires_when_rules_do_not_apply(kit):
    not_applying = [
        price("gpt-4o", provider_id=B["id"]),                          # another instance
        price("gpt-4o", catalog_slug="azure_openai"),                  # another catalog
        price("gpt-4o", model_provider="anthropic"),                   # org rule for another vendor
        price("gpt-4o-mini"),                                          # exact pattern, other model
        price("gpt-5*"),                                               # wildcard, other prefix
        price("gpt-4o", is_archived=True),                             # archived
        price("gpt-4o", effective_from="2027-01-01T00:00:00Z"),        # not in force yet
    ]
    assert kit.ids("GW-PRICE-001", _priced(*not_applying)) == [GPT4O["id"]]


def test_price_001_barndoor_defaults_count(kit):
    by_catalog = default_price("gpt-4o", provider_slug="openai")
    assert kit.rows("GW-PRICE-001", _priced(defaults=[by_catalog])) == []
    bedrock = provider("Bedrock", model_provider="bedrock", catalog_slug="aws_bedrock")
    haiku = route(bedrock, "anthropic.claude-3-5-haiku-20241022-v1:0")
    by_model_provider = default_price("anthropic.claude-3-5-haiku*", provider_slug="bedrock")
    data = _priced(defaults=[by_model_provider], routes=[haiku], providers=[bedrock])
    assert kit.rows("GW-PRICE-001", data) == []
    other_vendor = default_price("gpt-4o", provider_slug="azure_openai")
    assert kit.ids("GW-PRICE-001", _priced(defaults=[other_vendor])) == [GPT4O["id"]]


def test_price_001_trusts_the_gateway_when_it_says_unpriced(kit):
    unpriced = route(A, "gpt-4o", pricing_source="none")
    (row,) = kit.rows("GW-PRICE-001", _priced(price("gpt-4o"), routes=[unpriced]))
    assert row["resource_id"] == unpriced["id"]
    assert "unpriced according to the gateway (effective_pricing.source none) although a pricing rule matches" \
        in row["message"]


def test_price_001_only_enabled_routes_on_metered_providers(kit):
    free = provider("Local vLLM", model_provider="custom", billing_mode="not_metered", billing_reason="local")
    legacy = provider("Legacy", billing_mode=DROP)  # no billing_mode: per_token
    routes = [route(A, "gpt-4o", enabled=False), route(free, "llama-3"), route(legacy, "gpt-4o")]
    assert kit.ids("GW-PRICE-001", _priced(routes=routes, providers=[A, free, legacy])) == [routes[2]["id"]]


# ---------------------------------------------------------------- GW-PRICE-002 zero prices

def test_price_002_fires_on_zero_rule_covering_metered_provider(kit):
    zero = price("gpt-4o*", 0, 0)
    (row,) = kit.rows("GW-PRICE-002", _priced(zero))
    assert row["resource_id"] == zero["id"]
    assert row["resource_key"] == "gpt-4o*|openai|"
    assert row["resource_name"] == "gpt-4o* (openai)"
    assert "prices input and output at 0 per million tokens since 2026-05-01" in row["message"]
    assert "metered provider(s) 'OpenAI EU', 'OpenAI US'" in row["message"]


def test_price_002_silent_for_nonzero_or_half_zero_prices(kit):
    assert kit.rows("GW-PRICE-002", _priced(price("gpt-4o", 2.5, 10), price("text-embedding*", 0.02, 0))) == []


def test_price_002_silent_when_only_unmetered_providers_are_covered(kit):
    free = provider("Local vLLM", model_provider="custom", catalog_slug=None, billing_mode="not_metered",
                    billing_reason="local")
    instance_zero = price("llama*", 0, 0, provider_id=free["id"], model_provider="custom")
    vendor_zero = price("llama*", 0, 0, model_provider="custom")
    assert kit.rows("GW-PRICE-002", _priced(instance_zero, vendor_zero, providers=[A, free])) == []


def test_price_002_instance_rule_on_metered_provider(kit):
    zero = price("gpt-4o", 0, 0, provider_id=B["id"], provider_name=B["name"])
    (row,) = kit.rows("GW-PRICE-002", _priced(zero))
    assert row["resource_key"] == f"gpt-4o|openai|{B['id']}"
    assert "(provider OpenAI EU)" in row["message"] and "metered provider(s) 'OpenAI EU'" in row["message"]


# ---------------------------------------------------------------- GW-PRICE-003 auto sync

def test_price_003_fires_on_auto_sync(kit):
    auto = price("claude-sonnet-4*", 3.0, 15.0, model_provider="anthropic", catalog_slug="anthropic",
                 sync_mode="auto")
    (row,) = kit.rows("GW-PRICE-003", {"model_pricing": [auto, price("gpt-4o", sync_mode="tracking"),
                                                         price("o3", sync_mode="pinned")]})
    assert row["resource_id"] == auto["id"]
    assert row["resource_key"] == "claude-sonnet-4*|anthropic|"
    assert "'claude-sonnet-4*' (catalog anthropic) is in auto sync mode" in row["message"]
    assert "now input 3.0, output 15.0 per million tokens" in row["message"]


# ---------------------------------------------------------------- GW-PRICE-004 scheduled change

def _scheduled(rule_kw=None, future=(("2027-01-01T00:00:00Z", 0.12, 0.5),)):
    rule = price("gpt-4o-mini", 0.15, 0.6, catalog_slug="openai", scheduled_count=len(future),
                 version_count=1 + len(future), next_scheduled_effective_from=future[0][0] if future else None,
                 **(rule_kw or {}))
    versions = [version(rule, "2026-01-15T00:00:00Z", 0.165, 0.66), rule] + [version(rule, *f) for f in future]
    return rule, versions


def test_price_004_reports_pending_version_with_date_and_prices(kit):
    rule, versions = _scheduled()
    data = {"model_pricing": [rule], "model_pricing_history": history((rule, versions))}
    (row,) = kit.rows("GW-PRICE-004", data)
    assert row["resource_id"] == rule["id"]
    assert row["resource_key"] == "gpt-4o-mini|openai|"
    assert row["scheduled_version_id"] == versions[-1]["id"]
    assert "'gpt-4o-mini' (catalog openai) changes on 2027-01-01: input 0.15 -> 0.12, output 0.6 -> 0.5" \
        in row["message"]


def test_price_004_silent_without_future_versions(kit):
    rule, versions = _scheduled(future=())
    data = {"model_pricing": [rule], "model_pricing_history": history((rule, versions))}
    assert kit.rows("GW-PRICE-004", data) == []


def test_price_004_earliest_of_several_pending_versions(kit):
    rule, versions = _scheduled(future=(("2027-03-01T00:00:00Z", 0.1, 0.4), ("2027-01-01T00:00:00Z", 0.12, 0.5)))
    data = {"model_pricing": [rule], "model_pricing_history": history((rule, versions))}
    (row,) = kit.rows("GW-PRICE-004", data)
    assert "changes on 2027-01-01" in row["message"] and "(2 scheduled versions in all)" in row["message"]


def test_price_004_counters_without_history_still_report(kit):
    rule, versions = _scheduled()
    data = {"model_pricing": [rule], "model_pricing_history": history((rule, versions[:2]))}
    (row,) = kit.rows("GW-PRICE-004", data)
    assert "has 1 scheduled change(s), the next on 2027-01-01; the new prices are not in the collected history" \
        in row["message"]


def test_price_004_history_without_counters_still_reports(kit):
    rule, versions = _scheduled(rule_kw={})
    for field in ("scheduled_count", "version_count", "next_scheduled_effective_from"):
        rule.pop(field)
    data = {"model_pricing": [rule], "model_pricing_history": history((rule, versions))}
    assert kit.ids("GW-PRICE-004", data) == [rule["id"]]


def test_price_004_other_rules_history_does_not_leak(kit):
    rule, versions = _scheduled(future=())
    azure = price("gpt-4o-mini", model_provider="azure_openai")
    azure_versions = [azure, version(azure, "2027-02-01T00:00:00Z", 0.2, 0.8)]
    data = {"model_pricing": [rule, azure],
            "model_pricing_history": history((rule, versions), (azure, azure_versions))}
    assert kit.ids("GW-PRICE-004", data) == [azure["id"]]


# ---------------------------------------------------------------- GW-PRICE-005 large steps

def _stepped(steps, **kw):
    """A rule whose history holds ``steps`` = [(effective_from, input, output), ...]; the list row is
    the latest step not after the snapshot."""
    first = price("gpt-4o", steps[0][1], steps[0][2], effective_from=steps[0][0], **kw)
    versions = [first] + [version(first, *s) for s in steps[1:]]
    current = max((v for v in versions if v["effective_from"] <= "2026-11-27T06:00:00Z"),
                  key=lambda v: v["effective_from"])
    rule = dict(current, scheduled_count=0, version_count=len(versions), next_scheduled_effective_from=None)
    return {"model_pricing": [rule], "model_pricing_history": history((rule, versions))}, rule


def test_price_005_fires_on_large_step(kit):
    data, rule = _stepped([("2026-01-01T00:00:00Z", 2.5, 10.0), ("2026-06-01T00:00:00Z", 7.5, 10.0)])
    (row,) = kit.rows("GW-PRICE-005", data)
    assert row["resource_id"] == rule["id"]
    assert row["resource_key"] == "gpt-4o|openai|"
    assert row["input_change_pct"] == 200.0 and row["big_steps"] == 1
    assert "1 price step(s) above 50%; the largest, effective 2026-06-01: input 2.5 -> 7.5 (+200.0%), " \
           "output 10.0 -> 10.0 (+0.0%)" in row["message"]


def test_price_005_boundary_and_param(kit):
    data, _ = _stepped([("2026-01-01T00:00:00Z", 2.0, 10.0), ("2026-06-01T00:00:00Z", 3.0, 10.0)])  # +50% exactly
    assert kit.rows("GW-PRICE-005", data) == []
    assert len(kit.rows("GW-PRICE-005", data, params={"max_price_change_pct": 49})) == 1


def test_price_005_decreases_count_and_zero_previous_is_not_measured(kit):
    drop, _ = _stepped([("2026-01-01T00:00:00Z", 10.0, 30.0), ("2026-06-01T00:00:00Z", 10.0, 12.0)])
    (row,) = kit.rows("GW-PRICE-005", drop)
    assert "output 30.0 -> 12.0 (-60.0%)" in row["message"]
    from_zero, _ = _stepped([("2026-01-01T00:00:00Z", 0.0, 0.0), ("2026-06-01T00:00:00Z", 5.0, 15.0)])
    assert kit.rows("GW-PRICE-005", from_zero) == []


def test_price_005_reports_largest_of_several_steps_and_scheduled_ones(kit):
    data, rule = _stepped([("2026-01-01T00:00:00Z", 1.0, 4.0), ("2026-03-01T00:00:00Z", 2.0, 4.0),
                           ("2026-06-01T00:00:00Z", 2.0, 4.0), ("2027-01-01T00:00:00Z", 8.0, 4.0)])
    (row,) = kit.rows("GW-PRICE-005", data)
    assert row["resource_id"] == rule["id"] and row["big_steps"] == 2
    assert "effective 2027-01-01 (scheduled): input 2.0 -> 8.0 (+300.0%)" in row["message"]


def test_price_005_ignores_archive_tombstones(kit):
    first = price("gpt-4o", 2.5, 10.0, effective_from="2026-01-01T00:00:00Z")
    tomb = version(first, "2026-03-01T00:00:00Z", 250.0, 1000.0, is_archived=True, change_source="admin_archive")
    restored = version(first, "2026-04-01T00:00:00Z", 2.5, 10.0, change_source="admin_restore")
    rule = dict(restored, scheduled_count=0, version_count=3)
    data = {"model_pricing": [rule], "model_pricing_history": history((rule, [first, tomb, restored]))}
    assert kit.rows("GW-PRICE-005", data) == []
