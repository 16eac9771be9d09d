"""The engine's own rules (no SQL file): findings about the waiver file.

Not to be confused with the shipped YAML rules (origin ``builtin``): these have origin ``engine``.

They are listed by ``gwaudit rules list`` and selected by ``--only``/``--skip`` like any rule.
Their framework mappings carry their rationale as data (``rationale``), like a rule file's.
"""

from __future__ import annotations

from functools import lru_cache

from .loader import Rule

EXPIRED_WAIVER = "GW-WAIVER-001"
STALE_WAIVER = "GW-WAIVER-002"
WAIVER_FAMILY = "waivers"
ENGINE_RULE_IDS = frozenset({EXPIRED_WAIVER, STALE_WAIVER})

_REFS = [
    "README.md, section 'Waivers'",
    "NIST SP 800-53 Rev. 5, CA-5 Plan of Action and Milestones",
    "ISO/IEC 27001:2022, Annex A 5.36",
]

_DEFS = [
    dict(
        id=EXPIRED_WAIVER,
        title="Waiver has expired",
        severity="medium",
        description=("An entry of the waiver file whose `expires` date or time is before the evaluated "
                     "snapshot's taken_at. It no longer applies: the findings it covered are reported as "
                     "failing again. One finding per expired entry (resource_id `waiver:<n>`, n counting "
                     "entries from 1), whether or not it still matches a finding."),
        risk=("A risk that was accepted for a limited time is still present after the acceptance ran out; "
              "nobody re-decided whether it is still acceptable, and the exception list no longer reflects "
              "the organisation's decisions."),
        remediation=("Fix the finding the waiver covered (then delete the entry), or have the owner review it "
                     "and extend `expires` with an updated `justification` (at most one year ahead)."),
        references=_REFS + ["AICPA Trust Services Criteria (2017, rev. 2022), CC4.2"],
        frameworks={"soc2": ["CC4.2"], "iso27001": ["A.5.36"], "nist_800_53": ["CA-5"]},
        rationale={
            "soc2": {"CC4.2": "deficiencies are communicated to those responsible for corrective action in time; an "
                              "expired waiver is a deficiency whose acceptance ran out, reported to its named owner"},
            "iso27001": {"A.5.36": "compliance with the security policy is regularly reviewed; a lapsed exception "
                                   "shows the review of accepted exceptions did not happen"},
            "nist_800_53": {"CA-5": "the plan of action and milestones is updated; a waiver is a planned item with a "
                                    "deadline, and one past its deadline was not updated"},
        },
    ),
    dict(
        id=STALE_WAIVER,
        title="Waiver matches no finding",
        severity="low",
        description=("An unexpired entry of the waiver file that matched no finding of its rule in the evaluated "
                     "snapshot (the resource was fixed or deleted, the name glob is wrong, or the rule id is "
                     "not in the catalog). Only entries whose rule was evaluated without error are judged."),
        risk=("A stale exception can silently waive a future finding on a new resource that happens to match "
              "it, and it makes the exception register look larger and less trustworthy than it is."),
        remediation="Delete the entry, or correct its `rule_id`, `resource_id` or `resource_name`.",
        references=_REFS,
        frameworks={"soc2": ["CC4.2"], "iso27001": ["A.5.36"], "nist_800_53": ["CA-5"]},
        rationale={
            "soc2": {"CC4.2": "corrective action is monitored; a waiver matching no finding means the deficiency was "
                              "remedied (or the entry is wrong) and the register was not updated"},
            "iso27001": {"A.5.36": "compliance with the security policy is regularly reviewed; a stale exception "
                                   "shows the register of accepted exceptions is not"},
            "nist_800_53": {"CA-5": "the plan of action and milestones is updated from assessment findings; an item "
                                    "whose weakness is gone was not"},
        },
    ),
]


@lru_cache(maxsize=1)
def _build() -> tuple[Rule, ...]:
    out = []
    for spec in _DEFS:
        rule = Rule.model_construct(families=[], params={}, sql="", checked_sql=None, needs_previous=False, rule_class="hygiene",
                                    **spec)
        rule._origin = "engine"
        out.append(rule)
    return tuple(out)


def engine_rules() -> list[Rule]:
    return list(_build())
