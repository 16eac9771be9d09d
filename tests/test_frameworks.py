"""The control catalogs, the mapping concepts, the loader's validation of mapped ids, and
control_results (the one function deciding a control's status)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from gwaudit.errors import ConfigError
from gwaudit.frameworks import (SOC2_CATEGORIES, Scope, control_results, load_catalog, load_concepts,
                                read_catalog_file, shipped_catalog, use_catalog_dir)
from gwaudit.frameworks.catalog import DATA_DIR
from gwaudit.rules import load_rule_file, load_rules
from gwaudit.rules.catalog import builtin_rules_dir
from gwaudit.rules.engine_rules import engine_rules

CATALOG = shipped_catalog()


# ---------------------------------------------------------------- the shipped catalogs

def test_each_framework_has_its_file_with_name_version_and_source():
    files = sorted(p.name for p in DATA_DIR.glob("*.yaml"))
    assert files == ["iso27001_2022.yaml", "iso42001_2023.yaml", "nist_800_53_rev5.yaml", "soc2_tsc_2017.yaml"]
    headings = {k: fw.heading for k, fw in CATALOG.frameworks.items()}
    assert headings == {"soc2": "SOC 2: AICPA TSC 2017 (rev. 2022 points of focus)",
                        "iso27001": "ISO/IEC 27001:2022", "nist_800_53": "NIST SP 800-53 Rev. 5",
                        "iso42001": "ISO/IEC 42001:2023"}
    for fw in CATALOG.frameworks.values():
        assert fw.name and fw.version and fw.version in fw.heading and len(fw.source) > 40
        assert all(c.title and c.title == c.title.strip() for c in fw.controls.values())


def test_iso27001_2022_is_annex_a_exactly():
    ids = list(CATALOG["iso27001"].controls)
    expected = ([f"A.5.{i}" for i in range(1, 38)] + [f"A.6.{i}" for i in range(1, 9)]
                + [f"A.7.{i}" for i in range(1, 15)] + [f"A.8.{i}" for i in range(1, 35)])
    assert ids == expected and len(ids) == 93
    fw = CATALOG["iso27001"]
    assert fw.get("A.5.15").title == "Access control" and fw.get("A.8.32").title == "Change management"
    assert fw.get("A.8.9").title == "Configuration management"
    assert CATALOG.problem("iso27001", "A.8.99") == "A.8.99 is not a control of ISO/IEC 27001:2022"
    assert "not a control" in CATALOG.problem("iso27001", "A.9.2.3")  # a 2013 id


def test_iso42001_2023_annex_a_has_its_38_controls():
    ids = list(CATALOG["iso42001"].controls)
    assert len(ids) == 38 and ids[0] == "A.2.2" and ids[-1] == "A.10.4"
    assert "A.6.2.6" in ids and "A.9.4" in ids and "A.10.3" in ids and "A.6.1.1" not in ids
    assert CATALOG["iso42001"].get("A.6.2.6").title == "AI system operation and monitoring"


def test_soc2_criteria_each_have_their_category():
    fw = CATALOG["soc2"]
    by_cat = {c: [x.id for x in fw.controls.values() if x.category == c] for c in SOC2_CATEGORIES}
    assert len(by_cat["security"]) == 33 and all(i.startswith("CC") for i in by_cat["security"])
    assert by_cat["availability"] == ["A1.1", "A1.2", "A1.3"]
    assert by_cat["confidentiality"] == ["C1.1", "C1.2"]
    assert by_cat["processing_integrity"] == [f"PI1.{i}" for i in range(1, 6)]
    assert len(by_cat["privacy"]) == 18 and all(re.fullmatch(r"P[1-8]\.\d", i) for i in by_cat["privacy"])
    assert sum(len(v) for v in by_cat.values()) == len(fw.controls) == 61


def test_nist_800_53_rev5_holds_every_control_with_real_titles_and_withdrawals():
    fw = CATALOG["nist_800_53"]
    ids = list(fw.controls)
    assert len(ids) == 1189 and len(fw.in_force()) == 1007
    assert all(re.fullmatch(r"[A-Z]{2}-\d+(\(\d+\))?", i) for i in ids)
    assert {i.split("-")[0] for i in ids} == set("AC AT AU CA CM CP IA IR MA MP PE PL PM PS PT RA SA SC SI SR".split())
    assert fw.get("AC-2").title == "Account Management"
    assert fw.get("AC-2(3)").title == "Account Management | Disable Accounts"
    assert fw.get("CM-8(1)").title == "System Component Inventory | Updates During Installation and Removal"
    assert fw.get("CM-8(3)").title == "System Component Inventory | Automated Unauthorized Component Detection"
    assert fw.get("SI-13(5)").title == "Predictable Failure Prevention | Failover Capability"
    assert fw.get("SA-9").title == "External System Services" and fw.get("SC-6").title == "Resource Availability"
    assert fw.get("IA-2").title == "Identification and Authentication (Organizational Users)"  # 5.1.1's casing
    withdrawn = [c for c in fw.controls.values() if c.withdrawn]
    assert len(withdrawn) == 182
    assert fw.get("AC-2(10)").withdrawn and fw.get("AC-2(10)").replaced_by == ("AC-2",)
    assert fw.get("SA-12").replaced_by == ("SR",)  # moved to a whole family
    for c in withdrawn:
        assert all(r in fw.controls and not fw.get(r).withdrawn or re.fullmatch(r"[A-Z]{2}", r)
                   for r in c.replaced_by), c
    assert CATALOG.problem("nist_800_53", "AC-2(10)") == ("AC-2(10) (Account Management | Shared and Group "
                                                          "Account Credential Change) is withdrawn in NIST SP "
                                                          "800-53 Rev. 5; use AC-2 instead")
    assert "did you mean CM-8(1)?" in CATALOG.problem("nist_800_53", "CM-8.1")


# ---------------------------------------------------------------- every mapping of the rule catalog

def _all_rules():
    return load_rules(catalog=CATALOG)


def test_every_mapping_of_every_rule_is_a_control_in_force_with_a_rationale():
    rules = _all_rules()
    shipped = sorted(builtin_rules_dir().rglob("GW-*.yaml"))
    assert len(rules) == len(shipped) + len(engine_rules()) >= 61 and {r.id for r in engine_rules()} <= {r.id for r in rules}
    for rule in rules:
        assert rule.frameworks, rule.id
        for fw, ids in rule.frameworks.items():
            for cid in ids:
                assert CATALOG.problem(fw, cid) is None, (rule.id, CATALOG.problem(fw, cid))
                why = rule.why(fw, cid)
                assert why and len(why) >= 40 and "\n" not in why, (rule.id, fw, cid, why)
        assert set(rule.rationale) <= set(rule.frameworks)


def test_every_rule_maps_to_a_criterion_of_a_security_only_soc2():
    for rule in _all_rules():
        cats = {CATALOG["soc2"].get(c).category for c in rule.frameworks.get("soc2", [])}
        assert "security" in cats, rule.id


def test_the_mappings_the_issue_found_wrong_are_fixed():
    rules = {r.id: r for r in _all_rules()}
    assert rules["GW-GOV-001"].frameworks["soc2"][0] == "CC7.1" and "A1.1" not in rules["GW-GOV-001"].frameworks["soc2"]
    drift4 = rules["GW-DRIFT-004"].frameworks["nist_800_53"]
    assert {"CM-8(3)", "SA-9"} <= set(drift4) and "CM-8(1)" not in drift4
    assert {"CC6.1"} <= set(rules["GW-ACC-005"].frameworks["soc2"])
    assert set(rules["GW-ACC-004"].frameworks["nist_800_53"]) <= set(rules["GW-ACC-005"].frameworks["nist_800_53"])
    for rid in ("GW-ROUTE-001", "GW-HEALTH-002"):
        assert "SI-13(5)" in rules[rid].frameworks["nist_800_53"] and "A1.2" in rules[rid].frameworks["soc2"]
    for rid in ("GW-HEALTH-001", "GW-HEALTH-002", "GW-HEALTH-003", "GW-HEALTH-004"):
        assert "SI-4" in rules[rid].frameworks["nist_800_53"], rid
    assert rules["GW-ROUTE-003"].frameworks.get("soc2")
    with_42001 = [r for r in rules.values() if r.frameworks.get("iso42001")]
    assert len(with_42001) >= 40


def test_rules_sharing_a_concept_share_its_mappings():
    concepts = load_concepts()
    rules = {r.id: r for r in _all_rules()}
    names = {"unpriced_route", "failover", "monitoring", "configuration_deviation", "change_control",
             "access_enforcement"}
    assert names <= set(concepts)
    assert set(concepts["unpriced_route"].rules) >= {"GW-PRICE-001", "GW-GOV-001", "GW-BUD-004", "GW-PROV-005"}
    for concept in concepts.values():
        assert concept.mappings and concept.description
        for fw, ids in concept.mappings.items():
            for cid in ids:
                assert CATALOG.problem(fw, cid) is None, (concept.name, cid)
                assert len(concept.why[(fw, cid)]) >= 40
        for rid in concept.rules:
            assert rid in rules, (concept.name, rid)
            for fw, ids in concept.mappings.items():
                missing = set(ids) - set(rules[rid].frameworks.get(fw, []))
                assert not missing, f"{rid} tests {concept.name} but lacks {fw} {sorted(missing)}"


# ---------------------------------------------------------------- the loader refuses what the catalog does not hold

RULE = """id: ACME-KEY-001
title: Machine key older than the rotation period
severity: high
families: [api_keys]
description: Active machine keys created long ago.
risk: A long-lived key that leaks stays usable.
remediation: Create a new key, then revoke the old one.
references: [https://docs.barndoor.ai/]
frameworks: {frameworks}
sql: SELECT id AS resource_id, name AS resource_name, 'old' AS message FROM api_keys
"""


def _rule(tmp_path: Path, frameworks: str, extra: str = "") -> Path:
    path = tmp_path / "ACME-KEY-001.yaml"
    path.write_text(RULE.format(frameworks=frameworks) + extra)
    return path


@pytest.mark.parametrize("frameworks, message", [
    ("{iso27001: [A.8.99]}", "frameworks.iso27001: ACME-KEY-001 maps to 'A.8.99': A.8.99 is not a control of ISO/IEC 27001:2022"),
    ("{nist_800_53: [CM-8.1]}", "'CM-8.1': CM-8.1 is not a control of NIST SP 800-53 Rev. 5 (did you mean CM-8(1)?)"),
    ("{nist_800_53: [\"AC-2(10)\"]}", "'AC-2(10)': AC-2(10) (Account Management | Shared and Group Account "
                                      "Credential Change) is withdrawn in NIST SP 800-53 Rev. 5; use AC-2 instead"),
    ("{soc2: [CC6.9]}", "frameworks.soc2: ACME-KEY-001 maps to 'CC6.9'"),
    ("{iso42001: [A.6.1.1]}", "frameworks.iso42001: ACME-KEY-001 maps to 'A.6.1.1'"),
    ("{soc2: [CC6.1, CC6.1]}", "frameworks: soc2: CC6.1 is listed twice"),
    ("{soc2: [{id: CC6.1, why: a, note: b}]}", "frameworks.soc2[0]: a mapping is a control id or {id: ..., why: ...}"),
    ("{soc2: [{id: CC6.1, why: ''}]}", "rationale.soc2.CC6.1: the reason must be one non-empty line"),
])
def test_an_unknown_withdrawn_or_malformed_mapping_is_an_error_naming_file_framework_and_id(tmp_path, frameworks,
                                                                                            message):
    path = _rule(tmp_path, frameworks)
    with pytest.raises(ConfigError) as err:
        load_rule_file(path, origin="user")
    assert str(path) in err.value.message and message in err.value.message, err.value.message


def test_a_rationale_may_be_inline_or_a_mapping_but_only_for_mapped_controls(tmp_path):
    rule = load_rule_file(_rule(tmp_path, "{soc2: [{id: CC6.1, why: keys are credentials}, CC6.2], nist_800_53: [IA-5]}",
                                "rationale: {nist_800_53: {IA-5: IA-5(f) refresh after a period}}\n"), origin="user")
    assert rule.frameworks == {"soc2": ["CC6.1", "CC6.2"], "nist_800_53": ["IA-5"]}
    assert rule.rationale == {"soc2": {"CC6.1": "keys are credentials"},
                              "nist_800_53": {"IA-5": "IA-5(f) refresh after a period"}}
    assert rule.why("soc2", "CC6.2") is None
    with pytest.raises(ConfigError, match="rationale.soc2.CC6.3: CC6.3 is not among the rule's soc2 mappings"):
        load_rule_file(_rule(tmp_path, "{soc2: [CC6.1]}", "rationale: {soc2: {CC6.3: why not}}\n"))
    with pytest.raises(ConfigError, match="the reason for CC6.1 is given twice"):
        load_rule_file(_rule(tmp_path, "{soc2: [{id: CC6.1, why: one}]}", "rationale: {soc2: {CC6.1: two}}\n"))


# ---------------------------------------------------------------- [frameworks] catalog_dir

FULLER_ISO = """framework: iso27001
name: ISO/IEC 27001
version: "2022"
heading: "ISO/IEC 27001:2022 (licensed text)"
source: "our licensed copy of ISO/IEC 27001:2022, with the control wording"
controls:
  A.5.99: {title: "A control our edition adds", withdrawn: false}
""" + "".join(f'  {c.id}: "{c.title} (our wording)"\n' for c in CATALOG["iso27001"].controls.values())
"""A fuller ISO/IEC 27001 file: every shipped control (the built-in rules map to them) and one more."""


def test_a_catalog_dir_file_replaces_its_framework_and_the_loader_follows_it(tmp_path):
    folder = tmp_path / "catalogs"
    folder.mkdir()
    (folder / "iso.yaml").write_text(FULLER_ISO)
    catalog = load_catalog(folder)
    assert catalog["iso27001"].heading == "ISO/IEC 27001:2022 (licensed text)"
    assert list(catalog["iso27001"].controls)[:2] == ["A.5.99", "A.5.1"]
    assert catalog["iso27001"].get("A.5.15").title == "Access control (our wording)"
    assert catalog["nist_800_53"] is CATALOG["nist_800_53"]  # the others stay the shipped ones
    path = _rule(tmp_path, "{iso27001: [A.5.99]}")
    assert load_rule_file(path, catalog=catalog).frameworks == {"iso27001": ["A.5.99"]}
    with pytest.raises(ConfigError, match="A.5.99 is not a control of ISO/IEC 27001:2022"):
        load_rule_file(path)  # the shipped catalog
    use_catalog_dir(folder)
    try:
        assert load_rule_file(path).frameworks == {"iso27001": ["A.5.99"]}
    finally:
        use_catalog_dir(None)


def test_the_cli_validates_rules_against_the_configured_catalog_dir(tmp_path):
    from click.testing import CliRunner

    from gwaudit.cli import cli, main

    folder = tmp_path / "catalogs"
    folder.mkdir()
    (folder / "iso.yaml").write_text(FULLER_ISO)
    rules = tmp_path / "rules"
    rules.mkdir()
    _rule(rules, "{iso27001: [{id: A.5.99, why: our edition's control for machine keys}]}")
    config = tmp_path / "gwaudit.toml"
    config.write_text('[frameworks]\ncatalog_dir = "catalogs"\n')
    runner = CliRunner()
    result = runner.invoke(cli, ["--config", str(config), "rules", "show", "ACME-KEY-001", "--rules-dir", str(rules)])
    assert result.exit_code == 0, result.output
    assert "ISO/IEC 27001:2022 (licensed text) [iso27001]" in result.output
    assert "A.5.99  A control our edition adds" in result.output
    # without the configuration the same rule is refused, naming file, framework and id
    assert main(["rules", "show", "ACME-KEY-001", "--rules-dir", str(rules)]) == 2


@pytest.mark.parametrize("body, message", [
    (FULLER_ISO.replace("framework: iso27001", "framework: iso9001"), "framework: 'iso9001' is not one of"),
    (FULLER_ISO.replace('heading: "ISO/IEC 27001:2022 (licensed text)"\n', ""), "heading: missing (required)"),
    (FULLER_ISO + "owner: me\n", "owner: unknown key"),
    (FULLER_ISO.replace("withdrawn: false", "withdrawn: maybe"), "controls.A.5.99.withdrawn: must be true or false"),
    (FULLER_ISO.replace("withdrawn: false", "replaced_by: [A.5.15]"), "replaced_by: only a withdrawn control"),
    (FULLER_ISO.replace("withdrawn: false", "category: security"), "only soc2 criteria have a category"),
    ("framework: soc2\nname: SOC 2\nversion: x\nheading: SOC 2 x\nsource: ours, abridged for a test\n"
     "controls:\n  CC6.1: Logical access\n", "controls.CC6.1.category: must be one of security, availability"),
])
def test_a_bad_catalog_file_is_an_error_naming_file_and_key(tmp_path, body, message):
    path = tmp_path / "c.yaml"
    path.write_text(body)
    with pytest.raises(ConfigError) as err:
        read_catalog_file(path)
    assert str(path) in err.value.message and message in err.value.message, err.value.message


def test_two_files_for_one_framework_or_a_missing_folder_are_errors(tmp_path):
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / "a.yaml").write_text(FULLER_ISO)
    (folder / "b.yaml").write_text(FULLER_ISO)
    with pytest.raises(ConfigError, match="framework: iso27001 is also defined by"):
        load_catalog(folder)
    with pytest.raises(ConfigError, match="does not exist"):
        load_catalog(tmp_path / "nowhere")


# ---------------------------------------------------------------- control_results

@dataclass
class R:
    rule_id: str
    status: str
    open: int = 0
    waived: int = 0
    frameworks: dict = field(default_factory=dict)


def _rows(rules, scope=None):
    return {(row.framework, row.control): row for fw in control_results(rules, CATALOG, scope) for row in fw.rows}


@pytest.mark.parametrize("rules, status, words", [
    ([R("A", "pass")], "no_open_findings", "no open findings in 1 mapped check"),
    ([R("A", "pass"), R("B", "pass")], "no_open_findings", "no open findings in 2 mapped checks"),
    ([R("A", "fail", 3)], "open_findings", "3 open findings"),
    ([R("A", "fail", 1), R("B", "pass")], "open_findings", "1 open finding"),
    ([R("A", "fail", 2, 1), R("B", "error")], "open_findings", "2 open findings; 1 mapped check not evaluated; "
                                                               "1 finding waived"),
    ([R("A", "error"), R("B", "pass")], "not_evaluated", "not evaluated (1 of 2 mapped checks could not run)"),
    ([R("A", "error")], "not_evaluated", "not evaluated"),
    ([R("A", "error"), R("B", "fail", 0, 2)], "not_evaluated", "not evaluated (1 of 2 mapped checks could not run); "
                                                              "2 findings waived"),
    ([R("A", "fail", 0, 4)], "waived", "waived (4 findings)"),
    ([R("A", "fail", 0, 1), R("B", "pass")], "waived", "waived (1 finding)"),
    ([R("A", "skip")], "skipped", "skipped"),
    ([R("A", "skip"), R("B", "skip")], "skipped", "skipped"),
    ([R("A", "skip"), R("B", "pass")], "no_open_findings", "no open findings in 1 mapped check; 1 skipped"),
    ([R("A", "skip"), R("B", "fail", 1)], "open_findings", "1 open finding; 1 skipped"),
    ([R("A", "skip"), R("B", "error")], "not_evaluated", "not evaluated (1 of 2 mapped checks could not run); 1 skipped"),
    ([R("A", "fail")], "open_findings", "failing check"),  # a failure whose findings were not counted
])
def test_a_controls_status_and_words_follow_its_rules(rules, status, words):
    for r in rules:
        r.frameworks = {"iso27001": ["A.8.9"]}
    row = _rows(rules)[("iso27001", "A.8.9")]
    assert (row.status, row.words) == (status, words)
    assert "pass" not in row.words.split()
    assert row.rule_ids == sorted(r.rule_id for r in rules)
    assert row.checks == sum(r.status in ("pass", "fail") for r in rules)
    assert row.not_evaluated == sum(r.status == "error" for r in rules)
    assert row.skipped == sum(r.status == "skip" for r in rules)
    assert (row.open, row.waived) == (sum(r.open for r in rules), sum(r.waived for r in rules))


def test_skip_never_makes_a_control_look_passed():
    rows = _rows([R("A", "skip", frameworks={"soc2": ["CC8.1"]})])
    assert rows[("soc2", "CC8.1")].status == "skipped" and rows[("soc2", "CC8.1")].checks == 0


def test_rows_carry_titles_in_catalog_order_and_coverage_counts_controls_in_force():
    rules = [R("A", "pass", frameworks={"nist_800_53": ["SI-4", "AC-2(3)", "AC-2", "CM-8(3)"], "soc2": ["CC6.1"]}),
             R("B", "fail", 2, frameworks={"nist_800_53": ["AC-2"], "soc2": ["A1.2", "CC6.1"]})]
    results = {fw.key: fw for fw in control_results(rules, CATALOG)}
    assert list(results) == ["soc2", "iso27001", "nist_800_53", "iso42001"]
    nist = results["nist_800_53"]
    assert [r.control for r in nist.rows] == ["AC-2", "AC-2(3)", "CM-8(3)", "SI-4"]
    assert nist.rows[0].title == "Account Management" and nist.rows[0].status == "open_findings"
    assert (nist.touched, nist.in_catalog) == (4, 1007)
    assert nist.coverage == ("Coverage: 4 of 1007 controls and enhancements in the catalog are touched by a mapped "
                             "check (0.4%).")
    assert results["soc2"].coverage == "Coverage: 2 of 61 criteria in the catalog are touched by a mapped check (3%)."
    assert results["iso27001"].rows == [] and results["iso27001"].touched == 0


def test_an_id_the_catalog_does_not_hold_or_withdrew_is_a_row_but_not_coverage():
    rows = control_results([R("A", "pass", frameworks={"nist_800_53": ["AC-2(10)", "XX-1", "AC-3"]})], CATALOG)
    nist = rows[2]
    by_id = {r.control: r for r in nist.rows}
    assert [r.control for r in nist.rows] == ["AC-2(10)", "AC-3", "XX-1"]
    assert by_id["XX-1"].title == "(not in the catalog)" and not by_id["XX-1"].known
    assert by_id["AC-2(10)"].withdrawn and by_id["AC-2(10)"].title.endswith("(withdrawn)")
    assert nist.touched == 1


def test_a_security_only_scope_keeps_the_common_criteria_and_says_what_it_leaves_out():
    rules = [R("GW-BUD-001", "fail", 1, frameworks={"soc2": ["A1.1"], "iso27001": ["A.8.6"]}),
             R("GW-ROUTE-001", "pass", frameworks={"soc2": ["CC9.1", "A1.2"]}),
             R("GW-PRICE-001", "pass", frameworks={"soc2": ["PI1.3", "CC7.1"]})]
    scope = Scope.parse(["security"])
    soc2 = control_results(rules, CATALOG, scope)[0]
    assert [r.control for r in soc2.rows] == ["CC7.1", "CC9.1"]
    assert [(e.control, e.category, e.rule_ids) for e in soc2.excluded] == [
        ("A1.1", "availability", ["GW-BUD-001"]), ("A1.2", "availability", ["GW-ROUTE-001"]),
        ("PI1.3", "processing_integrity", ["GW-PRICE-001"])]
    assert soc2.rules_out_of_scope == ["GW-BUD-001"]
    assert (soc2.touched, soc2.in_catalog) == (2, 33)
    assert soc2.coverage == "Coverage: 2 of 33 criteria in scope are touched by a mapped check (6%)."
    assert soc2.scope_note == ("SOC 2 categories in scope: security (not in scope: availability, processing "
                               "integrity, confidentiality, privacy)")
    iso = control_results(rules, CATALOG, scope)[1]
    assert [r.control for r in iso.rows] == ["A.8.6"] and not iso.excluded  # only SOC 2 has categories
    everything = control_results(rules, CATALOG)[0]
    assert len(everything.rows) == 5 and not everything.excluded and everything.scope_note is None


@pytest.mark.parametrize("values, expected", [
    (None, SOC2_CATEGORIES), ([], SOC2_CATEGORIES), (["security"], ("security",)),
    (["availability, security"], ("security", "availability")),
    (["Security", "processing-integrity"], ("security", "processing_integrity")),
])
def test_scope_parsing(values, expected):
    assert Scope.parse(values).soc2_categories == expected


@pytest.mark.parametrize("values, message", [
    (["security,avail"], "SOC 2 category 'avail' is not one of"),
    (["availability"], "must include security"),
])
def test_a_bad_scope_is_a_config_error(values, message):
    with pytest.raises(ConfigError, match=message):
        Scope.parse(values)


def test_concepts_file_and_catalog_files_are_plain_yaml_the_package_ships():
    # shipped inside the package folder, so the wheel (hatch: packages = ["src/gwaudit"]) carries them
    import gwaudit

    pkg = Path(gwaudit.__file__).parent / "frameworks"
    assert (pkg / "concepts.yaml").is_file() and len(list((pkg / "data").glob("*.yaml"))) == 4
    assert yaml.safe_load((pkg / "concepts.yaml").read_text())


def test_config_check_reads_the_catalog_dir_and_names_a_bad_file(tmp_path, capsys):
    from gwaudit.cli import main

    folder = tmp_path / "catalogs"
    folder.mkdir()
    (folder / "iso.yaml").write_text(FULLER_ISO)
    config = tmp_path / "gwaudit.toml"
    config.write_text('[frameworks]\ncatalog_dir = "catalogs"\n[report]\nsoc2_categories = ["security"]\n')
    assert main(["--config", str(config), "config", "check", "--format", "json"]) == 0
    doc = __import__("json").loads(capsys.readouterr().out)
    assert doc["frameworks"]["catalog_dir"] == str(folder) and doc["report"]["soc2_categories"] == ["security"]
    (folder / "iso.yaml").write_text(FULLER_ISO.replace("withdrawn: false", "withdrawn: perhaps"))
    assert main(["--config", str(config), "config", "check"]) == 2
    err = capsys.readouterr().err
    assert f"{folder / 'iso.yaml'}: controls.A.5.99.withdrawn: must be true or false" in err


def test_a_configured_catalog_lasts_for_its_invocation_only(tmp_path, capsys):
    """The catalog a configuration names is in force while that command runs, not for the library
    calls (or commands) that come after it in the same process."""
    from gwaudit.cli import main
    from gwaudit.frameworks import active_catalog, shipped_catalog

    folder = tmp_path / "catalogs"
    folder.mkdir()
    (folder / "iso.yaml").write_text(FULLER_ISO.replace("withdrawn: false", "withdrawn: perhaps"))
    config = tmp_path / "gwaudit.toml"
    config.write_text('[frameworks]\ncatalog_dir = "catalogs"\n')
    assert main(["--config", str(config), "config", "check"]) == 2
    capsys.readouterr()
    assert active_catalog() is shipped_catalog() or active_catalog().frameworks.keys() == \
        shipped_catalog().frameworks.keys()
    assert main(["rules", "list", "--format", "json"]) == 0  # the shipped catalog again
