"""run: an evaluation run as LLM Observability workflow, task and agent spans, with the
rewards as evaluations joined to them.

The span tests drive LLMObsRun through ddtrace in a child process (see traced_run.py: LLM
Observability is process-wide), sending to the recording intake; the pure parts run here.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from typing import Any

import pytest

from evaluator.datadog.llmobs.run import (
    AgentTurn,
    agent_turn,
    assessment,
    evaluation_value,
    metric_type,
)
from evaluator.genai.evaluation import (
    NOT_SCORED,
    Evaluation,
    run_evaluations,
    trial_evaluations,
)
from tests.evaluator.datadog.llmobs.conftest import TracedRun
from tests.evaluator.runs import synthetic_run
from tests.fakes.llmobs_intake import tag_value


def test_a_trials_evaluations_become_scores_and_categories() -> None:
    run = synthetic_run(2)
    passed, failed = run.trials
    reward, success, termination = trial_evaluations(passed)
    assert (metric_type(reward), evaluation_value(reward), assessment(reward)) == (
        "score", 1.0, "pass",
    )  # fmt: skip
    assert (metric_type(success), evaluation_value(success), assessment(success)) == (
        "categorical", "pass", "pass",
    )  # fmt: skip
    assert (metric_type(termination), evaluation_value(termination)) == (
        "categorical", "user_stop",
    )  # fmt: skip
    assert assessment(termination) is None  # a reason, not a verdict
    failed_reward = trial_evaluations(failed)[0]
    assert (evaluation_value(failed_reward), assessment(failed_reward)) == (0.0, "fail")
    for evaluation in run_evaluations(run.summary):
        assert metric_type(evaluation) == "score"
        assert assessment(evaluation) is None


def test_an_evaluation_without_score_or_label_is_an_empty_category() -> None:
    empty = Evaluation("termination")
    assert (metric_type(empty), evaluation_value(empty), assessment(empty)) == (
        "categorical", "", None,
    )  # fmt: skip


def test_an_unscored_trial_is_a_category_neither_pass_nor_fail() -> None:
    trial = replace(synthetic_run(1).trials[0], status="not_scored")
    evaluations = {e.name: e for e in trial_evaluations(trial)}
    assert "reward" not in evaluations
    success = evaluations["success"]
    assert (metric_type(success), evaluation_value(success)) == ("categorical", NOT_SCORED)
    assert assessment(success) is None


def test_outside_a_traced_trial_an_agent_turn_is_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    # ddtrace is not even imported: an import of ddtrace.llmobs would raise here
    monkeypatch.setitem(sys.modules, "ddtrace.llmobs", None)
    with agent_turn("sample-agent", 0, "hello") as turn:
        assert isinstance(turn, AgentTurn)
        turn.replied("ok")
    AgentTurn(span=object(), capture_content=False).replied("not captured")
    with pytest.raises(ImportError):  # the guard above is real
        AgentTurn(span=object(), capture_content=True).replied("captured")


# --- through ddtrace, in a child process ---------------------------------------------------


def one(spans: list[dict[str, Any]]) -> dict[str, Any]:
    assert len(spans) == 1, spans
    return spans[0]


def test_a_run_is_one_workflow_span_tagged_with_the_run(traced: TracedRun) -> None:
    assert traced.record.refused == []
    workflow = one(traced.record.spans_of_kind("workflow"))
    assert workflow["name"] == "tau2 mock sample-agent"
    assert workflow["session_id"] == traced.report["run_id"]
    assert workflow["parent_id"] == "undefined"
    assert tag_value(workflow, "run_id") == traced.report["run_id"]
    assert tag_value(workflow, "domain") == "mock"
    assert tag_value(workflow, "agent") == "sample-agent"
    assert tag_value(workflow, "ml_app") == "tau2-unit"


def test_each_trial_is_a_task_span_under_the_workflow_across_threads(traced: TracedRun) -> None:
    workflow = one(traced.record.spans_of_kind("workflow"))
    tasks = traced.record.spans_of_kind("task")
    assert len(tasks) == 2
    by_task = {tag_value(t, "task_id"): t for t in tasks}
    for trial in traced.report["trials"]:
        task = by_task[trial["task_id"]]
        assert task["name"] == f"tau2.task {trial['task_id']}"
        assert task["parent_id"] == workflow["span_id"]  # handed over to the trial's thread
        assert task["trace_id"] == workflow["trace_id"]
        assert tag_value(task, "trial") == str(trial["trial"])
        assert tag_value(task, "otel.trace_id") == trial["trace_id"]
        assert tag_value(task, "run_id") == traced.report["run_id"]


def test_each_turn_is_an_agent_span_under_its_trial_without_content(traced: TracedRun) -> None:
    tasks = {t["span_id"]: t for t in traced.record.spans_of_kind("task")}
    agents = traced.record.spans_of_kind("agent")
    assert len(agents) == 2
    for span in agents:
        assert span["name"] == "invoke_agent sample-agent"
        parent = tasks[span["parent_id"]]
        assert tag_value(span, "task_id") == tag_value(parent, "task_id")
        assert tag_value(span, "otel.trace_id") == tag_value(parent, "otel.trace_id")
        assert span["meta"]["metadata"] == {"turn": 0}
        text = str(span["meta"].get("input", "")) + str(span["meta"].get("output", ""))
        assert "hello from trial" not in text  # content capture is off by default
        assert "reply to trial" not in text


def test_without_content_capture_the_run_and_trial_records_are_still_shown(
    traced: TracedRun,
) -> None:
    """Only message text is withheld: the run's summary and each trial's id are not content."""
    workflow = one(traced.record.spans_of_kind("workflow"))
    assert str(traced.report["average_reward"]) in str(workflow["meta"]["output"])
    assert "not captured" not in str(workflow["meta"])
    for task in traced.record.spans_of_kind("task"):
        assert str(tag_value(task, "task_id")) in str(task["meta"]["input"])


def test_the_evaluations_are_joined_to_the_task_and_workflow_spans(traced: TracedRun) -> None:
    record = traced.record
    trials = {t["task_id"]: t for t in traced.report["trials"]}
    for task in record.spans_of_kind("task"):
        trial = trials[tag_value(task, "task_id")]
        found = {m["label"]: m for m in record.evaluations_for(task["span_id"])}
        assert set(found) == {"reward", "success", "termination"}
        assert found["reward"]["score_value"] == trial["reward"]
        assert found["termination"]["categorical_value"] == trial["termination"]
        assert "otel.trace_id:" + trial["trace_id"] in found["reward"]["tags"]
    workflow = one(record.spans_of_kind("workflow"))
    run_level = {m["label"]: m for m in record.evaluations_for(workflow["span_id"])}
    assert run_level["average_reward"]["score_value"] == traced.report["average_reward"]
    for k, value in traced.report["pass_hat_k"].items():
        assert run_level[f"pass_hat_{k}"]["score_value"] == value
    # finish() ran twice: the run's evaluations went out once
    assert len(record.evaluations) == 3 * 2 + len(run_level)


def test_with_content_capture_the_turns_text_and_the_runs_summary_are_kept(
    traced_with_content: TracedRun,
) -> None:
    record = traced_with_content.record
    assert record.refused == []
    agents = record.spans_of_kind("agent")
    assert len(agents) == 2
    texts = sorted(str(s["meta"]["input"]) + str(s["meta"]["output"]) for s in agents)
    assert "hello from trial 0" in texts[0]
    assert "reply to trial 0" in texts[0]
    assert "hello from trial 1" in texts[1]
    workflow = one(record.spans_of_kind("workflow"))
    output = str(workflow["meta"]["output"])
    assert "average_reward" in output
    assert str(traced_with_content.report["average_reward"]) in output
