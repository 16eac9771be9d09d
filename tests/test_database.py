"""The Database object: one refusal for files gwaudit did not write, no extension reaches the
network, migrations recorded in order, and a lock held by another program named as such."""
from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import time

import duckdb
import pytest

from gwaudit.cli import main
from gwaudit.db import Database
from gwaudit.db.schema import MIGRATIONS, SCHEMA_VERSION
from gwaudit.errors import LockTimeout, UsageError
from gwaudit.resources import sample_snapshots

SAMPLE = sample_snapshots()[-1]
COMMANDS = [["import", str(SAMPLE)], ["snapshots"], ["sql", "SELECT 1"], ["audit"], ["report", "--format", "json"],
            ["diff"], ["prune", "--keep-daily", "1"], ["history", "x"]]


def _sqlite_file(path):
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    con.execute("INSERT INTO notes (body) VALUES ('keep me')")
    con.commit()
    con.close()


def _foreign_duckdb(path):
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE sales AS SELECT 1 AS id, 'keep me' AS body")
    con.close()


@pytest.mark.parametrize("make,why", [(_sqlite_file, "not a DuckDB file"),
                                      (_foreign_duckdb, "it has tables but no schema_version table")],
                         ids=["sqlite", "foreign-duckdb"])
def test_every_command_refuses_a_foreign_file_in_the_same_words_and_leaves_it_alone(tmp_path, capsys, make, why):
    path = tmp_path / "other.db"
    make(path)
    before = path.read_bytes()
    for args in COMMANDS:
        code = main(["--db", str(path), *args, *(["--out", str(tmp_path / "r")] if args[0] == "report" else [])])
        err = capsys.readouterr().err
        assert code == 2, (args, err)
        assert f"error: {path} is not a gwaudit database ({why})" in err, (args, err)
        assert "hint: point --db" in err
    assert path.read_bytes() == before
    assert not (tmp_path / "r").exists()


def test_no_extension_is_installed_or_loaded_on_its_own(tmp_path):
    db = Database(tmp_path / "g.duckdb")
    db.initialise()
    sqlite = tmp_path / "x.sqlite"
    _sqlite_file(sqlite)
    started = time.monotonic()
    with db.reader() as con:
        with pytest.raises(duckdb.Error) as info:  # would autoload (and download) the sqlite extension
            con.execute(f"SELECT * FROM sqlite_scan('{sqlite}', 'notes')").fetchall()
        settings = dict(con.execute("SELECT name, value FROM duckdb_settings() WHERE name IN "
                                    "('autoinstall_known_extensions', 'autoload_known_extensions')").fetchall())
    assert settings == {"autoinstall_known_extensions": "false", "autoload_known_extensions": "false"}
    text = str(info.value).lower()
    assert "http" not in text and "download" not in text
    assert time.monotonic() - started < 10
    with duckdb.connect() as probe:
        assert not probe.execute("SELECT count(*) FROM duckdb_extensions() WHERE extension_name = 'sqlite' "
                                 "AND loaded").fetchone()[0]


def test_migrations_are_recorded_once_each_in_order(tmp_path):
    db = Database(tmp_path / "g.duckdb")
    db.initialise()
    db.initialise()
    with db.reader() as con:
        rows = con.execute("SELECT version FROM schema_version ORDER BY applied_at, version").fetchall()
    assert [r[0] for r in rows] == [m.version for m in MIGRATIONS] == list(range(1, SCHEMA_VERSION + 1))


def test_a_newer_schema_is_refused_without_writing(tmp_path):
    db = Database(tmp_path / "g.duckdb")
    db.initialise()
    con = duckdb.connect(str(db.path))
    con.execute("INSERT INTO schema_version VALUES (?, now(), 'from the future')", [SCHEMA_VERSION + 1])
    con.close()
    before = db.path.read_bytes()
    for opener in (db.reader, db.writer):
        with pytest.raises(Exception, match="newer gwaudit"):
            with opener():
                pass
    assert db.path.read_bytes() == before


def test_no_database_yet_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="no database at"):
        Database(tmp_path / "none.duckdb").resolve("latest")


HOLDER = textwrap.dedent("""
    import sys, time, duckdb
    con = duckdb.connect(sys.argv[1])
    con.execute("CREATE TABLE IF NOT EXISTS notebook AS SELECT 1 AS x")
    print("holding", flush=True)
    time.sleep(60)
""")


def test_a_file_held_by_another_program_is_named_as_such(tmp_path):
    db = Database(tmp_path / "g.duckdb", wait=0.5)
    db.initialise()
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(db.path)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "holding"
        with pytest.raises(LockTimeout) as info:
            db.resolve("latest")
        message = info.value.message
        assert f"another program (pid {proc.pid}" in message and "waited 0.5s" in message
        assert "gwaudit run" not in message
        assert "close that program" in info.value.hint
    finally:
        proc.kill()
        proc.wait()
