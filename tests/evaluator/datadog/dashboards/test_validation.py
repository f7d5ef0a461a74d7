"""validate: shipped definitions pass; what the client would let through and Datadog rejects
fails, each problem with its file and JSON path. The checks themselves are tested with their
modules (test_schema, test_queries, test_catalogue); here, how validation puts them together."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evaluator.cli import main
from evaluator.datadog.dashboards.catalogue import Catalogue
from evaluator.datadog.dashboards.errors import DefinitionError
from evaluator.datadog.dashboards.validation import (
    check_definition,
    definition_problems,
    validate_folder,
)
from tests.evaluator.datadog.dashboards.bodies import dashboard, monitor, timeseries
from tests.evaluator.datadog.dashboards.conftest import REPO_DASHBOARDS


def test_every_shipped_definition_passes_validate(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("TAU2OBSERVE_CASE_PROJECT", raising=False)
    assert main(["dashboards", "--dir", str(REPO_DASHBOARDS), "validate"]) == 0
    assert "3 dashboards and 3 monitors are valid" in capsys.readouterr().out


def test_case_notification_outside_an_alert_block_fails(catalogue: Catalogue) -> None:
    query = "avg(last_5m):avg:tau2.turn.duration{*} > 30"
    inside = monitor(query, "slow {{#is_alert}}@case-${TAU2OBSERVE_CASE_PROJECT}{{/is_alert}}")
    assert check_definition(inside, catalogue) == []
    outside = monitor(query, "slow @case-${TAU2OBSERVE_CASE_PROJECT}")
    assert "inside {{#is_alert}}" in check_definition(outside, catalogue)[0]


def test_unknown_placeholder_fails(catalogue: Catalogue) -> None:
    body = monitor("avg(last_5m):avg:tau2.turn.duration{*} > 30", "@slack-${SLACK_CHANNEL}")
    assert check_definition(body, catalogue) == [
        "${SLACK_CHANNEL}: unknown placeholder (known: ['TAU2OBSERVE_CASE_PROJECT'])"
    ]


def test_validate_command_names_file_and_path(
    definitions: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = definitions / "datadog" / "evaluation-overview.json"
    body = json.loads(path.read_text())
    body["widgets"][0]["definition"]["widgets"][1]["definition"]["type"] = "pie_table"
    path.write_text(json.dumps(body))
    assert main(["dashboards", "--dir", str(definitions), "validate"]) == 1
    err = capsys.readouterr().err
    assert (
        f"{path}: $.widgets[0].definition.widgets[1].definition.type: unknown type 'pie_table'"
        in err
    )


def test_invalid_case_project_is_reported(
    definitions: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TAU2OBSERVE_CASE_PROJECT", "agent evals!")
    with pytest.raises(DefinitionError, match="TAU2OBSERVE_CASE_PROJECT='agent evals!'"):
        validate_folder(definitions, {"TAU2OBSERVE_CASE_PROJECT": "agent evals!"})


def test_broken_catalogue_is_reported(definitions: Path) -> None:
    (definitions / "metrics.yaml").write_text("metrics:\n  - name: x\n    datadog: histogram\n")
    with pytest.raises(DefinitionError, match=r"metrics\[0\] \(x\): datadog='histogram'"):
        validate_folder(definitions, {})


def test_check_definition_reports_model_query_and_placeholder_problems_together(
    catalogue: Catalogue,
) -> None:
    widget = timeseries("avg:tau2.task.rewards{*}", "pie")
    body = dashboard([widget], description="for ${TEAM}")
    problems = check_definition(body, catalogue)
    assert len(problems) == 3
    assert problems[0].startswith(
        "$.widgets[0].definition.requests[0].display_type: unknown value 'pie'"
    )
    assert "tau2.task.rewards: metric not in the catalogue" in problems[1]
    assert problems[2].startswith("${TEAM}: unknown placeholder")
    good = monitor("avg(last_5m):p95:tau2.turn.duration{*} > 30")
    good.body["type"] = "metric-alert"
    assert check_definition(good, catalogue)[0].startswith("$.type: unknown value")


def test_definition_problems_name_the_file_and_catch_missing_or_repeated_titles(
    catalogue: Catalogue,
) -> None:
    query = "avg:tau2.task.reward{*}"
    first = dashboard([timeseries(query)])
    second = dashboard([timeseries(query)])
    untitled = dashboard([timeseries(query)])
    del untitled.body["title"]
    problems = definition_problems([first, second, untitled], catalogue)
    assert problems[:2] == [
        f"{second.path}: same dashboard title as {first.path}: 't'",
        f"{untitled.path}: $: needs a title",
    ]
    # the client's model needs a title too, and says so
    assert problems[2:] == [
        f"{untitled.path}: $: Dashboard.__init__() missing 1 required positional argument: 'title'"
    ]
    same_name_monitor = monitor("avg(last_5m):avg:tau2.turn.duration{*} > 30")
    same_name_monitor.body["name"] = "t"
    assert definition_problems([first, same_name_monitor], catalogue) == []


def test_well_formed_definitions_pass_every_check(catalogue: Catalogue) -> None:
    for query in (
        "sum:tau2.task.trials{tau2.success:true,$agent} by {tau2.task.id}.as_count()",
        "avg:tau2.turn.duration{env:prod,service:evaluator} by {host,version}",
    ):
        assert check_definition(dashboard([timeseries(query)]), catalogue) == []
    good = monitor("avg(last_5m):p95:tau2.turn.duration{*} by {gen_ai.agent.name} > 30")
    assert check_definition(good, catalogue) == []
