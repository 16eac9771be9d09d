"""Every built-in rule fires on the sample org's newer snapshot (and the older one is cleaner).

This keeps the catalog and the sample honest together: a rule that the sample never trips has
no end-to-end evidence, and a sample change that silently clears a rule is caught here.
"""
from __future__ import annotations

from collections import Counter

import pytest

from gwaudit.db.ingest import import_folder
from gwaudit.resources import sample_snapshots
from gwaudit.rules import audit, load_rules

ENGINE_RULES = ("GW-WAIVER-",)  # findings about waiver files, not about the gateway


@pytest.fixture(scope="module")
def audited(tmp_path_factory) -> dict[str, Counter]:
    db = tmp_path_factory.mktemp("sample") / "gwaudit.duckdb"
    older, newer = sample_snapshots()
    old_id = import_folder(db, older).snapshot_id
    new_id = import_folder(db, newer).snapshot_id
    results = {}
    for name, sid in (("older", old_id), ("newer", new_id)):
        result = audit(db, sid)
        assert all(r.status != "error" for r in result.rules), [r for r in result.rules if r.status == "error"]
        results[name] = Counter(f.rule_id for f in result.findings)
    return results


def _catalog() -> list[str]:
    return sorted(r.id for r in load_rules() if not r.id.startswith(ENGINE_RULES))


@pytest.mark.parametrize("rule_id", _catalog())
def test_sample_trips_every_rule(audited, rule_id):
    hits = audited["newer"][rule_id]
    assert hits >= 1, f"{rule_id} never fires on the newer sample snapshot"
    assert hits <= 10, f"{rule_id}: {hits} findings; misconfigurations should stay a handful"


def test_older_snapshot_is_cleaner(audited):
    old = {r for r, n in audited["older"].items() if n}
    new = {r for r, n in audited["newer"].items() if n}
    assert old < new
    assert {"GW-RL-001", "GW-BUD-001", "GW-GOV-001", "GW-ACC-003", "GW-PROV-001"} <= new - old
