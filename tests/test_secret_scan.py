"""Secret scan over every artifact: the API token (whole, its JWT payload segment, its signature)
must appear in none of them, on the normal path and on every failure path.

Everything runs for real: ``python -m gwaudit.cli`` subprocesses against the simulator on a
loopback port (which can echo the Authorization header in its error bodies, as a leaky gateway
would), a loopback webhook receiver, real DuckDB files and real reports. Scanned: the database
file's bytes and every value of every table read back through DuckDB (its strings may be stored
compressed), every file written (reports, inventory CSVs, export folders, the PDF's decompressed
streams, its attachments and its extracted text, the lake's Parquet files byte for byte and value
by value), stdout and stderr of every command (text and
JSON logs) and every webhook body and header.
"""
from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

from gwaudit.resources import sample_snapshots
from gwaudit.simulator import Faults, Simulator, mint_token

from .webhook_receiver import RawReceiver

SAMPLE = sample_snapshots()[-1]
WEBHOOK_SECRET = b"webhook-signing-secret-for-the-scan-0123456789"


# ---------------------------------------------------------------- the scanner

FRAGMENT = 16


def needles(token: str) -> dict[str, bytes]:
    """The token, its payload segment, its signature, and 16-character tiles of both: a piece of
    a token cut short (an error message shortened to 300 characters) is found too, as long as it
    is 31 characters or more."""
    _, payload, signature = token.split(".")
    found = {"token": token.encode(), "payload segment": payload.encode(), "signature": signature.encode()}
    for name, part in (("payload", payload), ("signature", signature)):
        for i in range(0, len(part) - FRAGMENT + 1, FRAGMENT):
            found[f"{name} piece {i}"] = part[i:i + FRAGMENT].encode()
    return found


class Scanner:
    """Looks for every needle in everything it is given; ``hits`` names artifact and needle."""

    def __init__(self, tokens: list[str]):
        self.needles = {f"{name} of token {i}": n for i, t in enumerate(tokens) for name, n in needles(t).items()}
        self.hits: list[str] = []
        self.scanned: list[str] = []

    def bytes(self, where: str, data: bytes) -> None:
        self.scanned.append(where)
        for name, needle in self.needles.items():
            if needle in data:
                self.hits.append(f"{where}: {name}")

    def text(self, where: str, text: str) -> None:
        self.bytes(where, text.encode("utf-8", "surrogateescape"))

    def pdf(self, where: str, data: bytes) -> None:
        from pypdf import PdfReader
        from pypdf.generic import IndirectObject, StreamObject

        reader = PdfReader(io.BytesIO(data))
        for num in range(1, int(reader.trailer["/Size"])):
            try:
                obj = reader.get_object(IndirectObject(num, 0, reader))
            except Exception:  # noqa: BLE001 - free or compressed entries
                continue
            if isinstance(obj, StreamObject):
                self.bytes(f"{where} stream {num}", obj.get_data())
        for name, bodies in reader.attachments.items():
            for body in bodies:
                self.bytes(f"{where} attachment {name}", body)
        # a long token wraps across lines in a table cell: search the text without its whitespace
        text = "".join(page.extract_text() for page in reader.pages)
        self.text(f"{where} text", re.sub(r"\s+", "", text))

    def database(self, path: Path) -> None:
        for file in (path, path.with_name(path.name + ".wal")):
            if file.exists():
                self.bytes(f"{file.name} (bytes)", file.read_bytes())
        con = duckdb.connect(str(path), read_only=True)
        try:
            tables = con.execute("SELECT schema_name, table_name FROM duckdb_tables()").fetchall()
            for schema, table in tables:
                rows = con.execute(f'SELECT * FROM "{schema}"."{table}"').fetchall()
                self.text(f"{path.name} table {table}", repr(rows))
        finally:
            con.close()

    def parquet(self, where: str, path: Path) -> None:
        """Every value of a Parquet file (zstd or snappy compressed: its bytes hide strings)."""
        import pyarrow.parquet as pq

        self.text(f"{where} (values)", repr(pq.ParquetFile(path).read().to_pylist()))

    def tree(self, root: Path) -> None:
        for path in sorted(root.rglob("*")):
            if not path.is_file() or path.is_symlink():
                continue
            if path.suffix in (".duckdb",):
                self.database(path)
            elif path.suffix == ".pdf":
                self.bytes(str(path.relative_to(root)), path.read_bytes())
                self.pdf(str(path.relative_to(root)), path.read_bytes())
            elif path.suffix == ".parquet":
                self.bytes(str(path.relative_to(root)), path.read_bytes())
                self.parquet(str(path.relative_to(root)), path)
            else:
                self.bytes(str(path.relative_to(root)), path.read_bytes())

    def process(self, label: str, done: subprocess.CompletedProcess) -> None:
        self.text(f"{label} stdout", done.stdout)
        self.text(f"{label} stderr", done.stderr)

    def webhooks(self, rx: RawReceiver) -> None:
        for i, req in enumerate(rx.requests):
            self.bytes(f"webhook body {i}", req.body)
            self.text(f"webhook headers {i}", json.dumps(req.headers))


def gw(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("GWAUDIT_")}
    return subprocess.run([sys.executable, "-m", "gwaudit.cli", *args], capture_output=True, text=True, cwd=cwd,
                          env={**base, **(env or {})}, timeout=900)


def config(work: Path, sim: Simulator, webhook: str, *, formats: str = '["html", "pdf", "csv", "json"]') -> Path:
    secret = work.parent / "secrets" / "webhook-secret"
    secret.parent.mkdir(exist_ok=True)
    secret.write_bytes(WEBHOOK_SECRET)
    secret.chmod(0o600)
    path = work / "gwaudit.toml"
    path.write_text(textwrap.dedent(f"""
        [api]
        base_url = "{sim.base_url}"
        max_retry_seconds = 2
        [database]
        path = "audit.duckdb"
        [report]
        formats = {formats}
        out = "reports"
        [notify]
        webhook = "{webhook}"
        hmac_secret_file = "{secret}"
    """))
    return path


def token_file(work: Path, token: str | bytes, name: str = "token") -> Path:
    folder = work.parent / "secrets"  # outside the scanned folder: this file holds the token on purpose
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_bytes(token if isinstance(token, bytes) else token.encode() + b"\n")
    path.chmod(0o600)
    return path


# ---------------------------------------------------------------- the scanner can see

def test_the_scanner_finds_a_token_where_it_is_planted(tmp_path):
    """The scan is only worth its zero if it finds a token that is there: in a PDF (compressed
    streams, extracted text, an attachment) and in a DuckDB file whose strings are compressed."""
    from gwaudit.report.pdf import render_pdf
    from tests.report_data import report_data

    token = mint_token("admin", 600, "planted-token-signing-secret-0123456789abc")
    data = report_data(8)
    data.findings[0].message = f"planted {token}"
    pdf = render_pdf(data, attachments={"findings.json": f'{{"planted": "{token}"}}'.encode()})  # no redaction here
    scan = Scanner([token])
    scan.pdf("planted.pdf", pdf)
    assert any("text: token" in hit for hit in scan.hits), scan.hits  # found whole, though it wraps
    assert any("attachment findings.json: token" in hit for hit in scan.hits), scan.hits
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"v": [f"row {i} {token}" for i in range(2000)]}), tmp_path / "planted.parquet",
                   compression="zstd")
    scan = Scanner([token])
    scan.tree(tmp_path)
    assert any("planted.parquet (values): token" in hit for hit in scan.hits), scan.hits
    db = tmp_path / "planted.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE t AS SELECT 'row ' || i || ' ' || $t AS v FROM range(20000) r(i)", {"t": token})
    con.close()
    scan = Scanner([token])
    scan.database(db)
    assert any("table t" in hit for hit in scan.hits)


# ---------------------------------------------------------------- the normal path

def test_no_artifact_of_a_normal_day_holds_the_token(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    with Simulator.from_folder(SAMPLE, faults=Faults(echo_authorization=True)) as sim, RawReceiver() as rx:
        token = sim.mint_token()
        scan = Scanner([token])
        tok = token_file(work, token)
        cfg = config(work, sim, rx.url)
        base = ["--config", str(cfg)]
        steps = [
            ("collect", [*base, "collect", "--token-file", str(tok), "--export-dir", "export"], {}, 0),
            ("audit table", [*base, "audit"], {}, 0),
            ("audit json", [*base, "audit", "--format", "json"], {}, 0),
            ("audit csv", [*base, "audit", "--format", "csv"], {}, 0),
            ("report", [*base, "report", "--format", "html,pdf,csv,json", "--out", "reports-by-hand"], {}, 0),
            ("run json logs", [*base, "--log-format", "json", "run"], {"GWAUDIT_TOKEN": token}, 0),
            ("run slack", [*base, "run", "--notify-format", "slack", "--token-file", str(tok)], {}, 0),
            ("diff", [*base, "diff"], {}, 0),
            ("sql", [*base, "sql", "SELECT * FROM collection_status", "--format", "json"], {}, 0),
            ("snapshots", [*base, "snapshots", "--format", "json"], {}, 0),
            ("config check", [*base, "config", "check"], {"GWAUDIT_TOKEN": token}, 0),
        ]
        for label, args, env, code in steps:
            done = gw(args, work, env)
            assert done.returncode == code, (label, done.stderr)
            scan.process(label, done)
    assert len(rx.requests) == 2 and all("x-gwaudit-signature" in r.headers for r in rx.requests)
    scan.webhooks(rx)
    scan.tree(work)
    produced = {p.suffix for p in work.rglob("*") if p.is_file()}
    assert {".duckdb", ".pdf", ".html", ".csv", ".json"} <= produced
    assert any("stream" in s for s in scan.scanned) and any("attachment" in s for s in scan.scanned)
    assert scan.hits == []


# ---------------------------------------------------------------- failure paths

def test_no_artifact_of_a_bad_day_holds_the_token(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    other_key = "a-key-this-gateway-has-never-seen-0123456789"
    with RawReceiver() as rx:
        tokens: list[str] = []
        scans: list[tuple[str, subprocess.CompletedProcess]] = []

        def step(label: str, args: list[str], env: dict[str, str], code: int) -> None:
            done = gw(args, work, env)
            assert done.returncode == code, (label, done.returncode, done.stderr)
            assert "internal error" not in done.stderr and "Traceback" not in done.stderr, (label, done.stderr)
            scans.append((label, done))

        # 5xx everywhere for a while, one family always failing, every error body echoing the header
        faults = Faults(echo_authorization=True, error_rate=0.4, max_consecutive_faults=2, seed=5,
                        fail_families=("token_budgets", "providers"))
        with Simulator.from_folder(SAMPLE, faults=faults) as sim:
            token = sim.mint_token()
            tokens.append(token)
            cfg = config(work, sim, rx.url)
            base = ["--config", str(cfg)]
            step("run, gateway echoing the header in 5xx bodies", [*base, "--log-format", "json", "run"],
                 {"GWAUDIT_TOKEN": token}, 4)
            step("collect, echoing, text logs", [*base, "collect"], {"GWAUDIT_TOKEN": token}, 4)
            step("report of the incomplete snapshot", [*base, "report", "--out", "reports-incomplete"], {}, 4)
            step("audit of the incomplete snapshot", [*base, "audit", "--format", "json"], {}, 4)

            # 401: a well-formed token the gateway does not accept; its error body echoes it
            refused = mint_token("admin", 3600, other_key)
            tokens.append(refused)
            step("run, 401 echoing the header", [*base, "run"], {"GWAUDIT_TOKEN": refused}, 3)
            step("collect, 401, JSON logs", [*base, "--log-format", "json", "collect"], {"GWAUDIT_TOKEN": refused}, 3)

            # a member token: 403 on /admin, echoed
            member = sim.mint_token(role="member")
            tokens.append(member)
            step("run, 403 echoing the header", [*base, "run"], {"GWAUDIT_TOKEN": member}, 3)

            # control characters and other malformed tokens, from a file, the environment, a command
            step("token file with a NUL", [*base, "run", "--token-file", str(token_file(work, token.encode()
                                                                                         + b"\x00", "nul"))], {}, 2)
            step("token file with CRLF inside", [*base, "collect", "--token-file",
                                                 str(token_file(work, token[:30].encode() + b"\r\n"
                                                                + token[30:].encode(), "crlf"))], {}, 2)
            step("environment token with a newline", [*base, "run"], {"GWAUDIT_TOKEN": token[:50] + "\n" + token[50:]},
                 2)
            step("environment token, not ASCII", [*base, "collect"], {"GWAUDIT_TOKEN": token + "\u00e9"}, 2)
            step("binary token file", [*base, "collect", "--token-file",
                                       str(token_file(work, b"\x89PNG\r\n" + token.encode() + b"\xff", "bin"))],
                 {}, 2)
            helper = work.parent / "secrets" / "helper.py"
            helper.write_text(textwrap.dedent(f"""
                import sys
                print({token!r})
                print("token refresh failed; last request sent Authorization: Bearer {token}", file=sys.stderr)
                print("signature was " + {token.split('.')[2]!r}, file=sys.stderr)
                sys.exit(1)
            """))
            step("token command failing", [*base, "run", "--token-command", f"{sys.executable} {helper}"], {}, 2)
            step("token command failing, JSON logs", [*base, "--log-format", "json", "collect", "--token-command",
                                                      f"{sys.executable} {helper}"], {}, 2)
    scan = Scanner(tokens)
    for label, done in scans:
        scan.process(label, done)
    scan.webhooks(rx)
    scan.tree(work)
    assert scan.hits == []
    # and the scan looked where the token would have been: the echoed header was there, and cut
    assert len(rx.requests) == 3  # runs refused before anything was sent post nothing
    bodies = [json.loads(r.body) for r in rx.requests]
    assert [b["exit_code"] for b in bodies] == [4, 3, 3]
    assert all("Authorization: [REDACTED]" in json.dumps(b) for b in bodies)
    con = duckdb.connect(str(work / "audit.duckdb"), read_only=True)
    errors = [r[0] for r in con.execute("SELECT error FROM collection_status WHERE error IS NOT NULL").fetchall()]
    con.close()
    assert any("Authorization: [REDACTED]" in e for e in errors)
    assert any(p.suffix == ".pdf" for p in work.rglob("*"))


# ---------------------------------------------------------------- the lake and the fleet

def test_no_lake_or_fleet_artifact_holds_the_token(tmp_path):
    """``export --lake``, ``run`` exporting to ``[lake] dir``, and the fleet commands (``sql``,
    ``audit`` with the DuckDB engine, ``report``) on a database whose collection met a gateway
    echoing the Authorization header in its error bodies: the token is in no Parquet file,
    report, output or log line."""
    work = tmp_path / "work"
    work.mkdir()
    faults = Faults(echo_authorization=True, error_rate=0.3, max_consecutive_faults=2, seed=11,
                    fail_families=("providers",))
    with Simulator.from_folder(SAMPLE, faults=faults) as sim, RawReceiver() as rx:
        token = sim.mint_token()
        scan = Scanner([token])
        cfg = config(work, sim, rx.url, formats='["json", "csv"]')
        cfg.write_text(cfg.read_text() + '\n[lake]\ndir = "lake-by-run"\n')
        base = ["--config", str(cfg)]
        env = {"GWAUDIT_TOKEN": token}
        steps = [
            ("collect, echoing", [*base, "--log-format", "json", "collect"], env, 4),
            ("export text", [*base, "export", "--lake", "lake"], env, 0),
            ("run exporting to [lake] dir, JSON logs", [*base, "--log-format", "json", "run"], env, 4),
            ("export json, again", [*base, "--log-format", "json", "export", "--lake", "lake", "--format", "json"],
             env, 0),
            ("fleet sql errors", [*base, "fleet", "sql", "--lake", "lake", "--format", "json",
                                  "SELECT org_id, family, status, error FROM collection_status"], env, 0),
            ("fleet sql snapshots", [*base, "fleet", "sql", "--lake", "lake", "SELECT * FROM snapshots"], env, 0),
            ("fleet audit duckdb", [*base, "--log-format", "json", "fleet", "audit", "--lake", "lake",
                                    "--engine", "duckdb", "--format", "json"], env, None),
            ("fleet audit text", [*base, "fleet", "audit", "--lake", "lake-by-run"], env, None),
            ("fleet report", [*base, "fleet", "report", "--lake", "lake", "--out", "fleet-reports",
                              "--format", "html", "--format", "pdf"], env, 0),
        ]
        for label, args, step_env, code in steps:
            done = gw(args, work, step_env)
            if code is not None:
                assert done.returncode == code, (label, done.returncode, done.stderr)
            assert "internal error" not in done.stderr and "Traceback" not in done.stderr, (label, done.stderr)
            scan.process(label, done)
    scan.webhooks(rx)
    scan.tree(work)
    # the scan looked where the token would have been: the lake holds the redacted echo
    parquet = [s for s in scan.scanned if s.endswith("(values)")]
    assert any("lake-by-run" in s for s in parquet) and any(s.startswith("lake/fleet_findings") for s in parquet)
    assert any(p.suffix == ".pdf" for p in (work / "fleet-reports").rglob("*"))
    errors = json.loads(gw([*base, "fleet", "sql", "--lake", "lake", "--format", "json",
                            "SELECT error FROM collection_status WHERE error IS NOT NULL"], work).stdout)
    assert any("Authorization: [REDACTED]" in e["error"] for e in errors), errors
    assert scan.hits == []
