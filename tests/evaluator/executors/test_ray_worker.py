"""A Ray worker's state, run in this process (no Ray): telemetry once, one session per
agent configuration, the unit's trace context, a flush after each unit."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from evaluator.agents import AgentSettings, RunningAgent, serve_in_thread
from evaluator.config import EvalConfig
from evaluator.executors import Unit
from evaluator.executors.ray import trace_carrier
from evaluator.executors.ray_worker import WorkerJob, WorkerProcess, worker_trace_file
from evaluator.runner import plan_units
from tests.evaluator.a2a_servers import free_port
from tests.evaluator.executors.otlp_files import otlp_spans

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def oracle() -> Iterator[RunningAgent]:
    with serve_in_thread(AgentSettings(kind="oracle")) as running:
        yield running


def test_each_worker_writes_its_own_trace_file_beside_the_one_named() -> None:
    assert worker_trace_file(Path("/runs/spans.jsonl"), "node-2", 4711) == Path(
        "/runs/spans.worker-node-2-4711.jsonl"
    )


def test_units_share_one_session_run_under_their_context_and_are_flushed_at_once(
    oracle: RunningAgent, tmp_path: Path
) -> None:
    config = EvalConfig(domain="mock", agent_endpoint=oracle.url, num_trials=2)
    job = WorkerJob(config, "run-1", "mock", tmp_path / "spans.jsonl")
    first, second = plan_units(["create_task_1"], 2, config.seed)
    driver = TracerProvider()
    exporter = InMemorySpanExporter()
    driver.add_span_processor(SimpleSpanProcessor(exporter))
    worker = WorkerProcess()
    try:
        with driver.get_tracer("test").start_as_current_span("driver") as parent:
            carrier = trace_carrier()
        one = worker.run(job, first, carrier)
        two = worker.run(job, second, {})
        (written,) = tmp_path.iterdir()
        spans = otlp_spans(written)  # flushed when each unit ended, before any shutdown
        sessions = len(worker._sessions)
    finally:
        worker.close()
        worker.close()  # idempotent
        driver.shutdown()
    assert (one.reward, two.reward) == (1.0, 1.0)
    assert sessions == 1
    assert one.trace_id == f"{parent.get_span_context().trace_id:032x}"
    assert two.trace_id != one.trace_id  # no context handed: a root of its own
    roots = {s["traceId"]: s for s in spans if s["name"].startswith("tau2.task ")}
    assert roots[one.trace_id]["parentSpanId"] == f"{parent.get_span_context().span_id:016x}"
    assert not roots[two.trace_id].get("parentSpanId")
    assert {s["attrs"]["tau2.run.id"] for s in spans if s["traceId"] in roots} == {"run-1"}
    assert isinstance(first, Unit)


# litellm 1.106's response types trip a pydantic warning the first time they are built
@pytest.mark.filterwarnings("ignore:Item .* is using the `ReadOnly` qualifier")
def test_a_workers_llm_calls_and_verdicts_are_genai_telemetry(
    oracle: RunningAgent, tmp_path: Path
) -> None:
    """As in a local run: the user simulator's litellm calls are chat spans under the
    trial, and the trial carries its workflow name and evaluation events."""
    config = EvalConfig(
        domain="mock",
        agent_endpoint=oracle.url,
        user="llm",
        user_llm="openai/gpt-4.1",
        user_llm_args={"mock_response": "###STOP###", "api_key": "sk-not-real"},
    )
    (unit,) = plan_units(["create_task_1"], 1, config.seed)
    worker = WorkerProcess()
    try:
        result = worker.run(WorkerJob(config, "run-3", "mock", tmp_path / "spans.jsonl"), unit, {})
    finally:
        worker.close()
    (written,) = tmp_path.iterdir()
    spans = otlp_spans(written)
    (root,) = [s for s in spans if s["name"].startswith("tau2.task ")]
    chats = [s for s in spans if s["name"] == "chat gpt-4.1"]
    assert chats, sorted({s["name"] for s in spans})
    assert all(c["traceId"] == root["traceId"] for c in chats)
    assert chats[0]["attrs"]["tau2.llm.role"] == "user_simulator"
    assert root["attrs"]["gen_ai.workflow.name"] == "tau2 mock"
    evaluations = [e for e in root.get("events", []) if e["name"] == "gen_ai.evaluation.result"]
    assert len(evaluations) >= 1
    assert result.user_cost > 0


def test_an_agent_gone_before_the_worker_connects_scores_the_trial_0_as_unreachable(
    tmp_path: Path,
) -> None:
    """A worker that starts after the agent died: the trial counts towards the streak."""
    config = EvalConfig(domain="mock", agent_endpoint=f"http://127.0.0.1:{free_port()}/")
    (unit,) = plan_units(["create_task_1"], 1, config.seed)
    worker = WorkerProcess()
    try:
        result = worker.run(WorkerJob(config, "run-2", "mock", None), unit, {})
    finally:
        worker.close()
    assert (result.status, result.cause, result.reward) == ("scored", "agent_unreachable", 0.0)
    assert result.termination_reason == "agent_error"
    assert result.error
