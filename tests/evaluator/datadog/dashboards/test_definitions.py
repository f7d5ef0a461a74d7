"""definitions: the files under dashboards/, the marker apply adds and export removes, and
the ${...} placeholders."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from evaluator.datadog.dashboards.definitions import (
    MANAGED_TAG,
    Definition,
    dashboard_marker,
    load_definitions,
    marked,
    marker_key,
    placeholders,
    render,
    strip_dashboard_marker,
    unmarked,
)
from evaluator.datadog.dashboards.errors import DefinitionError
from tests.evaluator.datadog.dashboards.conftest import REPO_DASHBOARDS


def shipped(kind: str, key: str) -> Definition:
    [found] = [d for d in load_definitions(REPO_DASHBOARDS) if (d.kind, d.key) == (kind, key)]
    return found


def test_the_repository_definitions_load_dashboards_first_each_sorted_by_key() -> None:
    found = load_definitions(REPO_DASHBOARDS)
    assert [(d.kind, d.key) for d in found] == [
        ("dashboard", "a2a-traffic"),
        ("dashboard", "evaluation-overview"),
        ("dashboard", "task-drilldown"),
        ("monitor", "a2a-error-rate"),
        ("monitor", "pass-rate-drop"),
        ("monitor", "turn-latency"),
    ]
    overview = found[1]
    assert overview.path == REPO_DASHBOARDS / "datadog" / "evaluation-overview.json"
    assert overview.body == json.loads(overview.path.read_text())
    assert overview.title == overview.body["title"]
    assert found[-1].title == found[-1].body["name"]  # a monitor's title is its name


def test_every_bad_file_is_named_at_once(tmp_path: Path) -> None:
    root = tmp_path / "dashboards"
    shutil.copytree(REPO_DASHBOARDS / "datadog", root / "datadog")
    (root / "datadog" / "Bad_Name.json").write_text("{}")
    (root / "datadog" / "broken.json").write_text("{not json")
    (root / "monitors").mkdir()
    (root / "monitors" / "list.json").write_text("[1, 2]")
    with pytest.raises(DefinitionError) as caught:
        load_definitions(root)
    problems = caught.value.problems
    assert len(problems) == 3
    assert problems[0] == (
        f"{root / 'datadog' / 'Bad_Name.json'}: file name must be a key of a-z, 0-9 and '-'"
    )
    assert problems[1].startswith(f"{root / 'datadog' / 'broken.json'}: not valid JSON: ")
    assert problems[2] == f"{root / 'monitors' / 'list.json'}: expected a JSON object"


def test_a_missing_folder_says_to_use_dir(tmp_path: Path) -> None:
    with pytest.raises(DefinitionError, match="definitions folder not found"):
        load_definitions(tmp_path / "nowhere")


def test_a_dashboard_is_marked_in_its_description_and_unmarked_back() -> None:
    overview = shipped("dashboard", "evaluation-overview")
    body = marked(overview)
    assert body["description"] == (
        f"{overview.body['description']}\n\nmanaged-by:tau2observe key=evaluation-overview"
    )
    assert marker_key("dashboard", body) == "evaluation-overview"
    assert marked(Definition("dashboard", overview.key, overview.path, body)) == body  # once
    assert unmarked("dashboard", body) == overview.body
    assert overview.body == json.loads(overview.path.read_text())  # the definition untouched


def test_a_dashboard_without_description_gets_the_marker_alone() -> None:
    bare = Definition("dashboard", "bare", Path("bare.json"), {"title": "t"})
    body = marked(bare)
    assert body["description"] == dashboard_marker("bare") == "managed-by:tau2observe key=bare"
    assert "description" not in unmarked("dashboard", body)
    assert strip_dashboard_marker("notes\n\nmanaged-by:tau2observe key=x  ") == "notes"


def test_a_monitor_is_marked_with_two_tags_and_unmarked_back() -> None:
    latency = shipped("monitor", "turn-latency")
    body = marked(latency)
    assert body["tags"] == [*latency.body["tags"], MANAGED_TAG, "tau2observe-key:turn-latency"]
    assert marker_key("monitor", body) == "turn-latency"
    assert unmarked("monitor", body)["tags"] == latency.body["tags"]


def test_a_body_without_our_marker_has_no_key() -> None:
    assert marker_key("dashboard", {"description": "made by hand"}) is None
    assert marker_key("dashboard", {}) is None
    assert marker_key("monitor", {"tags": ["tau2observe-key:x"]}) is None  # not managed
    two_keys = {"tags": [MANAGED_TAG, "tau2observe-key:a", "tau2observe-key:b"]}
    assert marker_key("monitor", two_keys) is None


def test_placeholders_are_found_anywhere_and_rendered() -> None:
    latency = shipped("monitor", "turn-latency")
    assert placeholders(latency.body) == {"TAU2OBSERVE_CASE_PROJECT"}
    rendered = render(latency.body, {"TAU2OBSERVE_CASE_PROJECT": "agent-evals"})
    assert "@case-agent-evals" in rendered["message"]
    assert placeholders(rendered) == set()
    assert rendered["options"] == latency.body["options"]
    nested = {"a": ["x ${ONE}", {"b": "${TWO}${ONE}"}], "n": 3, "e": [], "d": {}}
    assert placeholders(nested) == {"ONE", "TWO"}
    assert render(nested, {"ONE": "1", "TWO": "2"}) == {"a": ["x 1", {"b": "21"}], "n": 3,
                                                        "e": [], "d": {}}  # fmt: skip


def test_rendering_a_placeholder_without_a_value_names_it() -> None:
    with pytest.raises(KeyError, match="TWO"):
        render(["${ONE}", "${TWO}"], {"ONE": "1"})
