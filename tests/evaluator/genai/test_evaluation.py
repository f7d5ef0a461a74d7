"""A trial's reward and outcome as GenAI evaluation results."""

from __future__ import annotations

from typing import Any

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from evaluator.genai.evaluation import (
    EVENT_EVALUATION_RESULT,
    Evaluation,
    record_trial_evaluations,
    run_evaluations,
    trial_evaluations,
)
from evaluator.results import RewardRecord, TrialResult
from evaluator.summary import summarize


def trial(**changes: Any) -> TrialResult:
    values: dict[str, Any] = {
        "task_id": "t1",
        "trial": 0,
        "seed": 1,
        "reward": 1.0,
        "success": True,
        "termination_reason": "user_stop",
        "status": "scored",
        "cause": None,
        "error": None,
        "reward_detail": RewardRecord(reward=1.0),
        "turns": 3,
        "tool_calls": 1,
        "malformed_tool_calls": 0,
        "tool_errors": 0,
        "duration_s": 1.0,
        "mean_turn_duration_s": 0.1,
        "user_cost": 0.0,
        "user_input_tokens": 0,
        "user_output_tokens": 0,
        "context_id": "ctx",
        "trace_id": "0" * 31 + "1",
        "started_at": "2026-01-01T00:00:00+00:00",
    }
    values.update(changes)
    return TrialResult(**values)


def test_a_passing_trial_scores_reward_success_and_termination() -> None:
    assert trial_evaluations(trial()) == [
        Evaluation("reward", score=1.0, label="pass"),
        Evaluation("success", label="pass"),
        Evaluation("termination", label="user_stop"),
    ]


def test_a_failing_trial_explains_its_termination() -> None:
    found = trial_evaluations(
        trial(reward=0.0, success=False, termination_reason="agent_error", error="HTTP 500")
    )
    assert found == [
        Evaluation("reward", score=0.0, label="fail"),
        Evaluation("success", label="fail"),
        Evaluation("termination", label="agent_error", explanation="HTTP 500"),
    ]


def test_a_trial_that_could_not_be_scored_has_no_reward() -> None:
    found = trial_evaluations(
        trial(
            reward=0.0,
            success=False,
            status="not_scored",
            cause="user_simulator_failed",
            termination_reason="user_error",
            error="the user simulator failed",
        )
    )
    assert [e.name for e in found] == ["success", "termination"]
    assert found[0].label == "not_scored"


def test_run_scores_have_labels_without_dots() -> None:
    trials = [
        trial(task_id=t, trial=n, reward=r, success=r == 1.0)
        for t, rewards in (("a", [1, 1]), ("b", [1, 0]), ("c", [0, 1]), ("d", [0, 0]))
        for n, r in enumerate(rewards)
    ]
    summary = summarize(trials, ["a", "b", "c", "d"], 1.0, 2)
    found = run_evaluations(summary)
    assert [(e.name, e.score) for e in found] == [
        ("average_reward", 0.5),
        ("pass_hat_1", 0.5),
        ("pass_hat_2", 0.25),
    ]
    assert all("." not in e.name for e in found)


def test_evaluations_become_events_on_the_trial_span() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with provider.get_tracer("test").start_as_current_span("tau2.task t1") as span:
        record_trial_evaluations(span, trial(reward=0.0, success=False))
    (finished,) = exporter.get_finished_spans()
    events = [(e.name, dict(e.attributes or {})) for e in finished.events]
    assert events == [
        (
            EVENT_EVALUATION_RESULT,
            {
                "gen_ai.evaluation.name": "reward",
                "gen_ai.evaluation.score.value": 0.0,
                "gen_ai.evaluation.score.label": "fail",
            },
        ),
        (
            EVENT_EVALUATION_RESULT,
            {"gen_ai.evaluation.name": "success", "gen_ai.evaluation.score.label": "fail"},
        ),
        (
            EVENT_EVALUATION_RESULT,
            {"gen_ai.evaluation.name": "termination", "gen_ai.evaluation.score.label": "user_stop"},
        ),
    ]
