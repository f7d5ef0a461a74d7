"""The artifact's numbers: AgentBeats' meanings, and ours from evaluator.summary."""

from __future__ import annotations

from dataclasses import replace

from evaluator.green.outcome import numbers, progress_line, summary_text, task_rewards
from evaluator.results import RunResult, TaskRecord
from evaluator.summary import summarize
from tests.evaluator.test_results import sample
from tests.evaluator.test_summary import trial


def run_of(trials: list, tasks: list[str], status: str = "complete") -> RunResult:  # type: ignore[type-arg]
    base = sample()
    return replace(
        base,
        status=status,
        tasks=[TaskRecord(t, "easy", 1, 1, 1, 0, 0, None) for t in tasks],
        trials=trials,
        summary=summarize(trials, tasks, 12.5, 2),
        duration_s=12.5,
        config={"num_trials": 2, "shard": [1, 3]},
    )


def test_the_agentbeats_numbers_mean_what_the_reference_means() -> None:
    trials = [
        trial("a", 0, 1.0), trial("a", 1, 0.0, cause="agent_timeout"),
        trial("b", 0, 1.0), trial("b", 1, 1.0),
        trial("c", 0, 0.0, status="not_scored", cause="user_simulator_failed"),
        trial("c", 1, 0.5),
    ]  # fmt: skip
    result = run_of(trials, ["a", "b", "c"])
    data = numbers(result)
    # task_rewards: the mean over each task's scored trials; score: their sum
    assert data["task_rewards"] == {"a": 0.5, "b": 1.0, "c": 0.5}
    assert task_rewards(result) == data["task_rewards"]
    assert (data["score"], data["max_score"]) == (2.0, 3)
    assert data["pass_rate"] == 2.0 / 3 * 100
    assert data["time_used"] == 12.5
    # ours, from evaluator.summary
    assert (data["scored_trials"], data["not_scored"], data["trials"]) == (5, 1, 6)
    assert data["pass_hat_k"] == {str(k): v for k, v in result.summary.pass_hat_k.items()}
    assert data["causes"] == {"agent_timeout": 1, "reward_below_1": 1, "user_simulator_failed": 1}
    assert data["shard"] == {"index": 1, "count": 3}
    assert data["partial"] is False
    a = data["task_results"][0]
    assert (a["task_id"], a["reward"], a["passed"]) == ("a", 0.5, 1)
    assert a["results"][1]["cause_label"] == "agent timed out"


def test_an_interrupted_run_is_partial_and_says_so() -> None:
    result = run_of([trial("a", 0, 1.0)], ["a", "b"], status="interrupted")
    data = numbers(result)
    assert data["partial"] is True
    assert data["task_rewards"] == {"a": 1.0}  # b has no finished trial yet
    assert data["unfinished"] == 3
    text = summary_text(result, data, why_partial="canceled")
    assert text.splitlines()[1].startswith("PARTIAL: canceled; scored 1 of 4 trials")


def test_a_progress_line_per_trial() -> None:
    line = progress_line(trial("3", 1, 1.0), 3, 10)
    assert line == "[ 3/10] task 3 trial 1: pass, reward 1.00 in 1.0 s"
