"""Rendering diffs and resource histories for a terminal or CSV (JSON is ``to_dict()``).

Text groups changes by family; colour through a ``style`` function (plain by default; the
command line passes click.style when stdout is a terminal). Text from the API is shown with bidi
and control characters escaped (:func:`gwaudit.output.terminal_text`); CSV keeps it as it is.
"""

from __future__ import annotations

import json
from typing import Any, Iterable

from .diff import FINDING_GROUPS, SnapshotDiff
from .output import Styler, cell, csv_text, jsonable, plain, terminal_text as _t

_FINDING_LABEL = {"new": "new", "resolved": "resolved", "resolved_deleted": "resolved (resource deleted)",
                  "open": "still open", "waived": "newly waived", "not_evaluated": "not evaluated"}
_FINDING_COLOR = {"new": "red", "resolved": "green", "resolved_deleted": "green", "open": "yellow",
                  "waived": "cyan", "not_evaluated": "magenta"}


def value_text(value: Any, width: int = 100) -> str:
    """A JSON value on one line, clipped."""
    text = json.dumps(jsonable(value), ensure_ascii=False, separators=(", ", ": "))
    return text if len(text) <= width else text[: width - 1] + "…"


def short_path(path: str) -> str:
    return path[2:] if path.startswith("$.") else path[1:] if path.startswith("$") else path


def person_text(who: dict[str, Any] | None) -> str:
    if not who:
        return ""
    parts = [who.get("email") or who.get("name") or "someone"]
    if who.get("email") and who.get("name"):
        parts[0] += f" ({who['name']})"
    if who.get("at"):
        parts.append(f"at {who['at']}")
    text = " ".join(parts) if who.get("email") or who.get("name") else ""
    if who.get("note"):
        text = (text + ": " if text else "") + repr(who["note"])
    return text


def _key(r: Any) -> str:
    return "" if r.key == r.name else f"  [{_t(str(r.key))}]"


def _canon(value: Any) -> str:
    return json.dumps(jsonable(value), sort_keys=True, ensure_ascii=False, separators=(", ", ": "))


def change_lines(path: str, before: Any, after: Any, s: Any = lambda t, **_: t, indent: str = "      ") -> list[str]:
    """One change as text lines; a list that grew or shrank shows the elements added and removed."""
    label = _t(short_path(path))
    if isinstance(before, list) and isinstance(after, list):
        old, new = [_canon(x) for x in before], [_canon(x) for x in after]
        removed = list(old)
        added = []
        for x in new:
            if x in removed:
                removed.remove(x)
            else:
                added.append(x)
        if not added and not removed:
            return [f"{indent}{label}: reordered {_t(value_text(before))} -> {_t(value_text(after))}"]
        out = [f"{indent}{label}: {len(before)} -> {len(after)} item{'s' if len(after) != 1 else ''}"]
        out += [indent + "  " + s(f"+ {_t(_clip(x))}", fg="green") for x in added]
        out += [indent + "  " + s(f"- {_t(_clip(x))}", fg="red") for x in removed]
        return out
    return [f"{indent}{label}: {_t(value_text(before))} -> {_t(value_text(after))}"]


def _clip(text: str, width: int = 110) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _snap(info: dict[str, Any]) -> str:
    status = f", {info['status']}" if info["status"] != "complete" else ""
    if info.get("failed_families"):
        status += f": not collected {', '.join(info['failed_families'])}"
    return f"snapshot {info['id']} ({cell(info['taken_at'])}{status})"


def diff_text(d: SnapshotDiff, *, style: Styler = plain) -> str:
    s = style

    lines = [s(f"{_snap(d.old)} -> {_snap(d.new)}", bold=True)]
    c = d.counts()
    changed = [x for x in d.families.values() if x.changed]
    unchanged = len(d.families) - len(changed)
    lines.append(f"resources: {c['added']} added, {c['removed']} removed, {c['modified']} modified; "
                 f"{unchanged} famil{'y' if unchanged == 1 else 'ies'} unchanged"
                 + (f"; {c['not_comparable']} not comparable" if c["not_comparable"] else ""))
    volatile_only = sum(x.volatile_only for x in d.families.values())
    if not d.include_volatile and volatile_only:
        lines.append(s(f"({volatile_only} resource{'s' if volatile_only != 1 else ''} changed only in volatile "
                       "fields such as last_used_at or usage figures; --include-volatile shows them)", dim=True))
    for fd in sorted(changed, key=lambda x: x.family):
        lines.append("")
        if not fd.compared:
            lines.append(s(fd.family, bold=True) + ": " + s(_t(fd.status), fg="red"))
            continue
        counts = ", ".join(f"{len(getattr(fd, k))} {k}" for k in ("added", "removed", "modified")
                           if getattr(fd, k))
        lines.append(s(fd.family, bold=True) + f"  ({counts})")
        for r in fd.added:
            who = _t(person_text(r.changed_by))
            lines.append("  " + s(f"+ {_t(str(r.name))}", fg="green") + _key(r) + (f"  by {who}" if who else ""))
        for r in fd.removed:
            lines.append("  " + s(f"- {_t(str(r.name))}", fg="red") + _key(r))
        for r in fd.modified:
            who = _t(person_text(r.changed_by))
            lines.append("  " + s(f"~ {_t(str(r.name))}", fg="yellow") + _key(r) + (f"  by {who}" if who else ""))
            for ch in r.changes:
                lines.extend(change_lines(ch.path, ch.before, ch.after, s))
    lines.append("")
    lines.extend(access_lines(d, s))
    f = d.findings
    if f.status != "compared":
        lines.append(s("findings", bold=True) + f": {f.status}")
    else:
        groups = [g for g in FINDING_GROUPS + ("not_evaluated",) if getattr(f, g)]
        summary = ", ".join(f"{len(getattr(f, g))} {_FINDING_LABEL[g]}" for g in FINDING_GROUPS)
        lines.append(s("findings", bold=True) + f": {summary}"
                     + (f", {len(f.not_evaluated)} not evaluated" if f.not_evaluated else ""))
        for g in groups:
            if g == "open":
                continue  # still-open findings are counted, listed in JSON/CSV
            for item in getattr(f, g):
                name = _t(str(item.get("resource_name") or item["resource_id"]))
                lines.append("  " + s(f"{_FINDING_LABEL[g]:<12}", fg=_FINDING_COLOR[g])
                             + f" {item['severity']:<8} {item['rule_id']:<12} {name}: {_t(item.get('message') or '')}")
    return "\n".join(lines)


def access_lines(d: SnapshotDiff, s: Any) -> list[str]:
    """Who gained or lost which models, grouped by model and cause (keys counted)."""
    a = d.access
    if a is None:
        return []
    if a.status != "compared":
        return [s("access", bold=True) + f": {a.status}", ""]
    lines = [s("access", bold=True) + f": {len(a.gained)} principal-model pairs gained, {len(a.lost)} lost"]
    for g in a.summary():
        who = ", ".join(_t(x) for x in g["scopes"][:8]) + (f" +{len(g['scopes']) - 8} more" if len(g["scopes"]) > 8 else "")
        if g["keys"]:
            who += (", " if who else "") + f"{g['keys']} key{'s' if g['keys'] != 1 else ''}"
        mark, colour = ("+", "green") if g["change"] == "gained" else ("-", "red")
        verb = "allowed" if g["change"] == "gained" else "denied"
        lines.append("  " + s(f"{mark} {_t(g['model'])}", fg=colour) + f"  {who}: now {verb} by "
                     f"{_t(g['new_decided_by'])} (was {_t(g['old_decided_by'])})")
    lines.append("")
    return lines


DIFF_CSV_COLUMNS = ("section", "family", "change", "key", "name", "path", "before", "after", "changed_by",
                    "rule_id", "severity", "fingerprint", "message")


def diff_csv_rows(d: SnapshotDiff) -> Iterable[list[Any]]:
    for name, fd in d.families.items():
        if not fd.compared:
            yield ["resource", name, "not_comparable", "", "", "", "", "", "", "", "", "", fd.status]
            continue
        for kind in ("added", "removed"):
            for r in getattr(fd, kind):
                yield ["resource", name, kind, r.key, r.name, "", "", "", person_text(r.changed_by), "", "", "", ""]
        for r in fd.modified:
            for ch in r.changes:
                yield ["resource", name, "modified", r.key, r.name, ch.path, value_text(ch.before, 10_000),
                       value_text(ch.after, 10_000), person_text(r.changed_by), "", "", "", ""]
    if d.access is not None:
        if d.access.status != "compared":
            yield ["access", "", "not_comparable", "", "", "", "", "", "", "", "", "", d.access.status]
        for r in d.access.rows:
            yield ["access", "", r["change"], r["principal"], r["principal_name"], r["model"], r["old_decided_by"],
                   r["new_decided_by"], "", "", "", "", r["cause"]]
    f = d.findings
    if f.status != "compared":
        yield ["finding", "", "not_comparable", "", "", "", "", "", "", "", "", "", f.status]
        return
    for g in FINDING_GROUPS + ("not_evaluated",):
        for item in getattr(f, g):
            yield ["finding", item["family"], g, item["resource_id"], item.get("resource_name"), "", "", "", "",
                   item["rule_id"], item["severity"], item["fingerprint"], item.get("message")]


def diff_csv(d: SnapshotDiff) -> str:
    return csv_text(DIFF_CSV_COLUMNS, diff_csv_rows(d))
