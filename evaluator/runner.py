"""Run an evaluation: every selected task, every trial, through tau2, over A2A.

``run_evaluation(config, telemetry) -> RunResult`` is the public entry. It connects to
the agent (through the sidecar unless ``proxy_mode == "none"``), runs the units of work
(one trial of one task, with its seed) in a thread pool of ``max_concurrency`` workers
with tau2's orchestrator, and turns each into a :class:`~evaluator.results.TrialResult`.

Nothing started is dropped (see :mod:`evaluator.summary` for who is to blame for what):
- a failure on the agent's side scores the trial 0, with its cause;
- a failure on the evaluator's side is retried ``max_retries`` times, then recorded as
  not scored, with its cause;
- after ``stop_after_unreachable`` consecutive trials found the agent unreachable, the
  trials not yet started are recorded as not run (scored 0) and the run stops.

With ``results_path`` the results file is written when the run starts and rewritten
atomically as each trial ends; ``resume`` continues such a file. Only a failure to reach
the agent at all (before any trial) raises.
"""

from __future__ import annotations

import random
import re
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.semconv.attributes import error_attributes
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer, format_trace_id

from evaluator import scoring, summary
from evaluator.a2a_conversation import A2AConnection, Conversation
from evaluator.attributes import ATTR_ATTEMPT, ATTR_RUN_ID
from evaluator.config import EvalConfig, identity_differences
from evaluator.event_loop import BackgroundLoop
from evaluator.executors import ExecutionPlan, ExecutorFactory, LocalExecutor, Unit
from evaluator.genai.run import GenAIRun
from evaluator.results import (
    NOT_RUN,
    NOT_SCORED,
    RUNNING,
    SCHEMA_VERSION,
    AgentRecord,
    RewardRecord,
    RunResult,
    TaskRecord,
    Tau2Info,
    TrialResult,
    UserRecord,
    save_results,
)
from evaluator.shards import shard_of
from evaluator.telemetry import (
    TASK_SPAN_PREFIX,
    TRACER_NAME,
    EvaluatorMetrics,
    outcome_attributes,
    task_span_attributes,
)
from proxy import semconv
from proxy.errors import UsageError

if TYPE_CHECKING:
    from evaluator.tau2_adapter import DomainSurface, Tau2Task, TrialRun, UserSpec
    from proxy.telemetry import Telemetry

CONNECT_TIMEOUT_S = 60.0


@dataclass
class AgentSession:
    """The open connection to the agent, and the in-process sidecar when there is one."""

    connection: A2AConnection
    agent_name: str
    via_proxy: bool
    proxy_url: str | None
    proxy: Any = None  # proxy.server.RunningProxy
    stamps: list[RunIdStamp] = field(default_factory=list)  # the run id onto every span


@dataclass(frozen=True)
class Resume:
    """Continue ``previous``: keep its scored trials; rerun the rest (and, with
    ``retry_failed``, those not scored)."""

    previous: RunResult
    retry_failed: bool = False

    def kept(self) -> list[TrialResult]:
        drop = {NOT_RUN, NOT_SCORED} if self.retry_failed else {NOT_RUN}
        return [t for t in self.previous.trials if t.status not in drop]


def trial_seeds(seed: int, num_trials: int) -> list[int]:
    """One seed per trial, derived as tau2 derives them from ``--seed``."""
    rng = random.Random(seed)
    return [rng.randint(0, 1_000_000) for _ in range(num_trials)]


def plan_units(task_ids: Sequence[str], num_trials: int, seed: int) -> list[Unit]:
    """Every unit of a run, trial by trial, in tau2's order."""
    seeds = trial_seeds(seed, num_trials)
    return [Unit(task, trial, seeds[trial]) for trial in range(num_trials) for task in task_ids]


def check_resumable(previous: RunResult, config: EvalConfig, path: Path) -> None:
    """Raise :class:`UsageError` naming every setting that differs from ``previous``."""
    differences = identity_differences(previous.config, config)
    if differences:
        raise UsageError(
            f"--resume: {path} was written by a different evaluation; it differs in\n  "
            + "\n  ".join(differences)
        )


def run_evaluation(
    config: EvalConfig,
    telemetry: Telemetry,
    *,
    on_start: Callable[[int, int], None] | None = None,
    on_trial: Callable[[TrialResult], None] | None = None,
    results_path: Path | Callable[[str], Path] | None = None,
    resume: Resume | None = None,
    run_id: str | None = None,
    executor: ExecutorFactory | None = None,
    parent: Context | None = None,
) -> RunResult:
    """Run (or continue) an evaluation; ``on_start(to_run, already_done)`` and ``on_trial``
    report progress. ``results_path`` may be a function of the agent's name. ``executor``
    runs the units (default: :class:`~evaluator.executors.LocalExecutor`). A Ctrl-C (or a
    callback raising) leaves an ``interrupted`` file. With ``parent`` (a requester's trace,
    as the green agent continues it) every trial's span is its child rather than a root."""
    from evaluator import tau2_adapter as adapter

    tasks = adapter.load_tasks(
        config.domain,
        config.task_ids or None,
        config.num_tasks,
        task_set=config.task_set,
        task_split=config.task_split,
    )
    if config.shard is not None:
        tasks = shard_of(tasks, *config.shard)
    surface = adapter.domain_surface(config.domain)
    user = adapter.UserSpec(
        kind=config.user, model=config.user_llm, llm_args=dict(config.user_llm_args)
    )
    task_ids = [t.id for t in tasks]
    by_id = {t.id: t for t in tasks}
    complexity = {t.id: _complexity(t) for t in tasks}
    kept = resume.kept() if resume else []
    done = {(t.task_id, t.trial) for t in kept}
    units = plan_units(task_ids, config.num_trials, config.seed)
    todo = [u for u in units if (u.task_id, u.trial) not in done]
    run_id = resume.previous.run_id if resume else (run_id or uuid.uuid4().hex)
    tracer = telemetry.tracer_provider.get_tracer(TRACER_NAME)
    metrics = EvaluatorMetrics(telemetry.meter_provider)
    t0 = time.perf_counter()
    earlier_s = resume.previous.duration_s if resume else 0.0

    with BackgroundLoop() as loop:
        session = open_session(config, telemetry, loop)
        record = _RunRecord(
            header=_header(config, session, tasks, run_id, adapter, resume),
            tasks=tasks,
            complexity=complexity,
            trials=list(kept),
            path=results_path(session.agent_name) if callable(results_path) else results_path,
            started=t0 - earlier_s,
            num_trials=config.num_trials,
        )
        interrupted = False
        # GenAI: chat spans, evaluations, and LLM Observability when enabled.
        genai = GenAIRun.start(
            telemetry, run_id=run_id, domain=config.domain, agent=session.agent_name
        )
        try:
            record.save(RUNNING)
            if on_start is not None:
                on_start(len(todo), len(kept))
            trial_runner = _TrialRunner(
                config, session, loop, tracer, surface, user, adapter.run_trial, run_id, genai
            )
            labels = _Labels(config.domain, session.agent_name, run_id)

            def finished(result: TrialResult) -> None:
                labels.record(metrics, complexity[result.task_id][0], result)
                record.add(result)
                if on_trial is not None:
                    on_trial(result)

            plan = ExecutionPlan(
                config=config,
                run_id=run_id,
                run_here=lambda u: trial_runner.run(by_id[u.task_id], u.trial, u.seed, parent),
            )
            (executor or LocalExecutor)(plan).run(todo, finished)
        except BaseException:
            interrupted = True  # Ctrl-C, SIGTERM, or a callback that stops the run
            raise
        finally:
            try:
                close_session(session, loop)
            finally:
                final = record.finish(interrupted=interrupted)
                if interrupted:  # the workflow span ends; a partial run publishes no figures
                    genai.finish(None)
    metrics.record_run(config.domain, session.agent_name, final.summary, run_id)
    genai.finish(final.summary)
    return final


@dataclass
class _Labels:
    domain: str
    agent: str
    run_id: str

    def record(self, metrics: EvaluatorMetrics, tier: str, result: TrialResult) -> None:
        metrics.record_trial(self.domain, self.agent, tier, result, self.run_id)


@dataclass
class _RunRecord:
    """The run as the results file shows it, rewritten as each trial ends."""

    header: RunResult
    tasks: Sequence[Tau2Task]
    complexity: dict[str, tuple[str, int]]
    trials: list[TrialResult]
    path: Path | None
    started: float
    num_trials: int

    def add(self, trial: TrialResult) -> None:
        self.trials.append(trial)
        self.save(RUNNING)

    def snapshot(self, status: str) -> RunResult:
        order = {t.id: i for i, t in enumerate(self.tasks)}
        trials = sorted(self.trials, key=lambda r: (r.trial, order.get(r.task_id, 0)))
        figures = summary.summarize(
            trials, list(order), time.perf_counter() - self.started, self.num_trials
        )
        return replace(
            self.header,
            status=status,
            status_note=_status_note(status, figures),
            finished_at=_now(),
            duration_s=figures.duration_s,
            tasks=task_records(self.tasks, trials, self.complexity),
            trials=trials,
            summary=figures,
        )

    def save(self, status: str) -> RunResult:
        result = self.snapshot(status)
        if self.path is not None:
            save_results(result, self.path)
        return result

    def finish(self, *, interrupted: bool) -> RunResult:
        draft = self.snapshot(RUNNING)
        return self.save(summary.run_status(draft.summary, interrupted=interrupted))


def _status_note(status: str, figures: Any) -> str | None:
    if status == RUNNING:
        return "the run is in progress (or its process died): --resume continues it"
    if status == "interrupted":
        return "interrupted: --resume continues it; " + summary.headline(figures)
    if status == "complete":
        return None
    return summary.headline(figures)


def _header(
    config: EvalConfig,
    session: AgentSession,
    tasks: Sequence[Tau2Task],
    run_id: str,
    adapter: Any,
    resume: Resume | None,
) -> RunResult:
    empty = summary.summarize([], [t.id for t in tasks], 0.0, config.num_trials)
    return RunResult(
        schema_version=SCHEMA_VERSION,
        run_id=run_id,
        status=RUNNING,
        status_note=None,
        started_at=resume.previous.started_at if resume else _now(),
        finished_at=_now(),
        duration_s=0.0,
        domain=config.domain,
        tau2=Tau2Info(adapter.TAU2_PACKAGE, adapter.tau2_version(), adapter.TAU2_NOTE),
        agent=AgentRecord(
            name=session.agent_name,
            endpoint=config.agent_endpoint,
            card_name=session.connection.card_name,
            protocol_version=session.connection.protocol_version,
            message_format=config.message_format,
            via_proxy=session.via_proxy,
            proxy_url=session.proxy_url,
        ),
        user=UserRecord(
            kind=config.user, model=config.user_llm, llm_args=config.record()["user_llm_args"]
        ),
        config=config.record(),
        tasks=[],
        trials=[],
        summary=empty,
    )


class RunIdStamp(SpanProcessor):
    """Puts ``tau2.run.id`` on every span of a trial's trace, whoever starts it (the
    evaluator, its HTTP client, the in-process sidecar): one run is one filter.

    One per tracer provider (runs may share one, as the demo's do); each trial binds its
    trace id to its run while it runs. Trials that continue one requester's trace share
    its id, so bindings are counted.
    """

    _installed: ClassVar[weakref.WeakKeyDictionary[Any, RunIdStamp]] = weakref.WeakKeyDictionary()
    _install_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self) -> None:
        self._runs: dict[int, tuple[str, int]] = {}  # trace id -> (run id, trials bound)
        self._lock = threading.Lock()

    @classmethod
    def on(cls, provider: Any) -> RunIdStamp | None:
        """The provider's stamp, installed on first use (None for a non-SDK provider)."""
        if not isinstance(provider, TracerProvider):
            return None
        with cls._install_lock:
            stamp = cls._installed.get(provider)
            if stamp is None:
                stamp = cls._installed[provider] = cls()
                provider.add_span_processor(stamp)
            return stamp

    def bind(self, trace_id: int, run_id: str) -> None:
        with self._lock:
            _, count = self._runs.get(trace_id, (run_id, 0))
            self._runs[trace_id] = (run_id, count + 1)

    def unbind(self, trace_id: int) -> None:
        with self._lock:
            run_id, count = self._runs.pop(trace_id, ("", 0))
            if count > 1:
                self._runs[trace_id] = (run_id, count - 1)

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        bound = self._runs.get(span.get_span_context().trace_id)
        if bound is not None:
            span.set_attribute(ATTR_RUN_ID, bound[0])

    def on_end(self, span: ReadableSpan) -> None:
        """Nothing to do once the span ends."""

    def shutdown(self) -> None:
        """Holds nothing."""

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True


def open_session(config: EvalConfig, telemetry: Telemetry, loop: BackgroundLoop) -> AgentSession:
    """Connect to the agent; raises :class:`EvaluationError` with a clear message if it cannot."""

    def connect(url: str) -> A2AConnection:
        return loop.run(
            A2AConnection.open(
                url,
                timeout_s=config.agent_timeout_s,
                auth_token=config.auth_token,
                tracer_provider=telemetry.tracer_provider,
                debug=config.a2a_debug,
                streaming=config.streaming,
            ),
            timeout=min(config.agent_timeout_s, CONNECT_TIMEOUT_S) + 5,
        )

    stamps = [s for s in [RunIdStamp.on(telemetry.tracer_provider)] if s is not None]
    if config.proxy_mode == "none":
        connection = connect(config.agent_endpoint)
        name = route_name(config.agent_name or connection.card_name)
        return AgentSession(connection, name, False, None, stamps=stamps)
    if config.proxy_mode == "url":
        assert config.proxy_url is not None
        connection = connect(config.proxy_url)
        name = route_name(config.agent_name or connection.card_name)
        return AgentSession(connection, name, True, config.proxy_url, stamps=stamps)

    # In-process sidecar: the agent's name is the route's name, so learn it from the card
    # first; route names are restricted, and one name must tag both sides' telemetry.
    if config.agent_name is None:
        direct = connect(config.agent_endpoint)
        name = route_name(direct.card_name)
        loop.run(direct.close(), timeout=10)
    else:
        name = route_name(config.agent_name)
    sidecar = telemetry.sibling(PROXY_SERVICE_NAME)
    stamps += [s for s in [RunIdStamp.on(sidecar.tracer_provider)] if s is not None]
    proxy = loop.run(_start_proxy(name, config.agent_endpoint, sidecar), timeout=30)
    try:
        url = proxy.url_for(name)
        connection = connect(url)
    except BaseException:
        loop.run(proxy.stop(), timeout=10)
        raise
    return AgentSession(connection, name, True, url, proxy, stamps=stamps)


def route_name(agent_name: str) -> str:
    """``agent_name`` as a sidecar route name: letters, digits, '_', '.', '-', at most 63.

    Used in every mode, so that the same agent carries the same ``gen_ai.agent.name``
    whether or not the sidecar is in between.
    """
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "-", agent_name).strip("-._")[:63]
    return cleaned or "agent"


PROXY_SERVICE_NAME = semconv.PROXY_SERVICE


async def _start_proxy(route_name: str, upstream: str, telemetry: Telemetry) -> Any:
    from proxy.server import start_proxy
    from proxy.settings import ProxySettings, Route

    settings = ProxySettings(
        listen_host="127.0.0.1",
        listen_port=0,
        routes=(Route(name=route_name, prefix="/", upstream=upstream),),
        shutdown_grace_s=1.0,  # stopping it is what ends an interrupted run's turns
    )
    # The sidecar's spans carry its own service name, as a standalone sidecar's would.
    return await start_proxy(settings, telemetry)


def close_session(session: AgentSession, loop: BackgroundLoop) -> None:
    try:
        loop.run(session.connection.close(), timeout=10)
    finally:
        if session.proxy is not None:
            loop.run(session.proxy.stop(), timeout=10)


class _TrialRunner:
    def __init__(
        self,
        config: EvalConfig,
        session: AgentSession,
        loop: BackgroundLoop,
        tracer: Tracer,
        surface: DomainSurface,
        user: UserSpec,
        run_trial: Callable[..., TrialRun],
        run_id: str,
        genai: GenAIRun | None = None,
    ) -> None:
        self._config = config
        self._session = session
        self._loop = loop
        self._tracer = tracer
        self._surface = surface
        self._user = user
        self._run_trial = run_trial
        self._run_id = run_id
        self._genai = genai

    def run(
        self, task: Tau2Task, trial: int, seed: int, parent: Context | None = None
    ) -> TrialResult:
        """One unit, retried while the evaluator's side fails (at most ``max_retries``).

        ``parent`` is the trace context the unit was handed (from another process, for a
        Ray worker); without one the trial span starts from this thread's context."""
        attempt = 1
        while True:
            result = self._attempt(task, trial, seed, attempt, parent)
            if result.status != NOT_SCORED or attempt > self._config.max_retries:
                return result
            attempt += 1

    def _attempt(
        self, task: Tau2Task, trial: int, seed: int, attempt: int, parent: Context | None
    ) -> TrialResult:
        config, agent = self._config, self._session.agent_name
        conversation = Conversation(
            self._session.connection,
            self._loop,
            tracer=self._tracer,
            agent_name=agent,
            message_format=config.message_format,
            policy=self._surface.policy,
            tools=self._surface.tools,
            label=f"task {task.id} trial {trial}",
        )
        started_at = _now()
        t0 = time.perf_counter()
        attributes = task_span_attributes(config.domain, task.id, trial, agent)
        attributes[ATTR_RUN_ID] = self._run_id
        if attempt > 1:
            attributes[ATTR_ATTEMPT] = attempt
        with self._tracer.start_as_current_span(
            f"{TASK_SPAN_PREFIX} {task.id}",
            context=parent,
            kind=SpanKind.INTERNAL,
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        ) as root:
            trace_id = root.get_span_context().trace_id
            for stamp in self._session.stamps:
                stamp.bind(trace_id, self._run_id)
            run: TrialRun | None = None
            crash: Exception | None = None
            try:
                with self._genai.trial(task.id, trial) if self._genai else nullcontext():
                    run = self._run_trial(
                        config.domain,
                        task,
                        conversation.turn,
                        self._user,
                        seed=seed,
                        max_steps=config.max_steps,
                        max_errors=config.max_errors,
                    )
            except Exception as exc:  # a trial never takes the run down
                crash = exc
            finally:
                for stamp in self._session.stamps:
                    stamp.unbind(trace_id)
            result = trial_result(
                task_id=task.id,
                trial=trial,
                seed=seed,
                run=run,
                crash=crash,
                conversation=conversation,
                duration_s=time.perf_counter() - t0,
                started_at=started_at,
                trace_id=format_trace_id(trace_id),
                attempts=attempt,
            )
            root.set_attributes(outcome_attributes(result))
            if self._genai is not None:
                self._genai.trial_finished(root, result)
            if not result.success:
                why = result.error or summary.cause_label(summary.primary_cause(result) or "")
                root.set_status(Status(StatusCode.ERROR, why))
                root.set_attribute(
                    error_attributes.ERROR_TYPE,
                    summary.primary_cause(result) or result.termination_reason,
                )
        return result


def trial_runner(
    config: EvalConfig,
    session: AgentSession,
    loop: BackgroundLoop,
    telemetry: Telemetry,
    run_id: str,
) -> _TrialRunner:
    """``config``'s trials through an open ``session``, for an executor's worker process
    (:func:`run_evaluation` builds its own)."""
    from evaluator import tau2_adapter as adapter

    user = adapter.UserSpec(
        kind=config.user, model=config.user_llm, llm_args=dict(config.user_llm_args)
    )
    tracer = telemetry.tracer_provider.get_tracer(TRACER_NAME)
    surface = adapter.domain_surface(config.domain)
    # The worker's LLM calls and verdicts as GenAI spans and events, as in run_evaluation
    # (LLM Observability through ddtrace stays with the driver's process).
    genai = GenAIRun.start(telemetry, run_id=run_id, domain=config.domain, agent=session.agent_name)
    return _TrialRunner(
        config, session, loop, tracer, surface, user, adapter.run_trial, run_id, genai
    )


def trial_result(
    *,
    task_id: str,
    trial: int,
    seed: int,
    run: TrialRun | None,
    crash: Exception | None,
    conversation: Conversation,
    duration_s: float,
    started_at: str,
    trace_id: str | None,
    attempts: int = 1,
) -> TrialResult:
    """One trial's record, classified by :func:`evaluator.summary.classify`."""
    outcome = summary.classify(run, crash)
    reward = run.reward if run is not None else RewardRecord(reward=0.0, note=outcome.error)
    value = reward.reward if outcome.status != NOT_SCORED and outcome.cause is None else 0.0
    turn_durations = [t.duration_s for t in conversation.turns]
    return TrialResult(
        task_id=task_id,
        trial=trial,
        seed=seed,
        reward=value,
        success=outcome.status != NOT_SCORED and scoring.is_successful(value),
        termination_reason=outcome.termination_reason,
        status=outcome.status,
        cause=outcome.cause,
        error=outcome.error,
        reward_detail=reward,
        turns=len(conversation.turns),
        tool_calls=run.tool_calls if run else 0,
        malformed_tool_calls=conversation.malformed_tool_calls,
        tool_errors=run.tool_errors if run else 0,
        duration_s=duration_s,
        mean_turn_duration_s=scoring.mean(turn_durations),
        user_cost=run.user_cost if run else 0.0,
        user_input_tokens=run.user_input_tokens if run else 0,
        user_output_tokens=run.user_output_tokens if run else 0,
        context_id=conversation.context_id,
        trace_id=trace_id,
        started_at=started_at,
        turn_records=list(conversation.turns),
        messages=list(run.messages) if run else [],
        attempts=attempts,
    )


def _complexity(task: Tau2Task) -> tuple[str, int]:
    score = scoring.complexity_score(task.reference_actions, task.checks)
    return scoring.complexity_tier(score), score


def task_records(
    tasks: Sequence[Tau2Task],
    trials: Sequence[TrialResult],
    complexity: dict[str, tuple[str, int]],
) -> list[TaskRecord]:
    table = scoring.successes_by_task(summary.as_scored(trials))
    failure = scoring.failure_rates(summary.as_scored(trials))
    records = []
    for task in tasks:
        n, c = table.get(task.id, (0, 0))
        tier, score = complexity[task.id]
        records.append(
            TaskRecord(
                task_id=task.id,
                complexity=tier,
                complexity_score=score,
                reference_actions=task.reference_actions,
                checks=task.checks,
                trials=n,
                successes=c,
                failure_rate=failure.get(task.id),
            )
        )
    return records


def _now() -> str:
    return datetime.now(UTC).isoformat()
