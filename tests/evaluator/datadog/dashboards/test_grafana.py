"""The Grafana evaluation overview stays consistent with the catalogue and the Datadog one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evaluator.datadog.dashboards.catalogue import Catalogue, MetricSpec
from evaluator.datadog.dashboards.grafana import (
    grafana_metric_names,
    grafana_problems,
    prometheus_label,
    prometheus_name,
    promql_references,
)
from evaluator.datadog.dashboards.queries import metric_names
from tests.evaluator.datadog.dashboards.conftest import REPO_DASHBOARDS


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return Catalogue.load(REPO_DASHBOARDS / "metrics.yaml")


def spec(name: str, instrument: str, unit: str) -> MetricSpec:
    datadog = {"counter": "count", "histogram": "distribution", "gauge": "gauge"}[instrument]
    return MetricSpec(name, datadog, unit, frozenset(), "", instrument, "test")


@pytest.mark.parametrize(
    ("name", "instrument", "unit", "expected"),
    [
        ("tau2.task.trials", "counter", "{trial}", "tau2_task_trials_total"),
        (
            "tau2.task.tool_calls.malformed",
            "counter",
            "{call}",
            "tau2_task_tool_calls_malformed_total",
        ),
        ("a2a.proxy.request.duration", "histogram", "s", "a2a_proxy_request_duration_seconds"),
        (
            "http.server.request.duration",
            "histogram",
            "ms",
            "http_server_request_duration_milliseconds",
        ),
        ("tau2.run.pass_hat_k", "gauge", "1", "tau2_run_pass_hat_k_ratio"),
        ("tau2.task.reward", "histogram", "1", "tau2_task_reward"),
        ("requests.total", "counter", "1", "requests_total"),
        ("queue.wait_seconds", "histogram", "s", "queue_wait_seconds"),
        ("net.io", "counter", "By/s", "net_io_bytes_per_second_total"),
        ("2xx.count", "gauge", "", "_2xx_count"),
    ],
)
def test_prometheus_names_follow_the_exporter_rules(
    name: str, instrument: str, unit: str, expected: str
) -> None:
    assert prometheus_name(spec(name, instrument, unit)) == expected


def test_labels_replace_dots() -> None:
    assert prometheus_label("gen_ai.agent.name") == "gen_ai_agent_name"
    assert prometheus_label("deployment.environment.name") == "deployment_environment_name"


def test_promql_references() -> None:
    metrics, labels = promql_references(
        'sum by (a_b) (increase(x_total{c="1", d=~"$v"}[$__range])) / sum(rate(y_sum[5m]))'
    )
    assert metrics == {"x_total", "y_sum"}
    assert labels == {"a_b", "c", "d"}


def test_shipped_grafana_dashboard_matches_the_catalogue(catalogue: Catalogue) -> None:
    assert grafana_problems(REPO_DASHBOARDS, catalogue) == []


def test_grafana_and_datadog_overviews_read_the_same_metrics(catalogue: Catalogue) -> None:
    grafana = json.loads((REPO_DASHBOARDS / "grafana" / "evaluation-overview.json").read_text())
    datadog = json.loads((REPO_DASHBOARDS / "datadog" / "evaluation-overview.json").read_text())
    assert grafana_metric_names(grafana, catalogue) == metric_names(datadog)
    assert grafana["title"] == datadog["title"]


def write_board(root: Path, expr: str) -> None:
    board = {
        "templating": {"list": [{"name": "agent", "type": "custom"}]},
        "panels": [{"title": "p", "targets": [{"expr": expr}]}],
    }
    (root / "grafana").mkdir(parents=True)
    (root / "grafana" / "x.json").write_text(json.dumps(board))


def test_a_metric_without_its_prometheus_suffix_fails(tmp_path: Path, catalogue: Catalogue) -> None:
    write_board(tmp_path, "sum(increase(tau2_task_trials[5m]))")
    assert grafana_problems(tmp_path, catalogue) == [
        f"{tmp_path / 'grafana' / 'x.json'}: panels[0].targets[0] (p): 'tau2_task_trials' is "
        "not the Prometheus name of any catalogue metric"
    ]


def test_a_label_the_metric_lacks_fails(tmp_path: Path, catalogue: Catalogue) -> None:
    write_board(
        tmp_path,
        'sum by (tau2_task_id) (rate(tau2_turn_duration_seconds_count{gen_ai_agent_name=~"$agent"}[5m]))',
    )
    problems = grafana_problems(tmp_path, catalogue)
    assert len(problems) == 1
    assert (
        "tau2_turn_duration_seconds_count (tau2.turn.duration) has no label 'tau2_task_id'"
        in problems[0]
    )


def test_an_undefined_variable_fails(tmp_path: Path, catalogue: Catalogue) -> None:
    write_board(tmp_path, 'sum(tau2_run_success_rate_ratio{tau2_domain=~"$domain"})')
    assert "$domain is not a dashboard variable" in grafana_problems(tmp_path, catalogue)[0]
