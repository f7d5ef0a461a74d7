"""What one finished trial looks like in a log line."""

from __future__ import annotations

from evaluator.progress import trial_line
from tests.evaluator.test_summary import trial


def test_a_line_says_the_verdict_the_reward_and_the_cause() -> None:
    assert trial_line(trial("3", 1)) == "task 3 trial 1: pass, reward 1.00 in 1.0 s"
    timed_out = trial("3", 0, reward=0.0, termination_reason="agent_error", cause="agent_timeout")
    assert trial_line(timed_out) == ("task 3 trial 0: fail, reward 0.00 (agent timed out) in 1.0 s")
    unscored = trial("4", 0, reward=0.0, status="not_scored", cause="user_simulator_failed",
                     attempts=4)  # fmt: skip
    assert trial_line(unscored) == (
        "task 4 trial 0: not scored, reward 0.00 (user simulator failed (not scored)) "
        "in 1.0 s, 4 attempts"
    )
    assert trial_line(trial("5", 0, reward=0.0, status="not_run", cause="agent_stopped_answering"))\
        .startswith("task 5 trial 0: not run")  # fmt: skip
