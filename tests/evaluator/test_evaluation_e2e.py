"""End to end on loopback: sample agents as real A2A servers, the sidecar in-process,
tau2's own orchestrator and evaluator, spans and metrics through the OTel SDK."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from evaluator.agents import AgentSettings, RunningAgent, serve_in_thread
from evaluator.config import EvalConfig
from evaluator.results import RunResult, load_results, save_results
from evaluator.runner import run_evaluation
from proxy.telemetry import Telemetry, TelemetrySettings, build_telemetry

pytestmark = pytest.mark.slow

CATALOGUE = Path(__file__).parents[2] / "dashboards" / "metrics.yaml"


@dataclass
class Observed:
    result: RunResult
    spans: list[ReadableSpan]
    metrics: dict[str, list[Any]]  # metric name -> data points


def evaluate(**changes: Any) -> Observed:
    exporter = InMemorySpanExporter()
    reader = InMemoryMetricReader()
    telemetry: Telemetry = build_telemetry(
        TelemetrySettings(service_name="test-evaluator"),
        extra_span_exporters=[exporter],
        extra_metric_readers=[reader],
    )
    values: dict[str, Any] = {"domain": "mock", "max_concurrency": 2}
    values.update(changes)
    try:
        result = run_evaluation(EvalConfig(**values), telemetry)
        telemetry.force_flush()
        points: dict[str, list[Any]] = {}
        data = reader.get_metrics_data()
        assert data is not None
        for rm in data.resource_metrics:
            for sm in rm.scope_metrics:
                if sm.scope.name != "tau2observe.evaluator":
                    continue
                for metric in sm.metrics:
                    points.setdefault(metric.name, []).extend(metric.data.data_points)
        return Observed(result, list(exporter.get_finished_spans()), points)
    finally:
        telemetry.shutdown()


def serve(**settings: Any) -> Iterator[RunningAgent]:
    with serve_in_thread(AgentSettings(**settings)) as running:
        yield running


@pytest.fixture(scope="module")
def oracle() -> Iterator[RunningAgent]:
    yield from serve(kind="oracle")


@pytest.fixture(scope="module")
def noop() -> Iterator[RunningAgent]:
    yield from serve(kind="noop")


def tau2_tasks(domain: str) -> list[Any]:
    from evaluator import tau2_adapter

    return tau2_adapter.load_tasks(domain)


def children(spans: list[ReadableSpan], parent: ReadableSpan) -> list[ReadableSpan]:
    return [s for s in spans if s.parent is not None and s.parent.span_id == parent.context.span_id]


def descendants(spans: list[ReadableSpan], root: ReadableSpan) -> list[ReadableSpan]:
    found, frontier = [], [root]
    while frontier:
        nxt = [c for p in frontier for c in children(spans, p)]
        found += nxt
        frontier = nxt
    return found


def test_oracle_full_marks_on_mock_through_the_sidecar(
    oracle: RunningAgent, tmp_path: Path
) -> None:
    observed = evaluate(agent_endpoint=oracle.url, num_trials=2)
    result = observed.result
    assert result.agent.via_proxy
    assert result.agent.proxy_url != oracle.url
    assert result.agent.name == "tau2observe-oracle"
    assert len(result.trials) == 2 * len(tau2_tasks("mock"))
    for trial in result.trials:
        assert trial.reward == 1.0, (trial.task_id, trial.reward_detail)
        assert trial.success
        assert trial.termination_reason == "user_stop"
        assert trial.turns == len(trial.turn_records) >= 1
        assert trial.context_id
        assert trial.messages
        assert trial.messages[-1].role == "user"
    assert result.summary.termination_counts == {"user_stop": len(result.trials)}
    # pass^k as tau2 defines it: every task's two trials agree here, so pass^1 == pass^2
    assert result.summary.pass_hat_k[1] == pytest.approx(result.summary.pass_hat_k[2])
    assert result.summary.pass_hat_k[1] == pytest.approx(
        sum(t.success for t in result.trials) / len(result.trials)
    )

    # the results file holds the whole record and loads back
    path = save_results(result, tmp_path / "r.json")
    assert load_results(path) == result

    check_spans(observed)
    check_metrics(observed)


def check_spans(observed: Observed) -> None:
    spans = observed.spans
    roots = [s for s in spans if s.name.startswith("tau2.task ")]
    assert len(roots) == len(observed.result.trials)
    by_trace = {f"{r.context.trace_id:032x}": r for r in roots}
    for trial in observed.result.trials:
        assert trial.trace_id is not None
        root = by_trace[trial.trace_id]  # one trace per task trial
        attrs = dict(root.attributes or {})
        assert root.parent is None
        assert root.kind == SpanKind.INTERNAL
        assert attrs["gen_ai.operation.name"] == "invoke_workflow"
        assert attrs["tau2.task.id"] == trial.task_id
        assert attrs["tau2.trial"] == trial.trial
        assert attrs["tau2.reward"] == trial.reward
        assert attrs["tau2.success"] == trial.success
        assert attrs["tau2.termination_reason"] == trial.termination_reason
        assert attrs["gen_ai.conversation.id"] == trial.context_id
        assert attrs["gen_ai.agent.name"] == observed.result.agent.name
        turns = [s for s in children(spans, root) if s.name.startswith("invoke_agent ")]
        assert sorted(f"{t.context.span_id:016x}" for t in turns) == sorted(
            r.span_id for r in trial.turn_records if r.span_id
        )
        for turn in turns:
            assert turn.kind == SpanKind.CLIENT
            assert turn.attributes is not None
            assert turn.attributes["gen_ai.operation.name"] == "invoke_agent"
            below = descendants(spans, turn)
            # the HTTP client span, then the sidecar's server span, nested through traceparent
            http = [s for s in below if s.kind == SpanKind.CLIENT and s.name == "POST"]
            proxy = [s for s in below if s.kind == SpanKind.SERVER]
            assert http, [s.name for s in below]
            assert proxy, [s.name for s in below]
            assert all(s.context.trace_id == root.context.trace_id for s in below)
            assert {s.name for s in proxy} == {"SendMessage"}
            assert any(
                (s.attributes or {}).get("gen_ai.conversation.id") == trial.context_id
                for s in proxy
            )


def check_metrics(observed: Observed) -> None:
    catalogue = yaml.safe_load(CATALOGUE.read_text())
    declared = {m["name"]: m for m in catalogue["metrics"] if m["source"] == "evaluator"}
    assert set(observed.metrics) == set(declared)
    context_ids = {t.context_id for t in observed.result.trials}
    for name, points in observed.metrics.items():
        for point in points:
            attrs = dict(point.attributes)
            assert set(attrs) <= set(declared[name]["tags"]), (name, attrs)
            assert not context_ids & set(map(str, attrs.values()))
    result = observed.result
    trials_total = sum(p.value for p in observed.metrics["tau2.task.trials"])
    assert trials_total == len(result.trials)
    successes = sum(
        p.value
        for p in observed.metrics["tau2.task.trials"]
        if p.attributes["tau2.success"] == "true"
    )
    assert successes == sum(t.success for t in result.trials)
    pass_k = {p.attributes["tau2.k"]: p.value for p in observed.metrics["tau2.run.pass_hat_k"]}
    assert pass_k == {str(k): pytest.approx(v) for k, v in result.summary.pass_hat_k.items()}
    (avg,) = observed.metrics["tau2.run.average_reward"]
    assert avg.value == pytest.approx(result.summary.average_reward)
    rewards = observed.metrics["tau2.task.reward"]
    assert sum(p.count for p in rewards) == len(result.trials)
    assert sum(p.sum for p in rewards) == pytest.approx(sum(t.reward for t in result.trials))
    tool_calls = sum(p.value for p in observed.metrics["tau2.task.tool_calls"])
    assert tool_calls == result.summary.tool_calls > 0


@pytest.mark.parametrize(("domain", "count"), [("airline", 3), ("retail", 2), ("telecom", 3)])
def test_oracle_full_marks_on_a_sample_of_each_domain(
    oracle: RunningAgent, domain: str, count: int
) -> None:
    result = evaluate(domain=domain, agent_endpoint=oracle.url, num_tasks=count).result
    assert [t.task_id for t in result.trials] == [t.id for t in tau2_tasks(domain)[:count]]
    for trial in result.trials:
        assert trial.reward == 1.0, (trial.task_id, trial.error, trial.reward_detail)
        assert trial.reward_detail.basis
    if domain == "telecom":
        # dual control: the scripted user performed the reference user actions itself
        user_calls = [
            c
            for t in result.trials
            for m in t.messages
            for c in m.tool_calls
            if c.requestor == "user"
        ]
        assert user_calls
        assert sum(len(t.user_actions) for t in tau2_tasks(domain)[:count]) == len(user_calls)
    assert result.summary.pass_hat_k == {1: 1.0}


def native_noop_rewards(domain: str, task_ids: list[str]) -> dict[str, float]:
    """The negative control's behaviour run natively in tau2: a tau2 agent that never calls
    a tool and says what the noop agent says, the same scripted user, tau2's evaluator."""
    from tau2.agent.base import LocalAgent
    from tau2.data_model.message import AssistantMessage

    from evaluator.agents.noop import NOOP_REPLY
    from evaluator.tau2_adapter import run_native

    class NativeNoop(LocalAgent):  # type: ignore[misc]
        def get_init_state(self, message_history: Any = None) -> list[Any]:
            return []

        def generate_next_message(self, message: Any, state: Any) -> tuple[Any, Any]:
            return AssistantMessage(role="assistant", content=NOOP_REPLY, cost=0.0), state

        def set_seed(self, seed: int) -> None:
            pass

    tasks = {t.id: t for t in tau2_tasks(domain)}
    rewards = {}
    for task_id in task_ids:
        reward = run_native(domain, tasks[task_id], NativeNoop)
        if reward is None:  # tau2's evaluator raised: tau2 records a failed sample, 0
            failed_natively.add(task_id)
        rewards[task_id] = 0.0 if reward is None else reward
    return rewards


failed_natively: set[str] = set()


NEGATIVE_CONTROL_SAMPLE = {
    "mock": None,  # every task
    "airline": ["0", "1", "2", "3"],  # the noop agent passes 0 and 1 (refusals), fails 2 and 3
    "telecom": None,  # first tasks, see below
}


@pytest.mark.parametrize("domain", ["mock", "airline", "telecom"])
def test_negative_control_scores_what_tau2_gives_natively(noop: RunningAgent, domain: str) -> None:
    ids = [t.id for t in tau2_tasks(domain)]
    sample = NEGATIVE_CONTROL_SAMPLE[domain] or ids[: 9 if domain == "mock" else 3]
    result = evaluate(domain=domain, agent_endpoint=noop.url, task_ids=tuple(sample)).result
    ours = {t.task_id: t.reward for t in result.trials}
    assert ours == native_noop_rewards(domain, list(sample))
    assert all(t.tool_calls == 0 for t in result.trials)
    for trial in result.trials:
        if trial.task_id in failed_natively:  # tau2's evaluator raised: retried, not scored
            assert trial.error is not None
            assert trial.error.startswith("tau2 evaluation failed")
            assert (trial.status, trial.cause) == ("not_scored", "tau2_evaluator_failed")
            assert trial.attempts == 4  # the first try and --max-retries 3
        else:
            assert trial.error is None
