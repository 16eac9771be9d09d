"""Issue 14, class 3: evidence the engine must not trust without checking.

An imported folder may declare ``unavailable`` only for families a tenant may lack (those the
collector treats as optional); a per-item family ``ok`` needs one body per request its parents'
items call for; counts must match the files. Anything else is refused by ``gwaudit import``
(exit 2, database unchanged). A snapshot already stored with such a claim (before imports
refused it) makes the family's rules ``error``, never ``pass``. Real DuckDB, public engine.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from gwaudit import families as fam
from gwaudit.db import Database
from gwaudit.db.ingest import import_folder
from gwaudit.rules import audit
from gwaudit.testing import write_folder
from tests.enginekit import catalog, org, snapshot, write_rule
from tests.factories.snapshots import copy_db, manifest, refused, run_import, save_manifest

TAKEN = "2026-08-01T12:00:00Z"
OPTIONAL = sorted(f.name for f in fam.FAMILIES if f.optional)
REQUIRED = sorted(f.name for f in fam.FAMILIES if not f.optional)


@pytest.fixture(scope="module")
def seeded_template(tmp_path_factory) -> Path:
    from tests.conftest import example_org

    root = tmp_path_factory.mktemp("seed")
    db = root / "audit.duckdb"
    import_folder(db, write_folder(root / "good", example_org(), taken_at=TAKEN))
    return db


@pytest.fixture
def seeded(tmp_path: Path, seeded_template: Path) -> Path:
    """A database holding one good snapshot (copied from one made per module)."""
    return copy_db(seeded_template, tmp_path)


def test_the_optional_families_are_the_ones_a_tenant_may_lack():
    # the collector records 'unavailable' only on a 404 from an optional family (or its children)
    assert OPTIONAL == ["agent_runtime_profiles", "model_route_groups", "routing_policies", "routing_rules",
                        "smart_models"]


@pytest.mark.parametrize("family", REQUIRED)
def test_a_required_family_declared_unavailable_is_refused(tmp_path, seeded, capsys, example_data, family):
    folder = write_folder(tmp_path / "snap", example_data, taken_at=TAKEN, unavailable=[family])
    refused(seeded, folder, capsys, "manifest.json", f"family {family} is declared 'unavailable'",
            "every tenant has it", "'failed'")


@pytest.mark.parametrize("family", OPTIONAL)
def test_an_optional_family_may_be_unavailable(tmp_path, seeded, capsys, example_data, family):
    f = fam.get(family)
    unavailable = [family, *f.parents] + [c.name for c in fam.FAMILIES if family in c.parents]
    folder = write_folder(tmp_path / "snap", example_data, taken_at=TAKEN, unavailable=unavailable)
    code, text = run_import(seeded, folder, capsys)
    assert code == 0, text
    assert "not offered by this tenant" in text and family in text


def test_unavailable_with_files_is_refused(tmp_path, seeded, capsys, example_data):
    folder = write_folder(tmp_path / "snap", example_data, taken_at=TAKEN)
    data = manifest(folder)
    data["families"]["smart_models"] = {"status": "unavailable", "http_status": 404}
    save_manifest(folder, data)
    refused(seeded, folder, capsys, "smart_models is declared 'unavailable' but 1 file(s) of it are listed")


def test_per_item_unavailable_while_its_parent_was_collected_is_refused(tmp_path, seeded, capsys, example_data):
    assert example_data.get("routing_policies"), "the example org needs routing policies"
    folder = write_folder(tmp_path / "snap", example_data, taken_at=TAKEN, unavailable=["routing_rules"])
    refused(seeded, folder, capsys, "routing_rules is declared 'unavailable' but its parent family "
                                    "routing_policies was ok")


def _drop_per_item(folder: Path, family: str, keep: int) -> int:
    """Remove all but ``keep`` of a per-item family's files from the manifest (still 'ok')."""
    data = manifest(folder)
    mine = [e for e in data["files"] if e["family"] == family]
    assert len(mine) > keep
    data["files"] = [e for e in data["files"] if e["family"] != family] + mine[:keep]
    data["families"][family]["status"] = "ok"
    save_manifest(folder, data)
    return len(mine)


@pytest.mark.parametrize("family", ["model_pricing_history", "routing_rules"])
def test_per_item_ok_without_bodies_while_the_parent_has_items_is_refused(tmp_path, seeded, capsys, example_data,
                                                                          family):
    folder = write_folder(tmp_path / "snap", example_data, taken_at=TAKEN)
    expected = _drop_per_item(folder, family, 0)
    refused(seeded, folder, capsys, f"family {family} is 'ok' with 0 per-item bodies",
            f"call for {expected} request(s)")


def test_per_item_ok_with_some_bodies_missing_is_refused(tmp_path, seeded, capsys, example_data):
    folder = write_folder(tmp_path / "snap", example_data, taken_at=TAKEN)
    expected = _drop_per_item(folder, "model_pricing_history", 1)
    refused(seeded, folder, capsys, "model_pricing_history is 'ok' with 1 per-item body",
            f"call for {expected} request(s)")


def test_per_item_bodies_for_other_requests_are_refused(tmp_path, seeded, capsys, example_data):
    folder = write_folder(tmp_path / "snap", example_data, taken_at=TAKEN)
    data = manifest(folder)
    entry = next(e for e in data["files"] if e["family"] == "model_pricing_history")
    entry["query"] = {"model_pattern": "not-a-rule-of-this-org"}
    save_manifest(folder, data)
    refused(seeded, folder, capsys, "model_pricing_history has no body for the request ?model_pattern=")


def test_per_item_ok_while_its_parent_failed_is_refused(tmp_path, seeded, capsys, example_data):
    folder = write_folder(tmp_path / "snap", example_data, taken_at=TAKEN)
    data = manifest(folder)
    data["families"]["model_pricing"] = {"status": "failed", "error": "HTTP 503"}
    data["files"] = [e for e in data["files"] if e["family"] != "model_pricing"]
    save_manifest(folder, data)
    refused(seeded, folder, capsys, "model_pricing_history is 'ok' but its parent family model_pricing failed")


def test_a_per_item_family_left_out_while_its_parent_has_items_is_failed_not_empty(tmp_path, seeded, capsys,
                                                                                   example_data):
    folder = write_folder(tmp_path / "snap", example_data, taken_at=TAKEN)
    data = manifest(folder)
    data["files"] = [e for e in data["files"] if e["family"] != "model_pricing_history"]
    del data["families"]["model_pricing_history"]
    save_manifest(folder, data)
    code, text = run_import(seeded, folder, capsys)
    assert code == 4 and "failed: model_pricing_history: no per-item bodies" in text


@pytest.mark.parametrize("where", ["family", "file"])
def test_counts_that_do_not_match_the_files_are_refused(tmp_path, seeded, capsys, example_data, where):
    folder = write_folder(tmp_path / "snap", example_data, taken_at=TAKEN)
    data = manifest(folder)
    n = len(example_data["api_keys"])
    if where == "family":
        data["families"]["api_keys"]["item_count"] = n + 5
        words = (f"family api_keys: manifest says {n + 5} items, its files hold {n}",)
    else:
        next(e for e in data["files"] if e["family"] == "api_keys")["item_count"] = n - 1
        words = ("api_keys.json", f"manifest says {n - 1} items, the file holds {n}")
    save_manifest(folder, data)
    refused(seeded, folder, capsys, *words)


def test_the_collectors_own_folders_still_import(tmp_path, seeded, capsys):
    """The sample snapshots (written by collect --export-dir) pass every check."""
    samples = sorted((Path(__file__).resolve().parents[1] / "sample_snapshots").glob("*/manifest.json"))
    assert samples
    for m in samples[:2]:
        code, text = run_import(seeded, m.parent, capsys)
        assert code in (0, 4), text


# ---------------------------------------------------------------- the engine

def test_a_stored_claim_of_a_required_family_unavailable_makes_its_rules_error(tmp_path):
    """Defence in depth: a snapshot stored before imports refused the claim (edited here in the
    database) is evaluated as error for the family's rules, never as a pass on an empty view."""
    db = tmp_path / "old.duckdb"
    rules = tmp_path / "r"
    write_rule(rules, "T-KEY-001", "SELECT id AS resource_id, name AS resource_name, 'x' AS message FROM api_keys "
                                   "WHERE expires_at IS NULL", families=["api_keys"])
    write_rule(rules, "T-SM-001", "SELECT id AS resource_id, model_alias AS resource_name, 'x' AS message "
                                  "FROM smart_models", families=["smart_models"])
    sid = snapshot(db, {"api_keys": []}, unavailable=["smart_models"])
    with Database(db).writer() as con:
        con.execute("UPDATE collection_status SET status = 'unavailable', item_count = NULL "
                    "WHERE snapshot_id = ? AND family = 'api_keys'", [sid])
    result = audit(db, rules=catalog(rules))
    by = {r.rule.id: r for r in result.rules}
    assert by["T-KEY-001"].status == "error"
    assert "api_keys is recorded unavailable, but every tenant has it" in by["T-KEY-001"].error
    assert by["T-SM-001"].status == "pass"  # optional: the tenant genuinely lacks it
    assert result.exit_code == 4
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT status FROM rule_results WHERE rule_id = 'T-KEY-001'").fetchone() == ("error",)


def test_import_then_audit_never_passes_a_rule_on_a_refused_claim(tmp_path, capsys, example_data):
    """Through the command line: the refused folder leaves no snapshot to audit."""
    db = tmp_path / "fresh.duckdb"
    folder = write_folder(tmp_path / "snap", org(), taken_at=TAKEN, unavailable=["api_keys"])
    code, text = run_import(db, folder, capsys)
    assert code == 2 and "api_keys is declared 'unavailable'" in text
    assert not db.exists() or not duckdb.connect(str(db), read_only=True).execute(
        "SELECT count(*) FROM snapshots").fetchone()[0]
    assert json.loads((folder / "manifest.json").read_text())["families"]["api_keys"]["status"] == "unavailable"
