"""Issue 19, 'Weak' items on input: a non-ASCII or binary token is a clear exit 2 from every
command that needs one (never "internal error: UnicodeEncodeError", exit 5), and nothing is
opened or sent. (Validation itself: tests/test_secrets.py.)"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from gwaudit.cli import main

JWT_LIKE = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJzdmMifQ.c2lnbmF0dXJlLXNpZ25hdHVyZQ"

CASES = {
    "binary": os.urandom(48) + b"\x80\xff",
    "utf8-non-ascii": ("tökén-" + JWT_LIKE).encode(),
    "latin1": JWT_LIKE.encode() + b"\xe9",
    "utf16": JWT_LIKE.encode("utf-16"),
    "nul": JWT_LIKE.encode() + b"\x00",
}


@pytest.mark.parametrize("command", ["collect", "run"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_a_bad_token_file_is_exit_2_from_every_command(tmp_path: Path, capsys, case: str, command: str):
    token = tmp_path / "token"
    token.write_bytes(CASES[case])
    token.chmod(0o600)
    db = tmp_path / "a.duckdb"
    capsys.readouterr()
    code = main(["--db", str(db), command, "--base-url", "http://127.0.0.1:9", "--token-file", str(token)])
    out = capsys.readouterr()
    text = out.out + out.err
    assert code == 2, text
    assert "internal error" not in text and "Traceback" not in text and "UnicodeEncodeError" not in text
    assert "token file" in text or "--token-file" in text
    assert "eyJhbGci" not in text  # never echoed
    assert not db.exists()


def test_a_token_command_printing_non_ascii_is_exit_2(tmp_path: Path, capsys):
    script = tmp_path / "tok.py"
    script.write_text("import sys; sys.stdout.buffer.write('tökén-%s\\n'.encode())" % JWT_LIKE)
    capsys.readouterr()
    code = main(["--db", str(tmp_path / "a.duckdb"), "collect", "--base-url", "http://127.0.0.1:9",
                 "--token-command", f"{sys.executable} {script}"])
    text = "".join(capsys.readouterr())
    assert code == 2 and "non-ASCII" in text and "internal error" not in text, text
