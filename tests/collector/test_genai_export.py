"""GenAI spans and metrics, as the evaluator makes them, through the real collector to the
(fake) Datadog intake: what Datadog's LLM Observability needs to turn them into its spans.

Datadog converts an OTel span into an LLM Observability span when the trace has a span
with ``gen_ai.operation.name`` (``chat`` makes an llm span, ``invoke_agent`` an agent
span, anything else a workflow span), reads the provider, models and token usage from the
``gen_ai.*`` attributes, and honours ``dd_llmobs_enabled``. The collector's processors
(credential redaction, size limits) must let all of that through, and must not mask the
``gen_ai.token.type`` dimension of the token metric.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from evaluator.datadog.llmobs.ingestion import resource_attributes
from evaluator.genai.evaluation import EVENT_EVALUATION_RESULT, record_trial_evaluations
from evaluator.genai.instrument import ChatInstrumentation
from proxy.telemetry import DELTA_TEMPORALITY
from tests.collector.conftest import RunningCollector, start_collector
from tests.evaluator.genai.test_evaluation import trial
from tests.fakes.chat_completions import USER_MODEL, ChatCompletionsServer
from tests.fakes.datadog_intake import IntakeRecord

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]

SERVICE = "tau2observe-genai-test"
WAIT = 60.0


def send_traffic(collector: RunningCollector) -> None:
    """A trial span with one user-simulator chat call under it, and the client metrics."""
    import litellm

    resource = Resource.create({"service.name": SERVICE, **resource_attributes(False, {})})
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(
        BatchSpanProcessor(OTLPSpanExporter(endpoint=collector.otlp_grpc, insecure=True))
    )
    reader = PeriodicExportingMetricReader(
        OTLPMetricExporter(
            endpoint=collector.otlp_grpc, insecure=True, preferred_temporality=DELTA_TEMPORALITY
        ),
        export_interval_millis=3_600_000,  # exported once, on shutdown
    )
    meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
    chat = ChatInstrumentation(tracer_provider, meter_provider)
    tracer = tracer_provider.get_tracer("tests.collector")
    with (
        ChatCompletionsServer() as llm,
        tracer.start_as_current_span(
            "tau2.task create_task_1",
            attributes={
                "gen_ai.operation.name": "invoke_workflow",
                "gen_ai.workflow.name": "tau2 mock",
                "gen_ai.agent.name": "oracle",
            },
        ) as root,
    ):
        chat.complete(
            litellm.completion,
            {"gen_ai.agent.name": "oracle", "tau2.llm.role": "user_simulator"},
            model=f"openai/{USER_MODEL}",
            messages=[{"role": "user", "content": "Hello"}],
            **llm.litellm_args(),
        )
        record_trial_evaluations(root, trial())
    tracer_provider.shutdown()
    meter_provider.shutdown()


def _arrived(record: IntakeRecord) -> bool:
    names = {s.get("name") for s in record.spans()} | {s.get("resource") for s in record.spans()}
    return any("chat" in str(n) for n in names) and any(
        s.get("metric") == "gen_ai.client.token.usage" for s in record.sketches()
    )


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def delivered(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningCollector]:
    async with start_collector(tmp_path_factory.mktemp("collector")) as collector:
        send_traffic(collector)
        assert await collector.intake.wait_for(_arrived, WAIT), collector.log_text()[-3000:]
        yield collector


def span_with(record: IntakeRecord, operation: str) -> dict[str, Any]:
    found = [
        s for s in record.spans() if s.get("meta", {}).get("gen_ai.operation.name") == operation
    ]
    assert found, f"no span with gen_ai.operation.name={operation}"
    return found[0]


async def test_the_chat_span_keeps_what_llm_observability_reads(
    delivered: RunningCollector,
) -> None:
    span = span_with(delivered.intake.record, "chat")
    meta, metrics = span.get("meta", {}), span.get("metrics", {})
    assert span["service"] == SERVICE
    assert meta["gen_ai.provider.name"] == "openai"
    assert meta["gen_ai.request.model"] == USER_MODEL
    assert meta["gen_ai.response.model"] == USER_MODEL
    assert meta["dd_llmobs_enabled"] == "true"
    # Integer attributes become Datadog span metrics.
    assert metrics["gen_ai.usage.input_tokens"] > 0
    assert metrics["gen_ai.usage.output_tokens"] > 0


async def test_the_trial_span_keeps_its_workflow_attributes_and_evaluations(
    delivered: RunningCollector,
) -> None:
    span = span_with(delivered.intake.record, "invoke_workflow")
    chat = span_with(delivered.intake.record, "chat")
    assert chat["parentID"] == span["spanID"]
    assert span["meta"]["gen_ai.workflow.name"] == "tau2 mock"
    events = [e.get("name") for e in span.get("spanEvents", [])]
    if not events:  # exporters without native span events put them in meta as JSON
        events = [EVENT_EVALUATION_RESULT] * span["meta"].get("events", "").count(
            EVENT_EVALUATION_RESULT
        )
    assert events.count(EVENT_EVALUATION_RESULT) == 3


async def test_the_token_metric_keeps_its_token_type(delivered: RunningCollector) -> None:
    tags = [
        set(s.get("tags", []))
        for s in delivered.intake.record.sketches()
        if s.get("metric") == "gen_ai.client.token.usage"
    ]
    assert any("gen_ai.token.type:input" in t for t in tags), tags
    assert any("gen_ai.token.type:output" in t for t in tags), tags
