"""The TOML configuration file (``gwaudit.toml``, ``--config``, ``GWAUDIT_CONFIG``).

Precedence, highest first: command-line flags, environment variables, this file, defaults.
Unknown keys and bad values are errors that name the key.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import ConfigError
from .formats import default_formats, report_formats
from .severity import FailOn

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

DEFAULT_CONFIG_NAME = "gwaudit.toml"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ApiConfig(_Section):
    base_url: Optional[str] = None
    token_file: Optional[Path] = None
    token_command: Optional[str] = None
    strict_token_file: bool = False
    concurrency: int = Field(default=8, ge=1, le=64)
    timeout: float = Field(default=30.0, gt=0, description="seconds per request")
    max_retry_seconds: float = Field(default=60.0, ge=0, description="seconds one request keeps retrying")

    @field_validator("token_command")
    @classmethod
    def _not_empty(cls, v: Optional[str]) -> Optional[str]:
        if v is not None and not v.strip():
            raise ValueError("must not be empty")
        return v


class DatabaseConfig(_Section):
    path: Optional[Path] = None
    wait: float = Field(default=30.0, ge=0, description="seconds to wait for another writer")


class RulesConfig(BaseModel):
    """``dirs`` plus one sub-table of parameter overrides per rule id."""

    model_config = ConfigDict(extra="allow")

    dirs: list[Path] = Field(default_factory=list)

    def params(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for key, value in (self.model_extra or {}).items():
            if not isinstance(value, dict):
                raise ConfigError(f"[rules] {key} = {value!r}: expected a table of parameters, "
                                  f"e.g. [rules.{key}] max_key_age_days = 60")
            out[key] = value
        return out


class WaiversConfig(_Section):
    file: Optional[Path] = None


class AuditConfig(_Section):
    fail_on: Optional[FailOn] = None


Soc2Category = Literal["security", "availability", "processing_integrity", "confidentiality", "privacy"]


class ReportConfig(_Section):
    formats: list[str] = Field(default_factory=default_formats)
    out: Path = Path("reports")
    classification: str = "Internal"
    org_name: Optional[str] = Field(default=None, description="the organisation's display name in reports")
    max_resources_per_rule: int = Field(default=25, ge=1)
    soc2_categories: list[Soc2Category] = Field(
        default_factory=lambda: ["security", "availability", "processing_integrity", "confidentiality", "privacy"],
        description="SOC 2 categories the compliance matrix covers")

    @field_validator("soc2_categories")
    @classmethod
    def _security_always(cls, v: list[str]) -> list[str]:
        if "security" not in v:
            raise ValueError("must include security: the common criteria are part of every SOC 2 examination")
        return v

    @field_validator("formats")
    @classmethod
    def _known_formats(cls, value: list[str]) -> list[str]:
        known = report_formats()
        for name in value:
            if name not in known:
                raise ValueError(f"{name!r} is not a report format; known: {', '.join(known)}")
        return value


class FrameworksConfig(_Section):
    catalog_dir: Optional[Path] = Field(default=None, description="folder of catalog files replacing the shipped ones")


class RetentionConfig(_Section):
    keep_daily: Optional[int] = Field(default=None, ge=0)
    keep_weekly: Optional[int] = Field(default=None, ge=0)
    keep_monthly: Optional[int] = Field(default=None, ge=0)
    keep_quarterly: Optional[int] = Field(default=None, ge=0)


class NotifyConfig(_Section):
    webhook: Optional[str] = None
    format: Literal["json", "slack"] = "json"
    timeout: float = Field(default=10.0, gt=0)
    max_bytes: int = Field(default=256 * 1024, ge=4096, description="largest webhook body; lists are cut to fit")
    hmac_secret_file: Optional[Path] = None


class LimitsConfig(_Section):
    """What gwaudit accepts from a snapshot folder and from the gateway (``[limits]``)."""

    max_file_mb: float = Field(default=64, gt=0, description="one body file, and one HTTP response body")
    max_folder_mb: float = Field(default=1024, gt=0, description="all files of one snapshot folder")
    max_json_depth: int = Field(default=64, ge=2, le=500, description="arrays and objects nested in one body")
    max_clock_skew_seconds: float = Field(default=300, ge=0,
                                          description="how far in the future an imported taken_at may be")

    def limits(self) -> Any:
        from .snapshot import MB, Limits

        return Limits(max_file_bytes=int(self.max_file_mb * MB), max_folder_bytes=int(self.max_folder_mb * MB),
                      max_json_depth=self.max_json_depth, max_clock_skew_seconds=self.max_clock_skew_seconds)


class MonitoringConfig(_Section):
    metrics_file: Optional[Path] = Field(
        default=None, description="Prometheus textfile written after every run and collect (--metrics-file wins)")

    @field_validator("metrics_file", mode="before")
    @classmethod
    def _a_file(cls, v: Any) -> Any:
        if isinstance(v, str) and (not v.strip() or v.endswith(("/", "\\"))):
            raise ValueError("must be the path of a file, e.g. /var/lib/node_exporter/textfile/gwaudit.prom")
        return v


class LakeConfig(_Section):
    dir: Optional[str] = Field(default=None, description="a folder or URI (s3://...); gwaudit run exports to it")
    org_id: Optional[str] = Field(default=None, description="the org's id when its snapshots do not name one")


class Config(_Section):
    api: ApiConfig = Field(default_factory=ApiConfig)
    database: DatabaseConfig = Field(default_factory=DatabaseConfig)
    rules: RulesConfig = Field(default_factory=RulesConfig)
    waivers: WaiversConfig = Field(default_factory=WaiversConfig)
    audit: AuditConfig = Field(default_factory=AuditConfig)
    report: ReportConfig = Field(default_factory=ReportConfig)
    frameworks: FrameworksConfig = Field(default_factory=FrameworksConfig)
    retention: RetentionConfig = Field(default_factory=RetentionConfig)
    notify: NotifyConfig = Field(default_factory=NotifyConfig)
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    lake: LakeConfig = Field(default_factory=LakeConfig)
    monitoring: MonitoringConfig = Field(default_factory=MonitoringConfig)

    source: Optional[Path] = Field(default=None, exclude=True)

    def rule_params(self) -> dict[str, dict[str, Any]]:
        return self.rules.params()


def _resolve(base: Path, value: Optional[Path]) -> Optional[Path]:
    if value is None:
        return None
    value = Path(os.path.expanduser(str(value)))
    return value if value.is_absolute() else base / value


def load_config(path: Path | str | None, *, required: bool = False) -> Config:
    """Load ``path`` (or ``./gwaudit.toml`` when it exists). Relative paths in the file are
    relative to the file's folder."""
    if path is None:
        default = Path(DEFAULT_CONFIG_NAME)
        if not default.exists():
            return Config()
        path = default
    path = Path(path)
    if not path.is_file():
        if required or path.name != DEFAULT_CONFIG_NAME:
            raise ConfigError(f"configuration file {path} does not exist",
                              hint="create it (see README, 'Configuration') or drop --config / GWAUDIT_CONFIG")
        return Config()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    try:
        cfg = Config.model_validate(data)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        key = ".".join(str(p) for p in err["loc"])
        msg = "unknown key" if err["type"] == "extra_forbidden" else str(err["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{path}: {key}: {msg}",
                          hint="see README, 'Configuration', for the keys and their types") from None
    base = path.resolve().parent
    cfg.api.token_file = _resolve(base, cfg.api.token_file)
    cfg.database.path = _resolve(base, cfg.database.path)
    cfg.rules.dirs = [p for p in (_resolve(base, d) for d in cfg.rules.dirs) if p is not None]
    cfg.waivers.file = _resolve(base, cfg.waivers.file)
    cfg.notify.hmac_secret_file = _resolve(base, cfg.notify.hmac_secret_file)
    cfg.report.out = _resolve(base, cfg.report.out) or cfg.report.out
    cfg.frameworks.catalog_dir = _resolve(base, cfg.frameworks.catalog_dir)
    cfg.monitoring.metrics_file = _resolve(base, cfg.monitoring.metrics_file)
    if cfg.lake.dir and "://" not in cfg.lake.dir:
        cfg.lake.dir = str(_resolve(base, Path(cfg.lake.dir)))
    cfg.rule_params()  # validates the per-rule tables
    cfg.source = path
    return cfg


def effective(cfg: Config, *, db: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    """The configuration gwaudit would use, with the token redacted (its source is shown)."""
    env = dict(os.environ if env is None else env)
    data = cfg.model_dump(mode="json")
    data["database"]["path"] = str(db)
    if env.get("GWAUDIT_BASE_URL"):
        data["api"]["base_url"] = env["GWAUDIT_BASE_URL"]
    if env.get("GWAUDIT_TOKEN", "").strip():
        token = "<redacted> (from environment variable GWAUDIT_TOKEN)"
    elif cfg.api.token_file:
        token = f"<redacted> (from file {cfg.api.token_file})"
    elif cfg.api.token_command:
        token = "<redacted> (from api.token_command)"
    else:
        token = "not configured: set GWAUDIT_TOKEN, api.token_file or api.token_command"
    data["api"]["token"] = token
    if data["notify"].get("webhook"):
        from .notify import redact_url

        data["notify"]["webhook"] = redact_url(data["notify"]["webhook"])
    data["source"] = str(cfg.source) if cfg.source else "defaults (no configuration file)"
    return data
