"""Replace a folder as a whole: readers see the old contents or the new, never a mix.

:func:`replace_dir` swaps a fully built folder in with one ``renameat2(RENAME_EXCHANGE)`` on
Linux (both names exist at every moment). Where the system or the file system cannot exchange,
the old folder is renamed aside first and the new one renamed in: the target is briefly absent,
but still never holds a mix.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, Optional

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


@functools.lru_cache(maxsize=1)
def _renameat2() -> Optional[Any]:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


def exchange(a: Path, b: Path) -> bool:
    """Swap the paths ``a`` and ``b`` atomically; False when this system cannot (nothing changed)."""
    fn = _renameat2()
    if fn is None:
        return False
    return fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0


def replace_dir(new: Path, target: Path) -> None:
    """Make the folder ``new`` (same file system) be ``target``, replacing what was there; the
    old contents are deleted afterwards. ``new`` no longer exists when this returns."""
    if not target.exists() and not target.is_symlink():
        os.rename(new, target)
        return
    if target.is_dir() and not target.is_symlink() and exchange(new, target):
        shutil.rmtree(new, ignore_errors=True)  # ``new`` now holds the old contents
        return
    aside = Path(tempfile.mkdtemp(prefix=f".{target.name}-old-", dir=target.parent))
    os.rename(target, aside / target.name)
    os.rename(new, target)
    shutil.rmtree(aside, ignore_errors=True)
