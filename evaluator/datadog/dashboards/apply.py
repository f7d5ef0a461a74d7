"""Find what tau2observe created before, plan the changes, and make them.

Finding is by id first (the lock file), then by marker (``managed-by:tau2observe
key=<key>`` in a dashboard's description, the ``tau2observe-key:<key>`` tag on a monitor);
never by title. The whole plan is made before the first write, so a refusal (the lock
points at something without our marker, two objects claim one key) changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from evaluator.datadog.dashboards.definitions import (
    Definition,
    Kind,
    marked,
    marker_key,
    placeholders,
    render,
)
from evaluator.datadog.dashboards.errors import OwnershipError
from evaluator.datadog.dashboards.lock import LockFile
from evaluator.datadog.dashboards.plan import Change, Plan, decide
from proxy.errors import SettingsError


class DatadogApi(Protocol):
    def list_dashboards(self) -> list[dict[str, Any]]: ...
    def get_dashboard(self, dashboard_id: str) -> dict[str, Any] | None: ...
    def create_dashboard(self, body: dict[str, Any]) -> dict[str, Any]: ...
    def update_dashboard(self, dashboard_id: str, body: dict[str, Any]) -> dict[str, Any]: ...
    def list_managed_monitors(self) -> list[dict[str, Any]]: ...
    def get_monitor(self, monitor_id: int) -> dict[str, Any] | None: ...
    def create_monitor(self, body: dict[str, Any]) -> dict[str, Any]: ...
    def update_monitor(self, monitor_id: int, body: dict[str, Any]) -> dict[str, Any]: ...


def desired_bodies(
    definitions: Sequence[Definition], variables: Mapping[str, str]
) -> list[tuple[Definition, dict[str, Any]]]:
    """Each definition as apply sends it: placeholders filled in, marker added."""
    missing: dict[str, list[str]] = {}
    for definition in definitions:
        for name in placeholders(definition.body) - variables.keys():
            missing.setdefault(name, []).append(definition.path.name)
    if missing:
        name, files = sorted(missing.items())[0]
        raise SettingsError(
            name,
            "",
            f"not set, and {', '.join(sorted(files))} use ${{{name}}}; set it "
            "(for TAU2OBSERVE_CASE_PROJECT: the handle of your Case Management project)",
        )
    out = []
    for definition in definitions:
        rendered = Definition(
            definition.kind, definition.key, definition.path, render(definition.body, variables)
        )
        out.append((definition, marked(rendered)))
    return out


def make_plan(
    desired: Sequence[tuple[Definition, dict[str, Any]]],
    api: DatadogApi,
    lock: LockFile,
    scope: str,
) -> Plan:
    notes: list[str] = []
    claimed: dict[tuple[Kind, str], list[str | int]] = {}
    for summary in api.list_dashboards():
        key = marker_key("dashboard", summary)
        if key is not None:
            claimed.setdefault(("dashboard", key), []).append(summary["id"])
    listed_monitors: dict[str, dict[str, Any]] = {}
    for monitor in api.list_managed_monitors():
        key = marker_key("monitor", monitor)
        if key is not None:
            claimed.setdefault(("monitor", key), []).append(monitor["id"])
            listed_monitors[str(monitor["id"])] = monitor

    changes: list[Change] = []
    for definition, body in desired:
        kind, key = definition.kind, definition.key
        locked = lock.get(scope, kind, key)
        remote: dict[str, Any] | None = None
        remote_id: str | int | None = None
        if locked is not None:
            listed = listed_monitors.get(str(locked)) if kind == "monitor" else None
            remote = listed if listed is not None else _fetch(api, kind, locked)
            if remote is None:
                notes.append(
                    f"lock file: {kind} {key} -> {locked} no longer exists in Datadog; "
                    "looking for it by its marker"
                )
            elif marker_key(kind, remote) != key:
                raise OwnershipError(
                    f"{lock.path}: {kind} {key} -> {locked}, but that {kind} "
                    f"({_title(kind, remote)!r}) does not carry the marker for {key!r}; refusing "
                    "to change it. Remove the entry from the lock file to create a new one, or "
                    "add the marker to adopt it."
                )
            else:
                remote_id = locked
        if remote is None:
            candidates = claimed.get((kind, key), [])
            if len(candidates) > 1:
                raise OwnershipError(
                    f"{kind}s {', '.join(map(str, candidates))} all carry the marker for "
                    f"{key!r}; delete the extra ones in Datadog (or remove their marker)"
                )
            if candidates:
                remote_id = candidates[0]
                listed = listed_monitors.get(str(remote_id)) if kind == "monitor" else None
                remote = listed if listed is not None else _fetch(api, kind, remote_id)
        changes.append(decide(kind, key, definition.title, body, remote, remote_id, locked))

    defined = {(d.kind, d.key) for d, _ in desired}
    for (kind, key), ids in sorted(claimed.items()):
        if (kind, key) not in defined:
            notes.append(
                f"{kind} {', '.join(map(str, ids))} carries the marker for {key!r}, which has no "
                "definition here; left in place (delete it in Datadog if it is no longer wanted)"
            )
    return Plan(changes, notes)


def execute(plan: Plan, api: DatadogApi, lock: LockFile, scope: str) -> list[str]:
    """Make the planned writes in order; the lock file records each id as soon as it exists."""
    before = json.dumps(lock.sites, sort_keys=True)
    done: list[str] = []
    try:
        for change in plan.changes:
            if change.action == "create":
                created = _create(api, change)
                lock.set(scope, change.kind, change.key, created["id"])
                done.append(f"created {change.kind} {change.key} ({created['id']})")
            elif change.action == "update" and change.remote_id is not None:
                _update(api, change)
                lock.set(scope, change.kind, change.key, change.remote_id)
                done.append(f"updated {change.kind} {change.key} ({change.remote_id})")
            elif change.lock_update and change.remote_id is not None:
                lock.set(scope, change.kind, change.key, change.remote_id)
    finally:
        if json.dumps(lock.sites, sort_keys=True) != before:
            lock.save()
    return done


def _fetch(api: DatadogApi, kind: Kind, remote_id: str | int) -> dict[str, Any] | None:
    if kind == "dashboard":
        return api.get_dashboard(str(remote_id))
    return api.get_monitor(int(remote_id))


def _create(api: DatadogApi, change: Change) -> dict[str, Any]:
    if change.kind == "dashboard":
        return api.create_dashboard(change.body)
    return api.create_monitor(change.body)


def _update(api: DatadogApi, change: Change) -> None:
    if change.kind == "dashboard":
        api.update_dashboard(str(change.remote_id), change.body)
    else:
        api.update_monitor(int(str(change.remote_id)), change.body)


def _title(kind: Kind, body: Mapping[str, Any]) -> str:
    return str(body.get("title" if kind == "dashboard" else "name", ""))
