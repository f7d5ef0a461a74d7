"""An evaluation run as LLM Observability spans and evaluations (ddtrace path).

Spans: one ``workflow`` per run, one ``task`` per trial under it, one ``agent`` per A2A
turn under its trial, and litellm's ``llm`` spans (ddtrace's integration) under whatever
is active: the trial for the user simulator's calls. Every span carries the tags
``run_id``, ``domain``, ``agent``; trial spans and everything under them also
``task_id``, ``trial`` and ``otel.trace_id`` (the trial's OTel trace, 32 hex), so the
LLM Observability view and the OTel trace link both ways.

Trials run on worker threads, and ddtrace keeps the active LLM Observability span in a
context variable, which threads do not inherit. The run hands its workflow's context to
each trial thread with ddtrace's own distributed-context calls
(``inject_distributed_headers`` once, ``activate_distributed_headers`` per trial), on a
dict that never leaves the process.

Evaluations (:mod:`evaluator.genai.evaluation` derives them) are submitted with
``LLMObs.submit_evaluation`` joined to the spans: per trial ``reward`` (score),
``success`` and ``termination`` (categorical) on its task span; per run
``average_reward`` and ``pass_hat_<k>`` (scores) on the workflow span.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from evaluator.datadog.llmobs.session import LLMObsSession
from evaluator.genai.evaluation import (
    FAIL,
    PASS,
    Evaluation,
    run_evaluations,
    trial_evaluations,
)
from evaluator.results import RunSummary, TrialResult

log = logging.getLogger(__name__)

TAG_RUN_ID = "run_id"
TAG_DOMAIN = "domain"
TAG_AGENT = "agent"
TAG_TASK_ID = "task_id"
TAG_TRIAL = "trial"
TAG_OTEL_TRACE_ID = "otel.trace_id"


def metric_type(evaluation: Evaluation) -> str:
    return "score" if evaluation.score is not None else "categorical"


def evaluation_value(evaluation: Evaluation) -> float | str:
    if evaluation.score is not None:
        return evaluation.score
    return evaluation.label or ""


def assessment(evaluation: Evaluation) -> str | None:
    return evaluation.label if evaluation.label in (PASS, FAIL) else None


@dataclass(frozen=True)
class _Trial:
    span: Any
    capture_content: bool


_TRIAL: ContextVar[_Trial | None] = ContextVar("tau2observe_llmobs_trial", default=None)


class LLMObsRun:
    """One run's workflow span, its trials' task spans, and their evaluations."""

    def __init__(self, session: LLMObsSession, run_id: str, domain: str, agent: str) -> None:
        from ddtrace.llmobs import LLMObs

        self._session = session
        self._tags = {TAG_RUN_ID: run_id, TAG_DOMAIN: domain, TAG_AGENT: agent}
        self._run_id = run_id
        self._workflow = LLMObs.workflow(name=f"tau2 {domain} {agent}", session_id=run_id)
        LLMObs.annotate(
            span=self._workflow,
            tags=self._tags,
            input_data={"domain": domain, "agent": agent, "run_id": run_id},
        )
        self._carrier = LLMObs.inject_distributed_headers({}, span=self._workflow)
        self._exported: dict[tuple[str, int], dict[str, str]] = {}
        self._lock = threading.Lock()
        self._finished = False

    @contextlib.contextmanager
    def trial(self, task_id: str, trial: int, otel_trace_id: str | None) -> Iterator[None]:
        """The trial's task span, active on this thread for everything the trial does."""
        from ddtrace.llmobs import LLMObs

        tags = {**self._tags, TAG_TASK_ID: task_id, TAG_TRIAL: str(trial)}
        if otel_trace_id:
            tags[TAG_OTEL_TRACE_ID] = otel_trace_id
        LLMObs.activate_distributed_headers(dict(self._carrier))
        with (
            LLMObs.annotation_context(tags=tags),
            LLMObs.task(name=f"tau2.task {task_id}", session_id=self._run_id) as span,
        ):
            LLMObs.annotate(span=span, input_data={"task_id": task_id, "trial": trial})
            token = _TRIAL.set(_Trial(span, self._session.settings.capture_content))
            try:
                yield
            finally:
                _TRIAL.reset(token)
                exported = LLMObs.export_span(span)
                if exported is not None:
                    with self._lock:
                        self._exported[(task_id, trial)] = _join_key(exported)

    def trial_finished(self, result: TrialResult) -> None:
        """Submit the trial's evaluations, joined to its task span."""
        with self._lock:
            exported = self._exported.pop((result.task_id, result.trial), None)
        if exported is None:
            return
        tags = {**self._tags, TAG_TASK_ID: result.task_id, TAG_TRIAL: str(result.trial)}
        if result.trace_id:
            tags[TAG_OTEL_TRACE_ID] = result.trace_id
        for evaluation in trial_evaluations(result):
            _submit(evaluation, exported, tags)

    def finish(self, summary: RunSummary | None) -> None:
        """Submit the run's evaluations and end the workflow span; flushes. Once only."""
        from ddtrace.llmobs import LLMObs

        with self._lock:
            if self._finished:
                return
            self._finished = True
        if summary is not None:
            exported = LLMObs.export_span(self._workflow)
            if exported is not None:
                for evaluation in run_evaluations(summary):
                    _submit(evaluation, _join_key(exported), self._tags)
            LLMObs.annotate(
                span=self._workflow,
                output_data={
                    "trials": summary.trials,
                    "scored_trials": summary.scored_trials,
                    "average_reward": summary.average_reward,
                    "pass_hat_k": {str(k): v for k, v in summary.pass_hat_k.items()},
                },
            )
        self._workflow.finish()
        self._session.flush()


def _join_key(exported: Any) -> dict[str, str]:
    """An exported span as ``submit_evaluation`` takes it."""
    return {"span_id": str(exported["span_id"]), "trace_id": str(exported["trace_id"])}


def _submit(evaluation: Evaluation, span: dict[str, str], tags: dict[str, str]) -> None:
    from ddtrace.llmobs import LLMObs

    LLMObs.submit_evaluation(
        label=evaluation.name,
        metric_type=metric_type(evaluation),
        value=evaluation_value(evaluation),
        span=span,
        tags=tags,
        assessment=assessment(evaluation),
        reasoning=evaluation.explanation,
    )


class AgentTurn:
    """The LLM Observability side of one A2A turn; ``replied`` records the answer."""

    def __init__(self, span: Any = None, capture_content: bool = False) -> None:
        self._span = span
        self._capture = capture_content

    def replied(self, text: str) -> None:
        if self._span is not None and self._capture:
            from ddtrace.llmobs import LLMObs

            try:
                LLMObs.annotate(span=self._span, output_data=text)
            except Exception as exc:  # telemetry never takes a turn down
                log.warning("LLM Observability: agent output not recorded: %r", exc)


@contextlib.contextmanager
def agent_turn(agent: str, index: int, text: str) -> Iterator[AgentTurn]:
    """An ``agent`` span for one A2A turn when a trial is traced; otherwise nothing."""
    trial = _TRIAL.get()
    if trial is None:
        yield AgentTurn()
        return
    from ddtrace.llmobs import LLMObs

    try:
        span = LLMObs.agent(name=f"invoke_agent {agent}")
        LLMObs.annotate(
            span=span,
            metadata={"turn": index},
            input_data=text if trial.capture_content else None,
        )
    except Exception as exc:  # telemetry never takes a turn down
        log.warning("LLM Observability: agent span not started: %r", exc)
        yield AgentTurn()
        return
    with span:
        yield AgentTurn(span, trial.capture_content)
