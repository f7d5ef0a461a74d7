"""One evaluation run's GenAI telemetry: what the runner calls, in four places.

``GenAIRun.start`` at run start, ``trial`` around each trial's simulation (on the
trial's thread, inside its ``tau2.task`` span), ``trial_finished`` when the trial's
result is known, ``finish`` with the run's summary. Between them:

- the trial span gets the GenAI workflow attributes;
- the user simulator's litellm calls become ``chat`` spans under it, with the GenAI
  client metrics (:mod:`evaluator.genai.instrument`);
- the trial's reward and outcome become ``gen_ai.evaluation.result`` events on it
  (:mod:`evaluator.genai.evaluation`);
- with ddtrace's LLM Observability on (``--llmobs``), the same run also becomes
  LLM Observability spans and evaluations (:mod:`evaluator.datadog.llmobs.run`).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING

from opentelemetry import trace
from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as gen_ai
from opentelemetry.trace import Span, format_trace_id

from evaluator.genai.evaluation import record_trial_evaluations
from evaluator.genai.instrument import (
    ATTR_DOMAIN,
    ATTR_LLM_ROLE,
    ROLE_USER_SIMULATOR,
    ChatInstrumentation,
    ContentCapture,
    chat_scope,
    traced_completion,
)
from evaluator.results import RunSummary, TrialResult

if TYPE_CHECKING:
    from evaluator.datadog.llmobs.run import LLMObsRun
    from proxy.telemetry import Telemetry


log = logging.getLogger(__name__)


def workflow_name(domain: str) -> str:
    return f"tau2 {domain}"


class GenAIRun:
    def __init__(
        self,
        chat: ChatInstrumentation,
        *,
        domain: str,
        agent: str,
        llmobs: LLMObsRun | None = None,
    ) -> None:
        self.chat = chat
        self._domain = domain
        self._agent = agent
        self.llmobs = llmobs

    @classmethod
    def start(cls, telemetry: Telemetry, *, run_id: str, domain: str, agent: str) -> GenAIRun:
        from evaluator import tau2_adapter
        from evaluator.datadog.llmobs import session

        tau2_adapter.route_user_llm_calls(traced_completion)
        chat = ChatInstrumentation(
            telemetry.tracer_provider, telemetry.meter_provider, ContentCapture.from_env()
        )
        llmobs = None
        if (active := session.current()) is not None:
            from evaluator.datadog.llmobs.run import LLMObsRun

            try:
                llmobs = LLMObsRun(active, run_id, domain, agent)
            except Exception as exc:  # the evaluation runs without it
                log.warning("LLM Observability: run span not started: %r", exc)
        return cls(chat, domain=domain, agent=agent, llmobs=llmobs)

    @contextlib.contextmanager
    def trial(self, task_id: str, trial: int) -> Iterator[None]:
        """Inside the trial's span, on its thread: the scope of its LLM calls."""
        span = trace.get_current_span()
        span.set_attribute(gen_ai.GEN_AI_WORKFLOW_NAME, workflow_name(self._domain))
        context = span.get_span_context()
        trace_id = format_trace_id(context.trace_id) if context.is_valid else None
        with contextlib.ExitStack() as stack:
            stack.enter_context(
                chat_scope(
                    self.chat,
                    **{
                        gen_ai.GEN_AI_AGENT_NAME: self._agent,
                        ATTR_LLM_ROLE: ROLE_USER_SIMULATOR,
                        ATTR_DOMAIN: self._domain,
                    },
                )
            )
            if self.llmobs is not None:
                try:
                    stack.enter_context(self.llmobs.trial(task_id, trial, trace_id))
                except Exception as exc:  # telemetry never takes a trial down
                    log.warning("LLM Observability: trial span not started: %r", exc)
            yield

    def trial_finished(self, span: Span, result: TrialResult) -> None:
        record_trial_evaluations(span, result)
        if self.llmobs is not None:
            try:
                self.llmobs.trial_finished(result)
            except Exception as exc:  # telemetry never takes a trial down
                log.warning("LLM Observability: evaluations not submitted: %r", exc)

    def finish(self, summary: RunSummary | None) -> None:
        """The run is over (``summary`` None when it stopped early)."""
        if self.llmobs is not None:
            try:
                self.llmobs.finish(summary)
            except Exception as exc:  # the run's results stand without it
                log.warning("LLM Observability: run not finished: %r", exc)
