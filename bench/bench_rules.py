"""Rule engine overhead: ``gwaudit audit`` on a large snapshot versus DuckDB running the same SQL.

Engine = :func:`gwaudit.rules.audit` end to end: load and validate every rule file, open the
snapshot on a sandboxed read-only connection, run every rule (and its checked count), turn rows
into findings (fingerprints, evidence JSON), apply waivers, and store findings + rule results in
one transaction. It is timed twice: without storing (``store=False``) and with.
Baseline = the same SQL statements with the same parameters on the same kind of connection
(sandboxed reader, family names scoped to the snapshot), rows fetched into Python, nothing else.
Both run in this process, interleaved, best of --repeat.

    python bench/bench_rules.py [--scale 50] [--repeat 3] [--rules-dir DIR] [--bench-rules]
    python bench/bench_rules.py --synthetic 100000 --bench-rules     # the worst case: a finding per resource

The snapshot is the simulator's generated org (``write_generated(--scale)``: ~1,900 resources per
unit, internally consistent), or with ``--synthetic N`` bench/_synthetic.py's clones of the
reference examples. All loaded rules run (built-in + --rules-dir). ``--bench-rules`` adds seven
representative rules that fire on nearly every key (every clone of a failing example fails), to
measure the cost per finding; they are added anyway when the built-in catalog has fewer than 5
SQL rules. Target (engine issue): engine time <= 3x the baseline.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gwaudit.db.ingest import import_folder  # noqa: E402
from gwaudit.rules import audit, effective_params, load_rules  # noqa: E402
from gwaudit.rules.engine import open_snapshot, prepare  # noqa: E402
from gwaudit.db import Database  # noqa: E402

_META = {"description": "Bench rule.", "risk": "None: benchmark only.", "remediation": "None.",
         "references": [], "frameworks": {"soc2": ["CC6.1"]}}

BENCH_RULES = {
    "BENCH-KEY-001": dict(severity="high", families=["api_keys"], params={"max_age_days": 90}, sql="""
        SELECT id AS resource_id, name AS resource_name,
               'key ' || name || ' is ' || date_diff('day', created_at, $now) || ' days old' AS message,
               created_at, date_diff('day', created_at, $now) AS age_days
        FROM api_keys WHERE revoked_at IS NULL AND date_diff('day', created_at, $now) > $max_age_days"""),
    "BENCH-KEY-002": dict(severity="critical", families=["api_keys"], sql="""
        SELECT id AS resource_id, name AS resource_name, 'key ' || name || ' never expires' AS message, kind
        FROM api_keys WHERE expires_at IS NULL AND revoked_at IS NULL"""),
    "BENCH-KEY-003": dict(severity="medium", families=["api_keys", "user_api_keys"], params={"idle_days": 30},
                          sql="""
        SELECT id AS resource_id, name AS resource_name, 'key ' || name || ' unused' AS message,
               fam AS family, last_used_at, kind
        FROM (SELECT *, 'api_keys' AS fam FROM api_keys UNION ALL SELECT *, 'user_api_keys' FROM user_api_keys)
        WHERE revoked_at IS NULL AND (last_used_at IS NULL OR last_used_at < $now - to_days($idle_days))""",
                          checked_sql="SELECT (SELECT count(*) FROM api_keys) + (SELECT count(*) FROM user_api_keys)"),
    "BENCH-RTE-001": dict(severity="low", families=["model_routes", "providers"], sql="""
        SELECT r.id AS resource_id, r.model_alias AS resource_name,
               'route ' || r.model_alias || ' points at a provider that is missing or disabled' AS message,
               r.provider_id
        FROM model_routes r LEFT JOIN providers p ON p.id = r.provider_id
        WHERE r.enabled AND (p.id IS NULL OR NOT p.enabled)"""),
    "BENCH-RTE-002": dict(severity="medium", families=["model_routes"], sql="""
        SELECT model_alias AS resource_id, model_alias AS resource_name,
               'alias ' || model_alias || ' has only ' || count(*) || ' enabled route' AS message,
               count(*) AS routes
        FROM model_routes WHERE enabled GROUP BY model_alias HAVING count(*) < 2"""),
    "BENCH-BUD-001": dict(severity="medium", families=["token_budgets"], sql="""
        SELECT id AS resource_id, name AS resource_name, 'budget ' || name || ' only alerts' AS message,
               action_on_exhaust, alert_thresholds
        FROM token_budgets WHERE action_on_exhaust <> 'block'"""),
    "BENCH-PRV-001": dict(severity="info", families=["providers"], sql="""
        SELECT id AS resource_id, name AS resource_name, 'provider ' || name || ' is not health-checked' AS message
        FROM providers WHERE enforce_health_check = false"""),
}


def write_bench_rules(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for rid, spec in BENCH_RULES.items():
        doc = {"id": rid, "title": f"Bench rule {rid}", **_META, **spec, "sql": textwrap.dedent(spec["sql"])}
        (folder / f"{rid}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return folder


def baseline(db: Path, rules, params) -> int:
    """The same statements, same bindings, same connection setup; rows fetched, nothing more."""
    rows = 0
    with Database(db).reader(sandboxed=True) as con:
        snap = open_snapshot(con, "latest")
        prepare(con, snap, rules)
        for rule in rules:
            if rule.needs_previous and snap.previous_id is None:
                continue  # the engine passes these without running them ("no previous snapshot")
            values = {**params[rule.id], "now": snap.taken_at, "snapshot_id": snap.id,
                      "previous_snapshot_id": snap.previous_id}
            rows += len(con.execute(rule.sql, {k: values[k] for k in rule.bindings()}).fetchall())
            if rule.checked_sql:
                con.execute(rule.checked_sql, {k: values[k] for k in rule.bindings(checked=True)}).fetchall()
    return rows


def timed(fn) -> tuple[float, float, object]:
    """(wall seconds, CPU seconds of this process - all threads, out). On a shared machine the CPU
    time is the steadier figure; the wall time includes waiting for the disk and other processes."""
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - t, time.process_time() - c, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=int, default=50, help="generated org scale (simulator.write_generated)")
    ap.add_argument("--synthetic", type=int, metavar="N", help="use bench/_synthetic.py with N resources instead")
    ap.add_argument("--bench-rules", action="store_true", help="add the bench's own rules")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--rules-dir", type=Path, action="append", default=[])
    ap.add_argument("--folder", type=Path, help="use this snapshot folder instead of a synthetic one")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="gwaudit-bench-rules-") as tmp:
        tmp = Path(tmp)
        if args.folder:
            folder = args.folder
        elif args.synthetic:
            import _synthetic

            folder = _synthetic.build(tmp / "snap", args.synthetic)
        else:
            from gwaudit.simulator import write_generated

            folder = write_generated(args.scale, tmp / "snap")
        db = tmp / "bench.duckdb"
        stored = import_folder(db, folder)
        print(f"snapshot: {stored.resource_count:,} resources")
        dirs = list(args.rules_dir)
        builtin_sql = [r for r in load_rules() if not r.is_engine]
        if args.bench_rules or len(builtin_sql) < 5:
            dirs.append(write_bench_rules(tmp / "bench-rules"))
            print(f"built-in catalog: {len(builtin_sql)} SQL rules; adding {len(BENCH_RULES)} bench rules")
        rules = load_rules(dirs)
        sql_rules = [r for r in rules if not r.is_engine]
        params = effective_params(rules, None)
        print(f"rules: {len(sql_rules)} SQL rules + {len(rules) - len(sql_rules)} engine rules")

        sides: dict[str, list[tuple[float, float]]] = {"base": [], "eval": [], "audit": []}
        result = rows = None
        for _ in range(args.repeat):  # interleaved, so every side sees the same machine load
            wall, cpu, rows = timed(lambda: baseline(db, sql_rules, params))
            sides["base"].append((wall, cpu))
            wall, cpu, _ = timed(lambda: audit(db, rules_dirs=dirs, store=False))
            sides["eval"].append((wall, cpu))
            wall, cpu, result = timed(lambda: audit(db, rules_dirs=dirs))
            sides["audit"].append((wall, cpu))
        best = {k: (min(w for w, _ in v), min(c for _, c in v)) for k, v in sides.items()}
        bw, bc = best["base"]
        print(f"findings: {len(result.findings):,} ({rows:,} SQL rows); rule errors: {len(result.errors)}")
        print(f"{'best of ' + str(args.repeat):32s}   wall    ratio |    CPU    ratio")
        for key, label in (("base", "DuckDB, same SQL and params"), ("eval", "gwaudit audit, not stored"),
                           ("audit", "gwaudit audit, stored (default)")):
            w, c = best[key]
            print(f"{label:32s} {w:6.3f}s  {w / bw:5.2f}x | {c:6.3f}s  {c / bc:5.2f}x")
        w, c = best["audit"]
        print(f"target: audit <= 3x DuckDB: wall {'met' if w / bw <= 3 else 'NOT met'}, "
              f"CPU {'met' if c / bc <= 3 else 'NOT met'}")


if __name__ == "__main__":
    main()
