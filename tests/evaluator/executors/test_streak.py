"""The stop rule, without a network."""

from __future__ import annotations

from dataclasses import replace

from evaluator.executors import Unit, UnreachableStreak
from tests.evaluator.test_summary import trial


def test_three_unreachable_in_a_row_trip_and_anything_else_resets() -> None:
    streak = UnreachableStreak(3)
    unreachable = trial(reward=0.0, termination_reason="agent_error", cause="agent_unreachable")
    timeout = replace(unreachable, cause="agent_timeout")
    for result in (unreachable, unreachable, timeout, unreachable, unreachable):
        streak.record(result)
    before = streak.tripped  # a timeout is an answer too slow, not nobody answering
    streak.record(replace(unreachable, cause="not_an_a2a_agent"))
    after = streak.tripped
    assert (before, after) == (False, True)
    never = streak.not_run(Unit("t", 1, 42))
    assert (never.status, never.cause, never.reward, never.trial, never.seed) == (
        "not_run",
        "agent_stopped_answering",
        0.0,
        1,
        42,
    )
    assert never.error is not None
    assert "3 consecutive trials" in never.error


def test_zero_never_stops() -> None:
    streak = UnreachableStreak(0)
    for _ in range(10):
        streak.record(trial(reward=0.0, cause="agent_unreachable"))
    assert not streak.tripped
