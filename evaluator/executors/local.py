"""The default executor: a thread pool in this process, sharing one session and sidecar."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import TYPE_CHECKING

from evaluator.executors.base import ExecutionPlan, Unit
from evaluator.executors.streak import UnreachableStreak

if TYPE_CHECKING:
    from evaluator.results import TrialResult


class LocalExecutor:
    """``max_concurrency`` threads; each runs tau2's synchronous orchestrator for a unit."""

    def __init__(self, plan: ExecutionPlan) -> None:
        self._plan = plan

    def run(self, units: Sequence[Unit], finished: Callable[[TrialResult], None]) -> None:
        config = self._plan.config
        streak = UnreachableStreak(config.stop_after_unreachable)

        def unit_of_work(unit: Unit) -> TrialResult:
            if streak.tripped:
                return streak.not_run(unit)
            result = self._plan.run_here(unit)
            streak.record(result)
            return result

        with ThreadPoolExecutor(
            max_workers=config.max_concurrency, thread_name_prefix="tau2-trial"
        ) as pool:
            futures = [pool.submit(unit_of_work, unit) for unit in units]
            try:
                for future in as_completed(futures):
                    finished(future.result())
            except BaseException:
                # Ctrl-C, or a callback that stops the run: queued units never start.
                pool.shutdown(wait=False, cancel_futures=True)
                raise
