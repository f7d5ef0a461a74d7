"""``--executor ray``: each unit is a Ray task, on a cluster or a Ray started here.

The driver (the process running ``tau2observe eval``) keeps at most ``max_concurrency``
units in flight across the whole cluster, so the agent under test (and its LLM API) is
never sent more trials at once than ``--max-concurrency`` allows, however many workers
there are. It collects finished units with ``ray.wait`` as they end and hands each to
``finished`` in its own thread: the results file and the progress are the local run's.
The unreachable streak is checked here, before each submission.

Each unit carries the driver's trace context (W3C ``traceparent``) and the run id, so a
trial is one trace, stamped with ``tau2.run.id``, whichever worker ran it. Workers are
described in :mod:`evaluator.executors.ray_worker`.

A worker lost mid-trial (its process killed, its node gone) makes Ray run the unit
again (``max_retries``); when that fails too the trial is recorded as not scored, cause
``worker_lost``, and ``--resume --retry-failed`` runs it later.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opentelemetry import propagate

from evaluator import summary
from evaluator.errors import EvaluationError
from evaluator.executors.base import ExecutionPlan, Executor, Unit, unfinished
from evaluator.executors.ray_worker import WorkerJob, run_unit
from evaluator.executors.streak import UnreachableStreak
from evaluator.results import NOT_SCORED, TrialResult
from proxy.errors import UsageError

if TYPE_CHECKING:
    from evaluator.executors.base import ExecutorFactory

# A trial mostly waits for the agent and the user simulator: half a CPU each lets a
# machine run two per core, while --max-concurrency bounds what is in flight.
CPUS_PER_UNIT = 0.5
MAX_RETRIES = 1  # Ray's reruns of a unit whose worker died; then it is not scored
WAIT_S = 1.0  # ray.wait's timeout, so that Ctrl-C is seen between waits
ENV_PREFIXES = ("OTEL_",)  # forwarded to the workers of a Ray started by this driver


def ray_module() -> Any:
    """``ray``, or a usage error saying how to install it."""
    try:
        import ray
    except ImportError:
        raise UsageError("--executor ray needs Ray: pip install 'tau2observe[ray]'") from None
    return ray


@dataclass(frozen=True)
class RaySettings:
    """``--ray-address`` (anything ``ray.init(address=...)`` accepts; None: ``RAY_ADDRESS``
    or a local Ray started here) and the evaluation's ``--trace-file``."""

    address: str | None = None
    trace_file: Path | None = None
    max_retries: int = MAX_RETRIES
    cpus_per_unit: float = CPUS_PER_UNIT


def ray_executor(settings: RaySettings) -> ExecutorFactory:
    """The factory :func:`~evaluator.runner.run_evaluation` takes as ``executor``."""

    def make(plan: ExecutionPlan) -> Executor:
        return RayExecutor(plan, settings)

    return make


class RayExecutor:
    def __init__(self, plan: ExecutionPlan, settings: RaySettings) -> None:
        self._plan = plan
        self._settings = settings

    def run(self, units: Sequence[Unit], finished: Callable[[TrialResult], None]) -> None:
        ray = ray_module()
        started_here = self._connect(ray)
        try:
            self._run(ray, units, finished)
        finally:
            if started_here:
                ray.shutdown()

    def _connect(self, ray: Any) -> bool:
        """Connect (or start a local Ray); True when this call did, so it shuts down."""
        if ray.is_initialized():
            return False
        forwarded = {k: v for k, v in os.environ.items() if k.startswith(ENV_PREFIXES) and v}
        try:
            ray.init(
                address=self._settings.address,
                runtime_env={"env_vars": forwarded} if forwarded else None,
                log_to_driver=False,
            )
        except (ConnectionError, RuntimeError, ValueError) as exc:
            where = self._settings.address or os.environ.get("RAY_ADDRESS") or "a local Ray"
            raise EvaluationError(f"--executor ray: cannot connect to {where}: {exc}") from exc
        return True

    def _run(
        self, ray: Any, units: Sequence[Unit], finished: Callable[[TrialResult], None]
    ) -> None:
        plan, settings = self._plan, self._settings
        remote = ray.remote(run_unit).options(
            num_cpus=settings.cpus_per_unit,
            max_retries=settings.max_retries,
            scheduling_strategy="SPREAD",
        )
        job = ray.put(
            WorkerJob(
                plan.config, plan.run_id, domain_spec(plan.config.domain), settings.trace_file
            )
        )
        streak = UnreachableStreak(plan.config.stop_after_unreachable)
        pending = deque(units)
        in_flight: dict[Any, Unit] = {}
        try:
            while pending or in_flight:
                while pending and len(in_flight) < plan.config.max_concurrency:
                    if streak.tripped:
                        finished(streak.not_run(pending.popleft()))
                        continue
                    unit = pending.popleft()
                    in_flight[remote.remote(job, unit, trace_carrier())] = unit
                if not in_flight:
                    continue
                done, _ = ray.wait(list(in_flight), num_returns=1, timeout=WAIT_S)
                for ref in done:
                    result = collect(ray, ref, in_flight.pop(ref))
                    streak.record(result)
                    finished(result)
        except BaseException:
            # Ctrl-C, or a callback that stops the run: trials in flight stop too.
            for ref in in_flight:
                ray.cancel(ref, force=True)
            raise


def trace_carrier() -> dict[str, str]:
    """The calling thread's trace context as W3C headers (empty when there is none)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def domain_spec(domain: str) -> str:
    """What a worker resolves the domain from: the folder the driver loaded it from,
    or its name (tau2's, tau2observe's, or one on ``TAU2OBSERVE_DOMAINS``)."""
    from evaluator.domains.registration import loaded_folder

    folder = loaded_folder(domain)
    return str(folder.path) if folder is not None else domain


def collect(ray: Any, ref: Any, unit: Unit) -> TrialResult:
    """The unit's result; a lost worker or a failure outside the trial is not scored."""
    from ray.exceptions import RayError, RayTaskError

    try:
        result: TrialResult = ray.get(ref)
    except RayTaskError as exc:  # our worker code raised outside the trial (opening a session)
        return unfinished(
            unit,
            NOT_SCORED,
            summary.CAUSE_CRASH,
            f"the trial could not run on a Ray worker: {type(exc.cause).__name__}: {exc.cause}",
        )
    except RayError as exc:  # the worker process or its node died, after Ray's retries
        return unfinished(
            unit,
            NOT_SCORED,
            summary.CAUSE_WORKER_LOST,
            f"the Ray worker running this trial was lost: {type(exc).__name__}: "
            + str(exc).splitlines()[0],
        )
    return result
