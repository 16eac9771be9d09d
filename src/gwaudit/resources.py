"""Where the shipped data lives: inside the wheel (``gwaudit/_data``) or, for an editable
install or a source checkout, at the top of the repository."""

from __future__ import annotations

from pathlib import Path

_PKG = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """``rules``, ``templates`` or ``sample_snapshots``."""
    packaged = _PKG / "_data" / name
    if packaged.is_dir():
        return packaged
    source = _PKG.parent.parent / name
    if source.is_dir():
        return source
    raise FileNotFoundError(f"gwaudit's {name}/ folder is missing from this installation; reinstall gwaudit")


def rules_dir() -> Path:
    return data_dir("rules")


def templates_dir() -> Path:
    return data_dir("templates")


def sample_snapshots() -> list[Path]:
    """The bundled sample snapshot folders, oldest first (folder names are dates)."""
    root = data_dir("sample_snapshots")
    return sorted(p for p in root.iterdir() if (p / "manifest.json").is_file())
