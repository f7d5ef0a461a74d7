"""When to stop: consecutive trials that found the agent unreachable."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from evaluator import summary
from evaluator.executors.base import unfinished
from evaluator.results import NOT_RUN

if TYPE_CHECKING:
    from evaluator.executors.base import Unit
    from evaluator.results import TrialResult


class UnreachableStreak:
    """Consecutive trials that found the agent unreachable, across an executor's workers.

    Checked before each unit starts, so that once ``limit`` trials in a row found nobody
    answering, the units not yet started are recorded as not run (:meth:`not_run`),
    whatever the race between the workers and the thread collecting results. ``limit`` 0
    never trips.
    """

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._streak = 0
        self._lock = threading.Lock()

    def record(self, result: TrialResult) -> None:
        with self._lock:
            unreachable = result.cause in summary.UNREACHABLE_CAUSES
            self._streak = self._streak + 1 if unreachable else 0

    @property
    def tripped(self) -> bool:
        with self._lock:
            return bool(self._limit) and self._streak >= self._limit

    def not_run(self, unit: Unit) -> TrialResult:
        """A trial never started because the agent stopped answering: it scores 0."""
        note = (
            f"not run: the run stopped after {self._limit} consecutive trials found the "
            "agent unreachable (--stop-after-unreachable)"
        )
        return unfinished(unit, NOT_RUN, summary.CAUSE_NOT_RUN, note, attempts=0)
