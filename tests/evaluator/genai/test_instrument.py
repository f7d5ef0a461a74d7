"""Chat spans and GenAI client metrics around real litellm calls to a loopback server."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from evaluator.genai.instrument import (
    ChatInstrumentation,
    ContentCapture,
    chat_scope,
    traced_completion,
)
from tests.fakes.chat_completions import (
    AGENT_MODEL,
    AGENT_REPLY,
    USER_MODEL,
    ChatCompletionsServer,
    ChatRequest,
)

MESSAGES = [
    {"role": "system", "content": "Play a customer."},
    {"role": "user", "content": "How can I help you today?"},
]


@dataclass
class Pipeline:
    instrumentation: ChatInstrumentation
    spans: InMemorySpanExporter
    metrics: InMemoryMetricReader

    def points(self, name: str) -> list[Any]:
        data = self.metrics.get_metrics_data()
        assert data is not None
        return [
            point
            for rm in data.resource_metrics
            for sm in rm.scope_metrics
            for metric in sm.metrics
            if metric.name == name
            for point in metric.data.data_points
        ]

    def chat_span(self) -> ReadableSpan:
        (span,) = self.spans.get_finished_spans()
        return span


def pipeline(capture: ContentCapture | None = None) -> Pipeline:
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    metrics = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[metrics])
    return Pipeline(ChatInstrumentation(tracer_provider, meter_provider, capture), spans, metrics)


def off_the_main_thread(function: Any, /, *args: Any, **kwargs: Any) -> Any:
    """Run a sync litellm call on a worker thread, as tau2's trials do. On the main thread,
    litellm 1.106's service logger opens an event loop there (``get_event_loop``) that a
    later ``asyncio.run`` orphans unclosed, which pytest reports."""
    context = contextvars.copy_context()
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(context.run, function, *args, **kwargs).result()


def awaitable_call(llm: ChatCompletionsServer) -> Any:
    """An async provider call answering as the loopback server would, without litellm on a
    running loop: litellm 1.106 leaves an event loop unclosed after any call made while
    one runs, which pytest reports. (The llm agent's end-to-end test runs the real
    ``litellm.acompletion`` in its own process.)"""
    import litellm

    async def call(**kwargs: Any) -> Any:
        request = ChatRequest(kwargs["model"].split("/", 1)[1], list(kwargs["messages"]), {})
        return litellm.ModelResponse(**llm.answer(request))

    return call


@pytest.fixture(scope="module")
def llm() -> Iterator[ChatCompletionsServer]:
    with ChatCompletionsServer() as server:
        yield server


def test_a_call_becomes_a_chat_client_span_with_usage(llm: ChatCompletionsServer) -> None:
    import litellm

    observed = pipeline()
    response = off_the_main_thread(
        observed.instrumentation.complete,
        litellm.completion,
        {"gen_ai.agent.name": "agent-x"},
        model=f"openai/{USER_MODEL}",
        messages=MESSAGES,
        temperature=0.0,
        **llm.litellm_args(),
    )
    span = observed.chat_span()
    attributes = dict(span.attributes or {})
    assert span.name == f"chat {USER_MODEL}"
    assert span.kind is SpanKind.CLIENT
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.provider.name"] == "openai"
    assert attributes["gen_ai.request.model"] == USER_MODEL
    assert attributes["gen_ai.response.model"] == USER_MODEL
    assert attributes["gen_ai.response.id"] == response.id
    assert attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert attributes["gen_ai.usage.input_tokens"] == response.usage.prompt_tokens
    assert attributes["gen_ai.usage.output_tokens"] == response.usage.completion_tokens
    assert attributes["gen_ai.agent.name"] == "agent-x"
    # Content is opt-in: nothing of the conversation, and never the key.
    assert "gen_ai.input.messages" not in attributes
    assert "sk-local" not in json.dumps({k: str(v) for k, v in attributes.items()})


def test_the_client_metrics_count_tokens_by_type_and_time_the_call(
    llm: ChatCompletionsServer,
) -> None:
    import litellm

    observed = pipeline()
    response = off_the_main_thread(
        observed.instrumentation.complete,
        litellm.completion,
        {},
        model=f"openai/{USER_MODEL}",
        messages=MESSAGES,
        **llm.litellm_args(),
    )
    tokens = {
        dict(p.attributes)["gen_ai.token.type"]: p.sum
        for p in observed.points("gen_ai.client.token.usage")
    }
    assert tokens == {
        "input": response.usage.prompt_tokens,
        "output": response.usage.completion_tokens,
    }
    (duration,) = observed.points("gen_ai.client.operation.duration")
    assert duration.count == 1
    assert dict(duration.attributes) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": USER_MODEL,
        "gen_ai.response.model": USER_MODEL,
    }
    # gpt-4o-mini is in litellm's price map: the call has a cost.
    (cost,) = observed.points("tau2.llm.cost")
    assert cost.value > 0


def test_async_calls_are_traced_with_content_when_capture_is_on(
    llm: ChatCompletionsServer,
) -> None:
    observed = pipeline(ContentCapture(enabled=True, max_chars=8))
    call = observed.instrumentation.acomplete(
        awaitable_call(llm),
        {},
        model=f"openai/{AGENT_MODEL}",
        messages=MESSAGES,
        **llm.litellm_args(),
    )
    asyncio.run(call)
    attributes = dict(observed.chat_span().attributes or {})
    assert json.loads(str(attributes["gen_ai.system_instructions"])) == [
        {"type": "text", "content": "Play a c…[truncated]"}
    ]
    (output,) = json.loads(str(attributes["gen_ai.output.messages"]))
    assert output["parts"][0]["content"] == AGENT_REPLY[:8] + "…[truncated]"


async def test_a_failed_call_is_an_error_span_and_is_raised_unchanged() -> None:
    import litellm

    async def unreachable(**kwargs: Any) -> Any:
        raise litellm.exceptions.InternalServerError(
            "Connection error.", llm_provider="openai", model=kwargs["model"]
        )

    observed = pipeline()
    with pytest.raises(litellm.exceptions.InternalServerError):
        await observed.instrumentation.acomplete(
            unreachable, {}, model=f"openai/{USER_MODEL}", messages=MESSAGES
        )
    span = observed.chat_span()
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "InternalServerError"
    assert dict(span.attributes or {})["error.type"] == "InternalServerError"
    (duration,) = observed.points("gen_ai.client.operation.duration")
    assert dict(duration.attributes)["error.type"] == "InternalServerError"
    assert observed.points("gen_ai.client.token.usage") == []


def test_traced_completion_traces_only_inside_a_scope(llm: ChatCompletionsServer) -> None:
    observed = pipeline()
    kwargs: dict[str, Any] = {"model": f"openai/{USER_MODEL}", "messages": MESSAGES}
    off_the_main_thread(traced_completion, **kwargs, **llm.litellm_args())
    assert observed.spans.get_finished_spans() == ()
    with chat_scope(observed.instrumentation, **{"tau2.llm.role": "user_simulator"}):
        off_the_main_thread(traced_completion, **kwargs, **llm.litellm_args())
    assert dict(observed.chat_span().attributes or {})["tau2.llm.role"] == "user_simulator"


def test_content_capture_reads_the_genai_switch() -> None:
    variable = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
    assert ContentCapture.from_env({variable: "true"}).enabled
    assert not ContentCapture.from_env({}).enabled
    with pytest.raises(ValueError, match="max_chars"):
        ContentCapture(max_chars=0)
