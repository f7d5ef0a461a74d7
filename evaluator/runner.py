"""Run an evaluation: every selected task, every trial, through tau2, over A2A.

``run_evaluation(config, telemetry) -> RunResult`` is the public entry. It connects to
the agent (through the sidecar unless ``proxy_mode == "none"``), runs the trials in a
thread pool of ``max_concurrency`` workers with tau2's orchestrator, turns each into a
:class:`~evaluator.results.TrialResult` with its trace, records the metrics, and scores
the run. A failing trial is recorded with its reason; it never stops the run. Only a
failure to reach the agent at all (before any trial) raises.
"""

from __future__ import annotations

import random
import re
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from opentelemetry.semconv.attributes import error_attributes
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer, format_trace_id

from evaluator import scoring
from evaluator.a2a_conversation import A2AConnection, Conversation
from evaluator.config import EvalConfig
from evaluator.errors import EvaluationError
from evaluator.event_loop import BackgroundLoop
from evaluator.genai.run import GenAIRun
from evaluator.results import (
    SCHEMA_VERSION,
    AgentRecord,
    RewardRecord,
    RunResult,
    RunSummary,
    TaskRecord,
    Tau2Info,
    TrialResult,
    UserRecord,
)
from evaluator.telemetry import (
    TASK_SPAN_PREFIX,
    TRACER_NAME,
    EvaluatorMetrics,
    outcome_attributes,
    task_span_attributes,
)

if TYPE_CHECKING:
    from evaluator.tau2_adapter import DomainSurface, Tau2Task, TrialRun, UserSpec
    from proxy.telemetry import Telemetry

INFRASTRUCTURE_ERROR = "infrastructure_error"
AGENT_ERROR = "agent_error"
CONNECT_TIMEOUT_S = 60.0


@dataclass
class AgentSession:
    """The open connection to the agent, and the in-process sidecar when there is one."""

    connection: A2AConnection
    agent_name: str
    via_proxy: bool
    proxy_url: str | None
    proxy: Any = None  # proxy.server.RunningProxy


def trial_seeds(seed: int, num_trials: int) -> list[int]:
    """One seed per trial, derived as tau2 derives them from ``--seed``."""
    rng = random.Random(seed)
    return [rng.randint(0, 1_000_000) for _ in range(num_trials)]


def run_evaluation(
    config: EvalConfig,
    telemetry: Telemetry,
    *,
    on_start: Callable[[int], None] | None = None,
    on_trial: Callable[[TrialResult], None] | None = None,
) -> RunResult:
    from evaluator import tau2_adapter as adapter

    tasks = adapter.load_tasks(config.domain, config.task_ids or None, config.num_tasks)
    surface = adapter.domain_surface(config.domain)
    user = adapter.UserSpec(
        kind=config.user, model=config.user_llm, llm_args=dict(config.user_llm_args)
    )
    tracer = telemetry.tracer_provider.get_tracer(TRACER_NAME)
    metrics = EvaluatorMetrics(telemetry.meter_provider)
    started_at = _now()
    t0 = time.perf_counter()
    run_id = uuid.uuid4().hex
    seeds = trial_seeds(config.seed, config.num_trials)
    jobs = [(trial, task) for trial in range(config.num_trials) for task in tasks]
    complexity = {t.id: _complexity(t) for t in tasks}

    with BackgroundLoop() as loop:
        session = open_session(config, telemetry, loop)
        # GenAI hook 1 of 4: chat spans, evaluations, and LLM Observability when enabled.
        genai = GenAIRun.start(
            telemetry, run_id=run_id, domain=config.domain, agent=session.agent_name
        )
        try:
            if on_start is not None:
                on_start(len(jobs))
            trial_runner = _TrialRunner(
                config, session, loop, tracer, surface, user, adapter.run_trial, genai
            )
            results: list[TrialResult] = []
            with ThreadPoolExecutor(
                max_workers=config.max_concurrency, thread_name_prefix="tau2-trial"
            ) as pool:
                futures = [
                    pool.submit(trial_runner.run, task, trial, seeds[trial]) for trial, task in jobs
                ]
                try:
                    for future in as_completed(futures):
                        result = future.result()
                        metrics.record_trial(
                            config.domain, session.agent_name, complexity[result.task_id][0], result
                        )
                        results.append(result)
                        if on_trial is not None:
                            on_trial(result)
                except BaseException:
                    # Ctrl-C, or an on_trial callback that stops the run: queued trials never start.
                    pool.shutdown(wait=False, cancel_futures=True)
                    raise
        finally:
            close_session(session, loop)

    order = {t.id: i for i, t in enumerate(tasks)}
    results.sort(key=lambda r: (r.trial, order[r.task_id]))
    summary = summarize(results, time.perf_counter() - t0)
    metrics.record_run(config.domain, session.agent_name, summary)
    genai.finish(summary)  # GenAI hook 4 of 4
    return RunResult(
        schema_version=SCHEMA_VERSION,
        run_id=run_id,
        started_at=started_at,
        finished_at=_now(),
        duration_s=summary.duration_s,
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
        tasks=task_records(tasks, results, complexity),
        trials=results,
        summary=summary,
    )


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
            ),
            timeout=min(config.agent_timeout_s, CONNECT_TIMEOUT_S) + 5,
        )

    if config.proxy_mode == "none":
        connection = connect(config.agent_endpoint)
        name = route_name(config.agent_name or connection.card_name)
        return AgentSession(connection, name, False, None)
    if config.proxy_mode == "url":
        assert config.proxy_url is not None
        connection = connect(config.proxy_url)
        name = route_name(config.agent_name or connection.card_name)
        return AgentSession(connection, name, True, config.proxy_url)

    # In-process sidecar: the agent's name is the route's name, so learn it from the card
    # first; route names are restricted, and one name must tag both sides' telemetry.
    if config.agent_name is None:
        direct = connect(config.agent_endpoint)
        name = route_name(direct.card_name)
        loop.run(direct.close(), timeout=10)
    else:
        name = route_name(config.agent_name)
    proxy = loop.run(_start_proxy(name, config.agent_endpoint, telemetry), timeout=30)
    try:
        url = proxy.url_for(name)
        connection = connect(url)
    except BaseException:
        loop.run(proxy.stop(), timeout=10)
        raise
    return AgentSession(connection, name, True, url, proxy)


def route_name(agent_name: str) -> str:
    """``agent_name`` as a sidecar route name: letters, digits, '_', '.', '-', at most 63.

    Used in every mode, so that the same agent carries the same ``gen_ai.agent.name``
    whether or not the sidecar is in between.
    """
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "-", agent_name).strip("-._")[:63]
    return cleaned or "agent"


PROXY_SERVICE_NAME = "tau2observe-proxy"


async def _start_proxy(route_name: str, upstream: str, telemetry: Telemetry) -> Any:
    from proxy.server import start_proxy
    from proxy.settings import ProxySettings, Route

    settings = ProxySettings(
        listen_host="127.0.0.1",
        listen_port=0,
        routes=(Route(name=route_name, prefix="/", upstream=upstream),),
    )
    # The sidecar's spans carry its own service name, as a standalone sidecar's would.
    return await start_proxy(settings, telemetry.sibling(PROXY_SERVICE_NAME))


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
        genai: GenAIRun,
    ) -> None:
        self._config = config
        self._session = session
        self._loop = loop
        self._tracer = tracer
        self._surface = surface
        self._user = user
        self._run_trial = run_trial
        self._genai = genai

    def run(self, task: Tau2Task, trial: int, seed: int) -> TrialResult:
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
        with self._tracer.start_as_current_span(
            f"{TASK_SPAN_PREFIX} {task.id}",
            kind=SpanKind.INTERNAL,
            attributes=task_span_attributes(config.domain, task.id, trial, agent),
            record_exception=False,
            set_status_on_exception=False,
        ) as root:
            run: TrialRun | None = None
            crash: Exception | None = None
            try:
                with self._genai.trial(task.id, trial):  # GenAI hook 2 of 4
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
            result = trial_result(
                task_id=task.id,
                trial=trial,
                seed=seed,
                run=run,
                crash=crash,
                conversation=conversation,
                duration_s=time.perf_counter() - t0,
                started_at=started_at,
                trace_id=format_trace_id(root.get_span_context().trace_id),
            )
            root.set_attributes(outcome_attributes(result))
            self._genai.trial_finished(root, result)  # GenAI hook 3 of 4
            if result.error is not None:
                root.set_status(Status(StatusCode.ERROR, result.error))
                root.set_attribute(error_attributes.ERROR_TYPE, result.termination_reason)
        return result


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
) -> TrialResult:
    """One trial's record, classifying what went wrong (agent or infrastructure)."""
    turn_durations = [t.duration_s for t in conversation.turns]
    infrastructure = False
    error: str | None = None
    if run is None:
        infrastructure = True
        reason = INFRASTRUCTURE_ERROR
        error = f"the trial could not run: {type(crash).__name__}: {crash}"
        reward = RewardRecord(reward=0.0, note=error)
    else:
        reason, reward = run.termination_reason, run.reward
        if isinstance(run.error, EvaluationError):
            infrastructure = run.error.infrastructure
            reason = INFRASTRUCTURE_ERROR if infrastructure else AGENT_ERROR
            error = str(run.error)
        elif run.error is not None and run.error_side == "user":
            infrastructure = True
            reason = INFRASTRUCTURE_ERROR
            error = f"the user simulator failed: {type(run.error).__name__}: {run.error}"
        elif run.error is not None:
            reason = AGENT_ERROR
            error = f"the agent's turn failed: {type(run.error).__name__}: {run.error}"
        elif run.evaluation_error is not None:
            error = run.evaluation_error
    value = 0.0 if infrastructure else reward.reward
    return TrialResult(
        task_id=task_id,
        trial=trial,
        seed=seed,
        reward=value,
        success=not infrastructure and scoring.is_successful(value),
        termination_reason=reason,
        infrastructure_error=infrastructure,
        error=error,
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
    )


def scored(trials: Sequence[TrialResult]) -> list[scoring.Scored]:
    return [
        scoring.Scored(t.task_id, t.reward, t.termination_reason, t.infrastructure_error)
        for t in trials
    ]


def summarize(trials: Sequence[TrialResult], duration_s: float) -> RunSummary:
    kept = scored(trials)
    return RunSummary(
        trials=len(trials),
        counted_trials=len(scoring.counted(kept)),
        infrastructure_errors=sum(t.infrastructure_error for t in trials),
        average_reward=scoring.average_reward(kept),
        success_rate=scoring.success_rate(kept),
        pass_hat_k=scoring.pass_hat_ks(kept),
        termination_counts=scoring.termination_counts(kept),
        tool_calls=sum(t.tool_calls for t in trials),
        malformed_tool_calls=sum(t.malformed_tool_calls for t in trials),
        tool_errors=sum(t.tool_errors for t in trials),
        user_cost=sum(t.user_cost for t in trials),
        user_input_tokens=sum(t.user_input_tokens for t in trials),
        user_output_tokens=sum(t.user_output_tokens for t in trials),
        duration_s=duration_s,
    )


def _complexity(task: Tau2Task) -> tuple[str, int]:
    score = scoring.complexity_score(task.reference_actions, task.checks)
    return scoring.complexity_tier(score), score


def task_records(
    tasks: Sequence[Tau2Task],
    trials: Sequence[TrialResult],
    complexity: dict[str, tuple[str, int]],
) -> list[TaskRecord]:
    table = scoring.successes_by_task(scored(trials))
    failure = scoring.failure_rates(scored(trials))
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
