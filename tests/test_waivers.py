"""Waivers: applied, expired (GW-WAIVER-001), stale (GW-WAIVER-002), and invalid files."""

from __future__ import annotations

import pytest
import yaml

from gwaudit.errors import ConfigError
from gwaudit.rules import audit, load_waivers, parse_waivers
from gwaudit.timeutil import parse_ts
from tests.enginekit import TAKEN, catalog, snapshot, standard_rules

WHEN = parse_ts(TAKEN)  # 2026-11-27T06:00:00Z


def waiver(**kw):
    entry = {"rule_id": "T-EXP-001", "resource_id": "k-forever", "justification": "break-glass key, in a vault",
             "owner": "secops@example.com", "expires": "2027-03-31"}
    entry.update(kw)
    return {k: v for k, v in entry.items() if v is not None}


@pytest.fixture
def org_db(tmp_path, db):
    rules = standard_rules(tmp_path / "r")
    snapshot(db)
    return db, rules


def write_waivers(tmp_path, entries, wrap=False):
    path = tmp_path / "waivers.yaml"
    path.write_text(yaml.safe_dump({"waivers": entries} if wrap else entries, sort_keys=False))
    return path


def test_waiver_by_resource_id_marks_the_finding_waived_and_spares_fail_on(tmp_path, org_db):
    db, rules = org_db
    path = write_waivers(tmp_path, [waiver()], wrap=True)
    result = audit(db, rules=catalog(rules), waivers=path, fail_on="critical")
    f = next(f for f in result.findings if f.rule_id == "T-EXP-001")
    assert f.status == "waived"
    assert f.waiver == {"index": 1, "rule_id": "T-EXP-001", "resource_id": "k-forever",
                        "justification": "break-glass key, in a vault", "owner": "secops@example.com",
                        "expires": "2027-03-31"}
    assert result.exit_code == 0                       # the only critical finding is waived
    assert audit(db, rules=catalog(rules), fail_on="critical").exit_code == 1
    assert result.summary()["by_severity"]["critical"] == {"fail": 0, "waived": 1}
    assert not [f for f in result.findings if f.rule_id.startswith("GW-WAIVER")]


def test_waiver_by_resource_name_glob(org_db):
    db, rules = org_db
    result = audit(db, rules=catalog(rules), waivers=[
        waiver(rule_id="T-AGE-001", resource_id=None, resource_name="old ci*")])
    assert [f.status for f in result.findings if f.rule_id == "T-AGE-001"] == ["waived"]
    # the glob is case-sensitive and anchored
    result = audit(db, rules=catalog(rules), waivers=[
        waiver(rule_id="T-AGE-001", resource_id=None, resource_name="ci*")])
    assert [f.status for f in result.findings if f.rule_id == "T-AGE-001"] == ["fail"]


def test_expired_waiver_stops_applying_and_is_reported(org_db):
    db, rules = org_db
    result = audit(db, rules=catalog(rules), fail_on="critical",
                   waivers=[waiver(), waiver(rule_id="T-AGE-001", resource_id="k-old", expires="2026-11-26")])
    age = next(f for f in result.findings if f.rule_id == "T-AGE-001")
    assert age.status == "fail" and age.waiver is None
    expired = [f for f in result.findings if f.rule_id == "GW-WAIVER-001"]
    assert len(expired) == 1
    e = expired[0]
    assert (e.severity, e.status, e.resource_id, e.family) == ("medium", "fail", "waiver:2", "waivers")
    assert "T-AGE-001" in e.message and "'k-old'" in e.message and "2026-11-26" in e.message
    assert e.evidence["waiver"]["owner"] == "secops@example.com"
    rules_by_id = {r.rule.id: r for r in result.rules}
    assert (rules_by_id["GW-WAIVER-001"].status, rules_by_id["GW-WAIVER-001"].checked) == ("fail", 2)
    assert result.exit_code == 0                       # expired waiver finding is medium


def test_date_expiry_lasts_through_that_day(org_db):
    db, rules = org_db
    result = audit(db, rules=catalog(rules), waivers=[waiver(expires="2026-11-27")])   # taken 06:00 that day
    assert next(f for f in result.findings if f.rule_id == "T-EXP-001").status == "waived"
    result = audit(db, rules=catalog(rules), waivers=[waiver(expires="2026-11-27T05:59:59Z")])
    assert next(f for f in result.findings if f.rule_id == "T-EXP-001").status == "fail"


def test_stale_waiver_is_reported(org_db):
    db, rules = org_db
    result = audit(db, rules=catalog(rules), waivers=[waiver(), waiver(resource_id="k-deleted"),
                                                    waiver(rule_id="T-GONE-001")])
    stale = sorted((f.resource_id, f.severity, f.message) for f in result.findings if f.rule_id == "GW-WAIVER-002")
    assert [s[:2] for s in stale] == [("waiver:2", "low"), ("waiver:3", "low")]
    assert "'k-deleted'" in stale[0][2] and "matches no finding" in stale[0][2]
    assert "no rule T-GONE-001 is loaded" in stale[1][2]


def test_stale_is_not_judged_for_rules_not_evaluated(org_db):
    db, rules = org_db
    entries = [waiver(rule_id="T-PRV-001", resource_id="p-nothing")]
    skipped = audit(db, rules=catalog(rules), waivers=entries, skip=["T-PRV-001"])
    assert not [f for f in skipped.findings if f.rule_id == "GW-WAIVER-002"]
    ran = audit(db, rules=catalog(rules), waivers=entries)
    assert [f.resource_id for f in ran.findings if f.rule_id == "GW-WAIVER-002"] == ["waiver:1"]


def test_waiver_findings_keep_their_fingerprint_when_entries_move(org_db):
    db, rules = org_db
    a = audit(db, rules=catalog(rules), waivers=[waiver(), waiver(resource_id="k-deleted")])
    b = audit(db, rules=catalog(rules), waivers=[waiver(resource_id="k-deleted"), waiver()])
    fa, = [f for f in a.findings if f.rule_id == "GW-WAIVER-002"]
    fb, = [f for f in b.findings if f.rule_id == "GW-WAIVER-002"]
    assert (fa.resource_id, fb.resource_id) == ("waiver:2", "waiver:1") and fa.fingerprint == fb.fingerprint


# ---------------------------------------------------------------- invalid files

@pytest.mark.parametrize("missing", ["rule_id", "justification", "owner", "expires"])
def test_each_missing_field_names_entry_and_field(missing):
    entries = [waiver(), waiver(**{missing: None})]
    with pytest.raises(ConfigError) as err:
        parse_waivers(entries, WHEN, source="w.yaml")
    rid = "" if missing == "rule_id" else " (rule_id T-EXP-001)"
    assert err.value.message == f"w.yaml: waiver #2{rid}: {missing}: missing (required)"


@pytest.mark.parametrize("entry, field, words", [
    (waiver(resource_id=None), "resource_id", "give exactly one of resource_id or resource_name"),
    (waiver(resource_name="x*"), "resource_id", "give exactly one of resource_id or resource_name"),
    (waiver(ticket="SEC-1"), "ticket", "unknown key"),
    (waiver(owner="  "), "owner", "must not be empty"),
    (waiver(expires="soon"), "expires", "'soon' is not a date"),
    (waiver(expires="2027-11-28"), "expires", "more than a year after the snapshot was taken"),
    (waiver(expires="2027-11-27T06:00:01Z"), "expires", "more than a year after"),
    (waiver(rule_id="GW-WAIVER-002"), "rule_id", "cannot be waived"),
])
def test_invalid_entries(entry, field, words):
    with pytest.raises(ConfigError) as err:
        parse_waivers([entry], WHEN, source="w.yaml")
    assert err.value.message.startswith(f"w.yaml: waiver #1 (rule_id {entry['rule_id']}): {field}: ")
    assert words in err.value.message


def test_one_year_ahead_is_the_limit():
    ok = parse_waivers([waiver(expires="2027-11-27"), waiver(expires="2027-11-27T06:00:00Z")], WHEN)
    assert [w.expires_text for w in ok] == ["2027-11-27", "2027-11-27T06:00:00Z"]


def test_waiver_files(tmp_path):
    plain = tmp_path / "plain.yaml"
    plain.write_text("- rule_id: T-EXP-001\n  resource_id: k-forever\n  justification: j\n  owner: o\n"
                     "  expires: 2027-01-31\n")                  # YAML parses the date itself
    (w,) = load_waivers(plain, WHEN)
    assert (w.index, w.expires_text, w.expires) == (1, "2027-01-31", parse_ts("2027-01-31T23:59:59.999999Z"))
    assert load_waivers(write_waivers(tmp_path, [], wrap=True), WHEN) == []
    bad = tmp_path / "bad.yaml"
    bad.write_text("rule_id: T-EXP-001\n")
    with pytest.raises(ConfigError, match="bad.yaml: expected a list of waivers"):
        load_waivers(bad, WHEN)
    with pytest.raises(ConfigError, match="waiver file .*missing.yaml does not exist"):
        load_waivers(tmp_path / "missing.yaml", WHEN)


def test_invalid_waiver_file_stops_the_audit_before_anything_is_stored(tmp_path, org_db):
    db, rules = org_db
    path = write_waivers(tmp_path, [waiver(owner=None)])
    with pytest.raises(ConfigError, match="waiver #1 \\(rule_id T-EXP-001\\): owner: missing"):
        audit(db, rules=catalog(rules), waivers=path)
    import duckdb
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT count(*) FROM rule_results").fetchall() == [(0,)]
