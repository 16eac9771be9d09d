"""The format registry: one module and one register line make a format, everywhere at once."""
from __future__ import annotations

import json

import pytest

from gwaudit.cli import main
from gwaudit.config import load_config
from gwaudit.errors import ConfigError, UsageError
from gwaudit.formats import REGISTRY, Renderer, default_formats, parse_formats, register, unregister
from tests.enginekit import snapshot, standard_rules


def _files(data, ctx):
    return {"count.txt": f"{len(data.findings)} findings in snapshot {data.snapshot.id}\n".encode(),
            "by-rule/rules.txt": "\n".join(sorted({f.rule_id for f in data.findings})).encode()}


def _stream(data, ctx):
    return f"{len(data.findings)} findings ({data.summary.open} open)"


@pytest.fixture
def count_format():
    register(Renderer("count", "the number of findings", files=_files, stream=_stream))
    yield
    unregister("count")


def test_a_registered_format_works_in_audit_report_config_and_help(count_format, tmp_path, db, capsys,
                                                                   monkeypatch):
    rules = standard_rules(tmp_path / "r")
    snapshot(db)
    # the test rules as the whole catalog (an --only selection is a partial audit: not stored, not reported)
    monkeypatch.setattr("gwaudit.rules.catalog.builtin_rules_dir", lambda: None)
    assert main(["--db", str(db), "audit", "--rules-dir", str(rules), "--format", "count"]) == 0
    assert capsys.readouterr().out.strip() == "3 findings (3 open)"

    out = tmp_path / "reports"
    assert main(["--db", str(db), "report", "--format", "count", "--out", str(out)]) == 0
    written = capsys.readouterr().out.split()
    assert [p.rsplit("-", 1)[-1] for p in written] == ["count.txt", "rule"]  # the file, then the folder
    count_file = next(out.glob("*-count.txt"))
    assert count_file.read_text() == "3 findings in snapshot 1\n"   # the stored audit, as the report reads it
    assert next(out.glob("*-by-rule")).joinpath("rules.txt").read_text().splitlines() == [
        "T-AGE-001", "T-EXP-001", "T-PRV-001"]

    config = tmp_path / "gwaudit.toml"
    config.write_text('[report]\nformats = ["count", "json"]\n')
    assert load_config(config).report.formats == ["count", "json"]
    assert parse_formats("count,json") == ["count", "json"]

    assert main(["formats", "--format", "json"]) == 0
    listed = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert listed["count"] == {"name": "count", "audit": True, "report": True, "default": False,
                               "help": "the number of findings"}
    assert main(["audit", "--help"]) == 0
    assert "count" in capsys.readouterr().out


def test_an_unregistered_format_is_refused_everywhere(tmp_path, db, capsys):
    assert "count" not in REGISTRY
    with pytest.raises(UsageError, match="--format count: expected some of html, pdf, csv, json"):
        parse_formats(["count"])
    config = tmp_path / "gwaudit.toml"
    config.write_text('[report]\nformats = ["count"]\n')
    with pytest.raises(ConfigError, match="report.formats: 'count' is not a report format; known: html, pdf, csv, json"):
        load_config(config)
    snapshot(db)
    assert main(["--db", str(db), "audit", "--format", "count"]) == 2
    assert "'count' is not one of" in capsys.readouterr().err


def test_defaults_come_from_the_registry(count_format):
    assert default_formats() == ["html", "pdf", "csv", "json"]
    register(Renderer("count", "the number of findings", files=_files, default=True))
    assert default_formats() == ["html", "pdf", "csv", "json", "count"]
    assert load_config(None).report.formats[-1] == "count"
