"""schema: a body checked with datadog-api-client's own models, and what the client would
let through that Datadog rejects (unknown widget types, enum values, fields) named by path."""

from __future__ import annotations

import json

import pytest

from evaluator.datadog.dashboards.schema import model_class, model_problems, to_model
from tests.evaluator.datadog.dashboards.bodies import dashboard, monitor, timeseries
from tests.evaluator.datadog.dashboards.conftest import REPO_DASHBOARDS


@pytest.mark.parametrize(("folder", "model"), [("datadog", "dashboard"), ("monitors", "monitor")])
def test_every_shipped_definition_fits_its_model(folder: str, model: str) -> None:
    paths = sorted((REPO_DASHBOARDS / folder).glob("*.json"))
    assert len(paths) == 3
    for path in paths:
        assert model_problems(json.loads(path.read_text()), model) == [], path  # type: ignore[arg-type]


def test_to_model_gives_the_clients_model() -> None:
    from datadog_api_client.v1.model.dashboard import Dashboard
    from datadog_api_client.v1.model.monitor_update_request import MonitorUpdateRequest

    body = json.loads((REPO_DASHBOARDS / "datadog" / "evaluation-overview.json").read_text())
    model = to_model(body, "dashboard")
    assert isinstance(model, Dashboard)
    assert model.title == body["title"]
    assert len(model.widgets) == len(body["widgets"])
    update = to_model({"name": "n", "query": "avg(last_5m):avg:x{*} > 1"}, "monitor_update")
    assert isinstance(update, MonitorUpdateRequest)
    assert model_class("monitor_update") is MonitorUpdateRequest


def test_to_model_refuses_a_body_that_does_not_fit_listing_every_problem() -> None:
    widget = timeseries("avg:tau2.task.reward{*}", "pie")
    widget["definition"]["colour"] = "red"
    with pytest.raises(ValueError, match="unknown field") as caught:
        to_model(dashboard([widget]).body, "dashboard")
    message = str(caught.value)
    assert "$.widgets[0].definition.colour: unknown field" in message
    assert "display_type: unknown value 'pie'" in message
    assert "; " in message


def test_a_body_of_the_wrong_shape_is_one_problem_at_the_root() -> None:
    problems = model_problems(["not", "an", "object"], "monitor")
    assert len(problems) == 1
    assert problems[0].startswith("$: ")


def test_unknown_widget_type_fails() -> None:
    query = "avg:tau2.task.reward{*}"
    problems = model_problems(dashboard([timeseries(query, kind="piechart")]).body, "dashboard")
    assert problems == [
        f"$.widgets[0].definition.type: unknown type 'piechart'; {problems[0].split('; ', 1)[1]}"
    ]
    assert "'timeseries'" in problems[0]


def test_unknown_enum_value_fails() -> None:
    problems = model_problems(
        dashboard([timeseries("avg:tau2.task.reward{*}", "pie")]).body, "dashboard"
    )
    assert len(problems) == 1
    assert problems[0].startswith(
        "$.widgets[0].definition.requests[0].display_type: unknown value 'pie'"
    )


def test_unknown_enum_inside_a_group_fails() -> None:
    inner = timeseries("avg:tau2.task.reward{*}", "pie")
    group = {"definition": {"type": "group", "layout_type": "ordered", "widgets": [inner]}}
    problems = model_problems(dashboard([group]).body, "dashboard")
    assert problems
    assert "widgets[0].definition.widgets[0].definition.requests[0].display_type" in problems[0]


def test_unknown_field_fails() -> None:
    widget = timeseries("avg:tau2.task.reward{*}")
    widget["definition"]["colour"] = "red"
    problems = model_problems(dashboard([widget]).body, "dashboard")
    assert len(problems) == 1
    assert problems[0].startswith("$.widgets[0].definition.colour: unknown field")


def test_unknown_dashboard_layout_fails() -> None:
    problems = model_problems(dashboard([], layout_type="freeform").body, "dashboard")
    assert problems[0].startswith("$.layout_type: unknown value 'freeform'")


def test_monitor_enum_is_checked() -> None:
    body = monitor("avg(last_5m):avg:tau2.turn.duration{*} > 30")
    body.body["type"] = "metric-alert"
    assert model_problems(body.body, "monitor")[0].startswith(
        "$.type: unknown value 'metric-alert'"
    )
