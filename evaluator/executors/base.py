"""The unit of work and the seam every executor implements."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from evaluator.config import EvalConfig
    from evaluator.results import TrialResult


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
