"""``gwaudit audit`` and ``gwaudit rules list|show`` as a user runs them."""

from __future__ import annotations

import csv
import io
import json

import pytest
import yaml
from click.testing import CliRunner

from gwaudit.cli import cli, main
from tests.enginekit import catalog, org, snapshot, standard_rules, write_rule
from tests.factories.keys import api_key


def run(capsys, *args):
    from unittest import mock

    argv = [str(a) for a in args]
    if "audit" in argv and "--only" not in argv:
        # the test rules as the whole catalog, not the built-in one whatever it holds (an --only selection
        # would be a partial audit, which is not stored)
        with mock.patch("gwaudit.rules.catalog.builtin_rules_dir", return_value=None):
            code = main(argv)
    else:
        code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def setup(tmp_path, db):
    rules = standard_rules(tmp_path / "r")
    snapshot(db)
    return db, rules


def test_table_is_grouped_by_severity_and_fits_80_columns(capsys, setup):
    db, rules = setup
    code, out, err = run(capsys, "--db", db, "audit", "--rules-dir", rules)
    assert code == 0 and err == ""
    lines = out.splitlines()
    heads = [ln for ln in lines if ln.split(" (")[0] in ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO")]
    assert heads == ["CRITICAL (1)", "HIGH (1)", "LOW (1)"]
    assert lines.index("CRITICAL (1)") < lines.index("  T-EXP-001  api_keys: forever") < lines.index("HIGH (1)")
    assert "key old ci key is 326 days old (limit 90)" in out
    assert max(len(ln) for ln in lines) <= 80
    assert "\x1b[" not in out                        # no colour when not on a terminal
    from gwaudit.rules import audit
    from gwaudit.rules.render import audit_table
    from gwaudit.formats import RenderContext
    from gwaudit.report.data import from_audit
    import click
    assert "\x1b[" in audit_table(from_audit(audit(db, rules=catalog(rules), store=False)), RenderContext(style=click.style))


def test_json_goes_to_stdout_alone(capsys, setup):
    db, rules = setup
    code, out, err = run(capsys, "--db", db, "audit", "--rules-dir", rules, "--format", "json")
    doc = json.loads(out)
    assert code == 0 and err == ""
    assert list(doc) == ["snapshot", "rule_selection", "summary", "rules", "findings"]
    assert sorted(f["resource_id"] for f in doc["findings"]) == ["k-forever", "k-old", "p-off"]


def test_csv_neutralises_formulas_and_flattens_frameworks(capsys, tmp_path, db):
    rules = standard_rules(tmp_path / "r")
    snapshot(db, org(api_keys=[api_key('=HYPERLINK("http://evil.example","x")', id="k-x",
                                       created_at="2026-01-01T00:00:00Z")]))
    code, out, _ = run(capsys, "--db", db, "audit", "--rules-dir", rules, "--format", "csv", "--only", "T-AGE-001")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and len(rows) == 1
    row = rows[0]
    assert row["resource_name"] == '\'=HYPERLINK("http://evil.example","x")'
    assert row["message"].startswith("key =HYPERLINK")   # not at the start of the cell: harmless
    assert row["frameworks"] == "soc2:CC6.1;iso27001:A.5.17"
    assert json.loads(row["evidence"])["age_days"] == 330
    assert list(row) == ["fingerprint", "rule_id", "title", "severity", "status", "family", "resource_id",
                         "resource_name", "message", "evidence", "frameworks", "snapshot_id", "first_seen", "waiver"]


def test_fail_on_flag_and_config(capsys, tmp_path, setup):
    db, rules = setup
    assert run(capsys, "--db", db, "audit", "--rules-dir", rules, "--fail-on", "high")[0] == 1
    assert run(capsys, "--db", db, "audit", "--rules-dir", rules, "--fail-on", "critical",
               "--skip", "T-EXP-001")[0] == 0
    config = tmp_path / "gwaudit.toml"
    config.write_text('[audit]\nfail_on = "low"\n')
    assert run(capsys, "--config", config, "--db", db, "audit", "--rules-dir", rules)[0] == 1
    # the flag wins over the file
    assert run(capsys, "--config", config, "--db", db, "audit", "--rules-dir", rules, "--fail-on", "none")[0] == 0


def test_config_rules_dirs_params_and_waivers(capsys, tmp_path, setup):
    db, rules = setup
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(yaml.safe_dump([{"rule_id": "T-EXP-001", "resource_id": "k-forever", "justification": "j",
                                        "owner": "o", "expires": "2027-01-01"}]))
    config = tmp_path / "gwaudit.toml"
    config.write_text(f'[rules]\ndirs = ["{rules.name}"]\n[rules.T-AGE-001]\nmax_age_days = 20\n'
                      f'[waivers]\nfile = "waivers.yaml"\n[audit]\nfail_on = "critical"\n')
    code, out, _ = run(capsys, "--config", config, "--db", db, "audit", "--format", "json")
    doc = json.loads(out)
    assert code == 0                                   # the critical finding is waived
    assert sorted(f["resource_id"] for f in doc["findings"] if f["rule_id"] == "T-AGE-001") == ["k-new", "k-old"]
    assert [f["status"] for f in doc["findings"] if f["rule_id"] == "T-EXP-001"] == ["waived"]
    config.write_text(f'[rules]\ndirs = ["{rules.name}"]\n[rules.T-AGE-001]\nmax_days = 20\n')
    code, out, err = run(capsys, "--config", config, "--db", db, "audit")
    assert code == 2 and out == ""
    assert "error: [rules.T-AGE-001] max_days: T-AGE-001 has no parameter 'max_days'" in err


def test_rule_error_exits_4_but_prints_and_stores_everything(capsys, tmp_path, db):
    rules = standard_rules(tmp_path / "r")
    snapshot(db, failed=["providers"])
    code, out, err = run(capsys, "--db", db, "audit", "--rules-dir", rules, "--format", "json", "--fail-on", "high")
    doc = json.loads(out)
    assert code == 4
    assert {r["rule_id"]: r["status"] for r in doc["rules"]}["T-PRV-001"] == "error"
    assert len(doc["findings"]) == 2
    assert "evidence incomplete: 1 rule(s) could not be evaluated: T-PRV-001" in err
    code, out, _ = run(capsys, "--db", db, "audit", "--rules-dir", rules)
    assert code == 4 and "RULE ERRORS (1)" in out and "family providers was not collected" in out
    code, out, _ = run(capsys, "--db", db, "sql", "SELECT count(*) AS n FROM latest_findings", "--format", "json")
    assert json.loads(out) == [{"n": 2}]


def test_snapshot_option_and_usage_errors(capsys, tmp_path, setup):
    db, rules = setup
    snapshot(db, {"api_keys": []}, taken_at="2026-11-28T00:00:00Z")
    code, out, _ = run(capsys, "--db", db, "audit", "--rules-dir", rules, "--snapshot", "previous", "--format", "json")
    assert code == 0 and json.loads(out)["snapshot"]["id"] == 1 and len(json.loads(out)["findings"]) == 3
    code, out, _ = run(capsys, "--db", db, "audit", "--rules-dir", rules, "--snapshot", "2026-11-27", "--format",
                       "json")
    assert json.loads(out)["snapshot"]["id"] == 1
    code, _, err = run(capsys, "--db", db, "audit", "--rules-dir", rules, "--snapshot", "9")
    assert code == 2 and "no snapshot with id 9" in err
    code, _, err = run(capsys, "--db", db, "audit", "--rules-dir", rules, "--only", "GW-NOPE-*")
    assert code == 2 and "--only GW-NOPE-*: matches no rule id" in err
    code, _, err = run(capsys, "--db", tmp_path / "none.duckdb", "audit", "--rules-dir", rules)
    assert code == 2 and "no database at" in err


def test_bad_rule_file_exits_2_naming_it(capsys, tmp_path, setup):
    db, rules = setup
    write_rule(rules, "T-NOW-001", "SELECT id AS resource_id, name AS resource_name, 'x' AS message "
                                   "FROM api_keys WHERE expires_at < now()")
    code, out, err = run(capsys, "--db", db, "audit", "--rules-dir", rules)
    assert code == 2 and out == ""
    assert "T-NOW-001.yaml: sql: uses now(); use $now instead" in err


# ---------------------------------------------------------------- rules list / show

def test_rules_list_table_and_json(tmp_path):
    rules = standard_rules(tmp_path / "r")
    runner = CliRunner()
    result = runner.invoke(cli, ["rules", "list", "--rules-dir", str(rules)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["id", "severity", "title", "frameworks"]
    assert any(ln.startswith("T-AGE-001") and "high" in ln and "SOC2,27001" in ln for ln in lines)
    assert max(len(ln) for ln in lines) <= 80
    assert any(ln.startswith("GW-WAIVER-001") and "medium" in ln for ln in lines)
    result = runner.invoke(cli, ["rules", "list", "--rules-dir", str(rules), "--format", "json"])
    doc = {r["id"]: r for r in json.loads(result.output)}
    assert doc["T-PRV-001"] == {"id": "T-PRV-001", "severity": "low", "class": None, "title": "Test rule T-PRV-001",
                                "families": ["providers"], "frameworks": {"nist_800_53": ["CM-6"]},
                                "origin": "user"}
    assert doc["GW-WAIVER-002"]["origin"] == "engine"
    assert doc["GW-WAIVER-002"]["class"] == "hygiene"
    assert doc["GW-KEY-001"]["class"] == "exposure"


def test_rules_show_everything_with_effective_params(tmp_path):
    rules = standard_rules(tmp_path / "r")
    config = tmp_path / "gwaudit.toml"
    config.write_text("[rules.T-AGE-001]\nmax_age_days = 60\n")
    runner = CliRunner()
    result = runner.invoke(cli, ["--config", str(config), "rules", "show", "T-AGE-001", "--rules-dir", str(rules)])
    assert result.exit_code == 0, result.output
    out = result.output
    for text in ("T-AGE-001  [high]  Test rule T-AGE-001", "description:", "What the rule checks.", "risk:",
                 "remediation:", "How to fix it.", "https://docs.barndoor.ai/",
                 "SOC 2: AICPA TSC 2017 (rev. 2022 points of focus) [soc2]", "CC6.1  Logical access security",
                 "ISO/IEC 27001:2022 [iso27001]", "A.5.17  Authentication information",
                 "why: no rationale given", "max_age_days = 60  [default 90]", "date_diff('day', created_at, $now)"):
        assert text in out, text
    result = runner.invoke(cli, ["rules", "show", "GW-WAIVER-001", "--format", "json"])
    doc = json.loads(result.output)
    assert doc["severity"] == "medium" and doc["frameworks"]["nist_800_53"] == ["CA-5"] and doc["origin"] == "engine"
    assert doc["rationale"]["nist_800_53"]["CA-5"].startswith("the plan of action and milestones is updated")
    assert {"framework": "nist_800_53", "heading": "NIST SP 800-53 Rev. 5", "id": "CA-5",
            "title": "Plan of Action and Milestones",
            "why": doc["rationale"]["nist_800_53"]["CA-5"]} in doc["mappings"]
    result = runner.invoke(cli, ["rules", "show", "GW-NOPE-001"])
    assert result.exit_code != 0 and "no rule GW-NOPE-001" in str(result.exception)


# ---------------------------------------------------------------- README examples stay true

def _readme_block(after: str, lang: str) -> str:
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    start = text.index(f"```{lang}\n", text.index(after)) + len(lang) + 4
    return text[start:text.index("```", start)]


def test_readme_rule_and_waiver_examples_work(capsys, tmp_path, db):
    rules = tmp_path / "my-rules"
    rules.mkdir()
    (rules / "ACME-KEY-001.yaml").write_text(_readme_block("### Writing a rule", "yaml"))
    waivers = yaml.safe_load(_readme_block("### Waivers", "yaml"))
    waivers[0].update(rule_id="ACME-KEY-001", resource_id="k-old")
    (tmp_path / "waivers.yaml").write_text(yaml.safe_dump(waivers))
    snapshot(db)
    code, out, _ = run(capsys, "--db", db, "audit", "--rules-dir", rules, "--format", "json",
                       "--waivers", tmp_path / "waivers.yaml", "--only", "ACME-*,GW-WAIVER-*")
    doc = json.loads(out)
    assert code == 0
    (acme,) = [f for f in doc["findings"] if f["rule_id"] == "ACME-KEY-001"]
    assert acme["message"] == "key old ci key is 326 days old (limit 90)" and acme["status"] == "waived"
    assert [f["resource_id"] for f in doc["findings"] if f["rule_id"] == "GW-WAIVER-002"] == ["waiver:2"]


def test_builtin_catalog_evaluates_without_errors_on_the_sample_org(capsys, db):
    from gwaudit.db.ingest import import_folder
    from gwaudit.resources import sample_snapshots
    from gwaudit.rules import load_rules

    for folder in sample_snapshots():
        import_folder(db, folder)
    code, out, err = run(capsys, "--db", db, "audit", "--format", "json", "--only", "*")
    doc = json.loads(out)
    assert code == 0, err
    assert {r["rule_id"] for r in doc["rules"]} == {r.id for r in load_rules()}
    assert [r for r in doc["rules"] if r["status"] == "error"] == []
