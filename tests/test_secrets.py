"""The token and other secrets: validation before use, one redaction function applied where text
leaves the process or is stored, token files and commands. End-to-end scans of every artifact are
in test_secret_scan.py."""
from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import httpx
import pytest

from gwaudit.auth import Token, TokenOptions, check_token, resolve_token, validate_token
from gwaudit.cli import main
from gwaudit.collector import describe_error
from gwaudit.errors import AuthError, ConfigError
from gwaudit.logsetup import JsonFormatter, TextFormatter
from gwaudit.redact import REDACTED, redact, redact_obj, register_token
from gwaudit.resources import sample_snapshots
from gwaudit.simulator import Faults, Simulator, mint_token
from gwaudit.snapshot import FamilyStatus

SAMPLE = sample_snapshots()[-1]
TOKEN = mint_token("admin", 3600, "a-signing-secret-for-the-secret-tests-only", sub="svc-secrets-test")
HEADER, PAYLOAD, SIGNATURE = TOKEN.split(".")


def gw(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k != "GWAUDIT_TOKEN"}
    return subprocess.run([sys.executable, "-m", "gwaudit.cli", *args], capture_output=True, text=True, cwd=cwd,
                          env={**base, **(env or {})}, timeout=300)


def leaks(text: str | bytes, token: str = TOKEN) -> list[str]:
    """Which of the token, its payload and its signature appear in ``text``."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    _, payload, sig = token.split(".")
    return [name for name, needle in (("token", token), ("payload", payload), ("signature", sig)) if needle in text]


# ---------------------------------------------------------------- redact()

def test_redact_removes_token_parts_and_credentials_in_every_shape():
    register_token(TOKEN)
    cases = [
        f"Illegal header value b'Bearer {TOKEN}\\x00'",
        f"token {TOKEN} refused",
        f"payload {PAYLOAD} and signature {SIGNATURE} quoted apart",
        f'{{"headers": {{"authorization": "Bearer {TOKEN}"}}}}',
        f"Authorization: Bearer {TOKEN}",
        f"proxy-authorization=Basic dXNlcjpwYXNzd29yZDEyMw==",
        f"('authorization', 'Bearer {TOKEN}')",
        f"cut short: {TOKEN[:60]}",
    ]
    for text in cases:
        out = redact(text)
        assert REDACTED in out, text
        assert not leaks(out), (text, out)
    assert "dXNlcjpwYXNz" not in redact("Authorization: Basic dXNlcjpwYXNzd29yZDEyMw==")
    # an unregistered JWT is still recognised by its shape
    other = mint_token("admin", 60, "another-secret-nobody-registered-here-0000", sub="x")
    assert not leaks(redact(f"saw {other} in a body"), other)


def test_redact_leaves_ordinary_text_and_keeps_json_valid():
    for text in ("Bearer authentication is used", "Authorization header missing", "auth_type bearer_api_key",
                 "eyJ alone", "a.b.c", "HTTP 503 Service Unavailable: upstream timed out"):
        assert redact(text) == text
    body = json.dumps({"error": {"message": f"bad token Authorization: Bearer {TOKEN}",
                                 "echo": {"authorization": f"Bearer {TOKEN}"}}})
    parsed = json.loads(redact(body))  # still JSON: nothing but the credential was cut
    assert parsed["error"]["echo"]["authorization"] == REDACTED and not leaks(json.dumps(parsed))


def test_redact_obj_copies_only_what_changes():
    register_token(TOKEN)
    clean = {"a": [1, "x", {"b": ("y",)}], "c": None}
    assert redact_obj(clean) is clean
    dirty = {"a": [1, "x", {"b": ("y", f"sig {SIGNATURE}")}], "c": clean, f"key {PAYLOAD}": 1}
    out = redact_obj(dirty)
    assert out["c"] is clean and out["a"][2]["b"] == ("y", f"sig {REDACTED}")
    assert f"key {REDACTED}" in out and not leaks(json.dumps(out))
    assert dirty["a"][2]["b"][1] == f"sig {SIGNATURE}"  # the original is untouched


def test_log_formatters_redact_message_hint_and_fields():
    register_token(TOKEN)
    record = logging.LogRecord("gwaudit.x", logging.ERROR, __file__, 1, f"failed with Bearer {TOKEN}", (), None)
    record.hint = f"the payload was {PAYLOAD}"
    record.detail = {"sig": SIGNATURE}
    text = TextFormatter().format(record)
    data = JsonFormatter().format(record)
    assert not leaks(text) and not leaks(data)
    assert json.loads(data)["detail"] == {"sig": REDACTED}


def test_family_status_errors_are_redacted_when_built():
    register_token(TOKEN)
    status = FamilyStatus(status="failed", error=f"connection error: LocalProtocolError: Illegal header value "
                                                  f"b'Bearer {TOKEN}\\n'")
    assert not leaks(status.error) and "Illegal header value" in status.error
    loaded = FamilyStatus.model_validate({"status": "failed", "error": f"echo {TOKEN}"})
    assert loaded.error == f"echo {REDACTED}"


def test_an_echoed_authorization_header_is_cut_before_the_message_is_shortened():
    register_token(TOKEN)
    message = "x" * 280 + f" (request had Authorization: Bearer {TOKEN})"
    text = describe_error(httpx.Response(503, json={"error": {"message": message, "type": "upstream"}}))
    assert not leaks(text) and "Authorization" in redact(message)
    # no piece of the payload survives the cut either
    assert not any(PAYLOAD[i:i + 8] in text for i in range(len(PAYLOAD) - 8))


# ---------------------------------------------------------------- validation

BAD_TOKENS = [
    (TOKEN + "\x00", "control characters"),
    (TOKEN[:40] + "\n" + TOKEN[40:], "control characters"),
    (TOKEN + "\x7f", "control characters"),
    (TOKEN + "é", "non-ASCII"),
    ("\u202e" + TOKEN, "non-ASCII"),
    ("not.a.token", "not a well-formed JWT"),
    (f"{HEADER}.{PAYLOAD}", "not a well-formed JWT"),
    (f"{HEADER}.{PAYLOAD}.{SIGNATURE}.x", "not a well-formed JWT"),
    (f"{HEADER}.bm90IGpzb24.{SIGNATURE}", "payload is not a JSON object"),
    (TOKEN[:30] + " " + TOKEN[30:], "spaces"),
    ("short-token", "too short"),
    ("opaque<token>with*odd%chars", "characters a bearer token cannot have"),
]


@pytest.mark.parametrize("value, why", BAD_TOKENS,  # ids without the token: it is minted at import
                         ids=[f"{i}-{why}" for i, (_value, why) in enumerate(BAD_TOKENS)])
def test_malformed_tokens_are_refused_without_echoing_them(value, why):
    with pytest.raises(ConfigError) as err:
        validate_token(Token(value, "test"))
    text = str(err.value)
    assert why in text
    assert not leaks(text)
    assert not any(part in text for part in value.replace("\n", ".").replace(" ", ".").split(".") if len(part) >= 6)


def test_valid_forms_pass():
    validate_token(Token(TOKEN, "test"))
    validate_token(Token("Zm9vYmFyLWJhei1xdXV4LTAxMjM0NTY3ODk=", "test"))  # opaque RFC 6750 token
    with pytest.raises(AuthError, match="Bearer"):
        validate_token(Token("Bearer " + TOKEN, "test"))
    with pytest.raises(AuthError, match="runtime API key"):
        check_token(Token("bd-abcdef1234567890", "test"), __import__("datetime").datetime.now().astimezone())


def test_token_file_edge_cases(tmp_path):
    def file_with(data: bytes, mode: int = 0o600) -> Path:
        path = tmp_path / f"tok{len(list(tmp_path.iterdir()))}"
        path.write_bytes(data)
        path.chmod(mode)
        return path

    assert resolve_token(TokenOptions(token_file=file_with(TOKEN.encode() + b"\r\n"), env={})).reveal() == TOKEN
    for data, why in [(b"", "empty"), (b" \n\t\n", "empty"), (TOKEN.encode() + b"\x00", "control characters"),
                      (b"\xff\xfe" + TOKEN.encode("utf-16-le"), "non-ASCII"), (os.urandom(64) + b"\x80", None),
                      (TOKEN.encode() + b"\n" + TOKEN.encode(), "more than one line"),
                      (b"\xef\xbb\xbf" + TOKEN.encode(), "non-ASCII")]:
        with pytest.raises(ConfigError) as err:
            resolve_token(TokenOptions(token_file=file_with(data), env={}))
        assert why is None or why in str(err.value)
        assert not leaks(str(err.value))
    with pytest.raises(ConfigError, match="is a folder|not a regular file"):
        resolve_token(TokenOptions(token_file=tmp_path, env={}))


@pytest.mark.parametrize("env_value", [TOKEN + "\n" + "x", TOKEN + "\x1b[0m", "tökén-" + TOKEN, TOKEN[:50] + "\r" + TOKEN[50:]],
                         ids=["newline", "escape", "non-ascii", "carriage-return"])
def test_cli_refuses_a_bad_env_token_with_exit_2_and_no_echo(tmp_path, env_value):
    done = gw(["--db", str(tmp_path / "a.duckdb"), "collect", "--base-url", "http://127.0.0.1:9"], tmp_path,
              {"GWAUDIT_TOKEN": env_value})
    assert done.returncode == 2, done.stderr
    assert "internal error" not in done.stderr and "Traceback" not in done.stderr
    assert "environment variable GWAUDIT_TOKEN" in done.stderr
    assert not leaks(done.stderr + done.stdout)
    assert not (tmp_path / "a.duckdb").exists()  # refused before anything was opened or sent


def test_readable_token_file_warns_and_strict_refuses(tmp_path):
    with Simulator.from_folder(SAMPLE) as sim:
        tok = tmp_path / "token"
        tok.write_text(sim.mint_token() + "\n")
        tok.chmod(0o644)
        db = tmp_path / "a.duckdb"
        done = gw(["--db", str(db), "collect", "--base-url", sim.base_url, "--token-file", str(tok)], tmp_path)
        assert done.returncode == 0, done.stderr
        assert f"warning: token file {tok} is readable by others" in done.stderr
        refused = gw(["--db", str(db), "collect", "--base-url", sim.base_url, "--token-file", str(tok),
                      "--strict-token-file"], tmp_path)
        assert refused.returncode == 2 and "refused" in refused.stderr and "chmod 600" in refused.stderr
        cfg = tmp_path / "strict.toml"
        cfg.write_text(f'[api]\nbase_url = "{sim.base_url}"\ntoken_file = "token"\nstrict_token_file = true\n')
        by_config = gw(["--config", str(cfg), "--db", str(db), "collect"], tmp_path)
        assert by_config.returncode == 2 and "refused" in by_config.stderr
        tok.chmod(0o640)
        group = gw(["--db", str(db), "collect", "--base-url", sim.base_url, "--token-file", str(tok)], tmp_path)
        assert group.returncode == 0 and "readable by its group" in group.stderr, group.stderr
        tok.chmod(0o600)
        quiet = gw(["--db", str(db), "collect", "--base-url", sim.base_url, "--token-file", str(tok),
                    "--strict-token-file"], tmp_path)
        assert quiet.returncode == 0 and "readable" not in quiet.stderr
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT count(*) FROM snapshots").fetchone()[0] == 3
    con.close()


def test_failing_token_command_has_its_stderr_redacted(tmp_path):
    script = tmp_path / "helper.py"
    other = mint_token("admin", 60, "a-secret-that-is-never-registered-anywhere-x", sub="helper")
    script.write_text(textwrap.dedent(f"""
        import sys
        print({TOKEN!r})
        print("partial output: " + {TOKEN.split('.')[2]!r}, file=sys.stderr)
        print("refresh failed for {other}; sent Authorization: Bearer {other}; sig " + {TOKEN.split('.')[2]!r},
              file=sys.stderr)
        sys.exit(3)
    """))
    with pytest.raises(ConfigError) as err:
        resolve_token(TokenOptions(token_command=f"{sys.executable} {script}", env={}))
    text = str(err.value)
    assert "exited with status 3" in text and "refresh failed" in text
    assert not leaks(text) and not leaks(text, other)
    # the same through the CLI: exit 2, nothing of either token on stderr
    done = gw(["--db", str(tmp_path / "a.duckdb"), "collect", "--base-url", "http://127.0.0.1:9",
               "--token-command", f"{sys.executable} {script}"], tmp_path)
    assert done.returncode == 2 and not leaks(done.stderr) and not leaks(done.stderr, other)


def test_token_command_printing_binary_is_refused(tmp_path):
    script = tmp_path / "helper.py"
    script.write_text("import sys; sys.stdout.buffer.write(b'\\xff\\xfe' + b'x' * 40 + b'\\n')")
    with pytest.raises(ConfigError, match="non-ASCII"):
        resolve_token(TokenOptions(token_command=f"{sys.executable} {script}", env={}))


def test_cli_errors_from_click_are_redacted(tmp_path, capsys):
    register_token(TOKEN)
    code = main(["--db", str(tmp_path / "a.duckdb"), "audit", "--format", f"Bearer {TOKEN}"])
    err = capsys.readouterr().err
    assert code == 2 and "Invalid value for '--format'" in err
    assert not leaks(err)


def test_a_gateway_echoing_the_header_leaves_no_trace_in_the_database(tmp_path):
    with Simulator.from_folder(SAMPLE, faults=Faults(echo_authorization=True, fail_families=("token_budgets",))) as sim:
        token = sim.mint_token()
        echoed = httpx.get(sim.api_root + "/admin/budgets", headers={"Authorization": f"Bearer {token}"})
        assert echoed.status_code == 503 and token in echoed.text  # the simulator really echoes it
        db = tmp_path / "a.duckdb"
        done = gw(["--db", str(db), "--log-format", "json", "collect", "--base-url", sim.base_url,
                   "--max-retry-time", "1"], tmp_path, {"GWAUDIT_TOKEN": token})
    assert done.returncode == 4, done.stderr
    assert not leaks(done.stderr + done.stdout, token)
    con = duckdb.connect(str(db), read_only=True)
    (error,) = con.execute("SELECT error FROM collection_status WHERE family = 'token_budgets'").fetchone()
    con.close()
    assert "request had Authorization: [REDACTED]" in error and not leaks(error, token)
