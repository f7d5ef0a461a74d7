"""GenAI client spans and metrics around litellm calls.

:class:`ChatInstrumentation` wraps one call (``litellm.completion`` or
``litellm.acompletion``) in a CLIENT span ``chat {model}`` (attributes from
:mod:`evaluator.genai.chat`) and records the GenAI client metrics
``gen_ai.client.operation.duration`` and ``gen_ai.client.token.usage``, plus
``tau2.llm.cost`` when litellm knows the model's prices. A failing call is recorded
(status ERROR, ``error.type``) and re-raised unchanged.

tau2's user simulator calls litellm through a module-level name, so the evaluator
routes that name to :func:`traced_completion`, which looks ``litellm.completion`` up
at call time (so a ddtrace patch applied later is honoured) and traces the call when
a :func:`chat_scope` is active on the calling thread: the trial that made it.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from opentelemetry.metrics import MeterProvider
from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as gen_ai
from opentelemetry.semconv.attributes import error_attributes
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, TracerProvider

from evaluator.genai import chat
from proxy import instruments

# litellm fetches its model price map over the network at import unless told not to
# (three attempts, seconds each, offline); the local copy prices the calls just as well.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

INSTRUMENTATION_NAME = "tau2observe.genai"
# Who made the call: the user simulator, or the agent under test (the `llm` sample agent).
ATTR_LLM_ROLE = "tau2.llm.role"
ROLE_USER_SIMULATOR = "user_simulator"
ROLE_AGENT = "agent"
ATTR_DOMAIN = "tau2.domain"  # the evaluation's domain, on the evaluator's calls
# The GenAI conventions' standard switch for message content in GenAI instrumentations.
ENV_CAPTURE_CONTENT = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
DEFAULT_CONTENT_MAX_CHARS = 4096
# The attributes the metrics keep (low cardinality: no ids, no content).
_METRIC_KEYS = (
    gen_ai.GEN_AI_OPERATION_NAME,
    gen_ai.GEN_AI_PROVIDER_NAME,
    gen_ai.GEN_AI_REQUEST_MODEL,
    gen_ai.GEN_AI_RESPONSE_MODEL,
    gen_ai.GEN_AI_AGENT_NAME,
    ATTR_LLM_ROLE,
    ATTR_DOMAIN,
    error_attributes.ERROR_TYPE,
)


@dataclass(frozen=True)
class ContentCapture:
    """Whether message text goes on chat spans, and the cap on each text."""

    enabled: bool = False
    max_chars: int = DEFAULT_CONTENT_MAX_CHARS

    def __post_init__(self) -> None:
        if self.max_chars < 1:
            raise ValueError(f"content max_chars must be at least 1, got {self.max_chars}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ContentCapture:
        env = os.environ if environ is None else environ
        return cls(enabled=env.get(ENV_CAPTURE_CONTENT, "").strip().lower() in ("1", "true"))


class ChatInstrumentation:
    """Spans and metrics for chat calls, on the providers it is given."""

    def __init__(
        self,
        tracer_provider: TracerProvider,
        meter_provider: MeterProvider,
        capture: ContentCapture | None = None,
    ) -> None:
        self._tracer = tracer_provider.get_tracer(INSTRUMENTATION_NAME)
        meter = meter_provider.get_meter(INSTRUMENTATION_NAME)
        self.capture = capture or ContentCapture()
        self._tokens = instruments.histogram(meter, instruments.GENAI_TOKEN_USAGE)
        self._duration = instruments.histogram(meter, instruments.GENAI_OPERATION_DURATION)
        self._cost = instruments.counter(meter, instruments.LLM_COST)

    def complete(
        self, call: Callable[..., Any], context: Mapping[str, Any], /, **kwargs: Any
    ) -> Any:
        """``call(**kwargs)`` (a litellm completion) under a chat span."""
        with self._call(context, kwargs) as finish:
            response = call(**kwargs)
            finish(response)
            return response

    async def acomplete(
        self, call: Callable[..., Awaitable[Any]], context: Mapping[str, Any], /, **kwargs: Any
    ) -> Any:
        """``await call(**kwargs)`` (``litellm.acompletion``) under a chat span."""
        with self._call(context, kwargs) as finish:
            response = await call(**kwargs)
            finish(response)
            return response

    @contextlib.contextmanager
    def _call(
        self, context: Mapping[str, Any], kwargs: Mapping[str, Any]
    ) -> Iterator[Callable[[Any], None]]:
        model = str(kwargs.get("model") or "unknown")
        attributes = {**chat.request_attributes(model, kwargs), **context}
        messages: Sequence[Any] = kwargs.get("messages") or ()
        t0 = time.perf_counter()
        with self._tracer.start_as_current_span(
            chat.span_name(model),
            kind=SpanKind.CLIENT,
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            outcome: dict[str, Any] = {}

            def finish(response: Any) -> None:
                outcome["response"] = response

            try:
                yield finish
            except BaseException as exc:
                error = type(exc).__qualname__
                # The type only: provider errors can quote the request's credentials.
                span.set_status(Status(StatusCode.ERROR, error))
                span.set_attribute(error_attributes.ERROR_TYPE, error)
                attributes[error_attributes.ERROR_TYPE] = error
                self._content(span, messages, None)
                self._duration.record(time.perf_counter() - t0, _metric_attributes(attributes))
                raise
            response = outcome.get("response")
            attributes.update(self._response(span, response))
            self._content(span, messages, response)
            self._record(attributes, response, time.perf_counter() - t0)

    def _response(self, span: Span, response: Any) -> dict[str, Any]:
        found = chat.response_attributes(response)
        provider = chat.response_provider(response)
        if provider is not None:
            found[gen_ai.GEN_AI_PROVIDER_NAME] = chat.provider_name("", provider)
        span.set_attributes(found)
        return found

    def _content(self, span: Span, messages: Sequence[Any], response: Any) -> None:
        if self.capture.enabled:
            span.set_attributes(chat.content_attributes(messages, response, self.capture.max_chars))

    def _record(self, attributes: Mapping[str, Any], response: Any, duration_s: float) -> None:
        tags = _metric_attributes(attributes)
        self._duration.record(duration_s, tags)
        input_tokens, output_tokens = chat.usage(response)
        for token_type, count in (("input", input_tokens), ("output", output_tokens)):
            if count is not None:
                self._tokens.record(count, {**tags, gen_ai.GEN_AI_TOKEN_TYPE: token_type})
        cost = chat.response_cost(response)
        if cost is not None:
            self._cost.add(cost, tags)


def _metric_attributes(attributes: Mapping[str, Any]) -> dict[str, Any]:
    return {k: attributes[k] for k in _METRIC_KEYS if k in attributes}


# --- routing tau2's calls -----------------------------------------------------------------


@dataclass(frozen=True)
class ChatScope:
    """The instrumentation and the extra span attributes for calls made on this thread."""

    instrumentation: ChatInstrumentation
    attributes: Mapping[str, Any]


_SCOPE: ContextVar[ChatScope | None] = ContextVar("tau2observe_chat_scope", default=None)


@contextlib.contextmanager
def chat_scope(instrumentation: ChatInstrumentation, **attributes: Any) -> Iterator[None]:
    token = _SCOPE.set(ChatScope(instrumentation, attributes))
    try:
        yield
    finally:
        _SCOPE.reset(token)


def traced_completion(**kwargs: Any) -> Any:
    """A drop-in for ``litellm.completion``: traced inside a :func:`chat_scope`."""
    import litellm

    scope = _SCOPE.get()
    if scope is None:
        return litellm.completion(**kwargs)
    return scope.instrumentation.complete(litellm.completion, scope.attributes, **kwargs)
