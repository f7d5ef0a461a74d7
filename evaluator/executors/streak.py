"""When to stop: consecutive trials that found the agent unreachable."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from evaluator import summary
from evaluator.results import NOT_RUN, RewardRecord, TrialResult

if TYPE_CHECKING:
    from evaluator.executors.base import Unit


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
        return TrialResult(
            task_id=unit.task_id,
            trial=unit.trial,
            seed=unit.seed,
            reward=0.0,
            success=False,
            termination_reason=summary.AGENT_ERROR,
            status=NOT_RUN,
            cause=summary.CAUSE_NOT_RUN,
            error=note,
            reward_detail=RewardRecord(reward=0.0, note=note),
            turns=0,
            tool_calls=0,
            malformed_tool_calls=0,
            tool_errors=0,
            duration_s=0.0,
            mean_turn_duration_s=None,
            user_cost=0.0,
            user_input_tokens=0,
            user_output_tokens=0,
            context_id=None,
            trace_id=None,
            started_at=datetime.now(UTC).isoformat(),
            attempts=0,
        )
