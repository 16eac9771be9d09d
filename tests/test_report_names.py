"""Report file names and the organisation's display name (report.org_name / --org-name)."""
from __future__ import annotations

import json

import pytest
from pypdf import PdfReader

from gwaudit.cli import main
from gwaudit.db import Database
from gwaudit.db.ingest import import_folder
from gwaudit.resources import sample_snapshots


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory):
    db = Database(tmp_path_factory.mktemp("names") / "g.duckdb")
    for folder in sample_snapshots():
        import_folder(db, folder)
    return db


def _report(db, out, *args, capsys):
    code = main(["--db", str(db.path), "report", "--out", str(out), *args])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return [p.split("/")[-1] for p in captured.out.split()], captured.err


def test_a_period_report_never_takes_the_name_of_a_plain_one(sample_db, tmp_path, capsys):
    plain, _ = _report(sample_db, tmp_path, "--format", "json", capsys=capsys)
    period, err = _report(sample_db, tmp_path, "--format", "json", "--period", "2026-Q4", capsys=capsys)
    assert plain == ["northwind-2026-11-27-s2-report.json", "northwind-2026-11-27-s2-findings.json"]
    assert period == ["northwind-2026-q4-s2-report.json", "northwind-2026-q4-s2-findings.json"]
    assert "replacing" not in err
    ranged, _ = _report(sample_db, tmp_path, "--format", "json", "--from", "2026-08-01", "--to", "2026-11-30",
                        capsys=capsys)
    assert ranged[0] == "northwind-2026-08-01-to-2026-11-30-s2-report.json"


def test_making_the_same_report_again_says_it_replaces_the_file(sample_db, tmp_path, capsys):
    _report(sample_db, tmp_path, "--format", "csv", capsys=capsys)
    _, err = _report(sample_db, tmp_path, "--format", "csv", capsys=capsys)
    assert f"replacing {tmp_path / 'northwind-2026-11-27-s2-findings.csv'}" in err
    assert err.count("replacing") == 4  # findings.csv, rules.csv, changes.csv, the inventory folder once, not per file


def test_org_name_sets_file_names_headers_and_pdf_metadata(sample_db, tmp_path, capsys):
    config = tmp_path / "gwaudit.toml"
    config.write_text('[report]\norg_name = "Northwind Traders"\nclassification = "Confidential"\n')
    assert main(["--config", str(config), "--db", str(sample_db.path), "report", "--format", "pdf,json",
                 "--out", str(tmp_path / "a")]) == 0
    names = [p.split("/")[-1] for p in capsys.readouterr().out.split()]
    assert names[0] == "northwind-traders-2026-11-27-s2-report.pdf"
    doc = json.loads((tmp_path / "a" / "northwind-traders-2026-11-27-s2-report.json").read_text())
    assert doc["report"]["org"] == "Northwind Traders"
    reader = PdfReader(tmp_path / "a" / names[0])
    assert "Northwind Traders" in reader.metadata.title
    assert "Northwind Traders · CONFIDENTIAL" in reader.pages[1].extract_text()
    # the flag wins over the file
    assert main(["--config", str(config), "--db", str(sample_db.path), "report", "--format", "json",
                 "--org-name", "ACME", "--out", str(tmp_path / "b")]) == 0
    assert capsys.readouterr().out.split()[0].endswith("acme-2026-11-27-s2-report.json")
