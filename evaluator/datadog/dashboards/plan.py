"""What ``apply`` would do, decided without I/O: normalize both sides, compare, describe.

Normalization follows Terraform's datadog_dashboard_json: server-set fields (ids, author,
timestamps, url) and every widget ``id`` are dropped, nulls are dropped, an empty list
equals an absent one, and 30.0 equals 30. For monitors, Datadog fills option defaults the
definition never mentions (``notify_audit``, ``include_tags``, ...), so only the options
the definition sets are compared; removing an option from a definition leaves the remote
value as it is.
"""

from __future__ import annotations

import copy
import difflib
import json
from dataclasses import dataclass, field
from typing import Any, Literal

from evaluator.datadog.dashboards.definitions import Kind

Action = Literal["create", "update", "unchanged"]

DASHBOARD_SERVER_FIELDS = frozenset(
    {"id", "author_handle", "author_name", "created_at", "modified_at", "url"}
)
MONITOR_SERVER_FIELDS = frozenset(
    {
        "id",
        "created",
        "modified",
        "creator",
        "overall_state",
        "overall_state_modified",
        "matching_downtimes",
        "deleted",
        "org_id",
        "multi",
        "state",
    }
)
# Values Datadog reports when a field was never set; equal to leaving it out.
DASHBOARD_DEFAULTS: dict[str, Any] = {"is_read_only": False}
MONITOR_DEFAULTS: dict[str, Any] = {"draft_status": "published"}


@dataclass(frozen=True)
class Change:
    action: Action
    kind: Kind
    key: str
    title: str
    body: dict[str, Any]  # what apply sends (marker included)
    remote_id: str | int | None = None
    before: dict[str, Any] | None = None  # normalized remote
    after: dict[str, Any] = field(default_factory=dict)  # normalized desired
    lock_update: bool = False  # the lock file does not yet hold remote_id for this key

    @property
    def writes(self) -> bool:
        return self.action != "unchanged"


@dataclass(frozen=True)
class Plan:
    changes: list[Change]
    notes: list[str] = field(default_factory=list)

    @property
    def writes(self) -> list[Change]:
        return [c for c in self.changes if c.writes]


def normalize_dashboard(body: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in copy.deepcopy(body).items() if k not in DASHBOARD_SERVER_FIELDS}
    for key, default in DASHBOARD_DEFAULTS.items():
        if out.get(key) == default:
            del out[key]
    _drop_widget_ids(out.get("widgets"))
    cleaned: dict[str, Any] = _drop_empty(out)
    return cleaned


def normalize_monitor(
    body: dict[str, Any], desired: dict[str, Any] | None = None
) -> dict[str, Any]:
    """``body`` normalized; with ``desired``, remote options are cut to the ones it sets."""
    out = {k: v for k, v in copy.deepcopy(body).items() if k not in MONITOR_SERVER_FIELDS}
    for key, default in MONITOR_DEFAULTS.items():
        if out.get(key) == default:
            del out[key]
    if isinstance(out.get("tags"), list):
        out["tags"] = sorted(out["tags"])
    if desired is not None and isinstance(out.get("options"), dict):
        wanted = (desired.get("options") or {}).keys()
        out["options"] = {k: v for k, v in out["options"].items() if k in wanted}
    cleaned: dict[str, Any] = _drop_empty(out)
    return cleaned


def normalize(
    kind: Kind, body: dict[str, Any], desired: dict[str, Any] | None = None
) -> dict[str, Any]:
    return normalize_dashboard(body) if kind == "dashboard" else normalize_monitor(body, desired)


def decide(
    kind: Kind,
    key: str,
    title: str,
    desired: dict[str, Any],
    remote: dict[str, Any] | None,
    remote_id: str | int | None,
    locked_id: str | int | None,
) -> Change:
    """Create when there is no remote, update when the normalized sides differ."""
    after = normalize(kind, desired)
    if remote is None:
        return Change("create", kind, key, title, desired, after=after, lock_update=True)
    before = normalize(kind, remote, desired)
    action: Action = "unchanged" if _canonical(before) == _canonical(after) else "update"
    return Change(
        action,
        kind,
        key,
        title,
        desired,
        remote_id=remote_id,
        before=before,
        after=after,
        lock_update=str(locked_id) != str(remote_id),
    )


def describe(plan: Plan, *, dry_run: bool = True) -> str:
    """The plan as a person reads it: one line per definition, a unified diff per update."""
    verb = {"create": "create", "update": "update", "unchanged": "unchanged"}
    lines: list[str] = []
    for change in plan.changes:
        where = f" ({change.remote_id})" if change.remote_id is not None else ""
        mark = {"create": "+", "update": "~", "unchanged": "="}[change.action]
        lines.append(
            f"{mark} {verb[change.action]} {change.kind} {change.key}{where}: {change.title}"
        )
        if change.action == "update" and change.before is not None:
            lines.extend(
                f"    {line}" for line in unified_diff(change.before, change.after, change.key)
            )
        elif change.action == "update":
            lines.append("    (remote body unavailable)")
        if change.lock_update and change.action == "unchanged":
            lines.append("    (found by its marker; the lock file will record its id)")
    lines.extend(f"! {note}" for note in plan.notes)
    creates = sum(c.action == "create" for c in plan.changes)
    updates = sum(c.action == "update" for c in plan.changes)
    unchanged = sum(c.action == "unchanged" for c in plan.changes)
    summary = f"{creates} to create, {updates} to update, {unchanged} unchanged"
    lines.append(f"{summary} (dry run: nothing written)" if dry_run else summary)
    return "\n".join(lines)


def unified_diff(before: dict[str, Any], after: dict[str, Any], key: str) -> list[str]:
    return list(
        difflib.unified_diff(
            _canonical(before).splitlines(),
            _canonical(after).splitlines(),
            fromfile=f"datadog/{key}",
            tofile=f"repository/{key}",
            lineterm="",
            n=2,
        )
    )


def _canonical(body: dict[str, Any]) -> str:
    return json.dumps(body, indent=2, sort_keys=True, ensure_ascii=False)


def _drop_widget_ids(widgets: Any) -> None:
    if not isinstance(widgets, list):
        return
    for widget in widgets:
        if isinstance(widget, dict):
            widget.pop("id", None)
            definition = widget.get("definition")
            if isinstance(definition, dict):
                _drop_widget_ids(definition.get("widgets"))


def _drop_empty(value: Any) -> Any:
    if isinstance(value, dict):
        cleaned = {k: _drop_empty(v) for k, v in value.items() if v is not None}
        return {k: v for k, v in cleaned.items() if v != [] or k in ("widgets",)}
    if isinstance(value, list):
        return [_drop_empty(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)  # the client's models turn 30 into 30.0 for float fields
    return value
