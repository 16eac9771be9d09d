"""gwaudit diff and history over the bundled sample org: the changes sample_snapshots/README.md
lists between 2026-08-28 and 2026-11-27 are exactly what the diff reports."""
from __future__ import annotations

from pathlib import Path

import pytest

from gwaudit.cli import main
from gwaudit.diff import diff_snapshots
from gwaudit.diffview import diff_text
from gwaudit.history import resource_history
from gwaudit.db.ingest import import_folder

SAMPLES = Path(__file__).resolve().parents[1] / "sample_snapshots"


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> dict:
    db = tmp_path_factory.mktemp("sample-diff") / "sample.duckdb"
    old = import_folder(db, SAMPLES / "2026-08-28").snapshot_id
    new = import_folder(db, SAMPLES / "2026-11-27").snapshot_id
    d = diff_snapshots(db, "2026-08-28", "2026-11-27")
    return {"db": db, "old": old, "new": new, "diff": d, "json": d.to_dict()}


def _by_name(entries: list[dict], name: str) -> dict:
    [entry] = [e for e in entries if e["name"] == name]
    return entry


def _changes(entry: dict) -> dict:
    return {c["path"]: (c["before"], c["after"]) for c in entry["changes"]}


def test_every_family_compared(sample):
    assert (sample["json"]["old"]["id"], sample["json"]["new"]["id"]) == (sample["old"], sample["new"])
    assert {n: f["status"] for n, f in sample["json"]["families"].items() if f["status"] != "compared"} == {}


def test_price_changes_are_modifications_of_rules(sample):
    pricing = sample["json"]["families"]["model_pricing"]
    o3 = _by_name(pricing["modified"], "o3")
    assert o3["key"] == "o3/openai/"
    c = _changes(o3)
    assert c["$.input_cost_per_million_tokens"] == (10.0, 2.0) and c["$.output_cost_per_million_tokens"] == (40.0, 8.0)
    assert c["$.id"][0] != c["$.id"][1]  # a new version id: still the same rule
    assert o3["changed_by"]["email"] == "elena.sokolova@northwind.example"
    azure = next(m for m in pricing["modified"] if m["key"].startswith("gpt-4o-mini/azure_openai/"))
    assert _changes(azure)["$.input_cost_per_million_tokens"] == (0.165, 0.0)
    assert azure["changed_by"]["email"] == "tom.okafor@northwind.example"
    # archived on 15 Oct: leaves the live list, joins the archived one; the history gains versions
    assert [r["name"] for r in pricing["removed"]] == ["gpt-4-turbo"] and pricing["added"] == []
    assert [r["name"] for r in sample["json"]["families"]["model_pricing_archived"]["added"]] == ["gpt-4-turbo"]
    assert sample["json"]["families"]["model_pricing_history"]["removed"] == []


def test_limits_budgets_and_access_changes_with_who_made_them(sample):
    fams = sample["json"]["families"]
    ds = _by_name(fams["rate_limits"]["modified"], "Data science")
    assert _changes(ds)["$.requests_per_minute"] == (600, 1500)
    assert _changes(ds)["$.tokens_per_minute"] == (2_000_000, 5_000_000)
    assert ds["changed_by"]["email"] == "tom.okafor@northwind.example"
    ceiling = _by_name(fams["rate_limits"]["modified"], "Org-wide ceiling")
    assert _changes(ceiling)["$.enabled"] == (True, False)
    assert ceiling["changed_by"]["note"].startswith("Disabled for load test LT-2211")
    assert [r["name"] for r in fams["rate_limits"]["removed"]] == ["Hackathon burst allowance"]
    assert [r["name"] for r in fams["rate_limits"]["added"]] == ["Eval harness key"]

    budget = _by_name(fams["token_budgets"]["modified"], "Data science monthly")
    assert _changes(budget)["$.token_limit"] == (300_000_000, 800_000_000)
    assert budget["changed_by"]["name"] == "Elena Sokolova"
    assert _changes(_by_name(fams["token_budgets"]["modified"], "Org monthly spend cap"))["$.enabled"] == (True, False)
    assert [r["name"] for r in fams["token_budgets"]["removed"]] == ["Hackathon September"]

    access = fams["model_access"]
    assert _changes(_by_name(access["modified"], "Approved models (org)"))["$.enabled"] == (True, False)
    deny = _changes(_by_name(access["modified"], "Block retired and unreviewed models"))["$.targets"]
    assert {"kind": "model_alias", "alias": "legacy-gpt4"} in deny[0] and {"kind": "model_alias",
                                                                             "alias": "legacy-gpt4"} not in deny[1]
    allow = _by_name(access["modified"], "Contractors allowlist")
    before, after = _changes(allow)["$.targets"]
    assert [t for t in after if t not in before] == [{"kind": "model_alias", "alias": "coder"}]
    assert allow["changed_by"]["email"] == "dana.whitfield@northwind.example"
    assert [r["name"] for r in access["removed"]] == ["Hackathon: general and premium"]
    assert sorted(r["name"] for r in access["added"]) == ["EU support: EU-resident models",
                                                          "EU support: no US-hosted premium models"]


def test_providers_credentials_governance_and_routes(sample):
    fams = sample["json"]["families"]
    [groq_cred] = fams["credentials"]["added"]
    assert groq_cred["name"] == "Groq" and groq_cred["changed_by"]["email"] == "tom.okafor@northwind.example"
    assert [r["name"] for r in fams["credentials"]["removed"]] == ["Azure OpenAI Sweden Central"]
    rotated = {m["name"] for m in fams["credentials"]["modified"] if "$.key_last4" in _changes(m)}
    assert {"Mistral La Plateforme", "OpenAI Production", "Azure OpenAI East US 2",
            "Internal inference gateway"} <= rotated
    assert [r["name"] for r in fams["providers"]["added"]] == ["Groq (pilot)"]
    mistral = _by_name(fams["providers"]["modified"], "Mistral")
    assert _changes(mistral)["$.enforce_health_check"] == (True, False)
    assert _changes(_by_name(fams["providers"]["modified"], "Azure OpenAI Sweden Central (EU)"))["$.enabled"] == (
        True, False)
    [gov] = fams["governance_config"]["modified"]
    assert gov["changes"] == [
        {"path": "$.require_pricing_for_mappings", "before": True, "after": False},
        {"path": "$.default_model_access", "before": "deny", "after": "allow"}]
    assert gov["changed_by"] is None  # governance has no attribution fields
    assert {r["name"] for r in fams["model_routes"]["removed"]} == {"chat-legacy/gpt-4o", "chat-legacy/gpt-4o-mini"}
    assert _changes(_by_name(fams["model_routes"]["modified"], "opus/claude-opus-4-1"))["$.enabled"] == (True, False)
    assert [r["name"] for r in fams["model_route_groups"]["removed"]] == ["Legacy chat"]
    assert [r["name"] for r in fams["model_route_groups"]["added"]] == ["EU data residency"]
    assert [r["name"] for r in fams["smart_models"]["added"]] == ["summarizer"]
    cost_saver = _by_name(fams["routing_policies"]["modified"], "cost-saver")
    assert _changes(cost_saver)["$.context_breakpoints[0]"] == (16000, 24000)


def test_api_keys_and_volatile_churn(sample):
    keys = sample["json"]["families"]["api_keys"]
    assert len(keys["added"]) == 78  # README: 78 keys created between the dates
    pentest = _by_name(keys["modified"], "Pentest 2026-Q3")
    assert list(_changes(pentest)) == ["$.disabled_at"]
    assert _changes(_by_name(keys["modified"], "HubSpot sync"))["$.revoked_at"] == (None, "2026-10-20T09:30:00Z")
    paths = {c["path"] for f in sample["json"]["families"].values() for m in f["modified"] for c in m["changes"]}
    assert not paths & {"$.last_used_at", "$.health_checked_at", "$.in_flight", "$.tokens_used", "$.state",
                        "$.eject_remaining_secs", "$.rpm_used"}
    assert sample["json"]["families"]["route_health"]["modified"] == []  # every change there is runtime state
    assert sample["diff"].families["api_keys"].volatile_only > 0

    full = diff_snapshots(sample["db"], sample["old"], sample["new"], include_volatile=True).to_dict()
    paths = {c["path"] for f in full["families"].values() for m in f["modified"] for c in m["changes"]}
    assert {"$.last_used_at", "$.health_checked_at", "$.in_flight", "$.tokens_used", "$.state"} <= paths
    assert len(full["families"]["route_health"]["modified"]) > 0


def test_text_and_history_on_the_sample(sample, capsys):
    text = diff_text(sample["diff"])
    assert "requests_per_minute: 600 -> 1500" in text
    assert "by tom.okafor@northwind.example (Tom Okafor) at 2026-09-22T09:45:00Z" in text
    assert "+ {\"alias\": \"coder\", \"kind\": \"model_alias\"}" in text
    assert main(["--db", str(sample["db"]), "diff", "2026-08-28", "2026-11-27", "--family", "governance_config"]) == 0
    out = capsys.readouterr().out
    assert 'default_model_access: "deny" -> "allow"' in out and "api_keys" not in out

    ds = _by_name(sample["json"]["families"]["rate_limits"]["modified"], "Data science")
    h = resource_history(sample["db"], ds["key"], family="rate_limits")
    assert [e.event for e in h.events] == ["added", "modified"]
    assert h.events[1].changed_by["email"] == "tom.okafor@northwind.example"
    o3 = resource_history(sample["db"], "o3/openai/")
    assert o3.family == "model_pricing" and [e.event for e in o3.events] == ["added", "modified"]


def _readme_commands() -> list[list[str]]:
    """Every `gwaudit ...` line of the README's sh blocks in "Diffs, history and retention"."""
    import shlex

    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = text[text.index("## Diffs, history and retention"):]
    section = section[: section.index("\n## ", 10)] if "\n## " in section[10:] else section
    commands = []
    for block in section.split("```sh\n")[1:]:
        for line in block[: block.index("```")].splitlines():
            for part in line.split("#")[0].split("&&"):
                words = shlex.split(part.split(">")[0])
                if words and words[0] == "gwaudit":
                    commands.append(words[1:])
    return commands


def test_every_readme_command_of_this_section_runs(tmp_path, monkeypatch, capsys):
    commands = _readme_commands()
    assert {c[0] for c in commands} == {"import", "diff", "history", "snapshots", "prune"}
    monkeypatch.chdir(Path(__file__).resolve().parents[1])  # README paths are relative to the checkout
    db = tmp_path / "readme.duckdb"
    for args in commands:
        code = main(["--db", str(db), *args])
        assert code == 0, (args, capsys.readouterr().err)
    out = capsys.readouterr().out
    assert "requests_per_minute: 600 -> 1500" in out and '"family": "model_pricing"' in out
