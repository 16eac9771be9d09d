"""WeasyPrint's HTML class, minus the footnote and note pseudo-elements nobody asked for.

WeasyPrint's user-agent stylesheet styles five pseudo-elements on *every* element
(``::footnote-call``, ``::footnote-marker``, ``::note-call``, ``::note-marker``,
``::note-callback``), so its cascade computes five complete styles per element whether or not
the element is a footnote or a note. In the 10,000-finding report (1,200 elements) those were
6,000 of the 7,800 styles computed; each is a dict of some two hundred properties, and they
tripled the memory the render touches (which costs more time than the instructions do).

:func:`html_class` gives a subclass of ``weasyprint.HTML`` whose user-agent stylesheet matches
exactly as WeasyPrint's does, except that it drops those five pseudo-elements. It does so only
when the document uses neither footnotes nor notes (no "footnote" and no ``note(`` anywhere in
it, which a template override may add). If WeasyPrint's internals it relies on are not there (a
different version), it gives ``weasyprint.HTML`` itself: the output is the same either way.
"""

from __future__ import annotations

import copy
import re
from functools import lru_cache
from typing import Any, Optional

SKIPPED = frozenset({"footnote-call", "footnote-marker", "note-call", "note-marker", "note-callback"})
"""The pseudo-elements left out of the cascade (they only style footnotes and notes)."""

USES_NOTES = re.compile(r"footnote|note\(", re.IGNORECASE)
"""A document that may use footnotes or notes: it gets WeasyPrint's stylesheet unchanged."""


class _Matcher:
    """A cssselect2 matcher whose matches leave out the :data:`SKIPPED` pseudo-elements.

    cssselect2's ``Matcher.match(element)`` returns ``(specificity, order, pseudo_type,
    payload)`` tuples."""

    def __init__(self, matcher: Any) -> None:
        self._matcher = matcher

    def match(self, element: Any) -> list:
        return [m for m in self._matcher.match(element) if m[2] not in SKIPPED]


@lru_cache(maxsize=1)
def _lean_class() -> Optional[type]:
    """The ``weasyprint.HTML`` subclass with the lean stylesheet, or None if this WeasyPrint does
    not have the parts it needs."""
    try:
        from weasyprint import HTML
        from weasyprint.html import UA_STYLESHEET
    except ImportError:  # pragma: no cover - another WeasyPrint layout
        return None
    if not callable(getattr(HTML, "_ua_stylesheets", None)) or not hasattr(UA_STYLESHEET, "matcher"):
        return None  # pragma: no cover - another WeasyPrint
    lean = copy.copy(UA_STYLESHEET)  # shares the parsed rules; only the matcher differs
    lean.matcher = _Matcher(UA_STYLESHEET.matcher)

    class LeanHTML(HTML):
        """``weasyprint.HTML`` with the user-agent stylesheet's matcher filtered."""

        def _ua_stylesheets(self, *args: Any, **kwargs: Any) -> list:
            return [lean if sheet is UA_STYLESHEET else sheet
                    for sheet in super()._ua_stylesheets(*args, **kwargs)]

    return LeanHTML


def html_class(document: str) -> type:
    """The class to render ``document`` (an HTML string) with: the lean one unless the document
    may use footnotes or notes, or this WeasyPrint lacks what it needs."""
    from weasyprint import HTML

    lean = _lean_class()
    if lean is None or USES_NOTES.search(document):
        return HTML
    return lean
