"""Executors: where the units of work of an evaluation run.

One unit is one trial of one task with its seed (:class:`Unit`); it gives the same
reward wherever it runs, for a deterministic agent. The runner hands an executor the
units still to run and a callback for each finished trial; an executor never decides
what a trial's outcome means (that is :mod:`evaluator.summary`'s job).

    base.py     Unit, ExecutionPlan (what an executor is given), Executor (the seam)
    streak.py   UnreachableStreak: stop after N consecutive unreachable trials
    local.py    LocalExecutor: a thread pool in this process (the default)
"""

from evaluator.executors.base import ExecutionPlan, Executor, ExecutorFactory, Unit
from evaluator.executors.local import LocalExecutor
from evaluator.executors.streak import UnreachableStreak

__all__ = [
    "ExecutionPlan",
    "Executor",
    "ExecutorFactory",
    "LocalExecutor",
    "Unit",
    "UnreachableStreak",
]
