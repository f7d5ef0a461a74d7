"""The unit of work and the seam every executor implements."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from evaluator import summary
from evaluator.results import RewardRecord, TrialResult

if TYPE_CHECKING:
    from evaluator.config import EvalConfig


@dataclass(frozen=True)
class Unit:
    """The unit of work: one trial of one task, with its seed."""

    task_id: str
    trial: int
    seed: int


@dataclass(frozen=True)
class ExecutionPlan:
    """What an executor is given: the run, and how to run a unit in this process."""

    config: EvalConfig
    run_id: str
    run_here: Callable[[Unit], TrialResult]  # through this process's session and sidecar


class Executor(Protocol):
    def run(self, units: Sequence[Unit], finished: Callable[[TrialResult], None]) -> None:
        """Run ``units``, calling ``finished`` (in the calling thread) as each ends.

        A ``finished`` that raises (Ctrl-C, a cancelled evaluation) stops the run: units
        not yet started never start, and the exception propagates.
        """


ExecutorFactory = Callable[[ExecutionPlan], Executor]


def unfinished(unit: Unit, status: str, cause: str, error: str, attempts: int = 1) -> TrialResult:
    """A trial that never got going: scored 0 (the agent could not be reached) or not
    scored (the evaluator's side: a lost worker, a crash outside the trial)."""
    return TrialResult(
        task_id=unit.task_id,
        trial=unit.trial,
        seed=unit.seed,
        reward=0.0,
        success=False,
        termination_reason=summary.AGENT_ERROR,
        status=status,
        cause=cause,
        error=error,
        reward_detail=RewardRecord(reward=0.0, note=error),
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
        attempts=attempts,
    )
