"""GW-KEY-001..007: gateway API key lifecycle. Snapshot time: 2026-11-27T06:00:00Z."""

from __future__ import annotations

import pytest

from gwaudit.db import Database
from gwaudit.testing import store_snapshot
from tests.factories.budgets import budget
from tests.factories.ids import DROP, NOW
from tests.factories.keys import api_key, user_api_key
from tests.factories.rate_limits import rate_limit
from tests.factories.snapshots import Kit, run_pair


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    return Kit(tmp_path_factory.mktemp("keys"))


def test_default_key_is_clean_for_every_key_rule(kit):
    data = {"api_keys": [api_key("ci runner")]}
    for rule_id in ("GW-KEY-001", "GW-KEY-002", "GW-KEY-003", "GW-KEY-004", "GW-KEY-005", "GW-KEY-006",
                    "GW-KEY-007"):
        assert kit.rows(rule_id, data) == [], rule_id


# ---------------------------------------------------------------- GW-KEY-001 never expires

def test_key_001_fires_on_active_key_without_expiry(kit):
    k = api_key("alice laptop", expires_at=None, created_at="2026-03-12T08:00:00Z")
    (row,) = kit.rows("GW-KEY-001", {"api_keys": [k]})
    assert row["resource_id"] == k["id"]
    assert row["resource_name"] == "alice laptop"
    assert row["family"] == "api_keys"
    assert "'alice laptop'" in row["message"] and "never expires" in row["message"]
    assert "created 2026-03-12, 259 days before the snapshot" in row["message"]


def test_key_001_silent_when_key_expires(kit):
    assert kit.rows("GW-KEY-001", {"api_keys": [api_key("alice laptop", expires_at="2027-03-01T00:00:00Z")]}) == []


def test_key_001_ignores_revoked_keys(kit):
    assert kit.rows("GW-KEY-001", {"api_keys": [api_key("old", expires_at=None, revoked_at="2026-11-01T00:00:00Z")]}) == []


def test_key_001_reports_a_disabled_key_that_never_expires(kit):
    """Class 8: one PATCH re-enables a disabled key, with no expiry."""
    rows = kit.rows("GW-KEY-001", {"api_keys": [api_key("old", expires_at=None, disabled_at="2026-11-01T00:00:00Z"),
                                                api_key("gone", expires_at=None, disabled_at="2026-11-01T00:00:00Z",
                                                        revoked_at="2026-11-02T00:00:00Z")]})
    assert [r["resource_name"] for r in rows] == ["old"]
    assert rows[0]["state"] == "disabled" and "re-enabling it restores it" in rows[0]["message"]


def test_key_001_revocation_after_the_snapshot_is_not_yet_revocation(kit):
    rows = kit.rows("GW-KEY-001", {"api_keys": [api_key("later", expires_at=None, revoked_at="2099-01-01T00:00:00Z")]})
    assert [r["state"] for r in rows] == ["active"]


def test_key_001_reads_personal_keys_once(kit):
    shared = api_key("shared", expires_at=None)
    personal = user_api_key("bob personal", expires_at=None)
    mine_expiring = user_api_key("bob expiring")
    rows = kit.rows("GW-KEY-001", {"api_keys": [shared],
                                   "user_api_keys": [user_api_key("shared", expires_at=None), personal, mine_expiring]})
    assert sorted((r["resource_id"], r["family"]) for r in rows) == sorted(
        [(shared["id"], "api_keys"), (personal["id"], "user_api_keys")])


# ---------------------------------------------------------------- GW-KEY-002 unrotated

def test_key_002_fires_on_key_older_than_limit(kit):
    k = api_key("ci runner", created_at="2026-08-01T06:00:00Z")
    (row,) = kit.rows("GW-KEY-002", {"api_keys": [k]})
    assert row["resource_id"] == k["id"]
    assert row["age_days"] == 118
    assert "created 2026-08-01, 118 days before the snapshot" in row["message"]
    assert "limit 90 days" in row["message"]


def test_key_002_boundary_is_strictly_older(kit):
    at_limit = api_key("at limit", created_at="2026-08-29T06:00:00Z")  # exactly 90 days
    past_limit = api_key("past limit", created_at="2026-08-29T05:59:59Z")
    assert kit.ids("GW-KEY-002", {"api_keys": [at_limit, past_limit]}) == [past_limit["id"]]


def test_key_002_param_override(kit):
    data = {"api_keys": [api_key("ci runner", created_at="2026-08-01T06:00:00Z")]}
    assert kit.rows("GW-KEY-002", data, params={"max_key_age_days": 120}) == []
    assert len(kit.rows("GW-KEY-002", data, params={"max_key_age_days": 30})) == 1


@pytest.mark.parametrize("state", [{"revoked_at": "2026-11-01T00:00:00Z"}, {"disabled_at": "2026-11-01T00:00:00Z"},
                                   {"expires_at": "2026-11-27T06:00:00Z"}])
def test_key_002_ignores_inactive_keys(kit, state):
    assert kit.rows("GW-KEY-002", {"api_keys": [api_key("old", created_at="2025-01-01T00:00:00Z", **state)]}) == []


# ---------------------------------------------------------------- GW-KEY-003 unused

def test_key_003_fires_on_key_idle_longer_than_limit(kit):
    k = api_key("nightly job", last_used_at="2026-10-01T12:00:00Z")
    (row,) = kit.rows("GW-KEY-003", {"api_keys": [k]})
    assert row["resource_id"] == k["id"]
    assert "last used 2026-10-01, 56 days before the snapshot (limit 30 days)" in row["message"]


def test_key_003_never_used_counts_from_creation(kit):
    stale = api_key("never used", last_used_at=None, created_at="2026-09-01T00:00:00Z")
    fresh = api_key("brand new", last_used_at=None, created_at="2026-11-20T00:00:00Z")
    (row,) = kit.rows("GW-KEY-003", {"api_keys": [stale, fresh]})
    assert row["resource_id"] == stale["id"]
    assert "never been used since it was created 2026-09-01, 87 days" in row["message"]


def test_key_003_boundary_and_param(kit):
    at_limit = api_key("at limit", last_used_at="2026-10-28T06:00:00Z")  # exactly 30 days
    past = api_key("past", last_used_at="2026-10-28T05:00:00Z")
    data = {"api_keys": [at_limit, past]}
    assert kit.ids("GW-KEY-003", data) == [past["id"]]
    assert kit.ids("GW-KEY-003", data, params={"max_idle_days": 29}) == sorted([at_limit["id"], past["id"]])


def test_key_003_missing_last_used_field_counts_as_never_used(kit):
    k = api_key("docs shape", last_used_at=DROP, created_at="2026-01-01T00:00:00Z")
    assert kit.ids("GW-KEY-003", {"api_keys": [k]}) == [k["id"]]


def test_key_003_ignores_disabled_keys(kit):
    k = api_key("parked", last_used_at="2026-01-01T00:00:00Z", disabled_at="2026-02-01T00:00:00Z")
    assert kit.rows("GW-KEY-003", {"api_keys": [k]}) == []


# ---------------------------------------------------------------- GW-KEY-004 expired, not revoked

def test_key_004_fires_on_expired_unrevoked_key(kit):
    k = api_key("bob old key", expires_at="2026-10-01T00:00:00Z", created_at="2026-01-05T12:00:00Z")
    (row,) = kit.rows("GW-KEY-004", {"api_keys": [k]})
    assert row["resource_id"] == k["id"]
    assert "expired 2026-10-01, 57 days before the snapshot, and was never revoked" in row["message"]


def test_key_004_silent_once_revoked(kit):
    k = api_key("bob old key", expires_at="2026-10-01T00:00:00Z", revoked_at="2026-10-02T00:00:00Z")
    assert kit.rows("GW-KEY-004", {"api_keys": [k]}) == []


def test_key_004_expiry_at_snapshot_time_counts_as_expired(kit):
    at_now = api_key("at now", expires_at="2026-11-27T06:00:00Z")
    later = api_key("later", expires_at="2026-11-27T06:00:01Z")
    assert kit.ids("GW-KEY-004", {"api_keys": [at_now, later]}) == [at_now["id"]]


# ---------------------------------------------------------------- GW-KEY-005 lifetime

def test_key_005_fires_on_long_lifetime(kit):
    k = api_key("partner", created_at="2026-11-01T00:00:00Z", expires_at="2028-11-01T00:00:00Z")
    (row,) = kit.rows("GW-KEY-005", {"api_keys": [k]})
    assert row["resource_id"] == k["id"]
    assert row["lifetime_days"] == 731
    assert "valid for 731 days: created 2026-11-01, expires 2028-11-01 (limit 365 days)" in row["message"]


def test_key_005_boundary_and_param(kit):
    exactly = api_key("exactly", created_at="2026-11-01T00:00:00Z", expires_at="2027-11-01T00:00:00Z")  # 365 days
    longer = api_key("longer", created_at="2026-11-01T00:00:00Z", expires_at="2027-11-02T00:00:00Z")
    data = {"api_keys": [exactly, longer]}
    assert kit.ids("GW-KEY-005", data) == [longer["id"]]
    assert kit.ids("GW-KEY-005", data, params={"max_key_lifetime_days": 400}) == []


def test_key_005_counts_disabled_but_not_revoked_expired_or_unlimited_keys(kit):
    long = {"created_at": "2026-11-01T00:00:00Z", "expires_at": "2029-01-01T00:00:00Z"}
    disabled = api_key("disabled", disabled_at="2026-11-10T00:00:00Z", **long)
    revoked = api_key("revoked", revoked_at="2026-11-10T00:00:00Z", **long)
    expired = api_key("expired", created_at="2024-01-01T00:00:00Z", expires_at="2026-06-01T00:00:00Z")
    unlimited = api_key("unlimited", expires_at=None)
    assert kit.ids("GW-KEY-005", {"api_keys": [disabled, revoked, expired, unlimited]}) == [disabled["id"]]


# ---------------------------------------------------------------- GW-KEY-006 unbound and unlimited

def test_key_006_fires_on_unbound_key_without_limits(kit):
    k = api_key("service", group_name=None, user_id=None)
    other = api_key("other", group_name=None)
    data = {"api_keys": [k],
            "rate_limits": [rate_limit("org ceiling"),
                            rate_limit("someone else", scope_type="api_key", scope_id=other["id"])],
            "token_budgets": [budget("org budget")]}
    (row,) = kit.rows("GW-KEY-006", data)
    assert row["resource_id"] == k["id"]
    assert "'service'" in row["message"] and "bound to no user or group" in row["message"]
    assert "kind machine" in row["message"]


@pytest.mark.parametrize("binding", [{"group_name": "ci"}, {"group_name": None, "user_id": "a2fd6c5d-55c9-49ea-b77c-b7cfb80e1f9b"}])
def test_key_006_silent_for_bound_keys(kit, binding):
    assert kit.rows("GW-KEY-006", {"api_keys": [api_key("service", **binding)]}) == []


def test_key_006_empty_group_name_is_unbound(kit):
    k = api_key("service", group_name="")
    assert kit.ids("GW-KEY-006", {"api_keys": [k]}) == [k["id"]]


@pytest.mark.parametrize("user_id", ["", "   "])
def test_key_006_empty_user_id_is_no_user(kit, user_id):
    """An empty-string user id binds the key to nobody, exactly like an empty group name."""
    k = api_key("service", group_name=None, user_id=user_id)
    assert kit.ids("GW-KEY-006", {"api_keys": [k]}) == [k["id"]]


def test_key_006_silent_when_a_key_scoped_limit_or_budget_covers_it(kit):
    k = api_key("service", group_name=None)
    limited = {"api_keys": [k], "rate_limits": [rate_limit("svc rpm", scope_type="api_key", scope_id=k["id"])]}
    budgeted = {"api_keys": [k], "token_budgets": [budget("svc budget", scope_type="api_key", scope_id=k["id"])]}
    assert kit.rows("GW-KEY-006", limited) == []
    assert kit.rows("GW-KEY-006", budgeted) == []


def test_key_006_disabled_limits_do_not_cover(kit):
    k = api_key("service", group_name=None)
    data = {"api_keys": [k],
            "rate_limits": [rate_limit("svc rpm", scope_type="api_key", scope_id=k["id"], enabled=False)],
            "token_budgets": [budget("svc budget", scope_type="api_key", scope_id=k["id"], enabled=False)]}
    assert kit.ids("GW-KEY-006", data) == [k["id"]]


def test_key_006_ignores_revoked_keys(kit):
    k = api_key("service", group_name=None, revoked_at="2026-11-01T00:00:00Z")
    assert kit.rows("GW-KEY-006", {"api_keys": [k]}) == []


# ---------------------------------------------------------------- GW-KEY-007 disabled, not revoked

def test_key_007_fires_on_long_disabled_key(kit):
    k = api_key("alice notebook", disabled_at="2026-10-01T00:00:00Z")
    (row,) = kit.rows("GW-KEY-007", {"api_keys": [k]})
    assert row["resource_id"] == k["id"]
    assert "disabled 2026-10-01, 57 days before the snapshot, and is still not revoked (grace period 30 days)" \
        in row["message"]


def test_key_007_boundary_and_param(kit):
    at_limit = api_key("at limit", disabled_at="2026-10-28T06:00:00Z")
    past = api_key("past", disabled_at="2026-10-28T05:00:00Z")
    data = {"api_keys": [at_limit, past]}
    assert kit.ids("GW-KEY-007", data) == [past["id"]]
    assert kit.ids("GW-KEY-007", data, params={"disabled_grace_days": 60}) == []


def test_key_007_skips_revoked_and_expired_keys(kit):
    revoked = api_key("revoked", disabled_at="2026-09-01T00:00:00Z", revoked_at="2026-09-10T00:00:00Z")
    expired = api_key("expired", disabled_at="2026-09-01T00:00:00Z", expires_at="2026-10-01T00:00:00Z")
    assert kit.rows("GW-KEY-007", {"api_keys": [revoked, expired]}) == []
    assert kit.ids("GW-KEY-004", {"api_keys": [revoked, expired]}) == [expired["id"]]


# ---------------------------------------------------------------- every key rule reads key_states

_OLD = {"created_at": "2025-01-01T00:00:00Z"}


@pytest.mark.parametrize("rule_id,fields", [
    ("GW-KEY-002", _OLD),
    ("GW-KEY-003", {"last_used_at": "2026-09-01T00:00:00Z"}),
    ("GW-KEY-004", {"expires_at": "2026-10-01T00:00:00Z"}),
    ("GW-KEY-005", {"created_at": "2026-11-01T00:00:00Z", "expires_at": "2029-01-01T00:00:00Z"}),
    ("GW-KEY-007", {"disabled_at": "2026-10-01T00:00:00Z"}),
])
def test_key_rules_count_a_revocation_after_the_snapshot_as_not_yet_revoked(kit, rule_id, fields):
    """A revoked_at later than the snapshot is not in effect at it (key_states): the key still
    counts, exactly as if revoked_at were null."""
    later = api_key("later", revoked_at="2026-11-27T06:00:01Z", **fields)
    at_snapshot = api_key("at snapshot", revoked_at="2026-11-27T06:00:00Z", **fields)
    assert kit.ids(rule_id, {"api_keys": [later, at_snapshot]}) == [later["id"]]


@pytest.mark.parametrize("rule_id,fields", [
    ("GW-KEY-002", _OLD),
    ("GW-KEY-003", {"last_used_at": "2026-09-01T00:00:00Z"}),
])
def test_key_rules_count_a_disable_after_the_snapshot_as_still_active(kit, rule_id, fields):
    later = api_key("later", disabled_at="2026-11-27T06:00:01Z", **fields)
    at_snapshot = api_key("at snapshot", disabled_at="2026-11-27T06:00:00Z", **fields)
    assert kit.ids(rule_id, {"api_keys": [later, at_snapshot]}) == [later["id"]]


def test_key_007_a_disable_after_the_snapshot_is_not_yet_a_disabled_key(kit):
    later = api_key("later", disabled_at="2026-11-27T06:00:01Z")
    assert kit.rows("GW-KEY-007", {"api_keys": [later]}) == []


def test_key_005_skips_a_disabled_key_that_has_expired(kit):
    """Disabled and expired: re-enabling it does not bring it back (GW-KEY-004 reports it)."""
    k = api_key("gone", created_at="2024-01-01T00:00:00Z", expires_at="2026-06-01T00:00:00Z",
                disabled_at="2026-03-01T00:00:00Z")
    assert kit.rows("GW-KEY-005", {"api_keys": [k]}) == []
    assert kit.ids("GW-KEY-004", {"api_keys": [k]}) == [k["id"]]


@pytest.mark.parametrize("rule_id,fields", [
    ("GW-KEY-002", _OLD),
    ("GW-KEY-004", {"expires_at": "2026-10-01T00:00:00Z"}),
    ("GW-KEY-005", {"created_at": "2026-11-01T00:00:00Z", "expires_at": "2029-01-01T00:00:00Z"}),
])
def test_key_rules_read_personal_keys_once(kit, rule_id, fields):
    """A personal key only /user/api-keys lists is audited too (family user_api_keys); one that the
    org list also holds is reported once, from the org list."""
    shared = api_key("shared", **fields)
    personal = user_api_key("bob personal", **fields)
    rows = kit.rows(rule_id, {"api_keys": [shared],
                              "user_api_keys": [user_api_key("shared", **fields), personal]})
    assert sorted((r["resource_id"], r["family"]) for r in rows) == sorted(
        [(shared["id"], "api_keys"), (personal["id"], "user_api_keys")])


def test_key_003_personal_only_key_counts_only_with_a_reported_last_use(kit):
    """The documented /user/api-keys shape has no last_used_at: its absence there is no evidence that
    the key is idle. When the list does report it, the key is judged like any other."""
    silent = user_api_key("no usage field", created_at="2025-01-01T00:00:00Z")
    idle = user_api_key("idle", created_at="2025-01-01T00:00:00Z", last_used_at="2026-09-01T00:00:00Z")
    busy = user_api_key("busy", created_at="2025-01-01T00:00:00Z", last_used_at="2026-11-26T00:00:00Z")
    rows = kit.rows("GW-KEY-003", {"api_keys": [], "user_api_keys": [silent, idle, busy]})
    assert [(r["resource_id"], r["family"]) for r in rows] == [(idle["id"], "user_api_keys")]


def test_key_007_reads_a_personal_key_disabled_long_ago(kit):
    k = user_api_key("parked", disabled_at="2026-10-01T00:00:00Z")
    rows = kit.rows("GW-KEY-007", {"api_keys": [], "user_api_keys": [k]})
    assert [(r["resource_id"], r["family"]) for r in rows] == [(k["id"], "user_api_keys")]


@pytest.mark.parametrize("rule_id", ["GW-KEY-001", "GW-KEY-002", "GW-KEY-003", "GW-KEY-004", "GW-KEY-005",
                                     "GW-KEY-006", "GW-KEY-007"])
def test_key_rules_check_every_key_once(tmp_path, rule_id):
    """checked counts each key once: the org list plus the personal keys it does not hold."""
    res = run_pair(tmp_path, rule_id, None, {"api_keys": [api_key("a"), api_key("b")],
                                             "user_api_keys": [user_api_key("a"), user_api_key("mine")]})
    assert res.status != "error", res.error
    assert res.checked == 3


@pytest.mark.parametrize("created_at", [None, DROP])
def test_key_001_a_key_without_a_reported_creation_time_still_has_a_message(kit, created_at):
    k = api_key("no created", expires_at=None, created_at=created_at)
    (row,) = kit.rows("GW-KEY-001", {"api_keys": [k]})
    assert row["resource_id"] == k["id"]
    assert row["message"] == ("key 'no created' (bd-no_cr) never expires: expires_at is not set; its creation time "
                              "is not reported")


# ---------------------------------------------------------------- mutation testing: exact outcomes
# Each test below kills mutants of the key rules' SQL or of key_states that the tests above let
# survive (messages, day arithmetic at whole-day boundaries, ordering, omitted and null fields).

def test_key_001_exact_messages_for_active_disabled_and_unprefixed_keys(kit):
    active = api_key("active", expires_at=None, created_at="2026-08-19T06:00:00Z")  # exactly 100 days
    disabled = api_key("disabled", expires_at=None, created_at="2026-08-19T06:00:01Z",  # 1 s short of 100
                       disabled_at="2026-11-20T00:00:00Z")
    no_prefix = api_key("no prefix", expires_at=None, key_prefix=None)
    dropped_prefix = api_key("prefix dropped", expires_at=None, key_prefix=DROP)
    rows = kit.rows("GW-KEY-001", {"api_keys": [active, disabled, no_prefix, dropped_prefix]})
    assert [(r["resource_id"], r["state"], r["message"]) for r in rows] == [
        (active["id"], "active",
         "key 'active' (bd-activ) never expires: expires_at is not set; created 2026-08-19, 100 days before the "
         "snapshot"),
        (disabled["id"], "disabled",
         "key 'disabled' (bd-disab) never expires: expires_at is not set; created 2026-08-19, 99 days before the "
         "snapshot (disabled, not revoked: re-enabling it restores it)"),
        (no_prefix["id"], "active",
         "key 'no prefix' (no prefix) never expires: expires_at is not set; created 2026-11-01, 26 days before the "
         "snapshot"),
        (dropped_prefix["id"], "active",
         "key 'prefix dropped' (no prefix) never expires: expires_at is not set; created 2026-11-01, 26 days before "
         "the snapshot"),
    ]


@pytest.mark.parametrize("field", ["revoked_at", "disabled_at"])
@pytest.mark.parametrize("value", [None, DROP])
def test_key_001_omitted_or_null_revocation_and_disable_times_are_not_in_effect(kit, field, value):
    k = api_key("k", expires_at=None, **{field: value})
    assert [(r["resource_id"], r["state"]) for r in kit.rows("GW-KEY-001", {"api_keys": [k]})] == [(k["id"], "active")]


def test_key_001_an_omitted_expiry_is_no_expiry(kit):
    k = api_key("k", expires_at=DROP)
    assert kit.ids("GW-KEY-001", {"api_keys": [k]}) == [k["id"]]


def test_key_001_reports_the_kind_personal_keys_default_to_user(kit):
    org = api_key("org", expires_at=None, kind=DROP)
    mine = user_api_key("mine", expires_at=None)
    typed = user_api_key("typed", expires_at=None, kind="machine")
    rows = kit.rows("GW-KEY-001", {"api_keys": [org], "user_api_keys": [mine, typed]})
    assert sorted((r["resource_id"], r["family"], r["kind"]) for r in rows) == sorted(
        [(org["id"], "api_keys", None), (mine["id"], "user_api_keys", "user"),
         (typed["id"], "user_api_keys", "machine")])


@pytest.mark.parametrize("rule_id,fields,start", [
    ("GW-KEY-001", {"expires_at": None}, "key 'np' (no prefix) never expires"),
    ("GW-KEY-002", _OLD, "key 'np' (no prefix) was created 2025-01-01"),
    ("GW-KEY-003", {"last_used_at": "2026-09-01T00:00:00Z"}, "key 'np' (no prefix) was last used 2026-09-01"),
    ("GW-KEY-003", {"last_used_at": None, "created_at": "2026-09-01T00:00:00Z"},
     "key 'np' (no prefix) has never been used since it was created 2026-09-01"),
    ("GW-KEY-004", {"expires_at": "2026-10-01T00:00:00Z"}, "key 'np' (no prefix) expired 2026-10-01"),
    ("GW-KEY-005", {"created_at": "2026-11-01T00:00:00Z", "expires_at": "2029-01-01T00:00:00Z"},
     "key 'np' (no prefix) is valid for 792 days"),
    ("GW-KEY-006", {"group_name": None}, "key 'np' (no prefix, kind machine) is bound to no user or group"),
    ("GW-KEY-007", {"disabled_at": "2026-10-01T00:00:00Z"}, "key 'np' (no prefix) was disabled 2026-10-01"),
])
@pytest.mark.parametrize("prefix", [None, DROP])
def test_key_rules_name_a_missing_prefix(kit, rule_id, fields, start, prefix):
    k = api_key("np", key_prefix=prefix, **fields)
    (row,) = kit.rows(rule_id, {"api_keys": [k]})
    assert row["resource_id"] == k["id"]
    assert row["message"].startswith(start), row["message"]


@pytest.mark.parametrize("rule_id,column,older,newer", [
    ("GW-KEY-002", "age_days", {"created_at": "2025-01-01T00:00:00Z"}, {"created_at": "2026-06-01T00:00:00Z"}),
    ("GW-KEY-003", "idle_days", {"last_used_at": "2026-06-01T00:00:00Z"}, {"last_used_at": "2026-10-01T00:00:00Z"}),
    ("GW-KEY-005", "lifetime_days", {"expires_at": "2030-01-01T00:00:00Z"}, {"expires_at": "2028-01-01T00:00:00Z"}),
    ("GW-KEY-007", "disabled_days", {"disabled_at": "2026-06-01T00:00:00Z"}, {"disabled_at": "2026-10-01T00:00:00Z"}),
])
def test_key_rules_list_the_worst_key_first(kit, rule_id, column, older, newer):
    """Rows come largest age / idle time / lifetime / disabled time first (the newer key is named "a"
    so that an id or name order would list it first)."""
    a, b = api_key("a newer", **newer), api_key("b older", **older)
    rows = kit.rows(rule_id, {"api_keys": [a, b]})
    assert [r["resource_id"] for r in rows] == [b["id"], a["id"]]
    assert rows[0][column] > rows[1][column]


def test_key_002_created_at_omitted_or_null_cannot_be_judged(kit):
    keys = [api_key("null", created_at=None), api_key("dropped", created_at=DROP)]
    assert kit.rows("GW-KEY-002", {"api_keys": keys}) == []


@pytest.mark.parametrize("fields", [{"expires_at": None}, {"expires_at": DROP}, {"disabled_at": DROP},
                                    {"revoked_at": DROP}])
def test_key_002_an_omitted_or_null_time_does_not_make_a_key_inactive(kit, fields):
    k = api_key("old", **_OLD, **fields)
    assert kit.ids("GW-KEY-002", {"api_keys": [k]}) == [k["id"]]


def test_key_003_idle_one_second_past_the_limit_is_flagged(kit):
    past = api_key("past", last_used_at="2026-10-28T05:59:59Z")
    (row,) = kit.rows("GW-KEY-003", {"api_keys": [past]})
    assert (row["resource_id"], row["idle_days"]) == (past["id"], 30)
    assert row["message"] == ("key 'past' (bd-past) was last used 2026-10-28, 30 days before the snapshot "
                              "(limit 30 days)")


def test_key_003_exact_never_used_message(kit):
    k = api_key("never", last_used_at=None, created_at="2026-09-01T00:00:00Z")
    (row,) = kit.rows("GW-KEY-003", {"api_keys": [k]})
    assert row["message"] == ("key 'never' (bd-never) has never been used since it was created 2026-09-01, "
                              "87 days before the snapshot (limit 30 days)")
    assert row["last_used_at"] is None and row["idle_days"] == 87


def test_key_003_personal_key_the_org_list_holds_is_judged_on_the_org_list(kit):
    """The org list reports the last use; the personal list's copy (no last_used_at) is not read."""
    idle = api_key("shared idle", last_used_at="2026-09-01T00:00:00Z")
    never = api_key("shared never", last_used_at=None, created_at="2026-09-01T00:00:00Z")
    rows = kit.rows("GW-KEY-003", {"api_keys": [idle, never],
                                   "user_api_keys": [user_api_key("shared idle"), user_api_key("shared never")]})
    assert sorted((r["resource_id"], r["family"]) for r in rows) == sorted(
        [(idle["id"], "api_keys"), (never["id"], "api_keys")])


@pytest.mark.parametrize("last_used_at", [None, DROP])
def test_key_003_personal_only_key_without_a_last_use_is_not_judged(kit, last_used_at):
    k = user_api_key("mine", created_at="2025-01-01T00:00:00Z", last_used_at=last_used_at)
    assert kit.rows("GW-KEY-003", {"api_keys": [], "user_api_keys": [k]}) == []


@pytest.mark.parametrize("fields", [{"revoked_at": "2026-11-01T00:00:00Z"}, {"expires_at": "2026-11-01T00:00:00Z"}])
def test_key_003_ignores_revoked_and_expired_keys(kit, fields):
    k = api_key("old", last_used_at="2026-01-01T00:00:00Z", **fields)
    assert kit.rows("GW-KEY-003", {"api_keys": [k]}) == []


def test_key_004_exact_messages_at_whole_days(kit):
    exact = api_key("exact", expires_at="2026-10-01T06:00:00Z")  # exactly 57 days before the snapshot
    short = api_key("short", expires_at="2026-10-01T06:00:01Z")  # 1 s short of 57 days
    rows = kit.rows("GW-KEY-004", {"api_keys": [exact, short]})
    assert [(r["resource_id"], r["message"]) for r in rows] == [
        (exact["id"], "key 'exact' (bd-exact) expired 2026-10-01, 57 days before the snapshot, and was never revoked"),
        (short["id"], "key 'short' (bd-short) expired 2026-10-01, 56 days before the snapshot, and was never revoked"),
    ]


@pytest.mark.parametrize("revoked_at", [None, DROP, "2026-11-27T06:00:01Z"])
def test_key_004_reports_an_expired_key_not_revoked_at_the_snapshot(kit, revoked_at):
    k = api_key("lapsed", expires_at="2026-10-01T00:00:00Z", revoked_at=revoked_at)
    assert kit.ids("GW-KEY-004", {"api_keys": [k]}) == [k["id"]]


def test_key_004_ignores_keys_that_never_expire(kit):
    keys = [api_key("null", expires_at=None), api_key("dropped", expires_at=DROP)]
    assert kit.rows("GW-KEY-004", {"api_keys": keys}) == []


def test_key_005_one_second_past_the_limit_is_flagged(kit):
    k = api_key("just over", created_at="2026-11-01T00:00:00Z", expires_at="2027-11-01T00:00:01Z")
    (row,) = kit.rows("GW-KEY-005", {"api_keys": [k]})
    assert (row["resource_id"], row["lifetime_days"]) == (k["id"], 365)
    assert row["message"] == ("key 'just over' (bd-just_) is valid for 365 days: created 2026-11-01, "
                              "expires 2027-11-01 (limit 365 days)")


@pytest.mark.parametrize("fields", [{"created_at": None}, {"created_at": DROP}, {"expires_at": DROP}])
def test_key_005_silent_without_both_times(kit, fields):
    k = api_key("partial", **{"created_at": "2026-11-01T00:00:00Z", "expires_at": "2029-01-01T00:00:00Z", **fields})
    assert kit.rows("GW-KEY-005", {"api_keys": [k]}) == []


def test_key_006_exact_message_without_a_kind(kit):
    null_kind = api_key("null kind", group_name=None, kind=None)
    no_kind = api_key("no kind", group_name=None, kind=DROP)
    rows = kit.rows("GW-KEY-006", {"api_keys": [null_kind, no_kind]})
    assert [(r["resource_id"], r["message"]) for r in rows] == [
        (no_kind["id"], "key 'no kind' (bd-no_ki) is bound to no user or group, and no limiting api_key-scoped "
                        "rate limit or token budget covers it"),
        (null_kind["id"], "key 'null kind' (bd-null_) is bound to no user or group, and no limiting api_key-scoped "
                          "rate limit or token budget covers it"),
    ]


def test_key_006_exact_message_with_a_kind(kit):
    k = api_key("service", group_name=None)
    (row,) = kit.rows("GW-KEY-006", {"api_keys": [k]})
    assert row["message"] == ("key 'service' (bd-servi, kind machine) is bound to no user or group, and no limiting "
                              "api_key-scoped rate limit or token budget covers it")


@pytest.mark.parametrize("binding", [{"group_name": "  "}, {"group_name": DROP}, {"group_name": None, "user_id": DROP}])
def test_key_006_blank_or_omitted_bindings_are_unbound(kit, binding):
    k = api_key("service", **{"group_name": None, **binding})
    assert kit.ids("GW-KEY-006", {"api_keys": [k]}) == [k["id"]]


def test_key_006_a_group_name_with_blanks_around_it_is_a_group(kit):
    assert kit.rows("GW-KEY-006", {"api_keys": [api_key("service", group_name=" ci ")]}) == []


def test_key_006_reads_an_unbound_personal_key(kit):
    k = user_api_key("mine", user_id=None)
    rows = kit.rows("GW-KEY-006", {"api_keys": [], "user_api_keys": [k]})
    assert [(r["resource_id"], r["family"], r["kind"]) for r in rows] == [(k["id"], "user_api_keys", "user")]
    assert "(bd-mine, kind user)" in rows[0]["message"]


@pytest.mark.parametrize("state", [{"disabled_at": "2026-11-01T00:00:00Z"}, {"expires_at": "2026-11-01T00:00:00Z"}])
def test_key_006_ignores_disabled_and_expired_keys(kit, state):
    assert kit.rows("GW-KEY-006", {"api_keys": [api_key("service", group_name=None, **state)]}) == []


@pytest.mark.parametrize("family,make", [("rate_limits", rate_limit), ("token_budgets", budget)])
def test_key_006_key_scoped_limit_matches_the_id_case_insensitively(kit, family, make):
    lower = api_key("lower", group_name=None)
    upper = api_key("upper", group_name=None, id=api_key("upper")["id"].upper())
    data = {"api_keys": [lower, upper],
            family: [make("for lower", scope_type="api_key", scope_id=lower["id"].upper()),
                     make("for upper", scope_type="api_key", scope_id=upper["id"].lower())]}
    assert kit.rows("GW-KEY-006", data) == []


@pytest.mark.parametrize("family,make", [("rate_limits", rate_limit), ("token_budgets", budget)])
def test_key_006_only_an_api_key_scope_covers_a_key(kit, family, make):
    """A limit of another scope type whose scope_id happens to equal the key's id does not cover it,
    nor does an api_key-scoped limit of another key."""
    k = api_key("service", group_name=None)
    other = api_key("other", group_name=None)
    data = {"api_keys": [k, other],
            family: [make("user scoped", scope_type="user", scope_id=k["id"]),
                     make("other key", scope_type="api_key", scope_id=other["id"])]}
    assert kit.ids("GW-KEY-006", data) == [k["id"]]


def test_key_007_one_second_past_the_grace_period_is_flagged(kit):
    k = api_key("parked", disabled_at="2026-10-28T05:59:59Z")
    (row,) = kit.rows("GW-KEY-007", {"api_keys": [k]})
    assert (row["resource_id"], row["disabled_days"]) == (k["id"], 30)
    assert row["message"] == ("key 'parked' (bd-parke) was disabled 2026-10-28, 30 days before the snapshot, "
                              "and is still not revoked (grace period 30 days)")


@pytest.mark.parametrize("expires_at", [None, DROP, "2026-11-27T06:00:01Z"])
def test_key_007_reports_a_key_that_has_not_expired(kit, expires_at):
    k = api_key("parked", disabled_at="2026-10-01T00:00:00Z", expires_at=expires_at)
    assert kit.ids("GW-KEY-007", {"api_keys": [k]}) == [k["id"]]


@pytest.mark.parametrize("disabled_at", [None, DROP])
def test_key_007_silent_for_keys_never_disabled(kit, disabled_at):
    assert kit.rows("GW-KEY-007", {"api_keys": [api_key("k", disabled_at=disabled_at)]}) == []


# ---------------------------------------------------------------- key_states itself

def _key_states(tmp_path, data) -> dict[str, dict]:
    db = Database(tmp_path / "k.duckdb")
    store_snapshot(db, data, taken_at=NOW, folder=tmp_path / "snap")
    with db.reader() as con:
        cur = con.execute("SELECT * FROM key_states")
        cols = [d[0] for d in cur.description]
        return {r["name"]: r for r in (dict(zip(cols, row)) for row in cur.fetchall())}


def test_key_states_state_and_flags(tmp_path):
    before, at, after = "2026-11-01T00:00:00Z", NOW, "2026-11-27T06:00:01Z"
    keys = [api_key("active"),
            api_key("revoked", revoked_at=at),
            api_key("revoked later", revoked_at=after),
            api_key("disabled", disabled_at=at),
            api_key("disabled later", disabled_at=after),
            api_key("expired", expires_at=at),
            api_key("expires later", expires_at=after),
            api_key("never expires", expires_at=None),
            api_key("revoked and disabled", revoked_at=before, disabled_at=before),
            api_key("disabled and expired", disabled_at=before, expires_at=before),
            api_key("revoked and expired", revoked_at=before, expires_at=before)]
    got = {n: (r["state"], r["active"], r["revoked"], r["expired"])
           for n, r in _key_states(tmp_path, {"api_keys": keys}).items()}
    assert got == {
        "active": ("active", True, False, False),
        "revoked": ("revoked", False, True, False),
        "revoked later": ("active", True, False, False),
        "disabled": ("disabled", False, False, False),
        "disabled later": ("active", True, False, False),
        "expired": ("expired", False, False, True),
        "expires later": ("active", True, False, False),
        "never expires": ("active", True, False, False),
        "revoked and disabled": ("revoked", False, True, False),
        "disabled and expired": ("disabled", False, False, True),
        "revoked and expired": ("revoked", False, True, True),
    }


def test_key_states_group_bound_and_personal_kind(tmp_path):
    keys = [api_key("ci", group_name="ci"), api_key("padded", group_name=" ci "), api_key("empty", group_name=""),
            api_key("blank", group_name="  "), api_key("null", group_name=None), api_key("dropped", group_name=DROP)]
    personal = [user_api_key("mine"), user_api_key("typed", kind="machine")]
    got = _key_states(tmp_path, {"api_keys": keys, "user_api_keys": personal})
    assert {n: r["group_bound"] for n, r in got.items() if r["source"] == "api_keys"} == {
        "ci": "ci", "padded": "ci", "empty": None, "blank": None, "null": None, "dropped": None}
    assert {n: (r["source"], r["kind"]) for n, r in got.items() if r["source"] == "user_api_keys"} == {
        "mine": ("user_api_keys", "user"), "typed": ("user_api_keys", "machine")}


def test_key_states_a_null_org_key_id_does_not_hide_personal_keys(tmp_path):
    """NOT IN over a list holding a null would match nothing: the org ids are read without nulls."""
    got = _key_states(tmp_path, {"api_keys": [api_key("no id", id=None), api_key("shared")],
                                 "user_api_keys": [user_api_key("shared"), user_api_key("mine")]})
    assert sorted((n, r["source"]) for n, r in got.items()) == [
        ("mine", "user_api_keys"), ("no id", "api_keys"), ("shared", "api_keys")]
