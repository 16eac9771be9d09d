"""The gwaudit database: the :class:`Database` object, its schema (an ordered list of
migrations plus objects derived from the code), the snapshot write path and SQL quoting.

    from gwaudit.db import Database
    db = Database("gwaudit.duckdb")
    db.resolve("latest")

See docs/architecture.md for the tables and views and how they are built.
"""

from __future__ import annotations

from .database import DEFAULT_WAIT, Database, transaction
from .layout import history_view, scope_to_snapshot
from .snapshots import family_status, list_snapshots, previous_snapshot, resolve_snapshot, snapshot_info
from .sql import ident, json_path, literal

__all__ = ["DEFAULT_WAIT", "Database", "family_status", "history_view", "ident", "json_path", "list_snapshots",
           "literal", "previous_snapshot", "resolve_snapshot", "scope_to_snapshot", "snapshot_info",
           "transaction"]
