"""validate: shipped definitions pass; what the client would let through and Datadog rejects fails."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from evaluator.cli import main
from evaluator.datadog.dashboards.catalogue import Catalogue
from evaluator.datadog.dashboards.definitions import Definition
from evaluator.datadog.dashboards.errors import DefinitionError
from evaluator.datadog.dashboards.validation import check_definition, validate_folder
from tests.evaluator.datadog.dashboards.conftest import REPO_DASHBOARDS


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return Catalogue.load(REPO_DASHBOARDS / "metrics.yaml")


def dashboard(widgets: list[dict[str, Any]], **extra: Any) -> Definition:
    body = {
        "title": "t",
        "layout_type": "ordered",
        "template_variables": [{"name": "agent", "prefix": "gen_ai.agent.name"}],
        "widgets": widgets,
        **extra,
    }
    return Definition("dashboard", "t", Path("dashboards/datadog/t.json"), body)


def timeseries(query: str, display_type: str = "line", kind: str = "timeseries") -> dict[str, Any]:
    return {
        "definition": {
            "type": kind,
            "requests": [
                {
                    "response_format": "timeseries",
                    "queries": [{"data_source": "metrics", "name": "a", "query": query}],
                    "formulas": [{"formula": "a"}],
                    "display_type": display_type,
                }
            ],
        }
    }


def monitor(query: str, message: str = "m") -> Definition:
    body = {
        "name": "n",
        "type": "query alert",
        "query": query,
        "message": message,
        "options": {"thresholds": {"critical": 1}},
    }
    return Definition("monitor", "m", Path("dashboards/monitors/m.json"), body)


def test_every_shipped_definition_passes_validate(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("TAU2OBSERVE_CASE_PROJECT", raising=False)
    assert main(["dashboards", "--dir", str(REPO_DASHBOARDS), "validate"]) == 0
    assert "3 dashboards and 3 monitors are valid" in capsys.readouterr().out


def test_a_well_formed_query_passes(catalogue: Catalogue) -> None:
    query = "sum:tau2.task.trials{tau2.success:true,$agent} by {tau2.task.id}.as_count()"
    assert check_definition(dashboard([timeseries(query)]), catalogue) == []


def test_unknown_widget_type_fails(catalogue: Catalogue) -> None:
    query = "avg:tau2.task.reward{*}"
    problems = check_definition(dashboard([timeseries(query, kind="piechart")]), catalogue)
    assert problems == [
        f"$.widgets[0].definition.type: unknown type 'piechart'; {problems[0].split('; ', 1)[1]}"
    ]
    assert "'timeseries'" in problems[0]


def test_unknown_enum_value_fails(catalogue: Catalogue) -> None:
    problems = check_definition(
        dashboard([timeseries("avg:tau2.task.reward{*}", "pie")]), catalogue
    )
    assert len(problems) == 1
    assert problems[0].startswith(
        "$.widgets[0].definition.requests[0].display_type: unknown value 'pie'"
    )


def test_unknown_enum_inside_a_group_fails(catalogue: Catalogue) -> None:
    inner = timeseries("avg:tau2.task.reward{*}", "pie")
    group = {"definition": {"type": "group", "layout_type": "ordered", "widgets": [inner]}}
    problems = check_definition(dashboard([group]), catalogue)
    assert problems
    assert "widgets[0].definition.widgets[0].definition.requests[0].display_type" in problems[0]


def test_unknown_field_fails(catalogue: Catalogue) -> None:
    widget = timeseries("avg:tau2.task.reward{*}")
    widget["definition"]["colour"] = "red"
    problems = check_definition(dashboard([widget]), catalogue)
    assert len(problems) == 1
    assert problems[0].startswith("$.widgets[0].definition.colour: unknown field")


def test_unknown_dashboard_layout_fails(catalogue: Catalogue) -> None:
    problems = check_definition(dashboard([], layout_type="freeform"), catalogue)
    assert problems[0].startswith("$.layout_type: unknown value 'freeform'")


def test_metric_not_in_catalogue_fails(catalogue: Catalogue) -> None:
    problems = check_definition(dashboard([timeseries("avg:tau2.task.rewards{*}")]), catalogue)
    assert problems == [
        "$.widgets[0].definition.requests[0].queries[0].query: tau2.task.rewards: "
        "metric not in the catalogue (dashboards/metrics.yaml)"
    ]


def test_tag_the_metric_does_not_carry_fails(catalogue: Catalogue) -> None:
    # tau2.turn.duration has no task id tag (it is per turn, per domain and agent).
    problems = check_definition(
        dashboard([timeseries("avg:tau2.turn.duration{tau2.task.id:t1}")]), catalogue
    )
    assert len(problems) == 1
    assert "tag 'tau2.task.id' is not carried by this metric" in problems[0]


def test_group_by_a_tag_the_metric_does_not_carry_fails(catalogue: Catalogue) -> None:
    problems = check_definition(
        dashboard([timeseries("avg:tau2.turn.duration{*} by {tau2.termination_reason}")]), catalogue
    )
    assert len(problems) == 1
    assert "grouped by 'tau2.termination_reason'" in problems[0]


def test_standard_tags_are_allowed(catalogue: Catalogue) -> None:
    query = "avg:tau2.turn.duration{env:prod,service:evaluator} by {host,version}"
    assert check_definition(dashboard([timeseries(query)]), catalogue) == []


def test_template_variable_whose_prefix_the_metric_lacks_fails(catalogue: Catalogue) -> None:
    body = dashboard([timeseries("avg:trace.http.server.request{$agent}")])
    problems = check_definition(body, catalogue)
    assert len(problems) == 1
    assert "tag 'gen_ai.agent.name' is not carried" in problems[0]


def test_undefined_template_variable_fails(catalogue: Catalogue) -> None:
    problems = check_definition(dashboard([timeseries("avg:tau2.task.reward{$task}")]), catalogue)
    assert problems == [
        "$.widgets[0].definition.requests[0].queries[0].query: $task is not a template "
        "variable of this dashboard"
    ]


def test_aggregation_must_suit_the_metric_type(catalogue: Catalogue) -> None:
    percentile_of_count = check_definition(
        dashboard([timeseries("p95:tau2.task.trials{*}")]), catalogue
    )
    assert "needs a distribution, not a count" in percentile_of_count[0]
    count_of_distribution = check_definition(
        dashboard([timeseries("sum:tau2.task.reward{*}.as_count()")]), catalogue
    )
    assert "apply to counts, not to a distribution" in count_of_distribution[0]


def test_monitor_query_is_checked(catalogue: Catalogue) -> None:
    good = monitor("avg(last_5m):p95:tau2.turn.duration{*} by {gen_ai.agent.name} > 30")
    assert check_definition(good, catalogue) == []
    bad = monitor("avg(last_5m):p95:tau2.turn.latency{*} > 30")
    assert "tau2.turn.latency: metric not in the catalogue" in check_definition(bad, catalogue)[0]


def test_monitor_enum_is_checked(catalogue: Catalogue) -> None:
    body = monitor("avg(last_5m):avg:tau2.turn.duration{*} > 30")
    body.body["type"] = "metric-alert"
    assert check_definition(body, catalogue)[0].startswith("$.type: unknown value 'metric-alert'")


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


def test_catalogue_lists_each_metric_once_with_described_tags(catalogue: Catalogue) -> None:
    emitted = catalogue.emitted()
    assert len(emitted) == len({m.name for m in emitted}) >= 19
    for spec in emitted:
        assert spec.description, spec.name
        assert spec.tags <= set(catalogue.tag_descriptions), spec.name
