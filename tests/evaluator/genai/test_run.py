"""A real evaluation with tau2's LLM user simulator, its litellm calls answered on loopback:
chat spans inside each trial's trace, client metrics that add up, evaluations on the trial."""

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

from evaluator.agents import AgentSettings, serve_in_thread
from evaluator.config import EvalConfig
from evaluator.genai.evaluation import EVENT_EVALUATION_RESULT
from evaluator.results import RunResult
from evaluator.runner import run_evaluation
from proxy.telemetry import TelemetrySettings, build_telemetry
from tests.fakes.chat_completions import USER_LINES, USER_MODEL, ChatCompletionsServer

pytestmark = pytest.mark.slow

CATALOGUE = Path(__file__).parents[3] / "dashboards" / "metrics.yaml"


@dataclass
class Observed:
    result: RunResult
    spans: list[ReadableSpan]
    points: dict[str, list[Any]]
    llm: ChatCompletionsServer


@pytest.fixture(scope="module")
def observed() -> Iterator[Observed]:
    exporter = InMemorySpanExporter()
    reader = InMemoryMetricReader()
    telemetry = build_telemetry(
        TelemetrySettings(service_name="test-evaluator"),
        extra_span_exporters=[exporter],
        extra_metric_readers=[reader],
    )
    with ChatCompletionsServer() as llm, serve_in_thread(AgentSettings(kind="noop")) as agent:
        try:
            result = run_evaluation(
                EvalConfig(
                    domain="mock",
                    agent_endpoint=agent.url,
                    num_tasks=2,
                    max_concurrency=2,
                    user="llm",
                    user_llm=f"openai/{USER_MODEL}",
                    user_llm_args=llm.litellm_args(),
                ),
                telemetry,
            )
            telemetry.force_flush()
            data = reader.get_metrics_data()
            assert data is not None
            points: dict[str, list[Any]] = {}
            for rm in data.resource_metrics:
                for sm in rm.scope_metrics:
                    for metric in sm.metrics:
                        points.setdefault(metric.name, []).extend(metric.data.data_points)
            yield Observed(result, list(exporter.get_finished_spans()), points, llm)
        finally:
            telemetry.shutdown()


def chat_spans(observed: Observed) -> list[ReadableSpan]:
    return [s for s in observed.spans if s.name == f"chat {USER_MODEL}"]


def test_every_user_simulator_call_is_a_chat_span_in_its_trials_trace(observed: Observed) -> None:
    chats = chat_spans(observed)
    # The scripted LLM user says its lines, then stops: one call per line and one to stop.
    assert len(chats) == len(observed.llm.requests) == 2 * (len(USER_LINES) + 1)
    roots = {s.context.span_id: s for s in observed.spans if s.name.startswith("tau2.task ")}
    for span in chats:
        assert span.kind is SpanKind.CLIENT
        assert span.parent is not None
        assert span.parent.span_id in roots
        root = roots[span.parent.span_id]
        attributes = dict(span.attributes or {})
        assert attributes["gen_ai.agent.name"] == dict(root.attributes or {})["gen_ai.agent.name"]
        assert attributes["tau2.llm.role"] == "user_simulator"
        assert isinstance(attributes["gen_ai.usage.input_tokens"], int)
        assert attributes["gen_ai.usage.input_tokens"] > 0


def test_token_usage_adds_up_to_what_tau2_counted(observed: Observed) -> None:
    tokens = {"input": 0, "output": 0}
    for point in observed.points["gen_ai.client.token.usage"]:
        tokens[dict(point.attributes)["gen_ai.token.type"]] += point.sum
    assert tokens == {
        "input": observed.result.summary.user_input_tokens,
        "output": observed.result.summary.user_output_tokens,
    }
    cost = sum(p.value for p in observed.points["tau2.llm.cost"])
    assert cost == pytest.approx(observed.result.summary.user_cost)
    durations = observed.points["gen_ai.client.operation.duration"]
    assert sum(p.count for p in durations) == len(chat_spans(observed))


def test_trial_spans_carry_workflow_attributes_and_their_evaluations(observed: Observed) -> None:
    by_trace = {t.trace_id: t for t in observed.result.trials}
    roots = [s for s in observed.spans if s.name.startswith("tau2.task ")]
    assert len(roots) == len(observed.result.trials) == 2
    for root in roots:
        attributes = dict(root.attributes or {})
        assert attributes["gen_ai.operation.name"] == "invoke_workflow"
        assert attributes["gen_ai.workflow.name"] == "tau2 mock"
        trial = by_trace[f"{root.context.trace_id:032x}"]
        results = {
            dict(e.attributes or {})["gen_ai.evaluation.name"]: dict(e.attributes or {})
            for e in root.events
            if e.name == EVENT_EVALUATION_RESULT
        }
        assert results["reward"]["gen_ai.evaluation.score.value"] == trial.reward
        assert results["success"]["gen_ai.evaluation.score.label"] == (
            "pass" if trial.success else "fail"
        )
        assert results["termination"]["gen_ai.evaluation.score.label"] == trial.termination_reason


def test_the_llm_metrics_are_the_catalogued_ones_with_catalogued_tags(observed: Observed) -> None:
    catalogue = yaml.safe_load(CATALOGUE.read_text())
    declared = {m["name"]: set(m["tags"]) for m in catalogue["metrics"] if m["source"] == "genai"}
    emitted = {name: points for name, points in observed.points.items() if name in declared}
    assert set(emitted) == set(declared)
    for name, points in emitted.items():
        for point in points:
            assert set(dict(point.attributes)) <= declared[name], name
            assert dict(point.attributes)["tau2.domain"] == "mock"


class BrokenLLMObs:
    """An LLM Observability run whose every call fails (a bad intake answer, a ddtrace bug)."""

    def trial(self, task_id: str, trial: int, trace_id: str | None) -> Any:
        raise RuntimeError("trial")

    def trial_finished(self, result: Any) -> None:
        raise RuntimeError("trial_finished")

    def finish(self, summary: Any) -> None:
        raise RuntimeError("finish")


def test_a_failing_llm_observability_never_takes_a_trial_down(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.trace import TracerProvider

    from evaluator.genai.instrument import ChatInstrumentation
    from evaluator.genai.run import GenAIRun
    from tests.evaluator.genai.test_evaluation import trial

    provider = TracerProvider()
    run = GenAIRun(
        ChatInstrumentation(provider, MeterProvider()),
        domain="mock",
        agent="a",
        llmobs=BrokenLLMObs(),  # type: ignore[arg-type]
    )
    with provider.get_tracer("t").start_as_current_span("tau2.task t1") as span:
        with run.trial("t1", 0):
            ran = True
        run.trial_finished(span, trial())
    run.finish(None)
    assert ran
    assert [r.getMessage().split(":")[1].strip() for r in caplog.records] == [
        "trial span not started",
        "evaluations not submitted",
        "run not finished",
    ]
