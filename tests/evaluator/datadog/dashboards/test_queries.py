"""queries: the metric queries of dashboards and monitors against the catalogue: metrics
that exist, tags they carry, template variables the dashboard defines, aggregations that
suit the metric's type."""

from __future__ import annotations

import json

from evaluator.datadog.dashboards.catalogue import Catalogue
from evaluator.datadog.dashboards.queries import (
    MetricQuery,
    dashboard_query_problems,
    metric_names,
    monitor_query_problems,
    parse_metric_queries,
    query_problems,
)
from tests.evaluator.datadog.dashboards.bodies import dashboard, monitor, timeseries
from tests.evaluator.datadog.dashboards.conftest import REPO_DASHBOARDS


def test_a_well_formed_query_passes(catalogue: Catalogue) -> None:
    query = "sum:tau2.task.trials{tau2.success:true,$agent} by {tau2.task.id}.as_count()"
    assert dashboard_query_problems(dashboard([timeseries(query)]).body, catalogue) == []


def test_metric_not_in_catalogue_fails(catalogue: Catalogue) -> None:
    problems = dashboard_query_problems(
        dashboard([timeseries("avg:tau2.task.rewards{*}")]).body, catalogue
    )
    assert problems == [
        "$.widgets[0].definition.requests[0].queries[0].query: tau2.task.rewards: "
        "metric not in the catalogue (dashboards/metrics.yaml)"
    ]


def test_tag_the_metric_does_not_carry_fails(catalogue: Catalogue) -> None:
    # tau2.turn.duration has no task id tag (it is per turn, per domain and agent).
    problems = dashboard_query_problems(
        dashboard([timeseries("avg:tau2.turn.duration{tau2.task.id:t1}")]).body, catalogue
    )
    assert len(problems) == 1
    assert "tag 'tau2.task.id' is not carried by this metric" in problems[0]


def test_group_by_a_tag_the_metric_does_not_carry_fails(catalogue: Catalogue) -> None:
    problems = dashboard_query_problems(
        dashboard([timeseries("avg:tau2.turn.duration{*} by {tau2.termination_reason}")]).body,
        catalogue,
    )
    assert len(problems) == 1
    assert "grouped by 'tau2.termination_reason'" in problems[0]


def test_standard_tags_are_allowed(catalogue: Catalogue) -> None:
    query = "avg:tau2.turn.duration{env:prod,service:evaluator} by {host,version}"
    assert dashboard_query_problems(dashboard([timeseries(query)]).body, catalogue) == []


def test_template_variable_whose_prefix_the_metric_lacks_fails(catalogue: Catalogue) -> None:
    body = dashboard([timeseries("avg:trace.http.server.request{$agent}")])
    problems = dashboard_query_problems(body.body, catalogue)
    assert len(problems) == 1
    assert "tag 'gen_ai.agent.name' is not carried" in problems[0]


def test_undefined_template_variable_fails(catalogue: Catalogue) -> None:
    problems = dashboard_query_problems(
        dashboard([timeseries("avg:tau2.task.reward{$task}")]).body, catalogue
    )
    assert problems == [
        "$.widgets[0].definition.requests[0].queries[0].query: $task is not a template "
        "variable of this dashboard"
    ]


def test_aggregation_must_suit_the_metric_type(catalogue: Catalogue) -> None:
    percentile_of_count = dashboard_query_problems(
        dashboard([timeseries("p95:tau2.task.trials{*}")]).body, catalogue
    )
    assert "needs a distribution, not a count" in percentile_of_count[0]
    count_of_distribution = dashboard_query_problems(
        dashboard([timeseries("sum:tau2.task.reward{*}.as_count()")]).body, catalogue
    )
    assert "apply to counts, not to a distribution" in count_of_distribution[0]


def test_monitor_query_is_checked(catalogue: Catalogue) -> None:
    good = monitor("avg(last_5m):p95:tau2.turn.duration{*} by {gen_ai.agent.name} > 30")
    assert monitor_query_problems(good.body, catalogue) == []
    bad = monitor("avg(last_5m):p95:tau2.turn.latency{*} > 30")
    assert (
        "tau2.turn.latency: metric not in the catalogue"
        in monitor_query_problems(bad.body, catalogue)[0]
    )


def test_parse_metric_queries_reads_each_part() -> None:
    text = "sum:tau2.task.trials{tau2.success:true,$agent} by {tau2.task.id}.as_count() / "
    text += "sum:tau2.task.trials{*}.as_count()"
    assert list(parse_metric_queries("$.q", text)) == [
        MetricQuery("$.q", "sum", "tau2.task.trials", "tau2.success:true,$agent",
                    "tau2.task.id", ".as_count()"),
        MetricQuery("$.q", "sum", "tau2.task.trials", "*", "", ".as_count()"),
    ]  # fmt: skip
    [monitor_query] = parse_metric_queries("$.query", "avg(last_5m):p95:tau2.turn.duration{*} > 3")
    assert (monitor_query.aggregator, monitor_query.metric) == ("p95", "tau2.turn.duration")


def test_a_metric_without_a_scope_or_a_query_without_a_metric_is_named(
    catalogue: Catalogue,
) -> None:
    no_scope = query_problems("$.q", "avg:tau2.task.reward", catalogue, {})
    assert no_scope == ["$.q: 'tau2.task.reward' has no scope; write {*} or {tag:value} after it"]
    assert query_problems("$.q", "1 + 1", catalogue, {}) == [
        "$.q: no metric query found in '1 + 1'"
    ]


def test_a_scope_item_without_a_tag_key_is_named(catalogue: Catalogue) -> None:
    problems = query_problems("$.q", "avg:tau2.task.reward{mock}", catalogue, {})
    assert problems == ["$.q: tau2.task.reward: scope item 'mock' has no tag key (write key:value)"]
    assert query_problems("$.q", "avg:tau2.task.reward{!env:a AND NOT host:b}", catalogue, {}) == []


def test_a_template_variable_prefix_must_be_a_catalogued_tag(catalogue: Catalogue) -> None:
    body = dashboard([timeseries("avg:tau2.task.reward{*}")]).body
    body["template_variables"] = [{"name": "colour", "prefix": "colour"}]
    assert dashboard_query_problems(body, catalogue) == [
        "$.template_variables: prefix 'colour' of $colour is not a tag in the catalogue"
    ]


def test_monitor_queries_have_no_template_variables_and_only_metric_monitors_are_read(
    catalogue: Catalogue,
) -> None:
    with_variable = monitor("avg(last_5m):avg:tau2.turn.duration{$agent} > 30")
    assert "$.query: monitors have no template variables" in monitor_query_problems(
        with_variable.body, catalogue
    )
    other = {"type": "service check", "query": "anything at all"}
    assert monitor_query_problems(other, catalogue) == []
    no_query = {"type": "query alert"}
    assert monitor_query_problems(no_query, catalogue) == [
        "$.query: a metric monitor needs a query string"
    ]


def test_the_shipped_definitions_query_only_catalogued_metrics(catalogue: Catalogue) -> None:
    queried: set[str] = set()
    for path in sorted(REPO_DASHBOARDS.glob("*/*.json")):
        if path.parent.name not in ("datadog", "monitors"):
            continue
        body = json.loads(path.read_text())
        names = metric_names(body)
        assert names, path
        assert all(catalogue.get(name) is not None for name in names), (path, names)
        queried |= names
    assert "tau2.task.trials" in queried
    latency = json.loads((REPO_DASHBOARDS / "monitors" / "turn-latency.json").read_text())
    assert metric_names(latency) == {"tau2.turn.duration"}  # a monitor's top-level query
