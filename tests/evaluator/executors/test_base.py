"""The unit of work, the plan an executor is given, and a trial that never got going."""

from __future__ import annotations

import dataclasses
from datetime import datetime

import pytest

from evaluator import summary
from evaluator.config import EvalConfig
from evaluator.executors import ExecutionPlan, ExecutorFactory, LocalExecutor, Unit
from evaluator.executors.base import unfinished
from evaluator.results import TrialResult
from tests.evaluator.test_summary import trial


def test_a_unit_is_a_value() -> None:
    unit = Unit("create_task_1", 2, 302)
    assert unit == Unit("create_task_1", 2, 302)
    assert len({unit, Unit("create_task_1", 2, 302), Unit("create_task_1", 3, 303)}) == 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        unit.seed = 1  # type: ignore[misc]


def test_the_plan_runs_a_unit_here() -> None:
    ran: list[Unit] = []

    def run_here(unit: Unit) -> TrialResult:
        ran.append(unit)
        return trial(unit.task_id, unit.trial)

    config = EvalConfig(domain="mock", agent_endpoint="http://127.0.0.1:1/")
    plan = ExecutionPlan(config=config, run_id="r1", run_here=run_here)
    factory: ExecutorFactory = LocalExecutor  # the local executor fits the seam
    assert plan.run_here(Unit("t", 0, 1)).task_id == "t"
    assert ran == [Unit("t", 0, 1)]
    assert isinstance(factory(plan), LocalExecutor)


def test_an_unfinished_trial_scores_nothing_and_says_why() -> None:
    before = datetime.now().astimezone()
    result = unfinished(
        Unit("update_task_1", 1, 301), "not_scored", summary.CAUSE_USER, "boom", attempts=3
    )
    assert (result.task_id, result.trial, result.seed) == ("update_task_1", 1, 301)
    assert (result.reward, result.success, result.scored) == (0.0, False, False)
    assert (result.status, result.cause, result.error) == ("not_scored", summary.CAUSE_USER, "boom")
    assert result.termination_reason == summary.AGENT_ERROR
    assert result.reward_detail.reward == 0.0
    assert result.reward_detail.note == "boom"
    assert (result.turns, result.tool_calls, result.duration_s) == (0, 0, 0.0)
    assert (result.context_id, result.trace_id) == (None, None)
    assert result.attempts == 3
    assert datetime.fromisoformat(result.started_at) >= before.replace(microsecond=0)


def test_an_unreachable_agent_makes_a_scored_zero() -> None:
    result = unfinished(Unit("t", 0, 1), "scored", "agent_unreachable", "no route")
    assert result.scored
    assert result.attempts == 1
    assert result.cause in summary.UNREACHABLE_CAUSES
