"""Executors: where the units of work of an evaluation run.

One unit is one trial of one task with its seed (:class:`Unit`); it gives the same
reward wherever it runs, for a deterministic agent. The runner hands an executor the
units still to run and a callback for each finished trial; an executor never decides
what a trial's outcome means (that is :mod:`evaluator.summary`'s job).

    base.py     Unit, ExecutionPlan (what an executor is given), Executor (the seam)
    streak.py   UnreachableStreak: stop after N consecutive unreachable trials
    local.py    LocalExecutor: a thread pool in this process (the default)
    ray.py      RayExecutor (--executor ray): one Ray task per unit; imported on demand,
                since Ray is an optional extra
    ray_worker.py  what a Ray worker process keeps between units (no Ray import)
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
