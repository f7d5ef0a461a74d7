"""Who is to blame for a failure, and what the run's figures cover: pure, no network."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from evaluator import summary
from evaluator.errors import AgentTimeout, AgentUnreachable
from evaluator.results import CheckRecord, RewardRecord, TrialResult
from evaluator.tau2_adapter import TrialRun


def attempt(**changes: Any) -> TrialRun:
    values: dict[str, Any] = {
        "termination_reason": "user_stop",
        "error": None,
        "error_side": None,
        "reward": RewardRecord(reward=1.0),
        "evaluation_error": None,
        "messages": [],
        "tool_calls": 0,
        "tool_errors": 0,
        "user_cost": 0.0,
        "user_input_tokens": 0,
        "user_output_tokens": 0,
    }
    values.update(changes)
    return TrialRun(**values)


def trial(task: str = "t", number: int = 0, reward: float = 1.0, **changes: Any) -> TrialResult:
    values: dict[str, Any] = {
        "task_id": task,
        "trial": number,
        "seed": 1,
        "reward": reward,
        "success": reward == 1.0,
        "termination_reason": "user_stop",
        "status": "scored",
        "cause": None,
        "error": None,
        "reward_detail": RewardRecord(reward=reward),
        "turns": 1,
        "tool_calls": 0,
        "malformed_tool_calls": 0,
        "tool_errors": 0,
        "duration_s": 1.0,
        "mean_turn_duration_s": None,
        "user_cost": 0.0,
        "user_input_tokens": 0,
        "user_output_tokens": 0,
        "context_id": None,
        "trace_id": None,
        "started_at": "2026-01-01T00:00:00+00:00",
    }
    values.update(changes)
    return TrialResult(**values)


@pytest.mark.parametrize(
    ("run", "crash", "expected"),
    [
        (attempt(), None, ("scored", "user_stop", None)),
        (
            attempt(error=AgentTimeout("slow"), error_side="agent"),
            None,
            ("scored", "agent_error", "agent_timeout"),
        ),
        (
            attempt(error=AgentUnreachable("reset"), error_side="agent"),
            None,
            ("scored", "agent_error", "agent_unreachable"),
        ),
        (
            attempt(error=ValueError("bad tool call"), error_side="agent"),
            None,
            ("scored", "agent_error", "agent_turn_failed"),
        ),
        (
            attempt(error=RuntimeError("rate limited"), error_side="user"),
            None,
            ("not_scored", "user_error", "user_simulator_failed"),
        ),
        (
            attempt(evaluation_error="tau2 evaluation failed: ValueError: x"),
            None,
            ("not_scored", "user_stop", "tau2_evaluator_failed"),
        ),
        (None, KeyError("ours"), ("not_scored", "agent_error", "evaluator_crash")),
    ],
)
def test_classify_blames_the_agent_or_the_evaluator(
    run: TrialRun | None, crash: BaseException | None, expected: tuple[str, str, str | None]
) -> None:
    outcome = summary.classify(run, crash)
    assert (outcome.status, outcome.termination_reason, outcome.cause) == expected
    assert outcome.retry == (outcome.status == "not_scored")


def test_a_failed_trial_is_counted_once_under_the_check_that_decided_it() -> None:
    """Only the components of the reward basis decide: an unmet action check outside it
    is observed but is not the cause."""
    detail = RewardRecord(
        reward=0.0,
        basis=["DB", "COMMUNICATE"],
        breakdown={"DB": 1.0, "COMMUNICATE": 0.0},
        checks=[
            CheckRecord("action", "get_user_details({})", False, 0.0, counted=False),
            CheckRecord("communicate", "4", False, counted=True),
        ],
    )
    failed = trial(reward=0.0, reward_detail=detail)
    assert summary.primary_cause(failed) == "information_not_given"
    assert summary.primary_cause(trial()) is None
    assert summary.primary_cause(trial(reward=0.0, termination_reason="max_steps")) == (
        "conversation_ended_early"
    )
    timed_out = trial(reward=0.0, termination_reason="agent_error", cause="agent_timeout")
    assert summary.primary_cause(timed_out) == "agent_timeout"
    figures = summary.summarize([failed, replace(timed_out, task_id="u")], ["t", "u"], 1.0, 1)
    assert figures.causes == {"information_not_given": 1, "agent_timeout": 1}


def test_the_headline_says_what_the_scores_cover() -> None:
    trials = [
        trial("a", 0),
        trial("a", 1),
        trial("b", 0, reward=0.0, status="not_scored", cause="user_simulator_failed"),
        trial("b", 1),
        trial("c", 0, reward=0.0, status="not_run", cause="agent_stopped_answering"),
    ]
    figures = summary.summarize(trials, ["a", "b", "c"], 1.0, 2)
    assert figures.trials == 6
    assert figures.scored_trials == 4  # the not-run trial counts, as 0
    assert figures.average_reward == pytest.approx(3 / 4)
    assert figures.pass_hat_k_tasks == 1  # only a has both trials scored
    assert figures.pass_hat_k == {1: 1.0, 2: 1.0}
    assert summary.headline(figures) == (
        "scored 4 of 6 trials; 1 not scored; 1 not run (counted as 0); 1 not finished; "
        "pass^k over 1 of 3 tasks"
    )
    assert summary.run_status(figures, interrupted=False) == "stopped"
    assert summary.run_status(figures, interrupted=True) == "interrupted"
    ci = figures.average_reward_ci
    assert ci is not None
    assert ci[0] < 0.75 < ci[1]
