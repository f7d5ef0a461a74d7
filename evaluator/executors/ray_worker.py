"""What a Ray worker process keeps between units, and how it runs one.

A worker process runs one unit at a time (a Ray task) and is reused for the next. It
sets its telemetry up once, from the ``OTEL_*`` variables it sees (the driver forwards
its own when it starts Ray) and, with ``--trace-file PATH``, a file of its own beside
PATH (:func:`worker_trace_file`): two processes appending to one file would interleave
lines. It keeps one agent session (connection and in-process sidecar) per agent
configuration, opened on first use, and flushes its telemetry when each unit ends,
since Ray may end an idle worker without running ``atexit``.

Nothing here imports Ray: the driver side is :mod:`evaluator.executors.ray`.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from opentelemetry import propagate

from evaluator.errors import EvaluationError
from evaluator.executors.base import unfinished
from evaluator.results import SCORED, TrialResult
from proxy import semconv

if TYPE_CHECKING:
    from evaluator.config import EvalConfig
    from evaluator.event_loop import BackgroundLoop
    from evaluator.executors.base import Unit
    from evaluator.runner import AgentSession
    from evaluator.tau2_adapter import Tau2Task
    from proxy.telemetry import Telemetry

SERVICE_NAME = semconv.EVALUATOR_SERVICE
MAX_SESSIONS = 4  # agent configurations a worker keeps open (evaluations of one driver)


@dataclass(frozen=True)
class WorkerJob:
    """What every unit of one run needs besides the unit: put once in Ray's object store."""

    config: EvalConfig
    run_id: str
    domain_spec: str  # config.domain, or the folder the driver loaded it from
    trace_file: Path | None


def worker_trace_file(path: Path, host: str | None = None, pid: int | None = None) -> Path:
    """``spans.jsonl`` -> ``spans.worker-<host>-<pid>.jsonl``, on the worker's machine."""
    host = host or socket.gethostname()
    pid = os.getpid() if pid is None else pid
    return path.with_name(f"{path.stem}.worker-{host}-{pid}{path.suffix}")


def _session_key(config: EvalConfig, trace_file: Path | None) -> tuple[object, ...]:
    return (
        config.agent_endpoint,
        config.agent_timeout_s,
        config.auth_token,
        config.a2a_debug,
        config.agent_name,
        config.proxy_mode,
        config.proxy_url,
        trace_file,
    )


class WorkerProcess:
    """The state of one worker process: telemetry, the event loop, open sessions."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: BackgroundLoop | None = None
        self._telemetry: dict[Path | None, Telemetry] = {}
        self._sessions: OrderedDict[tuple[object, ...], AgentSession] = OrderedDict()
        self._tasks: dict[tuple[str, str | None, str | None], dict[str, Tau2Task]] = {}

    def run(self, job: WorkerJob, unit: Unit, carrier: Mapping[str, str]) -> TrialResult:
        """Run ``unit`` under the trace context in ``carrier``; flush telemetry after."""
        from evaluator.runner import trial_runner

        with self._lock:  # Ray runs one task at a time here; the lock makes sure of it
            telemetry = self._telemetry_for(job.trace_file)
            try:
                loop = self._started_loop()
                try:
                    session = self._session_for(job, telemetry, loop)
                except EvaluationError as exc:  # the agent went away since the run began
                    return unfinished(unit, SCORED, exc.error_type, str(exc))
                task = self._task(job, unit.task_id)
                runner = trial_runner(job.config, session, loop, telemetry, job.run_id)
                parent = propagate.extract(dict(carrier)) if carrier else None
                return runner.run(task, unit.trial, unit.seed, parent)
            finally:
                telemetry.force_flush()

    def close(self) -> None:
        """Close every session, stop the loop, flush and shut telemetry down (idempotent)."""
        from evaluator.runner import close_session

        with self._lock:
            while self._sessions:
                _, session = self._sessions.popitem()
                if self._loop is not None:
                    close_session(session, self._loop)
            if self._loop is not None:
                self._loop.close()
                self._loop = None
            for telemetry in self._telemetry.values():
                telemetry.shutdown()
            self._telemetry.clear()

    def _started_loop(self) -> BackgroundLoop:
        from evaluator.event_loop import BackgroundLoop

        if self._loop is None:
            self._loop = BackgroundLoop("tau2observe-worker-loop").start()
        return self._loop

    def _telemetry_for(self, trace_file: Path | None) -> Telemetry:
        telemetry = self._telemetry.get(trace_file)
        if telemetry is None:
            from evaluator import tau2_adapter
            from proxy.telemetry import TelemetrySettings, build_telemetry

            tau2_adapter.quiet_logs("ERROR")
            for name in ("httpx", "a2a"):
                logging.getLogger(name).setLevel(logging.WARNING)
            own = worker_trace_file(trace_file) if trace_file is not None else None
            telemetry = build_telemetry(TelemetrySettings.from_env(SERVICE_NAME, trace_file=own))
            self._telemetry[trace_file] = telemetry
        return telemetry

    def _session_for(
        self, job: WorkerJob, telemetry: Telemetry, loop: BackgroundLoop
    ) -> AgentSession:
        from evaluator.runner import close_session, open_session

        key = _session_key(job.config, job.trace_file)
        session = self._sessions.get(key)
        if session is None:
            session = open_session(job.config, telemetry, loop)
            self._sessions[key] = session
            if len(self._sessions) > MAX_SESSIONS:
                _, oldest = self._sessions.popitem(last=False)
                close_session(oldest, loop)
        self._sessions.move_to_end(key)
        return session

    def _task(self, job: WorkerJob, task_id: str) -> Tau2Task:
        from evaluator import tau2_adapter

        config = job.config
        domain = tau2_adapter.use_domain(job.domain_spec)
        key = (domain, config.task_set, config.task_split)
        tasks = self._tasks.get(key)
        if tasks is None:
            loaded = tau2_adapter.load_tasks(
                domain, None, None, task_set=config.task_set, task_split=config.task_split
            )
            tasks = self._tasks[key] = {t.id: t for t in loaded}
        return tasks[task_id]


_process: WorkerProcess | None = None
_process_lock = threading.Lock()


def this_process() -> WorkerProcess:
    """The worker state of this process, made on first use."""
    global _process
    with _process_lock:
        if _process is None:
            _process = WorkerProcess()
        return _process


def run_unit(job: WorkerJob, unit: Unit, carrier: Mapping[str, str]) -> TrialResult:
    """The body of the Ray task: synchronous, on this process's own event loop."""
    return this_process().run(job, unit, carrier)
