"""The collector against the simulator on a loopback port, faults injected there."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pytest

from gwaudit import families as fam
from gwaudit.auth import Token
from gwaudit.collector import CollectOptions, collect
from gwaudit.resources import sample_snapshots
from gwaudit.simulator import Faults, Simulator
from gwaudit.snapshot import load_folder

SAMPLE = sample_snapshots()[-1]


def _opts(sim: Simulator, **kw) -> CollectOptions:
    kw.setdefault("backoff_base", 0.01)
    kw.setdefault("backoff_max", 0.05)
    return CollectOptions(base_url=sim.base_url, seed=3, **kw)


def _folder_counts(folder: Path) -> dict[str, int]:
    loaded = load_folder(folder, parse=True)
    return {f.name: sum(len(lf.items or []) for lf in loaded.files_of(f.name)) for f in fam.FAMILIES}


def _db_counts(db: Path, sid: int) -> dict[str, int]:
    con = duckdb.connect(str(db), read_only=True)
    rows = con.execute("SELECT family, count(*) FROM snapshot_resources WHERE snapshot_id = ? GROUP BY 1",
                       [sid]).fetchall()
    con.close()
    return dict(rows)


def test_full_snapshot_matches_the_folder(tmp_path, db):
    with Simulator.from_folder(SAMPLE) as sim:
        result = collect(db, _opts(sim), Token(sim.mint_token(), "test"), export_dir=tmp_path / "export")
        assert result.report.requests == sim.expected_requests()
        api_root = sim.api_root
    assert result.stored.complete
    expected = {k: v for k, v in _folder_counts(SAMPLE).items() if v}
    assert _db_counts(db, result.stored.snapshot_id) == expected
    # the export is a snapshot folder that verifies and holds the same bodies
    exported = load_folder(tmp_path / "export", parse=True)
    assert {k: v for k, v in _folder_counts(tmp_path / "export").items() if v} == expected
    assert exported.manifest.base_url == api_root
    statuses = {n: s.status for n, s in exported.families.items()}
    assert statuses["agent_runtime_profiles"] == "unavailable"


def test_faults_still_give_a_complete_snapshot(tmp_path, db):
    """20% 503s, 429s with Retry-After, dropped connections and truncated bodies: every request
    eventually succeeds, and the snapshot equals the one a fault-free collection gives."""
    faults = Faults(error_rate=0.2, rate_limit_rate=0.1, drop_rate=0.1, truncate_rate=0.05, seed=11,
                    retry_after_s=1)
    with Simulator.from_generated(n=1, seed=4) as sim:
        clean = collect(tmp_path / "clean.duckdb", _opts(sim), Token(sim.mint_token(), "test"))
        sim.set_faults(faults)
        sim.reset_stats()
        result = collect(db, _opts(sim), Token(sim.mint_token(), "test"))
        stats = sim.stats
    assert result.stored.complete, result.stored.families
    for kind in ("error", "rate_limit", "drop", "truncate"):
        assert stats.faults.get(kind, 0) > 0, (kind, stats.faults)
    assert result.report.retries >= sum(stats.faults.values())
    assert _db_counts(db, result.stored.snapshot_id) == _db_counts(tmp_path / "clean.duckdb", clean.stored.snapshot_id)
    assert result.stored.resource_count == clean.stored.resource_count > 1500


def test_429_honours_retry_after(db):
    faults = Faults(rate_limit_rate=1.0, max_consecutive_faults=1, retry_after_s=1, seed=2)
    with Simulator.from_folder(SAMPLE, faults=faults) as sim:
        started = datetime.now(timezone.utc)
        result = collect(db, _opts(sim), Token(sim.mint_token(), "test"))
        elapsed = (datetime.now(timezone.utc) - started).total_seconds()
    assert result.stored.complete
    assert elapsed >= 0.9  # every request waited for its Retry-After before the retry


def _cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gwaudit.cli", *args], capture_output=True, text=True,
                          env={**os.environ, **env}, cwd=cwd, timeout=300)


def test_family_that_always_fails_exits_4_with_incomplete_snapshot(tmp_path, db):
    faults = Faults(fail_families=("rate_limits",), seed=1)
    with Simulator.from_folder(SAMPLE, faults=faults) as sim:
        done = _cli(["--db", str(db), "collect", "--base-url", sim.base_url, "--max-retry-time", "1",
                     "--format", "json"], {"GWAUDIT_TOKEN": sim.mint_token()}, tmp_path)
    assert done.returncode == 4, done.stderr
    out = json.loads(done.stdout)
    assert out["status"] == "incomplete"
    assert out["families"]["rate_limits"]["status"] == "failed"
    assert "503" in out["families"]["rate_limits"]["error"]
    assert "rate_limits" in done.stderr and "incomplete" in done.stderr
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT status, failed_families FROM snapshots").fetchall() == [("incomplete", ["rate_limits"])]
    # a failed family never looks like an empty one
    assert con.execute("SELECT status FROM collection_status WHERE family = 'rate_limits'").fetchone() == ("failed",)
    con.close()


@pytest.mark.parametrize("role, path, code", [
    (None, "/api/llm-gateway/admin/", 401),  # no valid token at all (requests run concurrently: any may be named)
    ("member", "/admin/", 403),            # a signed-in user without the admin role
])
def test_auth_refusal_exits_3_and_stores_nothing(tmp_path, db, role, path, code):
    with Simulator.from_folder(SAMPLE) as sim:
        token = sim.mint_token(role=role) if role else "not-a-jwt-at-all"
        done = _cli(["--db", str(db), "collect", "--base-url", sim.base_url, "--export-dir",
                     str(tmp_path / "export")], {"GWAUDIT_TOKEN": token}, tmp_path)
    assert done.returncode == 3, done.stderr
    assert "nothing was stored" in done.stderr
    assert path in done.stderr
    if code == 403:
        assert "admin role" in done.stderr
    assert not db.exists()
    assert not (tmp_path / "export" / "manifest.json").exists()


def test_expired_token_and_runtime_key_refused_before_sending(tmp_path, db):
    with Simulator.from_folder(SAMPLE) as sim:
        expired = sim.mint_token(expires_in=-60)
        done = _cli(["--db", str(db), "collect", "--base-url", sim.base_url], {"GWAUDIT_TOKEN": expired}, tmp_path)
        assert done.returncode == 3 and "expired at" in done.stderr
        done = _cli(["--db", str(db), "collect", "--base-url", sim.base_url],
                    {"GWAUDIT_TOKEN": "bd-abcdef0123456789"}, tmp_path)
        assert done.returncode == 3 and "runtime API key" in done.stderr
        assert sim.stats.total == 0  # nothing was sent
    assert not db.exists()


def test_token_appears_nowhere(tmp_path, db):
    faults = Faults(fail_families=("smart_models",), error_rate=0.1, seed=5)
    token_file = tmp_path / "token"
    with Simulator.from_folder(SAMPLE, faults=faults) as sim:
        token = sim.mint_token()
        token_file.write_text(token)
        token_file.chmod(0o600)
        outputs = []
        for fmt in ("text", "json"):
            done = _cli(["--db", str(db), "--log-format", "json" if fmt == "json" else "text", "collect",
                         "--base-url", sim.base_url, "--token-file", str(token_file), "--max-retry-time", "1",
                         "--format", fmt, "--export-dir", str(tmp_path / f"export-{fmt}")], {}, tmp_path)
            assert done.returncode == 4, done.stderr
            outputs += [done.stdout, done.stderr]
    secret = token.encode()
    signature = token.rsplit(".", 1)[-1].encode()
    for text in outputs:
        assert token not in text and signature.decode() not in text
    for path in [db, *db.parent.glob(db.name + "*"), *(tmp_path / "export-text").rglob("*"),
                 *(tmp_path / "export-json").rglob("*")]:
        if path.is_file():
            data = path.read_bytes()
            assert secret not in data and signature not in data, path


def test_every_error_shape_is_shown(tmp_path, db):
    for style, expect in (("openai", "service_unavailable"), ("flat", "ServiceUnavailable")):
        faults = Faults(fail_families=("providers",), seed=1)
        with Simulator.from_folder(SAMPLE, faults=faults, error_style=style) as sim:
            result = collect(db, _opts(sim, max_attempts=1), Token(sim.mint_token(), "test"))
        error = result.stored.families["providers"]["error"]
        assert "HTTP 503" in error and len(error) < 400, error


def test_demo_runs_offline(tmp_path):
    done = subprocess.run([sys.executable, "-m", "gwaudit.cli", "demo", "--out", str(tmp_path / "demo")],
                          capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "collected over HTTP" in done.stdout
    con = duckdb.connect(str(tmp_path / "demo" / "gwaudit.duckdb"), read_only=True)
    sources = con.execute("SELECT source FROM snapshots ORDER BY taken_at").fetchall()
    assert sources[-1] == ("api",) and len(sources) == len(sample_snapshots())
