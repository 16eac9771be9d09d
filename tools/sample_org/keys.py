"""People and API keys of the sample organisation.

Most keys belong to a *slot* (a laptop, a notebook, a CI runner) that the owner rotates every
74-84 days: the new key is created, the old one revoked within hours, and every key expires 90
days after creation, so no active key is older than 90 days. The keys that break a rule on purpose are listed explicitly in SPECIAL.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Optional, Union

from .common import (DANA, ELENA, MARCUS, NEW, ORG_ID, PRIYA, TERRAFORM, TOM, Person, at, days, iso, key_id, person,
                     rng)

# (name, team, first key); teams are IdP groups. Later start dates are new hires.
STAFF: list[tuple[str, str, str]] = [
    ("Priya Raman", "platform", "2026-01-14 09:12"), ("Dana Whitfield", "platform", "2026-01-13 16:40"),
    ("Tom Okafor", "platform", "2026-01-14 11:05"), ("Marcus Chen", "security", "2026-01-19 10:30"),
    ("Elena Sokolova", "finance", "2026-02-03 09:50"), ("Aisha Bello", "engineering", "2026-01-15 10:02"),
    ("Ben Carter", "engineering", "2026-01-15 14:21"), ("Chloe Dubois", "engineering", "2026-01-16 09:47"),
    ("Diego Alvarez", "engineering", "2026-01-19 13:15"), ("Farah Haddad", "engineering", "2026-01-20 08:55"),
    ("Gabriel Silva", "engineering", "2026-01-21 15:30"), ("Hannah Kim", "engineering", "2026-01-22 10:10"),
    ("Ivan Petrov", "engineering", "2026-01-26 09:05"), ("Jasmine Wu", "engineering", "2026-01-27 11:45"),
    ("Liam O'Connor", "engineering", "2026-02-02 10:20"), ("Maya Patel", "engineering", "2026-02-03 16:05"),
    ("Noah Schmidt", "engineering", "2026-02-04 09:35"), ("Olivia Rossi", "engineering", "2026-02-09 14:50"),
    ("Pedro Santos", "engineering", "2026-02-10 10:40"), ("Quinn Murphy", "engineering", "2026-02-16 13:25"),
    ("Rosa Martinez", "engineering", "2026-02-23 09:15"), ("Samuel Adeyemi", "engineering", "2026-03-02 10:00"),
    ("Tara Singh", "engineering", "2026-03-09 15:10"), ("Umar Farouk", "engineering", "2026-03-16 11:30"),
    ("Valentina Greco", "engineering", "2026-04-06 09:25"), ("William Zhang", "engineering", "2026-04-20 14:40"),
    ("Xavier Laurent", "engineering", "2026-05-11 10:55"), ("Zoe Fischer", "engineering", "2026-06-15 09:45"),
    ("Connor Walsh", "engineering", "2026-09-14 10:30"), ("Bianca Costa", "engineering", "2026-10-05 09:20"),
    ("Ravi Iyer", "data-science", "2026-01-16 10:15"), ("Sofia Lindqvist", "data-science", "2026-01-20 13:40"),
    ("Mateo Garcia", "data-science", "2026-01-28 09:30"), ("Leila Nasser", "data-science", "2026-02-11 11:20"),
    ("Jonas Berg", "data-science", "2026-03-04 14:05"), ("Emily Clarke", "data-science", "2026-04-13 10:35"),
    ("Hiro Tanaka", "data-science", "2026-09-28 09:10"), ("Grace Liu", "support", "2026-03-03 11:00"),
    ("Oscar Novak", "support", "2026-03-03 11:40"), ("Fatima Zahra", "support", "2026-03-05 09:55"),
    ("Lucas Moreau", "support", "2026-03-10 15:20"), ("Amara Okeke", "support", "2026-05-04 10:45"),
    ("Kwame Mensah", "contractors", "2026-02-16 10:00"), ("Ines Duarte", "contractors", "2026-02-17 09:30"),
    ("Jin Park", "contractors", "2026-05-19 11:10"), ("Mia Jensen", "contractors", "2026-10-19 10:05"),
    ("Laura Becker", "analytics", "2026-03-23 10:25"), ("Daniel Cho", "analytics", "2026-04-27 13:50"),
    ("Megan Reilly", "marketing", "2026-06-22 10:40"), ("Omar Aziz", "marketing", "2026-07-06 09:15"),
]
PEOPLE = {name: person(name) for name, _team, _start in STAFF}
TEAM = {name: team for name, team, _start in STAFF}

# Staff who left: (last day, lapse). lapse=True: offboarding missed the key, which ran to its expiry.
LEAVERS = {"Noah Schmidt": ("2026-08-14 17:00", True), "Olivia Rossi": ("2026-07-24 17:30", True),
           "Quinn Murphy": ("2026-06-05 16:00", False), "Rosa Martinez": ("2026-10-23 15:45", False),
           "Ines Duarte": ("2026-04-30 12:00", False)}
SECOND_DEVICE = {"Priya Raman": "jupyter", "Ravi Iyer": "jupyter", "Sofia Lindqvist": "jupyter",
                 "Mateo Garcia": "notebook", "Ben Carter": "ci sandbox", "Jasmine Wu": "cursor",
                 "Maya Patel": "cursor", "Tom Okafor": "build-box", "Leila Nasser": "jupyter"}


@dataclass
class Key:
    label: str
    name: str
    kind: str
    owner: Optional[Person]
    group: Optional[str]
    created: datetime
    creator: Person
    expires: Optional[datetime]
    revoked: Optional[datetime] = None
    disabled: Optional[datetime] = None
    last_used: Union[str, datetime, None] = "auto"  # "auto", a fixed instant, or None (never used)
    generation: int = 0
    until: Optional[datetime] = None  # not used after this (its owner left)

    @property
    def id(self) -> str:
        return key_id(self.label, self.generation)

    def prefix(self) -> str:
        r = rng("prefix", self.id)
        return "bd-" + "".join(r.choice(string.ascii_letters + string.digits) for _ in range(5))


@dataclass
class Slot:
    label: str
    kind: str
    owner: Optional[Person]
    group: Optional[str]
    start: datetime
    creator: Person
    ttl: Optional[int] = 90
    end: Optional[datetime] = None
    lapse: bool = False
    disable_at: Optional[datetime] = None
    dated: bool = False

    def keys(self) -> list[Key]:
        r = rng("slot", self.label)
        out: list[Key] = []
        t, n = self.start, 0
        while t <= NEW:
            nxt: Optional[datetime] = (t + days(r.randint(74, 84))).replace(hour=r.randint(8, 17),
                                                                              minute=r.randint(0, 59))
            expires = t + days(self.ttl) if self.ttl else None
            revoked = disabled = until = None
            if self.disable_at and nxt > self.disable_at:
                disabled, nxt = self.disable_at, None
            elif self.end and nxt > self.end:
                revoked, until, nxt = (None if self.lapse else self.end), self.end, None
            else:
                revoked = nxt + timedelta(minutes=r.randint(5, 600))  # the old key goes once the new one works
            name = f"{self.label} ({t:%Y-%m})" if self.dated else self.label
            out.append(Key(self.label, name, self.kind, self.owner, self.group, t,
                           self.owner if self.owner and r.random() < 0.85 else self.creator,
                           expires, revoked, disabled, generation=n, until=until))
            if nxt is None:
                break
            t, n = nxt, n + 1
        return out


def _user_slots() -> list[Slot]:
    slots = []
    for name, team, start in STAFF:
        who = PEOPLE[name]
        end, lapse = LEAVERS.get(name, (None, False))
        device = "laptop" if team != "data-science" else "workstation"
        base = dict(kind="user", owner=who, group=None, creator=DANA, end=at(end) if end else None, lapse=lapse)
        if name == "Priya Raman":
            slots.append(Slot(f"{who.first} {device}", start=at(start), ttl=None, **base))  # rotates, never expires
        elif name == "Hannah Kim":
            slots.append(Slot(f"{who.first} {device}", start=at(start), disable_at=at("2026-11-22 08:15"), **base))
        else:
            slots.append(Slot(f"{who.first} {device}", start=at(start), **base))
        if name in SECOND_DEVICE:
            slots.append(Slot(f"{who.first} {SECOND_DEVICE[name]}", start=at(start) + days(9) + timedelta(hours=3),
                              **base))
    return slots


KAI = person("Kai Nakamura")
ARJUN = person("Arjun Mehta")
PIOTR = person("Piotr Kowalski")
PEOPLE.update({p.name: p for p in (KAI, ARJUN, PIOTR)})
TEAM.update({"Kai Nakamura": "engineering", "Arjun Mehta": "engineering", "Piotr Kowalski": "contractors"})


def _machine_slots() -> list[Slot]:
    spec = [("GitHub Actions (monorepo)", "ci", "2026-01-15 08:30"), ("GitHub Actions (mobile)", "ci", "2026-02-20 09:10"),
            ("Buildkite agents", "ci", "2026-03-09 10:45"), ("Airflow (prod)", "data-pipelines", "2026-01-22 07:50"),
            ("Airflow (staging)", "data-pipelines", "2026-02-05 08:20"), ("dbt Cloud", "data-pipelines", "2026-03-03 09:40"),
            ("Zendesk answer bot", "support", "2026-02-01 12:00"), ("Support triage worker", "support", "2026-04-10 10:15"),
            ("Agent platform (prod)", "agents", "2026-05-05 09:00"), ("Agent platform (staging)", "agents", "2026-06-01 09:30"),
            ("Slack assistant", "agents", "2026-03-23 11:20"), ("Metabase", "analytics", "2026-04-15 14:00")]
    return [Slot(label, "machine", None, group, at(start), TERRAFORM, dated=True) for label, group, start in spec]


# Keys that trip a rule on purpose (and the clean counterparts next to them).
SPECIAL: list[Key] = [
    # GW-KEY-001 + GW-KEY-002: an integration key from the pilot, never rotated, no expiry.
    Key("looker-integration", "Looker integration", "machine", None, "analytics", at("2026-02-11 10:40"), DANA, None),
    # GW-KEY-002 + GW-KEY-005: a 15-month key for the old Jenkins.
    Key("jenkins-legacy", "Jenkins (legacy build farm)", "machine", None, "ci", at("2026-04-02 15:30"), TOM,
        at("2027-06-30 23:59:59")),
    # GW-KEY-005: a loader key valid until 2028.
    Key("dw-loader", "Data warehouse loader", "machine", None, "data-pipelines", at("2026-09-20 11:00"), TOM,
        at("2028-01-01 00:00")),
    # GW-KEY-003: proof of concept that never sent a request.
    Key("tableau-poc", "Tableau PoC", "machine", None, "analytics", at("2026-09-10 13:30"), DANA,
        at("2026-12-09 13:30"), last_used=None),
    # GW-KEY-006: bound to nobody, no rate limit or budget on the key.
    Key("zapier-webhooks", "Zapier webhooks", "machine", None, None, at("2026-10-05 16:10"), ELENA,
        at("2027-01-03 16:10")),
    # Clean counterpart of GW-KEY-006: unbound, but a rate limit and a budget are scoped to it.
    Key("eval-harness-nightly", "Nightly eval harness", "machine", None, None, at("2026-09-02 10:05"), TOM,
        at("2027-03-01 10:05")),
    # GW-KEY-007: disabled after the pentest window, never revoked.
    Key("pentest-2026q3", "Pentest 2026-Q3", "machine", None, None, at("2026-08-18 09:00"), MARCUS,
        at("2026-12-31 23:59:59"), disabled=at("2026-09-20 18:00"), last_used=at("2026-09-19 22:41:07.310")),
    # Revoked with its integration; the rate limit scoped to it stayed behind (GW-RL-004).
    Key("hubspot-sync", "HubSpot sync", "machine", None, "marketing", at("2026-06-15 11:10"), MARCUS,
        at("2026-12-15 11:10"), revoked=at("2026-10-20 09:30")),
    # GW-KEY-001: personal key without expiry.
    Key("dana ipad", "dana ipad", "user", DANA, None, at("2026-10-20 19:05"), DANA, None),
    # GW-KEY-003: on leave since mid-October.
    Key("kai laptop", "kai laptop", "user", KAI, None, at("2026-09-25 09:40"), KAI, at("2026-12-24 09:40"),
        last_used=at("2026-10-10 17:22:45.118")),
    Key("kai laptop (old)", "kai laptop", "user", KAI, None, at("2026-07-06 10:00"), KAI, at("2026-10-04 10:00"),
        revoked=at("2026-09-25 09:45")),
    # GW-KEY-002: rotation stopped in July; expiry set to six months instead of 90 days.
    Key("arjun desktop", "arjun desktop", "user", ARJUN, None, at("2026-07-15 11:25"), ARJUN, at("2027-01-15 11:25")),
    Key("arjun desktop (old)", "arjun desktop", "user", ARJUN, None, at("2026-04-22 09:00"), ARJUN,
        at("2026-07-21 09:00"), revoked=at("2026-07-15 11:30")),
    # GW-KEY-004: contractor gone at the end of September; the key expired in November, never revoked.
    Key("piotr laptop", "piotr laptop", "user", PIOTR, None, at("2026-08-10 08:45"), PIOTR, at("2026-11-08 08:45"),
        last_used=at("2026-09-30 16:02:11.904")),
    Key("piotr laptop (old)", "piotr laptop", "user", PIOTR, None, at("2026-05-18 09:00"), PIOTR,
        at("2026-08-16 09:00"), revoked=at("2026-08-10 08:50")),
    # Agent session keys: short-lived, bound to the user the agent acts for.
    Key("claude-code priya 2026-08-28", "claude-code session", "agent_session", PRIYA, None, at("2026-08-28 05:10"),
        PRIYA, at("2026-08-29 05:10"), revoked=at("2026-08-28 11:31")),
    Key("claude-code priya 2026-11-26", "claude-code session", "agent_session", PRIYA, None, at("2026-11-26 14:12"),
        PRIYA, at("2026-11-27 14:12")),
    Key("codex ben 2026-11-20", "codex session", "agent_session", PEOPLE["Ben Carter"], None, at("2026-11-20 10:00"),
        PEOPLE["Ben Carter"], at("2026-11-21 10:00"), revoked=at("2026-11-20 16:45")),
]


def all_keys() -> list[Key]:
    keys = [k for s in _user_slots() + _machine_slots() for k in s.keys()] + SPECIAL
    assert len({k.id for k in keys}) == len(keys), "two keys share a label and generation"
    return sorted(keys, key=lambda k: (k.created, k.id))


def _visible(ts: Optional[datetime], t: datetime) -> Optional[datetime]:
    return ts if ts is not None and ts <= t else None


def last_used(k: Key, t: datetime) -> Optional[datetime]:
    if k.last_used is None:
        return None
    if isinstance(k.last_used, datetime) and k.last_used <= t:
        return k.last_used
    end = min(x for x in (t, k.revoked, k.expires, k.disabled, k.until) if x is not None)
    r = rng("use", k.id, end.isoformat())
    if end == t and t - k.created < days(3) and r.random() < 0.3:
        return None  # a brand-new key not used yet
    if k.kind == "machine":
        gap = timedelta(minutes=r.uniform(0.5, 360))
    elif end == t and r.random() < 0.15:
        gap = timedelta(days=r.uniform(4, 25))
    else:
        gap = timedelta(hours=r.uniform(0.05, 60))
    used = end - gap
    if used <= k.created:
        used = k.created + (end - k.created) / 2
    return used.replace(microsecond=r.randint(0, 999) * 1000)


def render_api_keys(t: datetime) -> list[dict]:
    out = []
    for k in all_keys():
        if k.created > t:
            continue
        out.append({"id": k.id, "org_id": ORG_ID, "created_by_user_id": k.creator.id, "name": k.name,
                    "key_prefix": k.prefix(), "scopes": [], "kind": k.kind, "user_id": k.owner.id if k.owner else None,
                    "group_name": k.group, "expires_at": iso(k.expires), "revoked_at": iso(_visible(k.revoked, t)),
                    "disabled_at": iso(_visible(k.disabled, t)), "last_used_at": iso(last_used(k, t)),
                    "created_at": iso(k.created)})
    return out


def render_user_api_keys(t: datetime, caller: Person = PRIYA) -> list[dict]:
    """``GET /user/api-keys`` for the collecting admin: her personal keys, documented fields only."""
    out = []
    for k in all_keys():
        if k.created > t or k.owner != caller or k.kind != "user":
            continue
        out.append({"id": k.id, "org_id": ORG_ID, "created_by_user_id": k.creator.id, "name": k.name,
                    "key_prefix": k.prefix(), "scopes": [], "created_at": iso(k.created),
                    "user_id": caller.id, "group_name": None, "expires_at": iso(k.expires),
                    "revoked_at": iso(_visible(k.revoked, t))})
    return out
