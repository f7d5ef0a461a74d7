"""The evaluator's span attributes and instruments, against the OTel SDK's in-memory reader."""

from __future__ import annotations

from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from evaluator.summary import summarize
from evaluator.telemetry import (
    METER_NAME,
    EvaluatorMetrics,
    outcome_attributes,
    task_span_attributes,
)
from proxy import instruments
from tests.evaluator.test_summary import trial


def points(reader: InMemoryMetricReader) -> dict[str, list[Any]]:
    data = reader.get_metrics_data()
    assert data is not None
    found: dict[str, list[Any]] = {}
    for rm in data.resource_metrics:
        for sm in rm.scope_metrics:
            assert sm.scope.name == METER_NAME
            for metric in sm.metrics:
                found.setdefault(metric.name, []).extend(metric.data.data_points)
    return found


def test_a_trial_is_one_workflow_span_with_its_task_and_agent() -> None:
    attrs = task_span_attributes("airline", "7", 2, "oracle")
    assert attrs == {
        "gen_ai.operation.name": "invoke_workflow",
        "tau2.domain": "airline",
        "tau2.task.id": "7",
        "tau2.trial": 2,
        "gen_ai.agent.name": "oracle",
    }


def test_outcome_attributes_carry_the_verdict_and_the_cause_only_when_there_is_one() -> None:
    passed = outcome_attributes(trial("1", 0, tool_calls=3, context_id="ctx-1"))
    assert passed["tau2.reward"] == 1.0
    assert passed["tau2.success"] is True
    assert passed["tau2.tool_calls"] == 3
    assert passed["gen_ai.conversation.id"] == "ctx-1"
    assert "tau2.failure.cause" not in passed
    failed = outcome_attributes(
        trial("1", 1, reward=0.0, termination_reason="agent_error", cause="agent_timeout")
    )
    assert (failed["tau2.success"], failed["tau2.failure.cause"]) == (False, "agent_timeout")
    assert "gen_ai.conversation.id" not in failed


def test_trials_and_a_run_become_the_tables_instruments_with_their_values() -> None:
    reader = InMemoryMetricReader()
    metrics = EvaluatorMetrics(MeterProvider(metric_readers=[reader]))
    trials = [trial("a", 0), trial("a", 1, reward=0.0), trial("b", 0, tool_calls=2), trial("b", 1)]
    for each in trials:
        metrics.record_trial("mock", "oracle", "easy", each, run_id="run-1")
    metrics.record_run("mock", "oracle", summarize(trials, ["a", "b"], 3.0), run_id="run-1")
    seen = points(reader)

    assert set(seen) <= {i.name for i in instruments.of("evaluator")}
    assert sum(p.value for p in seen["tau2.task.trials"]) == 4
    succeeded = [p for p in seen["tau2.task.trials"] if p.attributes["tau2.success"] == "true"]
    assert sum(p.value for p in succeeded) == 3
    assert all(p.attributes["tau2.run.id"] == "run-1" for p in seen["tau2.task.trials"])
    rewards = seen["tau2.task.reward"]
    assert (sum(p.count for p in rewards), sum(p.sum for p in rewards)) == (4, 3.0)
    assert sum(p.value for p in seen["tau2.task.tool_calls"]) == 2
    (average,) = seen["tau2.run.average_reward"]
    assert average.value == 0.75
    pass_k = {p.attributes["tau2.k"]: p.value for p in seen["tau2.run.pass_hat_k"]}
    assert pass_k == {"1": 0.75, "2": 0.5}  # task a passed once in two, task b twice
