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


def _objects(path):
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(
            "SELECT 'table', table_name, sql FROM duckdb_tables() WHERE schema_name = 'main' "
            "UNION ALL SELECT 'view', view_name, sql FROM duckdb_views() WHERE NOT internal AND schema_name = 'main' "
            "UNION ALL SELECT 'macro', function_name, macro_definition::VARCHAR FROM duckdb_functions() "
            "WHERE NOT internal AND schema_name = 'main' AND function_type LIKE '%macro%' ORDER BY 1, 2, 3").fetchall()
    finally:
        con.close()


def test_new_databases_are_copies_of_the_migrated_template(tmp_path):
    """A new file starts as a copy of this process's empty migrated database (gwaudit.db.template):
    the same objects as a database migrated in place, owner-only, and the copy is fast."""
    import os
    import stat

    from gwaudit.db import template
    from gwaudit.db.connect import open_connection
    from gwaudit.db.database import transaction

    in_place = tmp_path / "in-place.duckdb"
    con = open_connection(in_place, read_only=False, wait=0, on_locked=RuntimeError)
    try:
        from gwaudit.db import schema
        schema.migrate(con, transaction)
    finally:
        con.close()
    first, second = tmp_path / "a.duckdb", tmp_path / "b.duckdb"
    Database(first).initialise()
    t = time.process_time()
    Database(second).initialise()
    copy_cpu = time.process_time() - t
    assert _objects(first) == _objects(second) == _objects(in_place)
    for p in (first, second):
        assert stat.S_IMODE(os.stat(p).st_mode) == 0o600
    folder = next(iter(template._made.values())).parent
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    # the copy needs no schema work: far less CPU than migrating (about 1.7 s)
    t = time.process_time()
    con = open_connection(tmp_path / "again.duckdb", read_only=False, wait=0, on_locked=RuntimeError)
    try:
        schema.migrate(con, transaction)
    finally:
        con.close()
    assert copy_cpu * 5 < time.process_time() - t
    with Database(second).writer() as con:
        assert con.execute("SELECT max(version) FROM schema_version").fetchone()[0] == SCHEMA_VERSION


def test_a_file_that_appears_meanwhile_is_never_overwritten(tmp_path):
    from gwaudit.db import template
    from gwaudit.db.connect import open_connection
    from gwaudit.db.database import transaction

    Database(tmp_path / "warm.duckdb").initialise()
    taken = tmp_path / "taken.duckdb"
    taken.write_bytes(b"not mine")
    assert template.create(taken, lambda p: open_connection(p, read_only=False, wait=0, on_locked=RuntimeError),
                           transaction) is False
    assert taken.read_bytes() == b"not mine"
    link = tmp_path / "link.duckdb"
    link.symlink_to(tmp_path / "elsewhere.duckdb")  # dangling: never followed to create a file
    assert template.create(link, lambda p: open_connection(p, read_only=False, wait=0, on_locked=RuntimeError),
                           transaction) is False
    assert not (tmp_path / "elsewhere.duckdb").exists()
