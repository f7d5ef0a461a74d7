"""The evaluations a green agent runs: bounded, queued, cancellable, persisted.

:class:`Evaluations` turns an :class:`~evaluator.green.reading.Assessment` into the
``EvalConfig`` that ``tau2observe eval`` would build and runs the same runner
(``run_evaluation``, through the in-process sidecar) in a thread of its own. It reports
through a :class:`Reporter` (the executor's ``TaskUpdater`` behind it): one status
update per trial, then the artifact and the final state. It never writes A2A events
itself.

    at most ``max_running`` evaluations run at once; up to ``max_queued`` more wait in
    ``submitted``; a request beyond that is refused ("busy")
    each run's results file is ``<data-dir>/runs/<task id>.json``, rewritten atomically
    as each trial ends (the runner does it)
    cancel: the trials not yet started never start; the artifact holds what finished,
    marked partial, and the task ends ``canceled``
    shutdown: the trials not yet started never start; the server then marks the task
    ``failed`` as interrupted, with what finished (as a restart after a crash does)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind, Status, StatusCode

from evaluator.green import outcome
from evaluator.green.reading import Assessment, Refused, Vocabulary
from proxy.errors import UsageError

if TYPE_CHECKING:
    from evaluator.config import EvalConfig
    from evaluator.results import RunResult, TrialResult
    from proxy.telemetry import Telemetry

log = logging.getLogger(__name__)

ASSESSMENT_SPAN = "tau2.assessment"
STRUCTURED_FORMAT = "agentbeats-tutorial"  # what AgentBeats' purple agents read
CANCELED = "canceled"
STOPPING = "the server is stopping"


Artifact = tuple[str, Mapping[str, Any]]  # the artifact's text and data


class Reporter(Protocol):
    """Where an evaluation's events go (a TaskUpdater behind it)."""

    async def queued(self, text: str) -> None: ...
    async def working(self, text: str, data: Mapping[str, Any] | None = None) -> None: ...
    async def finished(self, text: str, data: Mapping[str, Any], message: str) -> None: ...
    async def canceled(
        self, message: str, artifact: tuple[str, Mapping[str, Any]] | None
    ) -> None: ...
    async def failed(
        self, message: str, artifact: tuple[str, Mapping[str, Any]] | None
    ) -> None: ...


@dataclass(frozen=True)
class EvaluationSettings:
    """How this server runs evaluations (``tau2observe serve``'s options)."""

    data_dir: Path
    max_running: int = 2
    max_queued: int = 8
    trial_concurrency: int = 3
    max_tasks: int | None = 120
    max_trials: int | None = 8
    agent_timeout_s: float = 300.0
    default_message_format: str = "tau2"
    user_llm: str | None = None
    user_llm_args: Mapping[str, Any] = field(default_factory=dict, repr=False)
    cancel_grace_s: float = 15.0

    @property
    def runs_dir(self) -> Path:
        return self.data_dir / "runs"


class Stopped(Exception):
    """Raised from the runner's progress callback: no more trials start."""


@dataclass
class _Run:
    """One evaluation the server holds, from admission to its final event."""

    task_id: str
    path: Path
    stop: threading.Event = field(default_factory=threading.Event)
    stop_reason: str | None = None
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    settled: asyncio.Event = field(default_factory=asyncio.Event)
    closed: bool = False  # the final event is written
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    started: bool = False

    def request_stop(self, reason: str) -> None:
        self.stop_reason = self.stop_reason or reason
        self.stop.set()
        self.wake.set()


class Evaluations:
    def __init__(
        self,
        settings: EvaluationSettings,
        telemetry: Telemetry,
        vocabulary: Vocabulary,
        run: Callable[..., RunResult] | None = None,
    ) -> None:
        self.settings = settings
        self.vocabulary = vocabulary
        self._telemetry = telemetry
        self._tracer = telemetry.tracer_provider.get_tracer("tau2observe.green")
        self._run_evaluation = run
        self._threads = ThreadPoolExecutor(
            max_workers=settings.max_running, thread_name_prefix="green-run"
        )
        self._runs: dict[str, _Run] = {}
        self._running = 0
        self._waiting: list[_Run] = []
        self._slot_freed = asyncio.Event()
        settings.runs_dir.mkdir(parents=True, exist_ok=True)

    @property
    def running(self) -> int:
        return self._running

    def results_path(self, task_id: str) -> Path:
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in task_id) or "task"
        return self.settings.runs_dir / f"{safe}.json"

    async def config_for(self, assessment: Assessment) -> EvalConfig:
        """The ``EvalConfig`` of ``assessment``, with its selection checked against tau2;
        raises :class:`Refused` with the reason."""
        config = build_config(assessment, self.settings)
        selected = await asyncio.to_thread(_selected_tasks, config)
        limit = self.settings.max_tasks
        if limit is not None and selected > limit:
            raise Refused(
                f"too many tasks: the request selects {selected}, over this server's limit "
                f"of {limit} (ask for fewer with num_tasks, or split the run with "
                "shard_index and num_shards)"
            )
        return config

    async def run(
        self,
        task_id: str,
        config: EvalConfig,
        reporter: Reporter,
        *,
        parent: Context | None,
        request_span_attributes: Mapping[str, Any] | None = None,
    ) -> None:
        """Run ``config`` for A2A task ``task_id`` and report its events; raises
        :class:`Refused` when the server is too busy to queue it."""
        run = _Run(task_id, self.results_path(task_id))
        busy = self._running >= self.settings.max_running
        if busy and len(self._waiting) >= self.settings.max_queued:
            raise Refused(
                f"busy: {self._running} evaluations running and {len(self._waiting)} "
                "waiting, this server's limit; try again later"
            )
        self._runs[task_id] = run
        try:
            if not await self._wait_for_slot(run, reporter):
                return
            self._running += 1
            try:
                await self._run_admitted(run, config, reporter, parent, request_span_attributes)
            finally:
                self._running -= 1
                self._slot_freed.set()
        finally:
            self._runs.pop(task_id, None)
            run.settled.set()

    async def _wait_for_slot(self, run: _Run, reporter: Reporter) -> bool:
        """Wait in ``submitted`` for a free slot; False when canceled while waiting."""
        if self._running < self.settings.max_running and not self._waiting:
            return True
        self._waiting.append(run)
        try:
            await reporter.queued(
                f"queued: {self._running} evaluations running; this one is number "
                f"{len(self._waiting)} in line"
            )
            while self._running >= self.settings.max_running or self._waiting[0] is not run:
                self._slot_freed.clear()
                freed = asyncio.ensure_future(self._slot_freed.wait())
                woken = asyncio.ensure_future(run.wake.wait())
                await asyncio.wait({freed, woken}, return_when=asyncio.FIRST_COMPLETED)
                freed.cancel()
                woken.cancel()
                if run.stop.is_set():
                    await self._close(run, reporter, None, before_start=True)
                    return False
            return True
        finally:
            self._waiting.remove(run)
            self._slot_freed.set()  # the next in line looks again

    async def _run_admitted(
        self,
        run: _Run,
        config: EvalConfig,
        reporter: Reporter,
        parent: Context | None,
        attributes: Mapping[str, Any] | None,
    ) -> None:
        run.started = True
        span = self._tracer.start_span(
            ASSESSMENT_SPAN,
            context=parent,
            kind=SpanKind.SERVER,
            attributes={
                "tau2.domain": config.domain,
                "a2a.task.id": run.task_id,
                **(attributes or {}),
            },
        )
        trial_parent = trace.set_span_in_context(span) if parent is not None else None
        loop = asyncio.get_running_loop()
        events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

        def post(kind: str, value: Any) -> None:
            loop.call_soon_threadsafe(events.put_nowait, (kind, value))

        def on_trial(trial: TrialResult) -> None:
            post("trial", trial)
            if run.stop.is_set():
                raise Stopped

        await reporter.working(
            f"Starting evaluation: {config.domain}, agent {config.agent_endpoint}, "
            f"{config.num_trials} trial(s) per task"
            + (f", shard {config.shard[0]} of {config.shard[1]}" if config.shard else "")
            + f"; results kept as {run.path.name}"
        )
        future = loop.run_in_executor(
            self._threads,
            lambda: self._evaluate(config, run, post, on_trial, trial_parent),
        )
        total = 0
        finished = 0
        try:
            while True:
                getter = asyncio.ensure_future(events.get())
                both: set[asyncio.Future[Any]] = {future, getter}
                await asyncio.wait(both, return_when=asyncio.FIRST_COMPLETED)
                if not getter.done():
                    getter.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await getter
                    if events.empty():
                        break
                    continue
                kind, value = getter.result()
                if kind == "start":
                    total = value
                    continue
                finished += 1
                async with run.lock:
                    if not run.closed:
                        await reporter.working(
                            outcome.progress_line(value, finished, total),
                            outcome.progress_data(value, finished, total),
                        )
            await self._conclude(run, reporter, future, span)
        finally:
            span.end()

    def _evaluate(
        self,
        config: EvalConfig,
        run: _Run,
        post: Callable[[str, Any], None],
        on_trial: Callable[[TrialResult], None],
        parent: Context | None,
    ) -> RunResult:
        """In a worker thread: the runner itself."""
        if run.stop.is_set():
            raise Stopped
        from evaluator.runner import run_evaluation

        evaluate = self._run_evaluation or run_evaluation
        result: RunResult = evaluate(
            config,
            self._telemetry,
            on_start=lambda to_run, done: post("start", to_run + done),
            on_trial=on_trial,
            results_path=run.path,
            run_id=run.task_id,  # one id joins the A2A task, the results file and the spans
            parent=parent,
        )
        return result

    async def _conclude(
        self, run: _Run, reporter: Reporter, future: asyncio.Future[RunResult], span: Any
    ) -> None:
        from evaluator.errors import EvaluationError

        try:
            result = future.result()
        except Stopped:
            await self._close(run, reporter, _partial(run.path))
            return
        except EvaluationError as exc:
            span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
            await self._fail(run, reporter, f"the agent cannot be evaluated: {exc}")
            return
        except UsageError as exc:
            await self._fail(run, reporter, f"the request cannot run: {exc}")
            return
        except Exception as exc:
            log.exception("evaluation %s failed", run.task_id)
            span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
            await self._fail(run, reporter, f"the evaluation failed: {type(exc).__name__}: {exc}")
            return
        span.set_attribute("tau2.run.id", result.run_id)
        data = outcome.numbers(result)
        async with run.lock:
            if run.closed:
                return
            run.closed = True
            await reporter.finished(
                outcome.summary_text(result, data), data, _final_message(result, data)
            )

    async def _fail(self, run: _Run, reporter: Reporter, message: str) -> None:
        async with run.lock:
            if not run.closed:
                run.closed = True
                await reporter.failed(message, None)

    async def _close(
        self,
        run: _Run,
        reporter: Reporter,
        partial: RunResult | None,
        *,
        before_start: bool = False,
    ) -> None:
        """End a stopped run: canceled (with what finished), or interrupted on shutdown."""
        async with run.lock:
            if run.closed:
                return
            run.closed = True
            reason = run.stop_reason or CANCELED
            artifact = None
            done = 0
            if partial is not None:
                done = len(partial.trials)
                why = "canceled" if reason == CANCELED else f"interrupted: {reason}"
                data = outcome.numbers(partial, partial=True)
                artifact = (outcome.summary_text(partial, data, why_partial=why), data)
            if before_start:
                text = f"{reason} before it started: no trial ran"
            else:
                text = (
                    f"{reason}: {done} trial(s) finished; the trials not started never ran; "
                    "the artifact holds the finished ones (partial)"
                )
            if reason == CANCELED:
                await reporter.canceled(text, artifact)
            else:
                await reporter.failed(f"interrupted: {text}", artifact)

    async def cancel(self, task_id: str, reporter: Reporter) -> bool:
        """Stop ``task_id``'s trials not yet started; False when it is not running here.

        Waits ``cancel_grace_s`` for the trials in flight to end; after that the task
        ends with what the results file holds, and the trials in flight are abandoned."""
        run = self._runs.get(task_id)
        if run is None:
            return False
        run.request_stop(CANCELED)
        try:
            await asyncio.wait_for(run.settled.wait(), self.settings.cancel_grace_s)
        except TimeoutError:
            await self._close(run, reporter, _partial(run.path), before_start=not run.started)
        return True

    async def shutdown(self, grace_s: float = 30.0) -> None:
        """Stop every run, leaving it for :func:`~evaluator.green.server.recover` to
        mark interrupted (the A2A machinery is closing: no events are written now).
        The runner marks each results file interrupted itself. Safe to call twice."""
        runs = list(self._runs.values())
        for run in runs:
            run.closed = True
            run.request_stop(STOPPING)
        if runs:
            await asyncio.wait(
                [asyncio.ensure_future(r.settled.wait()) for r in runs], timeout=grace_s
            )
        self._threads.shutdown(wait=False, cancel_futures=True)


def _final_message(result: RunResult, data: Mapping[str, Any]) -> str:
    return (
        f"{result.status}: score {data['score']:.2f} / {data['max_score']} "
        f"(pass rate {data['pass_rate']:.1f}%); {data['covers']}"
    )


def _partial(path: Path) -> RunResult | None:
    from evaluator.results import ResultsFileError, load_results

    try:
        return load_results(path) if path.exists() else None
    except ResultsFileError:
        log.warning("cannot read the partial results in %s", path)
        return None


def build_config(assessment: Assessment, settings: EvaluationSettings) -> EvalConfig:
    """The ``EvalConfig`` that ``tau2observe eval`` would build for ``assessment``."""
    from evaluator.config import DEFAULT_MAX_STEPS, DEFAULT_SEED, EvalConfig
    from evaluator.llm_check import missing_credentials

    user_llm = assessment.user_llm or settings.user_llm
    llm_args = dict(assessment.user_llm_args if assessment.user_llm else settings.user_llm_args)
    if user_llm:
        try:
            missing = missing_credentials(user_llm, llm_args)
        except UsageError as exc:
            raise Refused(f"user_llm {exc}") from None
        if missing:
            raise Refused(
                f"user_llm {user_llm}: not configured on this server: it needs "
                f"{' and '.join(missing)}; pass api_key (or api_base) in user_llm_args"
            )
    fmt = assessment.message_format or (
        STRUCTURED_FORMAT if assessment.role is not None else settings.default_message_format
    )
    try:
        return EvalConfig(
            domain=assessment.domain,
            agent_endpoint=assessment.agent_url,
            num_tasks=assessment.num_tasks,
            task_ids=assessment.task_ids,
            task_split=assessment.task_split,
            num_trials=assessment.num_trials,
            max_concurrency=settings.trial_concurrency,
            seed=DEFAULT_SEED if assessment.seed is None else assessment.seed,
            max_steps=assessment.max_steps or DEFAULT_MAX_STEPS,
            agent_timeout_s=settings.agent_timeout_s,
            message_format=fmt,  # type: ignore[arg-type]  # checked by EvalConfig
            user="llm" if user_llm else "scripted",
            user_llm=user_llm,
            user_llm_args=llm_args,
            shard=assessment.shard,
        )
    except UsageError as exc:
        raise Refused(str(exc)) from None


def _selected_tasks(config: EvalConfig) -> int:
    """How many tasks ``config`` selects (tau2's selection, then the shard)."""
    from evaluator import tau2_adapter
    from evaluator.shards import shard_of

    try:
        tasks = tau2_adapter.load_tasks(
            config.domain,
            config.task_ids or None,
            config.num_tasks,
            task_set=config.task_set,
            task_split=config.task_split,
        )
    except UsageError as exc:
        raise Refused(_as_config_keys(str(exc))) from None
    return len(shard_of(tasks, *config.shard)) if config.shard else len(tasks)


def _as_config_keys(message: str) -> str:
    """tau2's selection errors name eval's options; a requester knows config keys."""
    for option, key in (
        ("--task-ids", "task_ids"),
        ("--task-split-name", "task_split"),
        ("--task-set-name", "task set"),
        ("--domain", "domain"),
    ):
        message = message.replace(option, key)
    return message
