"""ReportData fixtures for the renderer tests and the report benchmark.

``report_data(n)`` builds a plausible report with ``n`` findings spread over a dozen rules,
changes in several families, waivers and inventory; ``hostile=True`` puts names an attacker
could give resources through the API into every free-text place.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from gwaudit.report.model import (SEVERITIES, ChangeRow, FamilyCompleteness, FieldChange, Inventory, Period,
                                  ReportData, ReportFinding, ReportRule, SnapshotRef, Summary, TrendPoint, Waiver)

UTC = timezone.utc
HOSTILE_SCRIPT = '<script>window.__pwned = 1; document.title = "PWNED"</script>'
HOSTILE_IMG = '<img src=x onerror="window.__pwned = 2">'
HOSTILE_LINK = 'javascript:window.__pwned=3'
HOSTILE_FORMULA = '=HYPERLINK("http://x")'
KNOWN_REMEDIATION = "Rotate the key and set an expiry of at most 90 days."

RULES = [
    ("GW-KEY-001", "API key without expiry", "high", {"soc2": ["CC6.1"], "iso27001": ["A.5.17"],
                                                       "nist_800_53": ["IA-5"], "iso42001": ["A.6.2.6"]}),
    ("GW-KEY-002", "Unused API key still active", "medium", {"soc2": ["CC6.2"], "nist_800_53": ["AC-2"]}),
    ("GW-PROV-001", "Provider without health checks", "low", {"soc2": ["A1.2"], "iso27001": ["A.8.16"]}),
    ("GW-ROUTE-001", "Alias without failover", "medium", {"soc2": ["A1.2"], "iso42001": ["A.6.2.4"]}),
    ("GW-PRICE-001", "Route without pricing", "high", {"soc2": ["CC5.2"], "iso27001": ["A.5.23"]}),
    ("GW-BUD-001", "Budget without alert thresholds", "low", {"soc2": ["CC7.2"]}),
    ("GW-ACC-001", "Default model access allows everything", "critical",
     {"soc2": ["CC6.1"], "iso27001": ["A.8.3"], "nist_800_53": ["AC-3"], "iso42001": ["A.9.2"]}),
    ("GW-RL-001", "Rate limit disabled", "medium", {"nist_800_53": ["SC-5"]}),
    ("GW-CRED-001", "Credential shared by many providers", "low", {"iso27001": ["A.5.17"]}),
    ("GW-GOV-001", "Pricing not required for mappings", "info", {"soc2": ["CC5.2"]}),
    ("GW-KEY-003", "Key with wildcard model scope", "high", {"soc2": ["CC6.3"], "nist_800_53": ["AC-6"]}),
    ("GW-HEALTH-001", "Route ejected", "info", {"iso42001": ["A.6.2.6"]}),
]


def snapshot(sid: int, day: int, status: str = "complete", failed: list[str] | None = None) -> SnapshotRef:
    return SnapshotRef(id=sid, taken_at=datetime(2026, 7, 1, tzinfo=UTC) + timedelta(days=day), status=status,
                       source="import", base_url="https://acme.platform.barndoor.ai/api/llm-gateway",
                       org_id="00000000-0000-4000-8000-000000000001", tool_version="0.1.0",
                       manifest_sha256=f"{sid:02d}" * 32, resource_count=1234, failed_families=failed or [])


def report_data(n: int = 40, *, hostile: bool = False, incomplete: bool = False, n_changes: int = 30,
                pass_rules: int = 3) -> ReportData:
    name = (lambda i: f"key-{i} {HOSTILE_SCRIPT}") if hostile else (lambda i: f"key-{i}")
    findings: list[ReportFinding] = []
    # Spread findings unevenly: the first rules get most of them.
    weights = [max(1, 2 ** (len(RULES) - i)) for i in range(len(RULES))]
    total_w = sum(weights)
    counts = [max(1, n * w // total_w) for w in weights]
    counts[0] += n - sum(counts)
    i = 0
    for (rid, title, sev, fw), cnt in zip(RULES, counts):
        for _ in range(max(cnt, 0)):
            waived = i % 17 == 3
            rname = name(i)
            if hostile and i % 3 == 1:
                rname = HOSTILE_IMG
            if hostile and i % 3 == 2:
                rname = HOSTILE_LINK
            findings.append(ReportFinding(
                fingerprint=f"{i:032x}", rule_id=rid, title=title, severity=sev,
                status="waived" if waived else "fail", family="api_keys", resource_id=f"k-{i:06d}",
                resource_name=HOSTILE_FORMULA if hostile and i == 0 else rname,
                message=f"{rname} has no expiry" if not hostile else f"{HOSTILE_IMG} has no expiry",
                evidence={"expires_at": None, "created_at": "2026-01-02T03:04:05Z", "scopes": ["*"],
                          "note": HOSTILE_LINK if hostile else "created by terraform"},
                frameworks=fw, snapshot_id=7, first_seen=datetime(2026, 7, 1, tzinfo=UTC) + timedelta(days=i % 60),
                waiver={"owner": "alice@example.com", "expires": "2026-12-31"} if waived else None))
            i += 1
    findings = findings[:n]
    rules = []
    for rid, title, sev, fw in RULES:
        mine = [f for f in findings if f.rule_id == rid]
        rules.append(ReportRule(rule_id=rid, title=title, severity=sev, status="fail" if mine else "pass",
                          description=f"Checks that {title.lower()} does not happen." + (HOSTILE_SCRIPT if hostile else ""),
                          risk="An attacker with a leaked key keeps access forever.",
                          remediation=KNOWN_REMEDIATION if rid == "GW-KEY-001" else "Fix the configuration.",
                          references=["https://docs.example/keys"], frameworks=fw, families=["api_keys"],
                          params={"max_key_age_days": 90}, checked=5000, failed=len(mine),
                          open=sum(f.status == "fail" for f in mine), waived=sum(f.status == "waived" for f in mine)))
    for k in range(pass_rules):
        rules.append(ReportRule(rule_id=f"GW-OK-{k:03d}", title=f"Passing rule {k}", severity="low", status="pass",
                          frameworks={"soc2": ["CC8.1"]}, families=["providers"], checked=10))
    rules.append(ReportRule(rule_id="GW-ERR-001", title="Rule on a failed family", severity="high", status="error",
                      error="family route_health was not collected", frameworks={"soc2": ["A1.2"]},
                      families=["route_health"]))
    by_sev = {s: {"fail": 0, "waived": 0} for s in SEVERITIES}
    for f in findings:
        by_sev[f.severity][f.status] += 1
    summary = Summary(by_severity=by_sev, open=sum(v["fail"] for v in by_sev.values()),
                      waived=sum(v["waived"] for v in by_sev.values()), new=12, resolved=5,
                      mean_time_to_resolve_days=17.25,
                      rules={"evaluated": len(rules), "passed": sum(r.status == "pass" for r in rules),
                             "failed": sum(r.status == "fail" for r in rules),
                             "error": sum(r.status == "error" for r in rules)})
    from gwaudit.report.data import controls_from_rules

    changes = []
    fams = ["api_keys", "providers", "model_routes", "rate_limits"]
    for c in range(n_changes):
        kind = ("added", "removed", "modified")[c % 3]
        label = f"res-{c}" + (f" {HOSTILE_SCRIPT}" if hostile else "")
        changes.append(ChangeRow(family=fams[c % len(fams)], kind=kind, key=f"id-{c}", name=label,
                              changed_by=("bob@example.com" if kind == "modified" else None),
                              changes=[FieldChange("enabled", True, False),
                                       FieldChange("name", "old", label)] if kind == "modified" else []))
    failed = ["route_health"] if incomplete else []
    snap = snapshot(7, 80, "incomplete" if incomplete else "complete", failed)
    from gwaudit import families as fam

    completeness = [FamilyCompleteness(f.name, f.title, "failed" if f.name in failed else "ok",
                                 None if f.name in failed else 10,
                                 "HTTP 503: upstream down" if f.name in failed else None) for f in fam.FAMILIES]
    trend = [TrendPoint(sid, datetime(2026, 7, 1, tzinfo=UTC) + timedelta(days=10 * sid),
                        {"critical": sid % 2, "high": 3 + sid, "medium": 5, "low": 2, "info": 1}) for sid in range(1, 8)]
    return ReportData(
        org=("ACME " + HOSTILE_SCRIPT) if hostile else "ACME Corp", snapshot=snap,
        generated_at=datetime(2026, 10, 2, 9, 30, tzinfo=UTC), tool_version="0.1.0", summary=summary,
        period=Period(label="2026-Q3", start=datetime(2026, 7, 1, tzinfo=UTC),
                      end=datetime(2026, 9, 30, 23, 59, 59, tzinfo=UTC), baseline=snapshot(1, 0),
                      snapshots=[snapshot(s, 10 * s) for s in range(1, 8)]),
        classification="Confidential", completeness=completeness, rules=rules, findings=findings,
        controls=controls_from_rules(rules), changes=changes,
        waivers=[Waiver("GW-KEY-001", "k-000003", "Break-glass key" + (HOSTILE_SCRIPT if hostile else ""),
                        "alice@example.com", "2026-12-31", "active", 1),
                 Waiver("GW-KEY-002", "legacy-*", "Old integration", "bob@example.com", "2026-06-30", "expired", 0)],
        inventory=[Inventory(f.name, f.title, ["resource_key", "resource_name"],
                             [[f"{f.name}-{j}", (HOSTILE_FORMULA if hostile and j == 0 else f"{f.name} {j}")]
                              for j in range(3)]) for f in fam.FAMILIES],
        trend=trend)
