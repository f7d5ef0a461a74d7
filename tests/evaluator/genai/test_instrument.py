"""Chat spans and GenAI client metrics around real litellm calls to a loopback server."""

from __future__ import annotations

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
from tests.evaluator.a2a_servers import free_port
from tests.fakes.chat_completions import AGENT_REPLY, USER_MODEL, ChatCompletionsServer

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


@pytest.fixture(scope="module")
def llm() -> Iterator[ChatCompletionsServer]:
    with ChatCompletionsServer() as server:
        yield server


def test_a_call_becomes_a_chat_client_span_with_usage(llm: ChatCompletionsServer) -> None:
    import litellm

    observed = pipeline()
    response = observed.instrumentation.complete(
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
    response = observed.instrumentation.complete(
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


async def test_async_calls_are_traced_with_content_when_capture_is_on(
    llm: ChatCompletionsServer,
) -> None:
    import litellm

    observed = pipeline(ContentCapture(enabled=True, max_chars=8))
    await observed.instrumentation.acomplete(
        litellm.acompletion, {}, model="openai/agent-model", messages=MESSAGES, **llm.litellm_args()
    )
    attributes = dict(observed.chat_span().attributes or {})
    assert json.loads(str(attributes["gen_ai.system_instructions"])) == [
        {"type": "text", "content": "Play a c…[truncated]"}
    ]
    (output,) = json.loads(str(attributes["gen_ai.output.messages"]))
    assert output["parts"][0]["content"] == AGENT_REPLY[:8] + "…[truncated]"


async def test_a_failed_call_is_an_error_span_and_is_raised_unchanged() -> None:
    import litellm

    observed = pipeline()
    # Async: litellm's sync failure path leaves an event loop of its own unclosed.
    with pytest.raises(litellm.exceptions.InternalServerError):
        await observed.instrumentation.acomplete(
            litellm.acompletion,
            {},
            model=f"openai/{USER_MODEL}",
            messages=MESSAGES,
            api_base=f"http://127.0.0.1:{free_port()}/v1",
            api_key="sk-test",
            max_retries=0,
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
    traced_completion(**kwargs, **llm.litellm_args())
    assert observed.spans.get_finished_spans() == ()
    with chat_scope(observed.instrumentation, **{"tau2.llm.role": "user_simulator"}):
        traced_completion(**kwargs, **llm.litellm_args())
    assert dict(observed.chat_span().attributes or {})["tau2.llm.role"] == "user_simulator"


def test_content_capture_reads_the_genai_switch() -> None:
    variable = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
    assert ContentCapture.from_env({variable: "true"}).enabled
    assert not ContentCapture.from_env({}).enabled
    with pytest.raises(ValueError, match="max_chars"):
        ContentCapture(max_chars=0)
