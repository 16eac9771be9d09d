"""The webhook: size cap with counts and a note, HMAC signature a receiver can verify with the
README's snippet, redaction, and the run command's options."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from gwaudit import notify
from gwaudit.config import load_config
from gwaudit.errors import ConfigError
from gwaudit.resources import sample_snapshots
from gwaudit.simulator import Simulator, mint_token

from .webhook_receiver import RawReceiver

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = sample_snapshots()[-1]
SECRET = b"0123456789abcdef0123456789abcdef-webhook"


def readme_verify():
    """The verification function exactly as README shows it to receivers."""
    readme = (ROOT / "README.md").read_text()
    (block,) = [b for b in re.findall(r"^```python\n(.*?)^```", readme, flags=re.S | re.M) if "def verify(" in b]
    namespace: dict = {}
    exec(block, namespace)  # noqa: S102 - our own README
    return namespace["verify"]


def summary(new: int, problems: int = 0) -> dict:
    return {"status": "findings over threshold", "exit_code": 1, "snapshot_id": 7, "taken_at": "2026-11-27T06:00:00Z",
            "counts_by_severity": {"high": new}, "reports": ["/r/a.html"],
            "new_findings": [{"fingerprint": f"{i:032x}", "rule_id": "GW-KEY-001", "severity": "high",
                              "resource_id": f"key-{i:05d}", "resource_name": f"ci key {i}"} for i in range(new)],
            "resolved_findings": [{"fingerprint": f"{i:032x}", "rule_id": "GW-RL-001", "severity": "low",
                                   "resource_id": f"rl-{i}", "resource_name": None} for i in range(new // 2)],
            "evidence_problems": [f"family f{i} could not be collected: HTTP 503" for i in range(problems)]}


def test_a_summary_that_fits_is_sent_whole_with_its_counts():
    with RawReceiver() as rx:
        assert notify.post(rx.url, summary(3, 1))
    body = json.loads(rx.requests[0].body)
    assert body["counts"] == {"new_findings": 3, "resolved_findings": 1, "evidence_problems": 1}
    assert len(body["new_findings"]) == 3 and "truncated" not in body and "note" not in body


@pytest.mark.parametrize("cap", [4096, 16384, 100_000])
def test_a_large_summary_is_cut_to_the_cap_with_a_note(cap):
    big = summary(4403, problems=40)
    with RawReceiver() as rx:
        assert notify.post(rx.url, big, max_bytes=cap)
    raw = rx.requests[0].body
    assert len(raw) <= cap
    body = json.loads(raw)
    assert body["counts"] == {"new_findings": 4403, "resolved_findings": 2201, "evidence_problems": 40}
    assert body["counts_by_severity"] == {"high": 4403}
    for key in ("new_findings", "resolved_findings", "evidence_problems"):
        shown = len(body[key])
        assert body[key] == big[key][:shown]  # a prefix, in order
        if key in body["truncated"]:
            assert body["truncated"][key] == {"shown": shown, "omitted": body["counts"][key] - shown}
            assert f"{body['counts'][key] - shown} of {body['counts'][key]} {key.replace('_', ' ')}" in body["note"]
    assert body["truncated"]["new_findings"]["omitted"] > 0
    # the cap is used, not wasted: one more item would not have fitted
    assert len(raw) > cap - 600


def test_the_slack_message_says_how_many_were_left_out():
    with RawReceiver() as rx:
        assert notify.post(rx.url, summary(4403), fmt="slack", max_bytes=8192)
    raw = rx.requests[0].body
    text = json.loads(raw)["blocks"][0]["text"]["text"]
    assert "4403 new, 2201 resolved" in text and "… and 4393 more new findings" in text
    assert len(raw) <= 8192


def test_the_cap_has_a_floor():
    with pytest.raises(ConfigError, match="below the minimum"):
        notify.fit_summary(summary(1), 1000)


def test_the_signature_verifies_with_the_readme_snippet_and_nothing_else():
    verify = readme_verify()
    with RawReceiver() as rx:
        assert notify.post(rx.url, summary(50), hmac_secret=SECRET)
        assert notify.post(rx.url, summary(50), hmac_secret=SECRET, clock=lambda: time.time() - 3600)
        assert notify.post(rx.url, summary(1))
    fresh, old, unsigned = rx.requests
    header = fresh.headers["x-gwaudit-signature"]
    assert re.fullmatch(r"t=\d+,v1=[0-9a-f]{64}", header)
    assert verify(SECRET, fresh.body, header)
    assert not verify(SECRET, fresh.body.replace(b'"exit_code":1', b'"exit_code":0'), header)  # body changed
    assert not verify(b"another-secret-of-enough-length", fresh.body, header)
    assert not verify(SECRET, old.body, old.headers["x-gwaudit-signature"])  # an hour old: a replay
    t = header.split(",")[0][2:]
    assert not verify(SECRET, fresh.body, f"t={int(t) + 1},v1={header.split('v1=')[1]}")  # timestamp is signed
    assert "x-gwaudit-signature" not in unsigned.headers


def test_the_payload_is_redacted():
    token = mint_token("admin", 600, "webhook-test-signing-key-0123456789abcdef")
    s = summary(2)
    s["evidence_problems"] = [f"GET /admin/x refused the token (Authorization: Bearer {token})",
                              f"odd body {token.split('.')[1]}"]
    from gwaudit.redact import register_token
    register_token(token)
    with RawReceiver() as rx:
        notify.post(rx.url, s)
        notify.post(rx.url, s, fmt="slack")
    for req in rx.requests:
        for part in (token, *token.split(".")[1:]):
            assert part.encode() not in req.body


def test_hmac_secret_file_checks(tmp_path):
    short = tmp_path / "short"
    short.write_text("too-short\n")
    with pytest.raises(ConfigError, match="shorter than 16 bytes"):
        notify.read_hmac_secret(short)
    good = tmp_path / "good"
    good.write_bytes(SECRET + b"\n")
    good.chmod(0o600)
    assert notify.read_hmac_secret(good) == SECRET
    good.chmod(0o644)
    with pytest.raises(ConfigError, match="readable by others; refused"):
        notify.read_hmac_secret(good, strict=True)
    with pytest.raises(ConfigError, match="cannot read"):
        notify.read_hmac_secret(tmp_path / "missing")


def test_config_keys(tmp_path):
    cfg = tmp_path / "gwaudit.toml"
    cfg.write_text('[notify]\nmax_bytes = 8192\nhmac_secret_file = "secret"\n')
    loaded = load_config(cfg)
    assert loaded.notify.max_bytes == 8192 and loaded.notify.hmac_secret_file == tmp_path / "secret"
    cfg.write_text('[notify]\nmax_bytes = 100\n')
    with pytest.raises(ConfigError, match="notify.max_bytes"):
        load_config(cfg)


def _gw(args, cwd, env):
    return subprocess.run([sys.executable, "-m", "gwaudit.cli", *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, **env}, timeout=600)


def test_run_signs_and_caps_its_webhook(tmp_path):
    verify = readme_verify()
    secret = tmp_path / "webhook-secret"
    secret.write_bytes(SECRET)
    secret.chmod(0o600)
    with Simulator.from_folder(SAMPLE) as sim, RawReceiver() as rx:
        cfg = tmp_path / "gwaudit.toml"
        cfg.write_text(textwrap.dedent(f"""
            [api]
            base_url = "{sim.base_url}"
            [database]
            path = "audit.duckdb"
            [report]
            formats = ["json"]
            [notify]
            webhook = "{rx.url}"
            max_bytes = 4096
            hmac_secret_file = "webhook-secret"
        """))
        env = {"GWAUDIT_TOKEN": sim.mint_token()}
        done = _gw(["--config", str(cfg), "run"], tmp_path, env)
        assert done.returncode == 0, done.stderr
        by_flag = _gw(["--config", str(cfg), "run", "--notify-hmac-secret-file", str(secret)], tmp_path, env)
        assert by_flag.returncode == 0, by_flag.stderr
        short = tmp_path / "short"
        short.write_text("short")
        refused = _gw(["--config", str(cfg), "--db", str(tmp_path / "other.duckdb"), "run",
                       "--notify-hmac-secret-file", str(short)], tmp_path, env)
    assert refused.returncode == 2 and "shorter than 16 bytes" in refused.stderr
    assert not (tmp_path / "other.duckdb").exists()  # refused before collecting
    assert len(rx.requests) == 2
    for req in rx.requests:
        assert len(req.body) <= 4096
        assert verify(SECRET, req.body, req.headers["x-gwaudit-signature"])
        body = json.loads(req.body)
        assert body["snapshot_id"] in (1, 2) and set(body["counts"]) == {"new_findings", "resolved_findings",
                                                                         "evidence_problems"}
