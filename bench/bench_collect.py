"""Collection speed: gwaudit collect (concurrency 8) versus a plain sequential httpx loop.

The simulator runs in its own process serving a generated org (N=50, ~95,000 resources) with
20 ms added to every response. Both clients make exactly the same GET requests (the list is
taken from the manifest gwaudit's collection writes). Figures, all from the same run:

* sequential  - one httpx.Client, keep-alive, one request after another;
* collect     - gwaudit's HTTP phase (every GET, retries, parse, spool to a snapshot folder);
* bound       - requests x latency / concurrency, the best any client with 8 in flight can do;
* store       - storing that folder in a fresh database (reported separately);
* peak memory of the gwaudit process.

    python bench/bench_collect.py [--n 50] [--latency-ms 20] [--concurrency 8]

Targets (issue 2): collect >= 6x faster than sequential, and collect <= 1.5 x bound.
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

COLLECT = textwrap.dedent("""
    import asyncio, json, resource, sys, time
    from pathlib import Path
    from gwaudit.auth import Token
    from gwaudit.collector import CollectOptions, collect_to_folder
    from gwaudit.db.ingest import store_folder
    from gwaudit.snapshot import load_folder
    base_url, token, folder, db, conc = sys.argv[1], sys.argv[2], Path(sys.argv[3]), sys.argv[4], int(sys.argv[5])
    opts = CollectOptions(base_url=base_url, concurrency=conc)
    t = time.perf_counter()
    cpu0 = time.process_time()
    report = asyncio.run(collect_to_folder(opts, Token(token, "bench"), folder))
    http = time.perf_counter() - t
    http_cpu = time.process_time() - cpu0
    t = time.perf_counter()
    stored = store_folder(db, load_folder(folder, parse=False), source="api")
    store = time.perf_counter() - t
    print(json.dumps({"http": http, "http_cpu": http_cpu, "store": store, "requests": report.requests, "retries": report.retries,
                      "resources": stored.resource_count, "failed": stored.failed,
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
""")

SEQUENTIAL = textwrap.dedent("""
    import json, sys, time, httpx
    base, token, requests = sys.argv[1], sys.argv[2], json.loads(open(sys.argv[3]).read())
    t = time.perf_counter()
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
        for path, query in requests:
            r = client.get(path, params=query)
            if r.status_code != 404:  # an endpoint this tenant does not offer
                r.raise_for_status()
                json.loads(r.content)
    print(json.dumps({"seconds": time.perf_counter() - t, "requests": len(requests)}))
""")


def start_simulator(n: int, latency_ms: float) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "gwaudit.cli", "simulate", "--generate", str(n),
                             "--latency-ms", str(latency_ms)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    assert proc.stdout is not None
    deadline = time.monotonic() + 120
    for line in proc.stdout:
        m = re.search(r"base URL:\s+(\S+)", line)
        if m:
            return proc, m.group(1)
        if time.monotonic() > deadline:
            break
    proc.kill()
    raise SystemExit("the simulator did not start")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=50)
    ap.add_argument("--latency-ms", type=float, default=20.0)
    ap.add_argument("--concurrency", type=int, default=8)
    args = ap.parse_args()
    token = subprocess.run([sys.executable, "-m", "gwaudit.cli", "simulate", "--generate", str(args.n),
                            "--print-token"], capture_output=True, text=True, check=True).stdout.strip()
    sim, base_url = start_simulator(args.n, args.latency_ms)
    try:
        with tempfile.TemporaryDirectory(prefix="gwaudit-bench-") as tmp:
            tmp = Path(tmp)
            out = subprocess.run([sys.executable, "-c", COLLECT, base_url, token, str(tmp / "snap"),
                                  str(tmp / "db.duckdb"), str(args.concurrency)],
                                 capture_output=True, text=True)
            if out.returncode:
                raise SystemExit(out.stderr)
            ours = json.loads(out.stdout.strip().splitlines()[-1])
            manifest = json.loads((tmp / "snap" / "manifest.json").read_text())
            root = manifest["base_url"]
            requests = [(f["endpoint"].replace("/api/llm-gateway", "", 1), f.get("query") or {})
                        for f in manifest["files"]]
            requests += [(fam_status["endpoint"].replace("/api/llm-gateway", "", 1), {})
                         for fam_status in manifest["families"].values()
                         if fam_status["status"] == "unavailable" and fam_status.get("http_status") == 404]
            (tmp / "requests.json").write_text(json.dumps(requests))
            seq_out = subprocess.run([sys.executable, "-c", SEQUENTIAL, root, token, str(tmp / "requests.json")],
                                     capture_output=True, text=True)
            if seq_out.returncode:
                raise SystemExit(seq_out.stderr)
            seq = json.loads(seq_out.stdout.strip().splitlines()[-1])
    finally:
        sim.send_signal(signal.SIGTERM)
        sim.wait(timeout=30)
    n_req = ours["requests"]
    bound = n_req * args.latency_ms / 1000 / args.concurrency
    print(f"generated org N={args.n}: {ours['resources']:,} resources, {n_req:,} requests "
          f"({ours['retries']} retries), latency {args.latency_ms:g} ms, concurrency {args.concurrency}")
    print(f"bound (requests x latency / {args.concurrency}) : {bound:6.2f}s")
    print(f"gwaudit collect, HTTP phase            : {ours['http']:6.2f}s  = {ours['http'] / bound:.2f} x bound "
          f"(target <= 1.5: {'met' if ours['http'] <= 1.5 * bound else 'NOT met'}); "
          f"CPU {ours['http_cpu']:.2f}s")
    if seq:
        speedup = seq["seconds"] / ours["http"]
        print(f"plain sequential httpx loop            : {seq['seconds']:6.2f}s  ({seq['requests']:,} requests)")
        print(f"speed-up collect vs sequential         : {speedup:6.2f}x (target >= 6: {'met' if speedup >= 6 else 'NOT met'})")
    print(f"store the snapshot (fresh database)    : {ours['store']:6.2f}s")
    print(f"peak memory of the gwaudit process     : {ours['peak_mb']:.0f} MB")
    if ours["failed"]:
        print(f"WARNING: failed families {ours['failed']}")


if __name__ == "__main__":
    main()
