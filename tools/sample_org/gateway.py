"""Credentials, providers, routes, pricing and route health of the sample organisation."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Optional

from .common import DANA, ELENA, MARCUS, NEW, OLD, ORG_ID, PRIYA, TOM, Person, Res, alive, at, iso, matches, uid

# ---------------------------------------------------------------- credentials

CREDENTIALS: dict[str, Res] = {
    "openai-2025": Res("2025-11-03 16:20", DANA, name="OpenAI (2025 trial key)", model_provider="openai",
                       auth_type="bearer_api_key", base_url="https://api.openai.com/v1", settings={},
                       stores=True, last4="0aQf"),
    "openai": Res("2026-01-12 10:02", DANA, name="OpenAI Production", model_provider="openai",
                  auth_type="bearer_api_key", base_url="https://api.openai.com/v1", settings={},
                  stores=True, last4="x7Qa")
    .change("2026-04-10 09:30", MARCUS, "Quarterly key rotation", last4="m2Pz")
    .change("2026-07-28 16:45", MARCUS, "Quarterly key rotation", last4="Tq9c")
    .change("2026-10-28 11:05", MARCUS, "Quarterly key rotation", last4="8dLw"),
    "anthropic": Res("2026-01-12 10:20", DANA, name="Anthropic Production", model_provider="anthropic",
                     auth_type="x_api_key", base_url="https://api.anthropic.com", settings={},
                     stores=True, last4="Vb3k")
    .change("2026-05-04 14:10", MARCUS, "Rotated after contractor offboarding", last4="pR7e"),
    "vertex-adc": Res("2026-02-09 15:30", TOM, name="Vertex AI (workload identity)", model_provider="vertex",
                      auth_type="google_adc", base_url="https://us-central1-aiplatform.googleapis.com",
                      settings={"project_id": "nw-ml-prod", "location": "us-central1"}, stores=False, last4=None),
    "mistral": Res("2026-02-23 10:00", DANA, name="Mistral La Plateforme", model_provider="mistral",
                   auth_type="bearer_api_key", base_url="https://api.mistral.ai/v1", settings={},
                   stores=True, last4="Hs4n")
    .change("2026-06-01 09:00", MARCUS, "Quarterly key rotation", last4="p0Wd")
    .change("2026-09-01 09:05", MARCUS, "Quarterly key rotation", last4="Zc7u"),
    "internal-vllm": Res("2026-03-02 09:40", TOM, name="Internal inference gateway", model_provider="custom",
                         auth_type="bearer_api_key", base_url="http://inference.corp.northwind.internal:8080/v1",
                         settings={"model_api_family": "openai_chat"}, stores=True, last4="c0de")
    .change("2026-06-20 10:15", TOM, "Rotated shared service token", last4="d00d")
    .change("2026-09-10 10:20", TOM, "Rotated shared service token", last4="f00b"),
    "vertex-sa-eu": Res("2026-03-15 11:45", TOM, name="Vertex AI europe-west4 (service account key)",
                        model_provider="vertex", auth_type="google_service_account",
                        base_url="https://europe-west4-aiplatform.googleapis.com",
                        settings={"project_id": "nw-ml-eu", "location": "europe-west4"}, stores=True, last4="b1e0"),
    "azure-eastus2": Res("2026-03-18 13:00", TOM, name="Azure OpenAI East US 2", model_provider="azure_openai",
                         auth_type="azure_api_key", base_url="https://nw-openai-eastus2.openai.azure.com",
                         settings={"api_version": "2024-10-21"}, stores=True, last4="41fd")
    .change("2026-06-30 08:15", MARCUS, "Quarterly key rotation", last4="c09a")
    .change("2026-09-30 08:20", MARCUS, "Quarterly key rotation", last4="7e2b"),
    "azure-swedencentral": Res("2026-03-18 13:20", TOM, name="Azure OpenAI Sweden Central",
                               model_provider="azure_openai", auth_type="azure_api_key",
                               base_url="https://nw-openai-swc.openai.azure.com",
                               settings={"api_version": "2024-10-21"}, stores=True, last4="aa81")
    .change("2026-06-30 08:25", MARCUS, "Quarterly key rotation", last4="5b3e")
    .delete("2026-10-14 10:40"),
    "ollama": Res("2026-04-02 12:00", TOM, name="Ollama on the build host", model_provider="custom",
                  auth_type="none", base_url="http://127.0.0.1:11434",
                  settings={"model_api_family": "openai_chat"}, stores=False, last4=None),
    "bedrock-use1": Res("2026-04-20 08:30", TOM, name="AWS Bedrock us-east-1 (role)", model_provider="bedrock",
                        auth_type="aws_role", base_url="https://bedrock-runtime.us-east-1.amazonaws.com",
                        settings={"region": "us-east-1", "model_api_family": "anthropic_messages"},
                        stores=False, last4=None),
    "bedrock-usw2-keys": Res("2026-05-12 17:05", TOM, name="AWS Bedrock us-west-2 (batch, static keys)",
                             model_provider="bedrock", auth_type="aws_keys",
                             base_url="https://bedrock-runtime.us-west-2.amazonaws.com",
                             settings={"region": "us-west-2", "model_api_family": "anthropic_messages"},
                             stores=True, last4="Q3XZ")
    .change("2026-06-15 09:00", MARCUS, "Rotated IAM access key", last4="M7PD")
    .change("2026-09-15 09:10", MARCUS, "Rotated IAM access key", last4="K2RW"),
    "groq": Res("2026-10-06 09:12", TOM, name="Groq", model_provider="groq", auth_type="bearer_api_key",
                base_url="https://api.groq.com/openai/v1", settings={}, stores=True, last4="gq5T"),
}


def credential_id(key: str) -> str:
    return uid("connection", key)


def render_credentials(t: datetime) -> list[dict[str, Any]]:
    out = []
    for key, res in alive(CREDENTIALS, t):
        s = res.state(t)
        cid = credential_id(key)
        out.append({
            "id": cid, "org_id": ORG_ID, "name": s["name"], "model_provider": s["model_provider"],
            "auth_type": s["auth_type"], "base_url": s["base_url"], "settings": s["settings"],
            "secret_path": f"orgs/{ORG_ID}/connections/{cid}", "key_last4": s["last4"],
            "stores_key_material": s["stores"], "created_at": iso(res.created), "updated_at": iso(res.updated_at(t)),
            **res.attribution(t)})
    return out


# ---------------------------------------------------------------- providers

def _provider(created: str, by: Person, name: str, connection: str, *, catalog: Optional[str],
              billing: str = "per_token", reason: Optional[str] = None, note: Optional[str] = None,
              sync: str = "off", **kw: Any) -> Res:
    cred = CREDENTIALS[connection].fields
    fields = dict(name=name, model_provider=cred["model_provider"], auth_type=cred["auth_type"],
                  base_url=cred["base_url"], settings=dict(cred["settings"]), connection=connection,
                  catalog_slug=catalog, enabled=True, enforce_health_check=True, billing_mode=billing,
                  billing_reason=reason, billing_note=note, model_sync_mode=sync,
                  request_timeout_secs=None, stream_idle_timeout_secs=None)
    fields.update(kw)
    return Res(created, by, **fields)


PROVIDERS: dict[str, Res] = {
    "openai": _provider("2026-01-12 10:05", DANA, "OpenAI Production", "openai", catalog="openai")
    .change("2026-05-14 16:02", DANA, "Enabled catalog sync (additive)", model_sync_mode="additive"),
    "anthropic": _provider("2026-01-12 10:22", DANA, "Anthropic Direct", "anthropic", catalog="anthropic"),
    "vertex-usc1": _provider("2026-02-09 15:40", TOM, "Vertex AI us-central1", "vertex-adc", catalog="google_vertex"),
    "mistral": _provider("2026-02-23 10:05", DANA, "Mistral", "mistral", catalog="mistral")
    .change("2026-10-12 18:40", PRIYA, "Bypass health gate while Mistral's probe endpoint flaps (status incident)",
            enforce_health_check=False),
    "internal-vllm": _provider("2026-03-02 09:45", TOM, "Internal vLLM (support models)", "internal-vllm",
                               catalog=None, billing="not_metered",
                               note="Internal GPU pool; cost tracked by infrastructure", stream_idle_timeout_secs=300),
    "vertex-euw4": _provider("2026-03-15 11:50", TOM, "Vertex AI europe-west4 (legacy)", "vertex-sa-eu",
                             catalog="google_vertex"),
    "azure-eastus2": _provider("2026-03-18 13:05", TOM, "Azure OpenAI East US 2", "azure-eastus2",
                               catalog="azure_openai"),
    "azure-swedencentral": _provider("2026-03-18 13:25", TOM, "Azure OpenAI Sweden Central (EU)",
                                     "azure-swedencentral", catalog="azure_openai")
    .change("2026-10-14 10:35", PRIYA, "Sweden Central deployment decommissioned; EU traffic moves to Mistral",
            enabled=False),
    "ollama": _provider("2026-04-02 12:05", TOM, "Local Ollama (build host)", "ollama", catalog=None,
                        billing="not_metered", reason="local", note="Runs on the shared build host GPU"),
    "openai-flex": _provider("2026-05-20 10:00", TOM, "OpenAI Batch (flex tier)", "openai", catalog="openai",
                             settings={"service_tier": "flex"}, request_timeout_secs=900),
    "bedrock-use1": _provider("2026-04-20 08:35", TOM, "AWS Bedrock us-east-1", "bedrock-use1", catalog="aws_bedrock",
                              request_timeout_secs=300)
    .change("2026-06-01 09:00", TOM, "Follow the Bedrock catalog automatically", model_sync_mode="full"),
    "bedrock-usw2": _provider("2026-05-12 17:10", TOM, "AWS Bedrock us-west-2 (batch)", "bedrock-usw2-keys",
                              catalog="aws_bedrock", billing="not_metered", reason="external",
                              note="Billed under the AWS EDP commitment"),
    "groq": _provider("2026-10-06 09:20", TOM, "Groq (pilot)", "groq", catalog="groq"),
}

# Probe results per snapshot: (status, detail, checked_at). Providers not listed are not probed
# (Azure, Bedrock, Vertex report ``unverified``).
HEALTH: dict[datetime, dict[str, tuple[str, Optional[str], datetime]]] = {
    OLD: {
        "openai": ("healthy", None, at("2026-08-28 05:55:02.184")),
        "openai-flex": ("healthy", None, at("2026-08-28 05:55:02.690")),
        "anthropic": ("healthy", None, at("2026-08-28 05:54:47.902")),
        "mistral": ("healthy", None, at("2026-08-28 05:56:10.311")),
        "internal-vllm": ("healthy", None, at("2026-08-28 05:55:31.027")),
        "ollama": ("healthy", None, at("2026-08-28 05:57:12.640")),
    },
    NEW: {
        "openai": ("healthy", None, at("2026-11-27 05:55:04.517")),
        "openai-flex": ("healthy", None, at("2026-11-27 05:55:05.003")),
        "anthropic": ("healthy", None, at("2026-11-27 05:54:49.038")),
        "mistral": ("healthy", None, at("2026-11-27 05:56:13.772")),
        "internal-vllm": ("unhealthy", "connect timeout after 10s (inference.corp.northwind.internal:8080)",
                          at("2026-11-27 05:55:33.415")),
        "ollama": ("healthy", None, at("2026-11-27 05:57:15.106")),
        "groq": ("healthy", None, at("2026-11-27 05:56:40.920")),
    },
}


def provider_id(key: str) -> str:
    return uid("provider", key)


def catalog_id(slug: str) -> str:
    return uid("catalog", slug)


def health_of(key: str, t: datetime) -> tuple[str, Optional[str], Optional[datetime]]:
    return HEALTH[t].get(key, ("unverified", None, None))


def serving(key: str, t: datetime) -> bool:
    """Whether the gateway sends traffic to this provider at ``t``."""
    s = PROVIDERS[key].state(t)
    return s["enabled"] and (health_of(key, t)[0] != "unhealthy" or not s["enforce_health_check"])


def render_providers(t: datetime) -> list[dict[str, Any]]:
    out = []
    for key, res in alive(PROVIDERS, t):
        s = res.state(t)
        status, detail, checked = health_of(key, t)
        cid = credential_id(s["connection"])
        out.append({
            "id": provider_id(key), "org_id": ORG_ID, "name": s["name"], "model_provider": s["model_provider"],
            "auth_type": s["auth_type"], "base_url": s["base_url"], "enabled": s["enabled"],
            "settings": s["settings"], "connection_id": cid,
            "catalog_id": catalog_id(s["catalog_slug"]) if s["catalog_slug"] else None,
            "catalog_slug": s["catalog_slug"], "secret_path": f"orgs/{ORG_ID}/connections/{cid}",
            "enforce_health_check": s["enforce_health_check"], "health_status": status, "health_detail": detail,
            "health_checked_at": iso(checked), "billing_mode": s["billing_mode"],
            "billing_reason": s["billing_reason"], "billing_note": s["billing_note"],
            "model_sync_mode": s["model_sync_mode"], "request_timeout_secs": s["request_timeout_secs"],
            "stream_idle_timeout_secs": s["stream_idle_timeout_secs"], "created_at": iso(res.created),
            "updated_at": iso(res.updated_at(t)), **res.attribution(t)})
    return out


# ---------------------------------------------------------------- pricing

def price(i: float, o: float, cr: Optional[float] = None, cw: Optional[float] = None,
          long_context: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    return {"input_cost_per_million_tokens": i, "output_cost_per_million_tokens": o,
            "cache_read_cost_per_million_tokens": cr, "cache_write_cost_per_million_tokens": cw,
            "long_context": long_context}


def tier(threshold: int, i: float, o: float, cr: Optional[float] = None, cw: Optional[float] = None) -> dict[str, Any]:
    out: dict[str, Any] = {"threshold_prompt_tokens": threshold, "input_cost_per_million_tokens": i,
                           "output_cost_per_million_tokens": o}
    out["cache_read_cost_per_million_tokens"] = cr
    out["cache_write_cost_per_million_tokens"] = cw
    return out


@dataclass
class Version:
    created: datetime          # when the version was appended (not an API field)
    source: str                # change_source
    prices: dict[str, Any]
    by: Optional[Person]
    reason: Optional[str] = None
    effective: Optional[datetime] = None  # defaults to ``created``; later = scheduled
    archived: bool = False

    @property
    def effective_from(self) -> datetime:
        return self.effective or self.created


def v(created: str, source: str, prices: dict[str, Any], by: Optional[Person], reason: Optional[str] = None,
      effective: Optional[str] = None) -> Version:
    return Version(at(created), source, prices, by, reason, at(effective) if effective else None)


@dataclass
class Rule:
    pattern: str
    model_provider: Optional[str]
    sync: str
    versions: list[Version]
    provider: Optional[str] = None     # provider key: an instance rule
    catalog: Optional[str] = None      # catalog slug: a catalog rule
    archive: Optional[tuple[str, Person, str]] = None  # (when, who, reason)
    ids: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.archive:
            when, who, reason = self.archive
            last = self.versions[-1]
            self.versions.append(Version(at(when), "admin_archive", dict(last.prices), who, reason, archived=True))
        self.ids = [uid("pricing", self.pattern, self.model_provider or "", self.provider or "", str(n))
                    for n in range(len(self.versions))]

    def visible(self, t: datetime) -> list[tuple[str, Version]]:
        """Versions appended by ``t``, newest ``effective_from`` first (the history order)."""
        vis = [(i, ver) for i, ver in zip(self.ids, self.versions) if ver.created <= t]
        return sorted(vis, key=lambda iv: iv[1].effective_from, reverse=True)

    def current(self, t: datetime) -> Optional[tuple[str, Version]]:
        return next(((i, ver) for i, ver in self.visible(t) if ver.effective_from <= t), None)

    def live(self, t: datetime) -> bool:
        cur = self.current(t)
        return cur is not None and not cur[1].archived


LC_SONNET = tier(200000, 6.0, 22.5, 0.6, 7.5)
LC_GEMINI = tier(200000, 2.5, 15.0, 0.625)

RULES: list[Rule] = [
    Rule("gpt-5", "openai", "tracking", [v("2026-01-12 10:30", "import", price(1.25, 10.0, 0.125), DANA)],
         catalog="openai"),
    Rule("gpt-4.1", "openai", "tracking", [v("2026-01-12 10:30", "import", price(2.0, 8.0, 0.5), DANA)],
         catalog="openai"),
    Rule("gpt-4.1-mini", "openai", "tracking", [v("2026-01-12 10:30", "import", price(0.4, 1.6, 0.1), DANA)],
         catalog="openai"),
    Rule("gpt-4o-mini", "openai", "tracking", [
        v("2026-01-12 10:30", "import", price(0.165, 0.66, 0.0825), DANA),
        v("2026-05-01 00:00", "admin_edit", price(0.15, 0.6, 0.075), ELENA, "Match vendor price sheet May 2026"),
        v("2026-08-12 14:20", "admin_schedule", price(0.12, 0.48, 0.06), ELENA, "Negotiated discount from October",
          effective="2026-10-01 00:00"),
        v("2026-11-16 10:05", "admin_schedule", price(0.11, 0.44, 0.055), ELENA, "FY27 committed-use discount",
          effective="2027-01-01 00:00"),
    ], catalog="openai"),
    Rule("o3", "openai", "tracking", [
        v("2026-01-12 10:30", "import", price(10.0, 40.0, 2.5), DANA),
        v("2026-09-03 08:00", "admin_edit", price(2.0, 8.0, 0.5), ELENA, "OpenAI o3 price cut (-80%)"),
    ], catalog="openai"),
    Rule("gpt-4-turbo", "openai", "tracking", [v("2026-01-12 10:30", "import", price(10.0, 30.0), DANA)],
         catalog="openai", archive=("2026-10-15 09:10", ELENA, "gpt-4-turbo retired by OpenAI")),
    Rule("claude-sonnet-4*", "anthropic", "auto",
         [v("2026-01-12 10:35", "import", price(3.0, 15.0, 0.3, 3.75, LC_SONNET), DANA)], catalog="anthropic"),
    Rule("claude-opus-4*", "anthropic", "pinned",
         [v("2026-02-03 11:00", "admin_create", price(15.0, 75.0, 1.5, 18.75), ELENA, "Opus list price")],
         catalog="anthropic"),
    Rule("claude-haiku-4*", "anthropic", "auto", [
        v("2026-01-12 10:35", "import", price(1.0, 5.0, 0.1, 1.25), DANA),
        v("2026-10-02 04:00", "sync_auto", price(0.8, 4.0, 0.08, 1.0), None, "Synced from Barndoor defaults"),
    ], catalog="anthropic"),
    Rule("claude-3-5-haiku*", "anthropic", "tracking",
         [v("2026-01-12 10:35", "import", price(0.8, 4.0, 0.08, 1.0), DANA)], catalog="anthropic"),
    Rule("gpt-4.1-mini", "azure_openai", "pinned",
         [v("2026-03-20 09:00", "admin_create", price(0.44, 1.76, 0.11), TOM, "Azure data-zone price")],
         provider="azure-eastus2"),
    Rule("gpt-4o-mini", "azure_openai", "pinned", [
        v("2026-03-20 09:00", "admin_create", price(0.165, 0.66, 0.083), TOM, "Azure data-zone price"),
        v("2026-09-08 15:30", "admin_edit", price(0.0, 0.0), TOM, "Covered by the Azure MACC commitment"),
    ], provider="azure-eastus2"),
    Rule("gpt-4.1*", None, "pinned", [v("2026-03-20 09:10", "admin_create", price(2.0, 8.0, 0.5), TOM,
                                        "Org-wide price for GPT-4.1 deployments outside OpenAI")]),
    Rule("gpt-5*", None, "pinned", [v("2026-03-20 09:10", "admin_create", price(1.25, 10.0, 0.125), TOM,
                                      "Org-wide price for GPT-5 deployments outside OpenAI")]),
    Rule("gpt-4o*", None, "pinned", [v("2026-03-20 09:10", "admin_create", price(2.5, 10.0, 1.25), TOM,
                                       "Org-wide price for GPT-4o deployments outside OpenAI")]),
    Rule("gpt-5*", "openai", "pinned",
         [v("2026-05-20 10:10", "admin_create", price(0.625, 5.0, 0.0625), TOM, "Flex tier: half the list price")],
         provider="openai-flex"),
    Rule("gpt-5-mini*", "openai", "pinned",
         [v("2026-05-20 10:10", "admin_create", price(0.125, 1.0, 0.0125), TOM, "Flex tier: half the list price")],
         provider="openai-flex"),
    Rule("us.anthropic.claude-sonnet-4*", "bedrock", "pinned",
         [v("2026-04-21 10:00", "admin_create", price(3.3, 16.5, 0.33, 4.125), TOM,
            "Bedrock cross-region inference list price")], provider="bedrock-use1"),
    Rule("meta.llama3-3-70b*", "bedrock", "tracking",
         [v("2026-04-21 10:05", "import", price(0.72, 0.72), TOM)], catalog="aws_bedrock"),
    Rule("gemini-2.5-pro*", "vertex", "tracking",
         [v("2026-02-09 16:00", "import", price(1.25, 10.0, 0.31, None, LC_GEMINI), TOM)], catalog="google_vertex"),
    Rule("gemini-2.5-flash*", "vertex", "tracking",
         [v("2026-02-09 16:00", "import", price(0.3, 2.5, 0.075), TOM)], catalog="google_vertex"),
    Rule("claude-sonnet-4-5@*", "vertex", "pinned",
         [v("2026-02-20 12:00", "admin_create", price(3.3, 16.5, 0.33, 4.125), TOM, "Vertex partner-model price")],
         catalog="google_vertex"),
    Rule("mistral-large*", "mistral", "pinned",
         [v("2026-02-23 10:30", "admin_create", price(2.0, 6.0), DANA, "Mistral Large list price")],
         catalog="mistral"),
    Rule("claude-3-opus*", "anthropic", "tracking",
         [v("2026-01-12 10:35", "import", price(15.0, 75.0, 1.5, 18.75), DANA)], catalog="anthropic",
         archive=("2026-06-02 09:00", ELENA, "Claude 3 Opus retired")),
    Rule("anthropic.claude-3-5-sonnet*", "bedrock", "pinned",
         [v("2026-04-21 10:00", "admin_create", price(3.0, 15.0), TOM, "Bedrock list price")],
         provider="bedrock-use1", archive=("2026-07-10 11:30", TOM, "Superseded by Sonnet 4.5 on Bedrock")),
]

_COUNTERS = ("scheduled_count", "version_count", "next_scheduled_effective_from")


def _version_row(rule: Rule, vid: str, ver: Version) -> dict[str, Any]:
    prov = PROVIDERS[rule.provider] if rule.provider else None
    by = ver.by
    return {
        "id": vid, "org_id": ORG_ID, "model_pattern": rule.pattern, "model_provider": rule.model_provider,
        "provider_id": provider_id(rule.provider) if rule.provider else None,
        "provider_name": prov.fields["name"] if prov else None, "catalog_slug": rule.catalog,
        **ver.prices, "effective_from": iso(ver.effective_from), "sync_mode": rule.sync,
        "change_source": ver.source, "change_reason": ver.reason,
        "created_by_user_id": by.id if by else None, "created_by_email": by.email if by else None,
        "created_by_name": by.name if by else None, "is_archived": ver.archived}


def _list_row(rule: Rule, t: datetime) -> dict[str, Any]:
    vid, ver = rule.current(t)  # type: ignore[misc]
    visible = rule.visible(t)
    scheduled = [x for _, x in visible if x.effective_from > t]
    row = _version_row(rule, vid, ver)
    row["scheduled_count"] = len(scheduled)
    row["version_count"] = len(visible)
    row["next_scheduled_effective_from"] = iso(min(x.effective_from for x in scheduled)) if scheduled else None
    return row


def render_pricing(t: datetime) -> tuple[list[dict], list[dict], list[tuple[dict[str, str], list[dict]]]]:
    """(live rules, archived rules, history bodies as (query, versions)) at ``t``."""
    live, archived = [], []
    for rule in RULES:
        if rule.current(t) is None:
            continue
        (live if rule.live(t) else archived).append((rule, _list_row(rule, t)))
    history = []
    for rule, row in live + archived:
        query = {"model_pattern": rule.pattern}
        if rule.model_provider:
            query["model_provider"] = rule.model_provider
        history.append((query, [_version_row(rule, vid, ver) for vid, ver in rule.visible(t)]))
    return [r for _, r in live], [r for _, r in archived], history


def _default(slug: str, name: str, pattern: str, i: float, o: float, cr: Optional[float] = None,
             cw: Optional[float] = None) -> dict[str, Any]:
    return {"provider_slug": slug, "model_name": name, "model_pattern": pattern, "input": i, "output": o,
            "cache_read": cr, "cache_write": cw}


DEFAULTS = [
    _default("openai", "gpt-5", "gpt-5", 1.25, 10.0, 0.125),
    _default("openai", "gpt-5-mini", "gpt-5-mini", 0.25, 2.0, 0.025),
    _default("openai", "gpt-4.1", "gpt-4.1", 2.0, 8.0, 0.5),
    _default("openai", "gpt-4.1-mini", "gpt-4.1-mini", 0.4, 1.6, 0.1),
    _default("openai", "gpt-4o-mini", "gpt-4o-mini", 0.15, 0.6, 0.075),
    _default("openai", "o3", "o3", 10.0, 40.0, 2.5),
    _default("openai", "o4-mini", "o4-mini", 1.1, 4.4, 0.275),
    _default("openai", "text-embedding-3-small", "text-embedding-3-small", 0.02, 0.0),
    _default("openai", "text-embedding-3-large", "text-embedding-3-large", 0.13, 0.0),
    _default("anthropic", "claude-sonnet-4-5", "claude-sonnet-4*", 3.0, 15.0, 0.3, 3.75),
    _default("anthropic", "claude-opus-4-1", "claude-opus-4*", 15.0, 75.0, 1.5, 18.75),
    _default("anthropic", "claude-haiku-4-5", "claude-haiku-4*", 1.0, 5.0, 0.1, 1.25),
    _default("google_vertex", "gemini-2.5-pro", "gemini-2.5-pro*", 1.25, 10.0, 0.31),
    _default("google_vertex", "gemini-2.5-flash", "gemini-2.5-flash*", 0.3, 2.5, 0.075),
    _default("aws_bedrock", "amazon.nova-pro-v1:0", "amazon.nova-pro*", 0.8, 3.2),
    _default("aws_bedrock", "amazon.nova-lite-v1:0", "amazon.nova-lite*", 0.06, 0.24),
    _default("aws_bedrock", "meta.llama3-3-70b-instruct-v1:0", "meta.llama3-3-70b*", 0.72, 0.72),
    _default("mistral", "mistral-large-latest", "mistral-large*", 2.0, 6.0),
    _default("mistral", "mistral-small-latest", "mistral-small*", 0.1, 0.3),
    _default("mistral", "codestral-latest", "codestral*", 0.3, 0.9),
    _default("mistral", "mistral-embed", "mistral-embed", 0.1, 0.0),
]
# Barndoor's price sheet of October changed two entries.
DEFAULT_CHANGES = {("openai", "o3"): (2.0, 8.0, 0.5, None),
                   ("anthropic", "claude-haiku-4*"): (0.8, 4.0, 0.08, 1.0)}


def render_defaults(t: datetime) -> list[dict[str, Any]]:
    sheet = "2026-10" if t >= at("2026-10-01 00:00") else "2026-07"
    out = []
    for d in DEFAULTS:
        i, o, cr, cw = d["input"], d["output"], d["cache_read"], d["cache_write"]
        if sheet == "2026-10" and (d["provider_slug"], d["model_pattern"]) in DEFAULT_CHANGES:
            i, o, cr, cw = DEFAULT_CHANGES[(d["provider_slug"], d["model_pattern"])]
        row: dict[str, Any] = {
            "id": uid("default-price", d["provider_slug"], d["model_pattern"]), "provider_slug": d["provider_slug"],
            "model_name": d["model_name"], "model_pattern": d["model_pattern"], "input_cost_per_million_tokens": i,
            "output_cost_per_million_tokens": o, "currency": "USD",
            "source": f"{d['provider_slug']} price sheet {sheet}"}
        if cr is not None:  # absent, not null, when the model has no cache pricing
            row["cache_read_cost_per_million_tokens"] = cr
        if cw is not None:
            row["cache_write_cost_per_million_tokens"] = cw
        out.append(row)
    return out


def effective_pricing(provider_key: str, upstream: str, t: datetime) -> dict[str, Any]:
    """What a route bills at: instance rule, catalog rule, org pattern, Barndoor default, else none."""
    prov = PROVIDERS[provider_key].state(t)
    empty = {"input_cost_per_million_tokens": None, "output_cost_per_million_tokens": None,
             "cache_read_cost_per_million_tokens": None, "cache_write_cost_per_million_tokens": None,
             "long_context": None}
    if prov["billing_mode"] == "not_metered":
        return {"source": "not_metered", **empty, "pricing_rule_id": None}
    live = [r for r in RULES if r.live(t) and matches(r.pattern, upstream)]
    tiers = [("org_instance", [r for r in live if r.provider == provider_key]),
             ("org_catalog", [r for r in live if not r.provider and r.catalog and r.catalog == prov["catalog_slug"]]),
             ("org_generic", [r for r in live if not r.provider and not r.catalog])]
    for source, candidates in tiers:
        if candidates:
            best = max(candidates, key=lambda r: (not r.pattern.endswith("*"), len(r.pattern)))
            vid, ver = best.current(t)  # type: ignore[misc]
            return {"source": source, **ver.prices, "pricing_rule_id": vid}
    for d in render_defaults(t):
        if d["provider_slug"] == prov["catalog_slug"] and matches(d["model_pattern"], upstream):
            return {"source": "barndoor_default",
                    "input_cost_per_million_tokens": d["input_cost_per_million_tokens"],
                    "output_cost_per_million_tokens": d["output_cost_per_million_tokens"],
                    "cache_read_cost_per_million_tokens": d.get("cache_read_cost_per_million_tokens"),
                    "cache_write_cost_per_million_tokens": d.get("cache_write_cost_per_million_tokens"),
                    "long_context": None, "pricing_rule_id": None}
    return {"source": "none", **empty, "pricing_rule_id": None}
