"""OTLP from the OpenTelemetry SDK, through the real collector, to the (fake) Datadog intake.

What must arrive: our spans with their A2A and tau2 attributes at the trace intake, APM
stats computed from them at the stats intake, a delta counter as a Datadog count series
and a histogram as a distribution (sketch), and none of the credentials planted in the
traffic, anywhere.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.metrics import Counter, Histogram, MeterProvider
from opentelemetry.sdk.metrics.export import AggregationTemporality, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

from tests.collector.conftest import RunningCollector, start_collector
from tests.fakes.datadog_intake import IntakeRecord

# One collector run feeds every test here.
pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]

SERVICE = "tau2observe-collector-test"
CONVERSATION = "ctx-5f0c2a9e-collector-test"
# Credentials planted in the traffic; none may reach any payload.
BEARER_SECRET = "sk-live-9Qm2ZtY4dXw7Lr3PpV8nKc1B"
HEADER_SECRET = "hdr-0b7c6a1e55d34f2a9e8b"
COOKIE_SECRET = "session=cookie-4c1d9e7f0a2b"
API_KEY_SECRET = "apk-7e3f1b2c9d4a6e8f"
PLANTED = (BEARER_SECRET, HEADER_SECRET, COOKIE_SECRET, API_KEY_SECRET)
WAIT = 90.0  # the stats intake gets 10 s buckets once they close


def send_traffic(collector: RunningCollector) -> None:
    """One tau2 task trial with one A2A exchange, and evaluation metrics, over OTLP/gRPC."""
    resource = Resource.create({"service.name": SERVICE, "deployment.environment.name": "test"})
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(
        BatchSpanProcessor(OTLPSpanExporter(endpoint=collector.otlp_grpc, insecure=True))
    )
    tracer = tracer_provider.get_tracer("tests.collector")
    with (
        tracer.start_as_current_span(
            "tau2.task airline_3",
            attributes={
                "gen_ai.operation.name": "invoke_workflow",
                "gen_ai.conversation.id": CONVERSATION,
                "tau2.domain": "airline",
                "tau2.task.id": "airline_3",
                "tau2.reward": 1.0,
                "tau2.success": True,
            },
        ),
        tracer.start_as_current_span(
            "SendMessage",
            kind=SpanKind.SERVER,
            attributes={
                "a2a.method.name": "SendMessage",
                "rpc.method": "message/send",
                "rpc.system.name": "jsonrpc",
                "gen_ai.conversation.id": CONVERSATION,
                "http.request.header.authorization": f"Bearer {BEARER_SECRET}",
                "http.request.header.x-api-key": HEADER_SECRET,
                "http.request.header.cookie": COOKIE_SECRET,
                "tau2.agent.api_key": API_KEY_SECRET,
                "a2a.request.note": f"retried with Authorization: Bearer {BEARER_SECRET}",
            },
        ) as span,
    ):
        span.add_event("upstream.retry", {"detail": f"header was Bearer {BEARER_SECRET}"})
        span.set_status(Status(StatusCode.OK))
    tracer_provider.shutdown()

    reader = PeriodicExportingMetricReader(
        OTLPMetricExporter(
            endpoint=collector.otlp_grpc,
            insecure=True,
            preferred_temporality={
                Counter: AggregationTemporality.DELTA,
                Histogram: AggregationTemporality.DELTA,
            },
        ),
        export_interval_millis=3_600_000,  # exported once, on shutdown
    )
    meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
    meter = meter_provider.get_meter("tau2observe.evaluator")
    tags = {"tau2.domain": "airline", "tau2.task.id": "airline_3", "gen_ai.agent.name": "oracle"}
    meter.create_counter("tau2.task.trials", unit="{trial}").add(
        1, {**tags, "tau2.success": "true", "tau2.termination_reason": "agent_stop"}
    )
    reward = meter.create_histogram("tau2.task.reward", unit="1")
    reward.record(1.0, tags)
    reward.record(0.5, tags)
    meter_provider.shutdown()


def _arrived(record: IntakeRecord) -> bool:
    return (
        any(s.get("meta", {}).get("a2a.method.name") for s in record.spans())
        and any(g.get("Service") == SERVICE for g in record.stats_groups())
        and any(s.get("metric") == "tau2.task.trials" for s in record.series())
        and any(s.get("metric") == "tau2.task.reward" for s in record.sketches())
    )


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def delivered(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningCollector]:
    # detailed: the console exporter prints every attribute, so the log shows what the
    # processors let through.
    async with start_collector(
        tmp_path_factory.mktemp("collector"), {"COLLECTOR_DEBUG_VERBOSITY": "detailed"}
    ) as collector:
        send_traffic(collector)
        arrived = await collector.intake.wait_for(_arrived, WAIT)
        record = collector.intake.record
        assert arrived, (
            f"not everything reached the intake; paths seen: "
            f"{sorted({r.path for r in record.accepted})}, rejected: {record.rejected}\n"
            f"{collector.log_text()[-3000:]}"
        )
        yield collector


def _our_spans(record: IntakeRecord) -> list[dict[str, object]]:
    return [s for s in record.spans() if s.get("service") == SERVICE]


async def test_spans_reach_the_trace_intake_with_their_attributes(
    delivered: RunningCollector,
) -> None:
    spans = _our_spans(delivered.intake.record)
    metas = [s.get("meta", {}) for s in spans]
    exchange = next(m for m in metas if isinstance(m, dict) and m.get("a2a.method.name"))
    assert exchange["a2a.method.name"] == "SendMessage"
    assert exchange["rpc.method"] == "message/send"
    assert exchange["gen_ai.conversation.id"] == CONVERSATION
    root = next(s for s in spans if s.get("parentID", "0") in ("0", 0, None))
    assert root.get("meta", {})["gen_ai.conversation.id"] == CONVERSATION  # type: ignore[index]
    assert root.get("metrics", {})["tau2.reward"] == 1.0  # type: ignore[index]
    # The exchange is the task's child, in the same trace.
    child = next(s for s in spans if s is not root)
    assert child["traceID"] == root["traceID"]
    assert child["parentID"] == root["spanID"]


async def test_apm_stats_reach_the_stats_intake(delivered: RunningCollector) -> None:
    groups = [g for g in delivered.intake.record.stats_groups() if g.get("Service") == SERVICE]
    server = [g for g in groups if g.get("SpanKind") == "server"]
    assert server, groups
    assert sum(g["Hits"] for g in server) >= 1
    assert all(g["Errors"] == 0 for g in groups)


async def test_evaluation_metrics_become_a_count_and_a_distribution(
    delivered: RunningCollector,
) -> None:
    record = delivered.intake.record
    trials = [s for s in record.series() if s.get("metric") == "tau2.task.trials"]
    assert trials, [s.get("metric") for s in record.series()]
    assert trials[0].get("type") == 1  # count: delta sums arrive as counts
    assert sum(p.get("value", 0) for s in trials for p in s["points"]) == 1
    assert "tau2.domain:airline" in trials[0]["tags"]
    assert "tau2.termination_reason:agent_stop" in trials[0]["tags"]

    reward = [s for s in record.sketches() if s.get("metric") == "tau2.task.reward"]
    assert reward
    sketch = reward[0]["dogsketches"][0]
    assert int(sketch["cnt"]) == 2
    assert sketch["sum"] == pytest.approx(1.5)
    assert "tau2.task.id:airline_3" in reward[0]["tags"]


async def test_no_planted_credential_reaches_any_payload(delivered: RunningCollector) -> None:
    record = delivered.intake.record
    assert not record.rejected, record.rejected
    bodies = list(record.bodies())
    assert {path for path, _ in bodies} >= {"/api/v0.2/traces", "/api/v0.2/stats"}
    for path, body in bodies:
        for secret in PLANTED:
            assert secret.encode() not in body, f"{secret!r} reached {path}"
    # The credential headers are dropped; the redacted note stays, masked.
    for meta in (s.get("meta", {}) for s in _our_spans(record)):
        assert isinstance(meta, dict)
        assert not any(key.startswith("http.request.header.") for key in meta)
        if "a2a.request.note" in meta:
            assert "Bearer" not in meta["a2a.request.note"] or "****" in meta["a2a.request.note"]
    # Nor does the collector's own console output carry them.
    log = delivered.log_text()
    assert not [secret for secret in PLANTED if secret in log]
