"""The rule engine: loading and validating rule files, evaluation, findings and their storage."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
import yaml

from gwaudit.errors import ConfigError, UsageError
from gwaudit.rules import audit, effective_params, fingerprint, load_rule_file, load_rules
from gwaudit.timeutil import parse_ts
from tests.enginekit import (KEY_AGE_SQL, NO_EXPIRY_SQL, TAKEN, catalog, chosen, org, rule_dict, snapshot, standard_rules,
                             write_rule)
from tests.factories.keys import api_key


def ids(result, status=None):
    return sorted(f.resource_id for f in result.findings if status is None or f.status == status)


def by_rule(result):
    return {r.rule.id: r for r in result.rules}


# ---------------------------------------------------------------- loader errors

def _write_raw(tmp_path: Path, data, name="GW-T-001.yaml") -> Path:
    folder = tmp_path / "rules"
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
    return path


def _mutated(change):
    d = rule_dict("GW-T-001", NO_EXPIRY_SQL)
    change(d)
    return d


@pytest.mark.parametrize("change, field, words", [
    (lambda d: d.update(colour="red"), "colour", "unknown key"),
    (lambda d: d.pop("remediation"), "remediation", "missing"),
    (lambda d: d.update(severity="urgent"), "severity", "'urgent' is not one of critical"),
    (lambda d: d.update(families=["api_keys", "gadgets"]), "families", "unknown family 'gadgets'"),
    (lambda d: d.update(frameworks={"pci": ["1.1"]}), "frameworks", "unknown framework 'pci'"),
    (lambda d: d.update(id="gw-lower-1"), "id", "pattern"),
    (lambda d: d.update(sql="SELEC id FROM api_keys"), "sql", "does not parse"),
    (lambda d: d.update(sql="SELECT 1; SELECT 2"), "sql", "exactly one SQL statement, found 2"),
    (lambda d: d.update(sql="DELETE FROM api_keys"), "sql", "must be a SELECT"),
    (lambda d: d.update(sql=NO_EXPIRY_SQL + " AND name <> $excluded"), "sql",
     "$excluded is used but not declared under params"),
    (lambda d: d.update(params={"unused": 3}), "params.unused", "declared but neither sql nor checked_sql uses"),
    (lambda d: d.update(params={"now": 3}), "params", "bound by the engine"),
    (lambda d: d.update(sql="SELECT id AS resource_id, name AS resource_name, 'x' AS message FROM api_keys "
                            "WHERE created_at < now() - INTERVAL 90 DAY"), "sql", "now()"),
    (lambda d: d.update(sql="SELECT id AS resource_id, name AS resource_name, 'x' AS message FROM api_keys "
                            "WHERE expires_at < current_timestamp"), "sql", "current_timestamp"),
    (lambda d: d.update(sql="SELECT id AS resource_id, name AS resource_name, 'x' AS message FROM api_keys "
                            "WHERE CAST(expires_at AS DATE) < CURRENT_DATE"), "sql", "current_date"),
    (lambda d: d.update(checked_sql="SELECT count(*) FROM api_keys WHERE created_at > today()"),
     "checked_sql", "today()"),
    (lambda d: d.update(sql=NO_EXPIRY_SQL + " AND $previous_snapshot_id > 0"), "sql", "needs_previous"),
])
def test_every_loader_error_names_the_file_and_the_field(tmp_path, change, field, words):
    path = _write_raw(tmp_path, _mutated(change))
    with pytest.raises(ConfigError) as err:
        load_rules([path.parent], builtin=False)
    msg = err.value.message
    assert str(path) in msg and f": {field}" in msg and words in msg, msg
    assert err.value.exit_code == 2 and err.value.hint


def test_the_clock_check_reads_the_parse_tree_not_the_text(tmp_path):
    # 'now()' in a string literal or a comment is not a clock read; $now is the right way.
    sql = ("SELECT id AS resource_id, name AS resource_name, 'created before now()' AS message -- now()\n"
           "FROM api_keys WHERE created_at < $now")
    rule = load_rule_file(_write_raw(tmp_path, rule_dict("GW-T-001", sql)))
    assert rule.bindings() == {"now"}


def test_yaml_errors_name_the_file(tmp_path):
    path = _write_raw(tmp_path, "id: GW-T-001\ntitle: [unclosed\n")
    with pytest.raises(ConfigError, match="GW-T-001.yaml is not valid YAML"):
        load_rule_file(path)
    text = yaml.safe_dump(rule_dict("GW-T-001", NO_EXPIRY_SQL), sort_keys=False) + "severity: low\n"
    with pytest.raises(ConfigError, match="key 'severity' is given twice"):
        load_rule_file(_write_raw(tmp_path, text))
    with pytest.raises(ConfigError, match="must be a YAML mapping"):
        load_rule_file(_write_raw(tmp_path, "- just\n- a list\n"))


def test_duplicate_id_across_dirs_names_both_files(tmp_path):
    a = write_rule(tmp_path / "a", "GW-T-001")
    b = write_rule(tmp_path / "b" / "nested", "GW-T-001", name="other.yml")
    with pytest.raises(ConfigError) as err:
        load_rules([tmp_path / "a", tmp_path / "b"], builtin=False)
    assert str(b) in err.value.message and str(a) in err.value.message and ": id:" in err.value.message
    write_rule(tmp_path / "c", "GW-WAIVER-001")
    with pytest.raises(ConfigError, match="already defined by the engine's own rules"):
        load_rules([tmp_path / "c"], builtin=False)


def test_missing_rules_dir_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="rules directory .*nowhere does not exist"):
        load_rules([tmp_path / "nowhere"])


def test_load_rules_includes_the_engine_rules_with_full_metadata(tmp_path):
    rules = {r.id: r for r in load_rules([standard_rules(tmp_path / "r")], builtin=False)}
    assert {"T-AGE-001", "T-EXP-001", "T-PRV-001", "GW-WAIVER-001", "GW-WAIVER-002"} <= set(rules)
    for rid in ("GW-WAIVER-001", "GW-WAIVER-002"):
        r = rules[rid]
        assert r.is_engine and r.title and r.description and r.risk and r.remediation and r.references
        assert r.frameworks.get("nist_800_53") == ["CA-5"]
    assert rules["GW-WAIVER-001"].severity == "medium" and rules["GW-WAIVER-002"].severity == "low"


# ---------------------------------------------------------------- params

def test_params_default_then_config_override(tmp_path, db):
    rules = tmp_path / "r"
    write_rule(rules, "T-AGE-001", KEY_AGE_SQL, params={"max_age_days": 90})
    snapshot(db)
    default = audit(db, rules=chosen(rules, "T-AGE-001"))
    assert ids(default) == ["k-old"]
    assert "(limit 90)" in default.findings[0].message
    assert by_rule(default)["T-AGE-001"].params == {"max_age_days": 90}
    stricter = audit(db, rules=chosen(rules, "T-AGE-001"), params={"T-AGE-001": {"max_age_days": 20}})
    assert ids(stricter) == ["k-new", "k-old"]
    assert by_rule(stricter)["T-AGE-001"].params == {"max_age_days": 20}
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT params FROM rule_results WHERE rule_id = 'T-AGE-001'").fetchall() == [
        ('{"max_age_days": 20}',)]


@pytest.mark.parametrize("overrides, words", [
    ({"T-AGE-001": {"max_age": 60}}, "[rules.T-AGE-001] max_age: T-AGE-001 has no parameter 'max_age'"),
    ({"T-NOPE-001": {"max_age_days": 60}}, "[rules.T-NOPE-001]: no rule with id T-NOPE-001"),
    ({"T-AGE-001": {"max_age_days": "sixty"}}, "[rules.T-AGE-001] max_age_days = 'sixty'"),
])
def test_bad_param_overrides_name_rule_and_param(tmp_path, overrides, words):
    rules = load_rules([standard_rules(tmp_path / "r")], builtin=False)
    with pytest.raises(ConfigError) as err:
        effective_params(rules, overrides)
    assert words in err.value.message


# ---------------------------------------------------------------- evaluation

def test_failed_family_makes_its_rules_error_while_others_run(tmp_path, db):
    rules = standard_rules(tmp_path / "r")
    snapshot(db, failed=["providers"])
    result = audit(db, rules=catalog(rules))
    res = by_rule(result)
    assert res["T-PRV-001"].status == "error"
    assert res["T-PRV-001"].error == "family providers was not collected: simulated failure"
    assert res["T-AGE-001"].status == "fail" and res["T-EXP-001"].status == "fail"
    assert ids(result) == ["k-forever", "k-old"]
    assert result.exit_code == 4
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT status, error FROM rule_results WHERE rule_id = 'T-PRV-001'").fetchall() == [
        ("error", "family providers was not collected: simulated failure")]


def test_unavailable_family_is_empty_not_an_error(tmp_path, db):
    rules = tmp_path / "r"
    write_rule(rules, "T-SM-001", "SELECT id AS resource_id, model_alias AS resource_name, 'x' AS message "
                                  "FROM smart_models", families=["smart_models"])
    snapshot(db, unavailable=["smart_models"])
    result = audit(db, rules=chosen(rules, "T-SM-001"))
    assert by_rule(result)["T-SM-001"].status == "pass" and result.exit_code == 0


def test_sql_failure_at_run_time_is_an_error_with_the_message(tmp_path, db):
    rules = standard_rules(tmp_path / "r")
    write_rule(rules, "T-BAD-001", "SELECT id AS resource_id, name AS resource_name, no_such_column AS message "
                                   "FROM api_keys")
    write_rule(rules, "T-COL-001", "SELECT id AS resource_id, 'x' AS message FROM api_keys")
    write_rule(rules, "T-NUL-001", "SELECT CASE WHEN id = 'k-new' THEN NULL ELSE id END AS resource_id, "
                                   "name AS resource_name, 'x' AS message FROM api_keys")
    snapshot(db)
    result = audit(db, rules=catalog(rules))
    res = by_rule(result)
    assert res["T-NUL-001"].status == "error" and "a result row has a NULL resource_id" in res["T-NUL-001"].error
    assert not [f for f in result.findings if f.rule_id == "T-NUL-001"]     # all of a rule's findings or none
    assert res["T-BAD-001"].status == "error" and "no_such_column" in res["T-BAD-001"].error
    assert res["T-COL-001"].error == "the rule's SQL returns no resource_name column"
    assert res["T-EXP-001"].status == "fail" and result.exit_code == 4


def test_rule_sql_cannot_read_files(tmp_path, db):
    secret = tmp_path / "secret.csv"
    secret.write_text("a\n1\n")
    rules = tmp_path / "r"
    write_rule(rules, "T-FILE-001", f"SELECT a AS resource_id, a AS resource_name, 'x' AS message "
                                    f"FROM read_csv('{secret}')")
    snapshot(db)
    res = by_rule(audit(db, rules=catalog(rules)))["T-FILE-001"]
    assert res.status == "error" and "disabled by configuration" in res.error


def test_now_is_the_snapshot_taken_at_not_the_wall_clock(tmp_path, db):
    rules = tmp_path / "r"
    write_rule(rules, "T-AGE-001", KEY_AGE_SQL, params={"max_age_days": 90})
    data = {"api_keys": [api_key("ci", id="k1", created_at="2024-12-01T00:00:00Z")]}
    old = snapshot(db, data, taken_at="2025-01-01T00:00:00Z")   # 31 days old then; ~2 years by the wall clock
    first = audit(db, old, rules=catalog(rules))
    assert first.findings == [] and by_rule(first)["T-AGE-001"].checked == 1
    snapshot(db, data, taken_at="2026-01-01T00:00:00Z")         # a year later: 396 days old
    later = audit(db, "latest", rules=catalog(rules))
    assert ids(later) == ["k1"] and "396 days old" in later.findings[0].message
    again = audit(db, old, rules=catalog(rules))                   # the old snapshot, re-audited
    assert again.findings == [] and again.to_dict()["rules"] == first.to_dict()["rules"]


def test_checked_counts_first_family_or_checked_sql(tmp_path, db):
    rules = standard_rules(tmp_path / "r")
    write_rule(rules, "T-CHK-001", NO_EXPIRY_SQL,
               checked_sql="SELECT count(*) FROM api_keys WHERE revoked_at IS NULL AND kind = $kind",
               params={"kind": "machine"})
    snapshot(db, org(api_keys=org()["api_keys"] + [api_key("u", id="k-user", created_at=TAKEN, kind="user")]))
    res = by_rule(audit(db, rules=catalog(rules)))
    assert (res["T-EXP-001"].checked, res["T-EXP-001"].failed) == (4, 1)
    assert (res["T-PRV-001"].checked, res["T-PRV-001"].failed) == (2, 1)
    assert res["T-CHK-001"].checked == 3


# ---------------------------------------------------------------- fingerprints

def test_fingerprint_follows_the_resource_not_row_order_or_message(tmp_path, db):
    rules = tmp_path / "r"
    # The message changes every snapshot and the rows come in random order.
    write_rule(rules, "T-ANY-001", "SELECT id AS resource_id, name AS resource_name, "
                                   "'seen in snapshot ' || $snapshot_id AS message FROM api_keys ORDER BY random()")
    a = [api_key("one", id="k1", created_at=TAKEN), api_key("two", id="k2", created_at=TAKEN),
         api_key("three", id="k3", created_at=TAKEN)]
    s1 = snapshot(db, {"api_keys": a}, taken_at="2026-11-01T00:00:00Z")
    s2 = snapshot(db, {"api_keys": list(reversed(a))}, taken_at="2026-11-02T00:00:00Z")
    fp1 = {f.resource_id: f.fingerprint for f in audit(db, s1, rules=catalog(rules)).findings}
    fp2 = {f.resource_id: f.fingerprint for f in audit(db, s2, rules=catalog(rules)).findings}
    assert fp1 == fp2 and len(set(fp1.values())) == 3
    assert fp1["k1"] == fingerprint("T-ANY-001", "api_keys", "k1")
    assert fingerprint("T-OTHER-001", "api_keys", "k1") != fp1["k1"]


def test_resource_key_and_family_columns(tmp_path, db):
    rules = tmp_path / "r"
    # resource_id is a version id; resource_key is the identity. family overrides per row.
    write_rule(rules, "T-KEY-001", "SELECT id || '-v' || $snapshot_id AS resource_id, name AS resource_name, "
                                   "'x' AS message, 'name:' || name AS resource_key, 'user_api_keys' AS family, "
                                   "kind FROM api_keys", families=["api_keys", "user_api_keys"])
    s1 = snapshot(db, {"api_keys": [api_key("one", id="k1", created_at=TAKEN)]}, taken_at="2026-11-01T00:00:00Z")
    s2 = snapshot(db, {"api_keys": [api_key("one", id="k1", created_at=TAKEN)]}, taken_at="2026-11-02T00:00:00Z")
    f1, = audit(db, s1, rules=catalog(rules)).findings
    f2, = audit(db, s2, rules=catalog(rules)).findings
    assert f1.resource_id != f2.resource_id and f1.fingerprint == f2.fingerprint
    assert f1.fingerprint == fingerprint("T-KEY-001", "user_api_keys", "name:one")
    assert f2.family == "user_api_keys" and f2.evidence == {"kind": "machine"}
    assert f2.first_seen == parse_ts("2026-11-01T00:00:00Z")


# ---------------------------------------------------------------- storage

def _stored(db: Path, sql: str, params=()):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def test_reaudit_replaces_the_snapshot_rows(tmp_path, db):
    rules = standard_rules(tmp_path / "r")
    sid = snapshot(db)
    first = audit(db, rules=catalog(rules))
    second = audit(db, rules=catalog(rules))
    assert first.to_dict() == second.to_dict()
    assert _stored(db, "SELECT count(*), count(DISTINCT fingerprint) FROM findings WHERE snapshot_id = ?",
                   [sid]) == [(3, 3)]
    assert _stored(db, "SELECT count(*) FROM rule_results WHERE snapshot_id = ?", [sid]) == [(5,)]
    # a re-audit with fewer rules leaves only what this audit found
    audit(db, rules=chosen(rules, "T-EXP-001"))
    assert _stored(db, "SELECT rule_id, resource_id FROM findings") == [("T-EXP-001", "k-forever")]
    assert _stored(db, "SELECT rule_id FROM latest_findings") == [("T-EXP-001",)]


def test_stored_rows_carry_every_finding_field(tmp_path, db):
    rules = standard_rules(tmp_path / "r")
    sid = snapshot(db)
    result = audit(db, rules=chosen(rules, "T-AGE-001"))
    con = duckdb.connect(str(db), read_only=True)
    cur = con.execute("SELECT * FROM findings")
    row = dict(zip([d[0] for d in cur.description], cur.fetchone()))
    assert row["fingerprint"] == result.findings[0].fingerprint and row["snapshot_id"] == sid
    assert (row["rule_id"], row["severity"], row["status"], row["family"], row["resource_id"],
            row["resource_name"]) == ("T-AGE-001", "high", "fail", "api_keys", "k-old", "old ci key")
    assert json.loads(row["evidence"]) == {"created_at": "2026-01-05T00:00:00Z", "age_days": 326}
    assert json.loads(row["frameworks"]) == {"soc2": ["CC6.1"], "iso27001": ["A.5.17"]}
    assert row["waiver"] is None and row["first_seen"] == parse_ts(TAKEN)


def test_first_seen_across_three_snapshots_in_any_audit_order(tmp_path, db):
    rules = tmp_path / "r"
    write_rule(rules, "T-EXP-001", NO_EXPIRY_SQL)
    k1 = api_key("always", id="k1", created_at=TAKEN, expires_at=None)
    k2 = api_key("later", id="k2", created_at=TAKEN, expires_at=None)
    s1 = snapshot(db, {"api_keys": [k1]}, taken_at="2026-09-01T00:00:00Z")
    s2 = snapshot(db, {"api_keys": [k1, k2]}, taken_at="2026-10-01T00:00:00Z")
    s3 = snapshot(db, {"api_keys": [k1, k2]}, taken_at="2026-11-01T00:00:00Z")
    r3 = audit(db, s3, rules=catalog(rules))      # nothing earlier is stored yet
    assert {f.resource_id: f.first_seen for f in r3.findings} == {"k1": parse_ts("2026-11-01T00:00:00Z"),
                                                                  "k2": parse_ts("2026-11-01T00:00:00Z")}
    audit(db, s1, rules=catalog(rules))
    r2 = audit(db, s2, rules=catalog(rules))
    assert {f.resource_id: f.first_seen for f in r2.findings} == {"k1": parse_ts("2026-09-01T00:00:00Z"),
                                                                  "k2": parse_ts("2026-10-01T00:00:00Z")}
    # rows stored earlier were corrected when older snapshots were audited
    assert _stored(db, "SELECT resource_id, first_seen FROM findings WHERE snapshot_id = ? ORDER BY 1", [s3]) == [
        ("k1", parse_ts("2026-09-01T00:00:00Z")), ("k2", parse_ts("2026-10-01T00:00:00Z"))]
    assert audit(db, s3, rules=catalog(rules), store=False).findings[0].first_seen == parse_ts("2026-09-01T00:00:00Z")
    # re-auditing s1 without the rule drops its finding: later rows now first saw k1 in s2
    audit(db, s1, rules=[r for r in catalog(rules) if r.id != "T-EXP-001"])
    assert _stored(db, "SELECT DISTINCT first_seen FROM findings WHERE resource_id = 'k1'") == [
        (parse_ts("2026-10-01T00:00:00Z"),)]


# ---------------------------------------------------------------- selection and thresholds

def test_only_and_skip_by_glob_family_and_comma_lists(tmp_path, db):
    rules = standard_rules(tmp_path / "r")
    snapshot(db)

    def evaluated(**kw):
        return sorted(r.rule.id for r in audit(db, rules=catalog(rules), **kw).rules)

    assert evaluated(only=["T-*-001"], skip=["T-AGE-*"]) == ["T-EXP-001", "T-PRV-001"]
    assert evaluated(only=["providers"]) == ["T-PRV-001"]
    assert evaluated(only=["T-AGE-001,T-PRV-001"]) == ["T-AGE-001", "T-PRV-001"]
    assert evaluated(skip=["api_keys", "waivers"]) == ["T-PRV-001"]
    with pytest.raises(UsageError, match="--only T-NOPE-\\*: matches no rule id"):
        audit(db, rules=catalog(rules), only=["T-NOPE-*"])


@pytest.mark.parametrize("fail_on, code", [
    (None, 0), ("none", 0), ("info", 1), ("low", 1), ("high", 1), ("critical", 0),
])
def test_fail_on_thresholds(tmp_path, db, fail_on, code):
    rules = tmp_path / "r"
    write_rule(rules, "T-EXP-001", NO_EXPIRY_SQL, severity="high")
    snapshot(db)
    result = audit(db, rules=catalog(rules), fail_on=fail_on)   # one open finding, severity high
    assert result.exit_code == code
    assert result.summary()["exit_code"] == code


def test_exit_code_precedence_error_over_findings(tmp_path, db):
    rules = standard_rules(tmp_path / "r")
    snapshot(db, failed=["providers"])
    result = audit(db, rules=catalog(rules), fail_on="critical")
    assert result.at_or_above_fail_on() and result.errors
    assert result.exit_code == 4


def test_json_shape_is_exactly_the_design(tmp_path, db):
    rules = standard_rules(tmp_path / "r")
    snapshot(db)
    out = audit(db, rules=catalog(rules), fail_on="high").to_dict()
    assert list(out) == ["snapshot", "rule_selection", "summary", "rules", "findings"]
    assert {"id", "taken_at", "status"} <= set(out["snapshot"])
    assert out["summary"]["by_severity"]["critical"] == {"fail": 1, "waived": 0}
    assert out["summary"]["by_status"] == {"fail": 3, "waived": 0}
    assert out["summary"]["rules"] == {"evaluated": 5, "passed": 2, "failed": 3, "error": 0, "skipped": 0}
    for r in out["rules"]:
        assert list(r) == ["rule_id", "status", "checked", "failed", "error", "reason"]
    for f in out["findings"]:
        assert list(f) == ["fingerprint", "rule_id", "title", "severity", "status", "family", "resource_id",
                           "resource_name", "message", "evidence", "frameworks", "snapshot_id", "first_seen",
                           "waiver"]
    # critical first
    assert [f["severity"] for f in out["findings"]] == ["critical", "high", "low"]


# ---------------------------------------------------------------- needs_previous

NEW_KEYS_SQL = """
SELECT k.id AS resource_id, k.name AS resource_name,
       'key ' || k.name || ' was added since snapshot ' || $previous_snapshot_id AS message
FROM api_keys k WHERE k.id NOT IN (SELECT id FROM prev_api_keys)
"""


def test_needs_previous_compares_with_the_previous_snapshot(tmp_path, db):
    rules = tmp_path / "r"
    write_rule(rules, "T-NEW-001", NEW_KEYS_SQL, needs_previous=True)
    s1 = snapshot(db, {"api_keys": [api_key("one", id="k1", created_at=TAKEN)]}, taken_at="2026-11-01T00:00:00Z")
    only = audit(db, s1, rules=chosen(rules, "T-NEW-001"))
    res = by_rule(only)["T-NEW-001"]
    assert (res.status, res.note, only.findings) == ("skip", "no previous snapshot to compare", [])
    s2 = snapshot(db, {"api_keys": [api_key("one", id="k1", created_at=TAKEN),
                                    api_key("two", id="k2", created_at=TAKEN)]},
                  taken_at="2026-11-02T00:00:00Z")
    second = audit(db, s2, rules=chosen(rules, "T-NEW-001"))
    assert ids(second) == ["k2"] and second.findings[0].message == f"key two was added since snapshot {s1}"
    assert second.snapshot["previous_id"] == s1
    # a snapshot stored later but taken earlier is not "previous" for s2 ... but it is for nothing else
    s0 = snapshot(db, {"api_keys": []}, taken_at="2026-10-01T00:00:00Z")
    assert ids(audit(db, s2, rules=chosen(rules, "T-NEW-001"))) == ["k2"]
    assert ids(audit(db, s1, rules=chosen(rules, "T-NEW-001"))) == ["k1"]
    assert audit(db, s0, rules=chosen(rules, "T-NEW-001")).rules[0].note is not None


def test_needs_previous_with_a_failed_family_in_the_previous_snapshot_is_an_error(tmp_path, db):
    rules = tmp_path / "r"
    write_rule(rules, "T-NEW-001", NEW_KEYS_SQL, needs_previous=True)
    s1 = snapshot(db, {}, taken_at="2026-11-01T00:00:00Z", failed=["api_keys"])
    snapshot(db, {"api_keys": [api_key("one", id="k1", created_at=TAKEN)]}, taken_at="2026-11-02T00:00:00Z")
    result = audit(db, rules=chosen(rules, "T-NEW-001"))
    assert result.rules[0].status == "error" and result.exit_code == 4
    assert result.rules[0].error == f"family api_keys was not collected in the previous snapshot {s1}: " \
                                    "simulated failure"



def test_rulekit_runs_rules_through_the_engine(tmp_path):
    from tests.rulekit import run_rule

    rules = standard_rules(tmp_path / "r")
    rows = run_rule(tmp_path, "T-AGE-001", org(), params={"max_age_days": 20}, rules_root=rules)
    assert sorted(r["resource_id"] for r in rows) == ["k-new", "k-old"]
    assert {"age_days", "created_at", "message"} <= set(rows[0])
    with pytest.raises(AssertionError, match="family providers was not collected"):
        run_rule(tmp_path, "T-PRV-001", org(), failed=["providers"], rules_root=rules)
    with pytest.raises(ConfigError, match="no parameter 'max_age'"):
        run_rule(tmp_path, "T-AGE-001", org(), params={"max_age": 1}, rules_root=rules)


def test_evidence_keeps_types_and_one_finding_per_resource(tmp_path, db):
    rules = tmp_path / "r"
    write_rule(rules, "T-EV-001", """
        SELECT id AS resource_id, name AS resource_name, 'issue ' || n AS message,
               raw, created_at, created_at + INTERVAL 1 MICROSECOND AS later, scopes,
               CAST(NULL AS VARCHAR) AS nothing, 1.5::DECIMAL(4, 2) AS ratio, n
        FROM api_keys, range(2) r(n)""")   # two rows per key: one finding each, the first by message
    k = api_key("one", id="k1", created_at="2026-01-05T10:00:00Z", scopes=["read"])
    snapshot(db, {"api_keys": [k]})
    result = audit(db, rules=chosen(rules, "T-EV-001"))
    (f,) = result.findings
    assert f.message == "issue 0" and result.rules[0].failed == 1
    assert f.evidence == {"raw": k, "created_at": "2026-01-05T10:00:00Z", "later": "2026-01-05T10:00:00.000001Z",
                          "scopes": ["read"], "nothing": None, "ratio": 1.5, "n": 0}


def test_report_order_is_the_same_with_and_without_waivers(tmp_path, db):
    from gwaudit.rules.engine import _order

    rules = standard_rules(tmp_path / "r")
    keys = [api_key(name, id=f"k{i}", created_at=TAKEN, expires_at=None)
            for i, name in enumerate(["b", "B", "é", "a b", "Z"])]
    snapshot(db, org(api_keys=keys))
    plain = audit(db, rules=catalog(rules))            # order comes from SQL
    assert [f.resource_name for f in plain.findings if f.rule_id == "T-EXP-001"] == ["B", "Z", "a b", "b", "é"]
    assert plain.findings == sorted(plain.findings, key=_order)
    waived = audit(db, rules=catalog(rules), waivers=[{"rule_id": "T-EXP-001", "resource_name": "B",
                                                      "justification": "j", "owner": "o", "expires": "2027-01-01"}])
    assert [(f.resource_name, f.status) for f in waived.findings if f.rule_id == "T-EXP-001"] == [
        ("Z", "fail"), ("a b", "fail"), ("b", "fail"), ("é", "fail"), ("B", "waived")]
    assert waived.findings == sorted(waived.findings, key=_order)
