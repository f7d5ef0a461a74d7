"""The thread-pool executor: every unit once, at most max_concurrency at a time, results
handed back in the calling thread, and a run stopped by an error or by the agent going away."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from evaluator.config import EvalConfig
from evaluator.executors import ExecutionPlan, LocalExecutor, Unit
from evaluator.results import TrialResult
from tests.evaluator.test_summary import trial

UNITS = [Unit(f"task_{i}", 0, 300 + i) for i in range(8)]


def executor(
    run_here: Callable[[Unit], TrialResult], max_concurrency: int, stop_after: int = 0
) -> LocalExecutor:
    config = EvalConfig(
        domain="mock",
        agent_endpoint="http://127.0.0.1:1/",
        max_concurrency=max_concurrency,
        stop_after_unreachable=stop_after,
    )
    return LocalExecutor(ExecutionPlan(config=config, run_id="r", run_here=run_here))


def result_of(unit: Unit, **changes: Any) -> TrialResult:
    return trial(unit.task_id, unit.trial, seed=unit.seed, **changes)


def test_every_unit_runs_once_and_finishes_in_the_calling_thread() -> None:
    caller = threading.get_ident()
    workers: set[int] = set()
    finished_in: set[int] = set()
    results: list[TrialResult] = []

    def run_here(unit: Unit) -> TrialResult:
        workers.add(threading.get_ident())
        return result_of(unit)

    def finished(result: TrialResult) -> None:
        finished_in.add(threading.get_ident())
        results.append(result)

    executor(run_here, 3).run(UNITS, finished)
    assert sorted((r.task_id, r.seed) for r in results) == [(u.task_id, u.seed) for u in UNITS]
    assert finished_in == {caller}
    assert caller not in workers


def test_no_more_than_max_concurrency_units_run_at_once() -> None:
    bound = 3
    lock = threading.Lock()
    active, peak = 0, 0
    together = threading.Barrier(bound, timeout=10)  # the first three must overlap

    def run_here(unit: Unit) -> TrialResult:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        if UNITS.index(unit) < bound:
            together.wait()
        time.sleep(0.02)
        with lock:
            active -= 1
        return result_of(unit)

    done: list[TrialResult] = []
    executor(run_here, bound).run(UNITS, done.append)
    assert peak == bound
    assert len(done) == len(UNITS)


def test_one_at_a_time_keeps_the_order_of_the_units() -> None:
    started: list[Unit] = []

    def run_here(unit: Unit) -> TrialResult:
        started.append(unit)
        return result_of(unit)

    done: list[TrialResult] = []
    executor(run_here, 1).run(UNITS, done.append)
    assert started == UNITS
    assert [r.task_id for r in done] == [u.task_id for u in UNITS]


def test_a_unit_that_raises_stops_the_run_and_queued_units_never_start() -> None:
    started: list[Unit] = []

    def run_here(unit: Unit) -> TrialResult:
        started.append(unit)
        if unit is UNITS[1]:
            raise RuntimeError("crashed outside the trial")
        time.sleep(0.05)  # slower than the caller's reaction to the error
        return result_of(unit)

    done: list[TrialResult] = []
    with pytest.raises(RuntimeError, match="crashed outside the trial"):
        executor(run_here, 1).run(UNITS, done.append)
    assert [r.task_id for r in done] == ["task_0"]
    assert len(started) < len(UNITS)  # the queue was cancelled, not drained


def test_a_callback_that_raises_stops_the_run() -> None:
    started: list[Unit] = []

    def run_here(unit: Unit) -> TrialResult:
        started.append(unit)
        time.sleep(0.01)
        return result_of(unit)

    def finished(result: TrialResult) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        executor(run_here, 1).run(UNITS, finished)
    assert len(started) < len(UNITS)


def test_after_the_agent_stops_answering_the_rest_are_not_run() -> None:
    ran: list[Unit] = []

    def run_here(unit: Unit) -> TrialResult:
        ran.append(unit)
        return result_of(
            unit, reward=0.0, termination_reason="agent_error", cause="agent_unreachable"
        )

    done: list[TrialResult] = []
    executor(run_here, 1, stop_after=2).run(UNITS, done.append)
    assert ran == UNITS[:2]
    assert [r.status for r in done] == ["scored"] * 2 + ["not_run"] * (len(UNITS) - 2)
    assert {r.cause for r in done[2:]} == {"agent_stopped_answering"}
    assert [r.seed for r in done] == [u.seed for u in UNITS]
