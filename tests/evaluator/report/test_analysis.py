"""Why a trial failed, scores per agent, percentiles: the report's pure computations."""

from __future__ import annotations

from typing import Any

import pytest

from evaluator.report import analysis
from evaluator.results import CheckRecord, RewardRecord, TrialResult


def trial(**changes: Any) -> TrialResult:
    values: dict[str, Any] = {
        "task_id": "3",
        "trial": 0,
        "seed": 1,
        "reward": 0.0,
        "success": False,
        "termination_reason": "user_stop",
        "status": "scored",
        "cause": None,
        "error": None,
        "reward_detail": RewardRecord(reward=0.0),
        "turns": 2,
        "tool_calls": 1,
        "malformed_tool_calls": 0,
        "tool_errors": 0,
        "duration_s": 1.0,
        "mean_turn_duration_s": 0.5,
        "user_cost": 0.0,
        "user_input_tokens": 0,
        "user_output_tokens": 0,
        "context_id": None,
        "trace_id": None,
        "started_at": "2026-01-01T00:00:00+00:00",
    }
    values.update(changes)
    return TrialResult(**values)


def test_a_success_has_no_causes() -> None:
    assert analysis.failure_causes(trial(reward=1.0, success=True)) == []


def test_causes_name_the_unmet_checks_and_malformed_calls() -> None:
    detail = RewardRecord(
        reward=0.0,
        db_match=False,
        checks=[
            CheckRecord("action", 'get_user_details({"user_id": "a"})', met=False, reward=0.0),
            CheckRecord("action", "get_reservation_details({})", met=True, reward=1.0),
            CheckRecord("communicate", "4", met=False),
        ],
    )
    causes = analysis.failure_causes(trial(reward_detail=detail, malformed_tool_calls=1))
    assert causes == [
        (analysis.CAUSE_MALFORMED, "1 malformed tool call in agent replies"),
        (analysis.CAUSE_ACTION, 'expected action not taken: get_user_details({"user_id": "a"})'),
        (analysis.CAUSE_COMMUNICATE, "the agent never said: 4"),
        (analysis.CAUSE_DB, "the final database differs from the expected one"),
    ]


def test_unscored_trials_agent_errors_and_early_ends() -> None:
    unscored = trial(status="not_scored", termination_reason="user_error", error="x")
    assert analysis.failure_causes(unscored) == [(analysis.CAUSE_NOT_SCORED, "x")]
    agent = trial(termination_reason="agent_error", error="the agent's turn failed: boom")
    assert analysis.failure_causes(agent)[0] == (
        analysis.CAUSE_AGENT_ERROR,
        "the agent's turn failed: boom",
    )
    early = trial(termination_reason="max_steps")
    assert analysis.failure_causes(early)[0][0] == analysis.CAUSE_TERMINATION
    plain = trial(reward=0.5)
    assert analysis.failure_causes(plain) == [(analysis.CAUSE_OTHER, "reward 0.5")]


@pytest.mark.parametrize(
    ("reward", "bin_name"), [(0.0, "0"), (0.2, "0 to 0.5"), (0.5, "0.5 to 1"), (1.0, "1")]
)
def test_reward_bins(reward: float, bin_name: str) -> None:
    assert analysis.reward_bin(reward) == bin_name


def test_percentile_interpolates() -> None:
    assert analysis.percentile([], 50) is None
    assert analysis.percentile([1.0, 2.0, 3.0, 4.0], 50) == pytest.approx(2.5)
    assert analysis.percentile([5.0, 1.0], 100) == 5.0


def test_labels_are_unique() -> None:
    assert analysis.unique_labels(["a", "b", "a"]) == ["a #1", "b", "a #2"]


def test_difficulty_tiers_in_order() -> None:
    assert analysis.ordered_tiers(["expert", "easy", "odd", "hard"]) == [
        "easy",
        "hard",
        "expert",
        "odd",
    ]
