"""plan: what apply would do, decided without I/O: both sides normalized, compared, described."""

from __future__ import annotations

import json
from typing import Any

from evaluator.datadog.dashboards.definitions import load_definitions, marked
from evaluator.datadog.dashboards.plan import (
    Change,
    Plan,
    decide,
    describe,
    normalize,
    normalize_dashboard,
    normalize_monitor,
    unified_diff,
)
from tests.evaluator.datadog.dashboards.conftest import REPO_DASHBOARDS


def test_normalize_dashboard_drops_what_datadog_sets_and_what_means_nothing() -> None:
    remote: dict[str, Any] = {
        "id": "abc", "author_handle": "a", "author_name": "A", "created_at": "t",
        "modified_at": "t", "url": "/d", "is_read_only": False, "notify_list": None,
        "title": "t", "tags": [], "reflow_type": "auto",
        "widgets": [{"id": 1, "definition": {"type": "group", "widgets": [
            {"id": 2, "definition": {"type": "note", "font_size": 14.0, "show_tick": None}},
        ]}}],
    }  # fmt: skip
    assert normalize_dashboard(remote) == {
        "title": "t",
        "reflow_type": "auto",
        "widgets": [{"definition": {"type": "group", "widgets": [
            {"definition": {"type": "note", "font_size": 14}}]}}],
    }  # fmt: skip
    assert remote["widgets"][0]["id"] == 1  # the input is left as it was
    assert normalize_dashboard({"title": "t", "widgets": []}) == {"title": "t", "widgets": []}
    assert normalize_dashboard({"is_read_only": True}) == {"is_read_only": True}


def test_normalize_monitor_sorts_tags_and_keeps_only_the_options_the_definition_sets() -> None:
    remote: dict[str, Any] = {
        "id": 7, "creator": {"handle": "a"}, "overall_state": "OK", "multi": False,
        "draft_status": "published", "name": "n", "tags": ["b", "a"],
        "options": {"thresholds": {"critical": 30.0}, "notify_audit": False},
    }  # fmt: skip
    desired = {"name": "n", "options": {"thresholds": {"critical": 30}}}
    assert normalize_monitor(remote, desired) == {
        "name": "n",
        "tags": ["a", "b"],
        "options": {"thresholds": {"critical": 30}},
    }
    # without a definition to compare with, every option stays
    assert normalize_monitor(remote)["options"] == {
        "thresholds": {"critical": 30},
        "notify_audit": False,
    }
    assert normalize_monitor({"draft_status": "draft"}) == {"draft_status": "draft"}
    assert normalize("monitor", remote, desired) == normalize_monitor(remote, desired)
    assert normalize("dashboard", {"id": "x", "title": "t"}) == {"title": "t"}


def shipped_dashboard() -> tuple[str, dict[str, Any]]:
    definition = next(d for d in load_definitions(REPO_DASHBOARDS) if d.kind == "dashboard")
    return definition.key, marked(definition)


def test_decide_creates_when_there_is_no_remote() -> None:
    key, body = shipped_dashboard()
    change = decide("dashboard", key, "T", body, None, None, None)
    assert (change.action, change.remote_id, change.before) == ("create", None, None)
    assert change.body is body
    assert change.after == normalize_dashboard(body)
    assert change.lock_update
    assert change.writes


def test_decide_leaves_a_remote_that_only_differs_in_what_datadog_sets() -> None:
    key, body = shipped_dashboard()
    remote = json.loads(json.dumps(body)) | {"id": "abc-def-ghi", "url": "/d"}
    for i, widget in enumerate(remote["widgets"]):
        widget["id"] = i
    change = decide("dashboard", key, "T", body, remote, "abc-def-ghi", "abc-def-ghi")
    assert change.action == "unchanged"
    assert not change.writes
    assert not change.lock_update
    found_by_marker = decide("dashboard", key, "T", body, remote, "abc-def-ghi", None)
    assert found_by_marker.action == "unchanged"
    assert found_by_marker.lock_update


def test_decide_updates_when_the_definition_changed() -> None:
    key, body = shipped_dashboard()
    remote = json.loads(json.dumps(body)) | {"title": "an older title"}
    change = decide("dashboard", key, body["title"], body, remote, "abc", "abc")
    assert change.action == "update"
    assert change.before is not None
    assert change.before["title"] == "an older title"
    assert change.after["title"] == body["title"]


def test_unified_diff_shows_the_remote_against_the_repository() -> None:
    lines = unified_diff({"title": "old", "n": 1}, {"title": "new", "n": 1}, "k")
    assert lines[:2] == ["--- datadog/k", "+++ repository/k"]
    assert '-  "title": "old"' in lines
    assert '+  "title": "new"' in lines
    assert unified_diff({"a": 1}, {"a": 1}, "k") == []


def test_describe_lists_each_change_its_diff_and_a_summary() -> None:
    plan = Plan(
        [
            Change("create", "dashboard", "new-one", "New", {}),
            Change("update", "monitor", "slow", "Slow", {}, remote_id=12,
                   before={"name": "a"}, after={"name": "b"}),
            Change("update", "monitor", "blind", "Blind", {}, remote_id=13),
            Change("unchanged", "dashboard", "same", "Same", {}, remote_id="abc",
                   lock_update=True),
        ],
        notes=["a note"],
    )  # fmt: skip
    text = describe(plan)
    lines = text.splitlines()
    assert lines[0] == "+ create dashboard new-one: New"
    assert lines[1] == "~ update monitor slow (12): Slow"
    assert '    -  "name": "a"' in lines
    assert '    +  "name": "b"' in lines
    assert "~ update monitor blind (13): Blind" in lines
    assert "    (remote body unavailable)" in lines
    assert "= unchanged dashboard same (abc): Same" in lines
    assert "    (found by its marker; the lock file will record its id)" in lines
    assert "! a note" in lines
    assert lines[-1] == "1 to create, 2 to update, 1 unchanged (dry run: nothing written)"
    assert describe(plan, dry_run=False).splitlines()[-1] == "1 to create, 2 to update, 1 unchanged"
    assert [c.key for c in plan.writes] == ["new-one", "slow", "blind"]
