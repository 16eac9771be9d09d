"""``python -m gwaudit.cli``: the same as the ``gwaudit`` console script."""

from . import entry

entry()
