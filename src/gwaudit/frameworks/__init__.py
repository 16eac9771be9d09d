"""Compliance frameworks: the control catalogs, the shared mapping concepts, and the compliance
matrix (the status of each control, computed by :func:`control_results`).

    from gwaudit.frameworks import active_catalog, control_results, Scope
    matrix = control_results(report_data.rules, active_catalog(), Scope.parse(["security"]))

Catalogs are data (``data/<framework>.yaml``); ``[frameworks] catalog_dir`` replaces a framework's
file with a fuller one of the user's (:func:`use_catalog_dir`). The rule loader validates every
mapped control id against the active catalog.
"""

from __future__ import annotations

from .catalog import (FRAMEWORK_KEYS, SOC2_CATEGORIES, Catalog, ControlDef, Framework, active_catalog,
                      load_catalog, read_catalog_file, shipped_catalog, use_catalog_dir)
from .concepts import Concept, load_concepts
from .status import (NOTE, STATUSES, ControlRow, ExcludedControl, FrameworkResult, Scope, control_results,
                     flat_rows, natural_key, out_of_scope_text)

__all__ = ["FRAMEWORK_KEYS", "NOTE", "SOC2_CATEGORIES", "STATUSES", "Catalog", "Concept", "ControlDef",
           "ControlRow", "ExcludedControl", "Framework", "FrameworkResult", "Scope", "active_catalog",
           "control_results", "flat_rows", "load_catalog", "load_concepts", "natural_key", "out_of_scope_text",
           "read_catalog_file", "shipped_catalog", "use_catalog_dir"]
