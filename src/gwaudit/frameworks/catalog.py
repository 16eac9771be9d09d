"""The control catalogs: one YAML file per framework, shipped in ``gwaudit/frameworks/data/``.

A catalog file::

    framework: iso27001                 # soc2 | iso27001 | nist_800_53 | iso42001
    name: ISO/IEC 27001
    version: "2022"
    heading: "ISO/IEC 27001:2022"       # what the compliance matrix prints
    source: "where the ids and titles come from"
    categories: [security, ...]         # soc2 only: the categories its criteria belong to
    controls:
      A.5.15: "Access control"          # id: title
      AC-2(10): {title: "...", withdrawn: true, replaced_by: [AC-2]}
      CC6.1: {title: "...", category: security}   # soc2: every criterion names its category

A folder named by ``[frameworks] catalog_dir`` may hold files of the same form: a file there
replaces the shipped file of its framework as a whole (a fuller or licensed edition). Every
problem is a :class:`~gwaudit.errors.ConfigError` naming the file and the key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence

from ..errors import ConfigError

FRAMEWORK_KEYS = ("soc2", "iso27001", "nist_800_53", "iso42001")
"""Framework keys as rules spell them, in report order."""

SOC2_CATEGORIES = ("security", "availability", "processing_integrity", "confidentiality", "privacy")
"""The SOC 2 categories; ``security`` (the common criteria) is part of every SOC 2 examination."""

DATA_DIR = Path(__file__).resolve().parent / "data"
_FILE_KEYS = {"framework", "name", "version", "heading", "source", "categories", "controls"}
_CONTROL_KEYS = {"title", "withdrawn", "replaced_by", "category"}
_HINT = "see README, 'Compliance frameworks', for the form of a catalog file"


@dataclass(frozen=True)
class ControlDef:
    """One control (criterion, enhancement) of a framework's catalog."""
    id: str
    title: str
    withdrawn: bool = False
    replaced_by: tuple[str, ...] = ()
    """Where a withdrawn control went (ids, or a family code such as ``SR``)."""
    category: Optional[str] = None
    """SOC 2 only: security | availability | processing_integrity | confidentiality | privacy."""


@dataclass(frozen=True)
class Framework:
    key: str
    name: str
    version: str
    heading: str
    source: str
    controls: Mapping[str, ControlDef]
    """By id, in catalog order."""
    categories: tuple[str, ...] = ()
    path: Optional[Path] = None

    def get(self, control_id: str) -> Optional[ControlDef]:
        return self.controls.get(control_id)

    def in_force(self) -> list[ControlDef]:
        """The controls that are not withdrawn, in catalog order."""
        return [c for c in self.controls.values() if not c.withdrawn]

    @property
    def unit(self) -> str:
        """What the catalog's entries are called in the coverage line."""
        return {"soc2": "criteria", "nist_800_53": "controls and enhancements"}.get(self.key, "controls")


@dataclass(frozen=True)
class Catalog:
    frameworks: Mapping[str, Framework]
    """By key, in report order."""
    sources: tuple[Path, ...] = field(default_factory=tuple)

    def __getitem__(self, key: str) -> Framework:
        return self.frameworks[key]

    def get(self, key: str) -> Optional[Framework]:
        return self.frameworks.get(key)

    def headings(self) -> dict[str, str]:
        return {k: fw.heading for k, fw in self.frameworks.items()}

    def title(self, framework: str, control_id: str) -> Optional[str]:
        fw = self.frameworks.get(framework)
        c = fw.get(control_id) if fw else None
        return c.title if c else None

    def problem(self, framework: str, control_id: str) -> Optional[str]:
        """Why ``control_id`` cannot be mapped in ``framework`` (None: it can)."""
        fw = self.frameworks.get(framework)
        if fw is None:
            return f"unknown framework {framework!r}; use {', '.join(self.frameworks)}"
        c = fw.get(control_id)
        if c is None:
            near = _near(control_id, fw)
            return (f"{control_id} is not a control of {fw.heading}"
                    + (f" (did you mean {near}?)" if near else ""))
        if c.withdrawn:
            went = f"; use {', '.join(c.replaced_by)} instead" if c.replaced_by else ""
            return f"{control_id} ({c.title}) is withdrawn in {fw.heading}{went}"
        return None


def _near(control_id: str, fw: Framework) -> Optional[str]:
    """A likely intended id: the same id differently cased or spaced, or CM-8.1 for CM-8(1)."""
    def norm(s: str) -> str:
        return re.sub(r"[\s().\-]", "", s).upper()

    want = norm(control_id)
    for cid in fw.controls:
        if norm(cid) == want:
            return cid
    return None


# ---------------------------------------------------------------- reading files

def read_catalog_file(path: Path | str) -> Framework:
    """Read and validate one catalog file."""
    from ..rules.loader import read_yaml

    path = Path(path)
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a catalog file must be a YAML mapping (framework, name, version, ...)", hint=_HINT)
    unknown = sorted(set(data) - _FILE_KEYS)
    if unknown:
        raise ConfigError(f"{path}: {unknown[0]}: unknown key", hint=_HINT)
    for key in ("framework", "name", "version", "heading", "source", "controls"):
        if key not in data:
            raise ConfigError(f"{path}: {key}: missing (required)", hint=_HINT)
    key = data["framework"]
    if key not in FRAMEWORK_KEYS:
        raise ConfigError(f"{path}: framework: {key!r} is not one of {', '.join(FRAMEWORK_KEYS)}", hint=_HINT)
    texts = {}
    for name in ("name", "version", "heading", "source"):
        value = data[name]
        if not isinstance(value, (str, int, float)) or not str(value).strip():
            raise ConfigError(f"{path}: {name}: must be a non-empty text", hint=_HINT)
        texts[name] = str(value).strip()
    categories: tuple[str, ...] = ()
    if key == "soc2":
        raw = data.get("categories", list(SOC2_CATEGORIES))
        if not isinstance(raw, list) or set(raw) != set(SOC2_CATEGORIES):
            raise ConfigError(f"{path}: categories: must list exactly {', '.join(SOC2_CATEGORIES)}", hint=_HINT)
        categories = tuple(raw)
    elif "categories" in data:
        raise ConfigError(f"{path}: categories: only a soc2 catalog has categories", hint=_HINT)
    controls = data["controls"]
    if not isinstance(controls, dict) or not controls:
        raise ConfigError(f"{path}: controls: must be a mapping of control id to title", hint=_HINT)
    out: dict[str, ControlDef] = {}
    for cid, spec in controls.items():
        out[str(cid)] = _control(path, key, str(cid), spec, categories)
    return Framework(key=key, name=texts["name"], version=texts["version"], heading=texts["heading"],
                     source=texts["source"], controls=out, categories=categories, path=path)


def _control(path: Path, framework: str, cid: str, spec: Any, categories: Sequence[str]) -> ControlDef:
    where = f"{path}: controls.{cid}"
    if not cid.strip() or cid != cid.strip():
        raise ConfigError(f"{where}: a control id must be non-empty, without surrounding blanks", hint=_HINT)
    if isinstance(spec, str):
        spec = {"title": spec}
    if not isinstance(spec, dict):
        raise ConfigError(f"{where}: expected a title, or a mapping with title (and withdrawn, replaced_by, "
                          "category)", hint=_HINT)
    unknown = sorted(set(spec) - _CONTROL_KEYS)
    if unknown:
        raise ConfigError(f"{where}.{unknown[0]}: unknown key", hint=_HINT)
    title = spec.get("title")
    if not isinstance(title, str) or not title.strip():
        raise ConfigError(f"{where}.title: missing or empty", hint=_HINT)
    withdrawn = spec.get("withdrawn", False)
    if not isinstance(withdrawn, bool):
        raise ConfigError(f"{where}.withdrawn: must be true or false", hint=_HINT)
    replaced = spec.get("replaced_by", [])
    if not isinstance(replaced, list) or not all(isinstance(r, str) and r.strip() for r in replaced):
        raise ConfigError(f"{where}.replaced_by: must be a list of control ids", hint=_HINT)
    if replaced and not withdrawn:
        raise ConfigError(f"{where}.replaced_by: only a withdrawn control is replaced", hint=_HINT)
    category = spec.get("category")
    if framework == "soc2":
        if category not in categories:
            raise ConfigError(f"{where}.category: must be one of {', '.join(categories)}", hint=_HINT)
    elif category is not None:
        raise ConfigError(f"{where}.category: only soc2 criteria have a category", hint=_HINT)
    return ControlDef(id=cid, title=title.strip(), withdrawn=withdrawn, replaced_by=tuple(replaced),
                      category=category)


def catalog_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())


def _assemble(files: Iterable[Path], overrides: Iterable[Path] = (), base: Optional[Catalog] = None) -> Catalog:
    by_key: dict[str, Framework] = dict(base.frameworks) if base else {}
    for path in files:
        fw = read_catalog_file(path)
        by_key[fw.key] = fw
    seen: dict[str, Path] = {}
    sources = [fw.path for fw in by_key.values() if fw.path]
    for path in overrides:
        fw = read_catalog_file(path)
        if fw.key in seen:
            raise ConfigError(f"{path}: framework: {fw.key} is also defined by {seen[fw.key]}",
                              hint="keep one file per framework in [frameworks] catalog_dir")
        seen[fw.key] = path
        by_key[fw.key] = fw
        sources.append(path)
    missing = [k for k in FRAMEWORK_KEYS if k not in by_key]
    if missing:
        raise ConfigError(f"no catalog for {', '.join(missing)}", hint=_HINT)
    return Catalog({k: by_key[k] for k in FRAMEWORK_KEYS}, tuple(p for p in sources if p))


@lru_cache(maxsize=1)
def shipped_catalog() -> Catalog:
    """The catalogs shipped with gwaudit."""
    return _assemble(catalog_files(DATA_DIR))


@lru_cache(maxsize=8)
def _with_files(files: tuple[tuple[Path, int, int], ...]) -> Catalog:
    return _assemble((), [f for f, _, _ in files], base=shipped_catalog())


def load_catalog(catalog_dir: Path | str | None = None) -> Catalog:
    """The shipped catalogs, each replaced by the file of ``catalog_dir`` for its framework (read
    again when a file there changes)."""
    if catalog_dir is None:
        return shipped_catalog()
    folder = Path(catalog_dir).resolve()
    if not folder.is_dir():
        raise ConfigError(f"catalog folder {folder} does not exist",
                          hint="fix [frameworks] catalog_dir in the configuration file")
    files = catalog_files(folder)
    if not files:
        raise ConfigError(f"catalog folder {folder} holds no *.yaml catalog file",
                          hint="put one file per framework there (see README, 'Compliance frameworks')")
    stamps = []
    for f in files:
        st = f.stat()
        stamps.append((f, st.st_mtime_ns, st.st_size))
    return _with_files(tuple(stamps))


_active_dir: Optional[Path] = None


def use_catalog_dir(folder: Path | str | None) -> None:
    """Make ``folder`` (``[frameworks] catalog_dir``) the catalog every later load validates against
    and reports with; None goes back to the shipped catalog. Read when first needed."""
    global _active_dir
    _active_dir = Path(folder) if folder is not None else None


def active_catalog() -> Catalog:
    """The catalog set by :func:`use_catalog_dir` (the shipped one unless configured)."""
    return load_catalog(_active_dir)
