"""``gwaudit sql`` for people and scripts: formats, JSON columns, one statement, -f and stdin,
tables fitted to a terminal and never cut in a pipe, and a sandbox no query gets out of."""
from __future__ import annotations

import re

import csv
import io
import json
import os
import sys
from pathlib import Path

import pytest

from gwaudit.cli import main
from gwaudit.db import Database
from gwaudit.sqlquery import QueryResult, fitted_table, render, run_query
from gwaudit.testing import store_snapshot
from tests.factories.keys import api_key

LONG = "a very long key name " * 8


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("sql")
    path = root / "g.duckdb"
    store_snapshot(path, {"api_keys": [api_key("ci-runner"), api_key(LONG.strip()),
                                       api_key("pipe|and\nnewline", group_name=None)]},
                   taken_at="2026-11-27T06:00:00Z", folder=root / "snap")
    return path


def run(capsys, db: Path, *args: str, stdin: str | None = None, monkeypatch=None):
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(["--db", str(db), "sql", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_and_jsonl_give_json_columns_as_json(capsys, db):
    q = "SELECT name, raw, scopes, created_at, 1.5 AS x FROM api_keys WHERE name = 'ci-runner'"
    code, out, _ = run(capsys, db, q, "--format", "json")
    assert code == 0
    [row] = json.loads(out)
    assert row["raw"]["name"] == "ci-runner" and row["raw"]["kind"] == "machine"  # an object, not a string
    assert row["scopes"] == [] and row["created_at"] == "2026-11-01T00:00:00Z" and row["x"] == 1.5
    code, out, _ = run(capsys, db, "SELECT name, raw FROM api_keys ORDER BY name", "--format", "jsonl")
    lines = out.splitlines()
    assert code == 0 and len(lines) == 3
    assert [json.loads(ln)["raw"]["name"] for ln in lines] == sorted(json.loads(ln)["name"] for ln in lines)
    # a value DuckDB types as JSON that is not an object: still JSON
    code, out, _ = run(capsys, db, "SELECT CAST('[1, null]' AS JSON) AS j, CAST('\"s\"' AS JSON) AS k",
                       "--format", "json")
    assert json.loads(out) == [{"j": [1, None], "k": "s"}]
    # a list of JSON values is a list of JSON; a list of text that looks like JSON stays text
    code, out, _ = run(capsys, db, "SELECT [CAST('{\"a\": 1}' AS JSON)] AS js, ['1', 'true', '{}'] AS texts",
                       "--format", "json")
    assert json.loads(out) == [{"js": [{"a": 1}], "texts": ["1", "true", "{}"]}]


def test_csv_and_markdown(capsys, db):
    code, out, _ = run(capsys, db, "SELECT name, group_name FROM api_keys ORDER BY name", "--format", "csv")
    rows = list(csv.reader(io.StringIO(out)))
    assert code == 0 and rows[0] == ["name", "group_name"] and len(rows) == 4
    assert ["pipe|and\nnewline", ""] in rows
    code, out, _ = run(capsys, db, "SELECT name FROM api_keys WHERE name LIKE 'pipe%'", "--format", "markdown")
    assert out.splitlines() == ["| name |", "|---|", "| pipe\\|and<br>newline |"]


def test_a_table_is_never_cut_when_piped(capsys, db):
    code, out, err = run(capsys, db, "SELECT name FROM api_keys ORDER BY length(name) DESC LIMIT 1")
    assert code == 0 and LONG.strip() in out and "…" not in out
    assert "(1 row)" in err  # the count is for people: stderr
    code, out, _ = run(capsys, db, "SELECT name FROM api_keys WHERE name LIKE 'pipe%'")
    assert "pipe|and\\nnewline" in out  # one line per row, the newline shown, not dropped


def test_a_table_fits_the_width_it_is_given():
    cols = ["id", "message", "note"]
    rows = [(1, "m" * 100, "short"), (22, "x", "n" * 40)]
    text = fitted_table(cols, rows, width=60)
    assert max(len(ln) for ln in text.splitlines()) <= 60
    assert "…" in text and text.splitlines()[2].startswith("1 ")
    assert "short" in text  # the narrow columns keep their text; the widest gave way first
    assert fitted_table(cols, rows, width=1000) == fitted_table(cols, rows)
    # a width too small for every column's floor: columns stay readable, the line overflows
    assert all(len(w) >= 2 for w in fitted_table(cols, rows, width=5).splitlines()[1].split("  "))
    assert render(QueryResult(cols, ["INTEGER", "VARCHAR", "VARCHAR"], rows), "table", width=60) == text + "\n"


def test_the_terminal_width_is_used_on_a_tty(tmp_path, db):
    """Through a pseudo-terminal of 50 columns, as a person at a terminal runs it."""
    import pty
    import subprocess

    primary, secondary = pty.openpty()
    env = {**os.environ, "COLUMNS": "50"}
    done = subprocess.run([sys.executable, "-m", "gwaudit.cli", "--db", str(db), "sql",
                           "SELECT name, raw FROM api_keys ORDER BY name"], stdout=secondary,
                          stderr=subprocess.PIPE, env=env, timeout=120)
    os.close(secondary)
    chunks = []
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(primary)
    lines = b"".join(chunks).decode().splitlines()
    assert done.returncode == 0 and len(lines) == 5
    assert max(len(ln) for ln in lines) <= 50 and "…" in "".join(lines)


def test_a_query_from_a_file_or_stdin(capsys, db, tmp_path, monkeypatch):
    f = tmp_path / "q.sql"
    f.write_text("-- keys\nSELECT count(*) AS n FROM api_keys;\n")
    assert run(capsys, db, "-f", str(f), "--format", "json")[1] == '[\n  {\n    "n": 3\n  }\n]\n'
    code, out, _ = run(capsys, db, "-", "--format", "jsonl", stdin="SELECT 7 AS n", monkeypatch=monkeypatch)
    assert (code, out) == (0, '{"n": 7}\n')
    code, out, _ = run(capsys, db, "-f", "-", "--format", "csv", stdin="SELECT 8 AS n", monkeypatch=monkeypatch)
    assert (code, out) == (0, "n\n8\n")
    code, _, err = run(capsys, db, "-f", str(tmp_path / "missing.sql"))
    assert code == 2 and "no such file" in err
    code, _, err = run(capsys, db, "SELECT 1", "-f", str(f))
    assert code == 2 and "not both" in err
    code, _, err = run(capsys, db)
    assert code == 2 and "no query given" in err


def test_several_statements_are_refused_not_half_shown(capsys, db):
    code, out, err = run(capsys, db, "SELECT 1 AS a; SELECT 2 AS b")
    assert code == 2 and out == "" and "2 statements given" in err and "hint:" in err
    assert run(capsys, db, "SELECT 1 AS a;")[0] == 0  # a trailing semicolon is one statement
    code, _, err = run(capsys, db, "  ;  ")
    assert code == 2 and "empty" in err


@pytest.mark.parametrize("query, why", [
    ("COPY (SELECT * FROM api_keys) TO '{out}/x.csv'", "refused"),
    ("COPY api_keys TO '{out}/x.parquet' (FORMAT parquet)", "refused"),
    ("EXPORT DATABASE '{out}/dump'", "refused"),
    ("ATTACH '{out}/other.duckdb' AS other", "refused"),
    ("INSTALL httpfs", "refused"),
    ("LOAD httpfs", "refused"),
    ("SET enable_external_access = true", "refused"),
    ("RESET enable_external_access", "refused"),
    ("PRAGMA enable_profiling", "refused"),
    ("PRAGMA threads = 1", "refused"),
    ("CREATE TEMP TABLE t AS SELECT 1", "refused"),
    ("CHECKPOINT", "refused"),
    ("UPDATE snapshots SET source = 'x'", "refused"),
    ("SELECT * FROM read_csv('/etc/passwd')", "refused"),
    ("SELECT * FROM read_json('{out}/secret.json')", "refused"),
    ("SELECT * FROM read_parquet('{out}/x.parquet')", "refused"),
    ("SELECT * FROM read_text('/etc/hostname')", "refused"),
    ("SELECT * FROM glob('/etc/*')", "refused"),
    ("SELECT * FROM '{out}/secret.json'", "refused"),
    ("SELECT * FROM read_csv('https://example.com/x.csv')", "refused"),
    ("SELECT * FROM query('SELECT * FROM read_text(''/etc/hostname'')')", "refused"),
    ("SELECT * FROM query('COPY api_keys TO ''{out}/q.csv''')", "failed"),
    ("SELECT * FROM query_table('{out}/secret.json')", "refused"),
    ("SELECT * FROM query_table(['api_keys', '{out}/secret.json'])", "refused"),
    ("SELECT * FROM duckdb_secrets()", "refused"),
])
def test_the_sandbox_holds(capsys, db, tmp_path, query, why):
    (tmp_path / "secret.json").write_text('{"token": "s3cret"}')
    before = sorted(p.name for p in tmp_path.iterdir())
    code, out, err = run(capsys, db, query.format(out=tmp_path))
    assert code == 2, (query, out, err)
    first = re.sub(r"^\[[0-9T:Z-]+\] ", "", err.splitlines()[0])  # the timestamp of a log not on a terminal
    assert first.startswith("error: ") and why in first and "s3cret" not in out + err
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written
    with Database(db).reader() as con:  # and nothing changed
        assert con.execute("SELECT count(*) FROM snapshots WHERE source = 'x'").fetchone()[0] == 0


def test_reading_queries_still_work(db):
    assert run_query(db, "SHOW TABLES").rows
    assert run_query(db, "DESCRIBE api_keys").rows
    assert run_query(db, "PRAGMA table_info('api_keys')").rows
    assert run_query(db, "EXPLAIN SELECT * FROM api_keys").rows
    assert run_query(db, "FROM api_keys SELECT count(*)").rows == [(3,)]
    assert run_query(db, "SELECT * FROM query_table('api_keys')").rows
    assert run_query(db, "SELECT current_setting('enable_external_access') AS v").rows == [(False,)]
