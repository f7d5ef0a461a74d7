"""Every started trial counts; runs survive interruptions: real agents, real tau2, loopback."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from evaluator import tau2_adapter
from evaluator.agents import AgentSettings, RunningAgent, serve_in_thread
from evaluator.config import EvalConfig
from evaluator.results import TrialResult, load_results
from evaluator.runner import Resume, check_resumable, run_evaluation
from proxy.errors import UsageError
from proxy.telemetry import TelemetrySettings, build_telemetry

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def oracle() -> Iterator[RunningAgent]:
    with serve_in_thread(AgentSettings(kind="oracle")) as running:
        yield running


def run(config: EvalConfig, **kwargs: Any) -> Any:
    telemetry = build_telemetry(TelemetrySettings(service_name="test-evaluator"))
    try:
        return run_evaluation(config, telemetry, **kwargs)
    finally:
        telemetry.shutdown()


def identity(trial: TrialResult) -> tuple[Any, ...]:
    return (
        trial.task_id,
        trial.trial,
        trial.seed,
        trial.reward,
        trial.success,
        trial.termination_reason,
        trial.status,
        trial.turns,
        trial.tool_calls,
    )


def test_a_killed_agent_stops_the_run_and_every_selected_trial_counts(tmp_path: Path) -> None:
    """The agent dies after two trials: the next three find it unreachable (scored 0), the
    run stops, and the trials never started are recorded as not run (scored 0)."""
    path = tmp_path / "died.json"
    seen: list[TrialResult] = []
    with contextlib.ExitStack() as stack:
        agent = stack.enter_context(serve_in_thread(AgentSettings(kind="oracle")))
        config = EvalConfig(domain="mock", agent_endpoint=agent.url, max_concurrency=1)

        def on_trial(trial: TrialResult) -> None:
            seen.append(trial)
            if len(seen) == 2:
                stack.close()  # the agent process goes away

        result = run(config, on_trial=on_trial, results_path=path)
    # the trial in flight when the agent died may still have passed
    passed = sum(t.success for t in result.trials)
    assert passed in (2, 3)
    statuses = [t.status for t in result.trials]
    assert statuses == ["scored"] * (passed + 3) + ["not_run"] * (6 - passed)
    assert {t.cause for t in result.trials[passed : passed + 3]} == {"agent_unreachable"}
    assert all(t.reward == 0.0 for t in result.trials[passed:])
    assert {t.termination_reason for t in result.trials[passed:]} == {"agent_error"}
    assert {t.cause for t in result.trials[passed + 3 :]} == {"agent_stopped_answering"}
    s = result.summary
    assert (s.trials, s.scored_trials, s.not_run, s.not_scored) == (9, 9, 6 - passed, 0)
    assert s.average_reward == pytest.approx(passed / 9)
    assert s.pass_hat_k == {1: pytest.approx(passed / 9)}
    assert result.status == "stopped"
    assert load_results(path) == result  # the file on disk is the whole record


def test_interrupt_then_resume_equals_an_uninterrupted_run(
    oracle: RunningAgent, tmp_path: Path
) -> None:
    config = EvalConfig(
        domain="mock", agent_endpoint=oracle.url, num_tasks=5, num_trials=2, max_concurrency=1
    )
    whole = run(config)
    path = tmp_path / "run.json"
    finished: list[TrialResult] = []

    def interrupt_after_four(trial: TrialResult) -> None:
        finished.append(trial)
        if len(finished) == 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(config, on_trial=interrupt_after_four, results_path=path)
    partial = load_results(path)
    assert partial.status == "interrupted"
    assert len(partial.trials) == 4
    assert partial.summary.trials == 10
    assert "--resume" in (partial.status_note or "")

    kept: list[int] = []
    resumed = run(
        config,
        on_start=lambda to_run, done: kept.append(done),
        results_path=path,
        resume=Resume(partial),
    )
    assert kept == [4]
    assert resumed.run_id == partial.run_id
    assert resumed.status == "complete"
    assert [identity(t) for t in resumed.trials] == [identity(t) for t in whole.trials]
    assert resumed.trials[:4] == partial.trials  # kept unchanged, not run again
    assert resumed.summary.pass_hat_k == whole.summary.pass_hat_k
    assert json.loads(path.read_text())["status"] == "complete"


def test_an_interrupted_run_still_ends_its_llm_observability_run(
    oracle: RunningAgent, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its workflow span is finished (and sent) without run-level figures: they would
    cover only the trials that finished."""
    from evaluator.genai.run import GenAIRun

    ended: list[object] = []
    original = GenAIRun.finish

    def finish(self: GenAIRun, summary: Any) -> None:
        ended.append(summary)
        original(self, summary)

    monkeypatch.setattr(GenAIRun, "finish", finish)

    def interrupt(trial: TrialResult) -> None:
        raise KeyboardInterrupt

    config = EvalConfig(domain="mock", agent_endpoint=oracle.url, num_tasks=2, max_concurrency=1)
    with pytest.raises(KeyboardInterrupt):
        run(config, on_trial=interrupt)
    assert ended == [None]
    run(config)
    assert len(ended) == 2
    assert ended[1] is not None  # a complete run hands over its summary


def test_resume_refuses_another_configuration(oracle: RunningAgent, tmp_path: Path) -> None:
    config = EvalConfig(domain="mock", agent_endpoint=oracle.url, num_tasks=1)
    previous = run(config, results_path=tmp_path / "r.json")
    other = EvalConfig(domain="mock", agent_endpoint=oracle.url, num_tasks=2, seed=7)
    with pytest.raises(UsageError, match=r"differs in\n  num_tasks: 1 -> 2\n  seed: 300 -> 7"):
        check_resumable(previous, other, tmp_path / "r.json")
    check_resumable(previous, config, tmp_path / "r.json")  # the same run: no complaint


def test_evaluator_side_failures_are_retried_then_not_scored_and_retry_failed_reruns_them(
    oracle: RunningAgent, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = tau2_adapter.run_trial
    calls: list[str] = []

    def broken_for_update_task(domain: str, task: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(task.id)
        if task.id == "update_task_1":
            raise RuntimeError("a bug of ours")
        return real(domain, task, *args, **kwargs)

    monkeypatch.setattr(tau2_adapter, "run_trial", broken_for_update_task)
    config = EvalConfig(
        domain="mock",
        agent_endpoint=oracle.url,
        task_ids=("create_task_1", "update_task_1"),
        num_trials=2,
        max_retries=2,
    )
    path = tmp_path / "r.json"
    first = run(config, results_path=path)
    broken = [t for t in first.trials if t.task_id == "update_task_1"]
    assert [(t.status, t.cause, t.attempts) for t in broken] == [
        ("not_scored", "evaluator_crash", 3)
    ] * 2
    assert broken[0].error is not None
    assert "RuntimeError: a bug of ours" in broken[0].error
    assert calls.count("update_task_1") == 6
    s = first.summary
    assert (s.trials, s.scored_trials, s.not_scored) == (4, 2, 2)
    assert s.pass_hat_k_tasks == 1
    assert first.status == "incomplete"
    assert "scored 2 of 4 trials" in (first.status_note or "")

    monkeypatch.setattr(tau2_adapter, "run_trial", real)
    plain = run(config, results_path=path, resume=Resume(load_results(path)))
    assert plain.status == "incomplete"  # --resume alone keeps the unscored trials
    retried = run(config, results_path=path, resume=Resume(plain, retry_failed=True))
    assert retried.status == "complete"
    assert [t.status for t in retried.trials] == ["scored"] * 4
    assert retried.summary.pass_hat_k == {1: 1.0, 2: 1.0}
    kept = [t for t in retried.trials if t.task_id == "create_task_1"]
    assert kept == [t for t in first.trials if t.task_id == "create_task_1"]
