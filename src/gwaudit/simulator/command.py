"""What ``gwaudit simulate`` does, as library functions (the click command only parses options)."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Callable

from ..errors import UsageError
from ..resources import sample_snapshots
from .dataset import Dataset
from .faults import Faults
from .generate import generate_org, generated_identity
from .server import Simulator, check_host
from .tokens import DEFAULT_ORG_ID, DEV_SECRET, mint_token, read_secret_file


def default_snapshot() -> Path:
    """The newest bundled sample snapshot folder."""
    folders = sample_snapshots()
    if not folders:
        raise UsageError("no bundled sample snapshot found", hint="pass --snapshot DIR or --generate N")
    return folders[-1]


def _check_source(snapshot: Path | None, generate: int | None) -> None:
    if snapshot is not None and generate is not None:
        raise UsageError("--snapshot and --generate are exclusive", hint="serve either a folder or a generated org")


def load_dataset(snapshot: Path | None, generate: int | None, seed: int = 0) -> Dataset:
    _check_source(snapshot, generate)
    if generate is not None:
        return generate_org(generate, seed=seed).dataset()
    return Dataset.from_folder(snapshot or default_snapshot())


def token_for(*, snapshot: Path | None = None, generate: int | None = None, seed: int = 0,
              secret_file: Path | None = None, role: str = "admin", expires_in: int = 3600) -> str:
    """A token for ``gwaudit simulate --print-token``: signed with the simulator's secret and
    carrying the org (and, for a member, the calling user) the simulator would serve."""
    _check_source(snapshot, generate)
    secret = read_secret_file(secret_file) if secret_file else DEV_SECRET
    if generate is not None:
        org_id, caller = generated_identity(seed)
    else:
        dataset = Dataset.from_folder(snapshot or default_snapshot())
        org_id, caller = dataset.org_id or DEFAULT_ORG_ID, dataset.caller_user_id
    claims = {"sub": caller} if role != "admin" and caller else {}
    return mint_token(role, expires_in, secret, org_id=org_id, **claims)


def describe_faults(faults: Faults) -> str:
    parts = [f"{name.replace('_rate', '').replace('_', '-')} {100 * getattr(faults, name):g}%"
             for name in ("error_rate", "rate_limit_rate", "drop_rate", "truncate_rate") if getattr(faults, name)]
    if faults.latency_ms:
        parts.append(f"latency {faults.latency_ms:g} ms")
    if faults.fail_families:
        parts.append("failing " + ", ".join(sorted(faults.fail_families)))
    if faults.deny_families:
        parts.append("denied " + ", ".join(sorted(faults.deny_families)))
    if not parts:
        return "none"
    cap = faults.max_consecutive_faults
    return "; ".join(parts) + f" (seed {faults.seed}; " + (
        f"at most {cap} consecutive faults per request)" if cap is not None else "no cap on consecutive faults)")


def serve(*, snapshot: Path | None, generate: int | None, seed: int, faults: Faults, error_style: str,
          host: str, port: int, secret_file: Path | None, echo: Callable[[str], None],
          access_log: Callable[[str], None] | None = None, stop: threading.Event | None = None) -> None:
    """Serve until Ctrl-C (or until ``stop`` is set), printing the URL and how to get a token."""
    check_host(host)
    secret = read_secret_file(secret_file) if secret_file else DEV_SECRET
    dataset = load_dataset(snapshot, generate, seed)
    sim = Simulator(dataset, faults=faults, error_style=error_style, host=host, port=port, jwt_secret=secret,
                    log=access_log)
    token_cmd = "gwaudit simulate --print-token"
    if secret_file:
        token_cmd += f" --jwt-secret-file {secret_file}"
    stop = stop or threading.Event()
    previous = _on_sigterm(stop.set)
    try:
        _serve(sim, dataset, faults, error_style, token_cmd, echo, stop)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _on_sigterm(action: Callable[[], None]):
    """Stop cleanly on SIGTERM too (what a benchmark or a service manager sends)."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, lambda _sig, _frame: action())


def _serve(sim: Simulator, dataset: Dataset, faults: Faults, error_style: str, token_cmd: str,
           echo: Callable[[str], None], stop: threading.Event) -> None:
    with sim:
        echo(f"gwaudit simulator: serving {dataset.source} (org {dataset.org_id or 'unknown'})")
        echo(f"  base URL:  {sim.base_url}")
        echo(f"  API root:  {sim.api_root}")
        echo(f"  token:     export GWAUDIT_TOKEN=\"$({token_cmd})\"")
        echo(f"  collect:   gwaudit collect --base-url {sim.base_url}")
        echo(f"  faults:    {describe_faults(faults)}; error style {error_style}")
        echo(f"  a complete collection makes {sim.expected_requests()} GET requests")
        echo("Press Ctrl-C to stop.")
        try:
            while not stop.wait(0.25):
                pass
        except KeyboardInterrupt:
            pass
        stats = sim.stats
    faulted = ", ".join(f"{k} {v}" for k, v in sorted(stats.faults.items())) or "none"
    echo(f"stopped after {stats.total} requests (faults injected: {faulted})")
