"""Export: OTLP over gRPC and HTTP to real receivers, OTLP JSON lines, a dead backend."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import aiohttp
import grpc
import pytest
from aiohttp import web
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from proxy.server import start_proxy
from proxy.settings import ProxySettings, Route
from proxy.telemetry import TelemetryConfigError, TelemetrySettings, build_telemetry
from tests.proxy.conftest import RawUpstream, metric_points
from tests.proxy.peers import free_port, serve_aiohttp


class TraceReceiver(trace_service_pb2_grpc.TraceServiceServicer):
    """The OTLP trace service as opentelemetry-proto defines it; keeps what it receives."""

    def __init__(self) -> None:
        self.requests: list[trace_service_pb2.ExportTraceServiceRequest] = []
        self.lock = threading.Lock()

    def Export(
        self, request: trace_service_pb2.ExportTraceServiceRequest, context: Any
    ) -> trace_service_pb2.ExportTraceServiceResponse:
        with self.lock:
            self.requests.append(request)
        return trace_service_pb2.ExportTraceServiceResponse()

    def span_names(self) -> list[str]:
        with self.lock:
            return [
                span.name
                for request in self.requests
                for rs in request.resource_spans
                for ss in rs.scope_spans
                for span in ss.spans
            ]


@pytest.fixture
def grpc_receiver() -> Iterator[tuple[TraceReceiver, int]]:
    receiver = TraceReceiver()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(receiver, server)  # type: ignore[no-untyped-call]
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield receiver, port
    server.stop(grace=None)


@pytest.fixture
async def http_receiver() -> AsyncIterator[
    tuple[list[trace_service_pb2.ExportTraceServiceRequest], str]
]:
    received: list[trace_service_pb2.ExportTraceServiceRequest] = []

    async def traces(request: web.Request) -> web.Response:
        assert request.content_type == "application/x-protobuf"
        message = trace_service_pb2.ExportTraceServiceRequest()
        message.ParseFromString(await request.read())
        received.append(message)
        return web.Response(
            body=trace_service_pb2.ExportTraceServiceResponse().SerializeToString(),
            content_type="application/x-protobuf",
        )

    app = web.Application()
    app.router.add_post("/v1/traces", traces)
    async with serve_aiohttp(app) as url:
        yield received, url


async def _traffic(raw: RawUpstream, telemetry: Any, count: int = 3) -> None:
    settings = ProxySettings(routes=(Route(name="raw", prefix="/", upstream=raw.url),))
    proxy = await start_proxy(settings, telemetry)
    async with aiohttp.ClientSession() as http:
        for i in range(count):
            body = {"jsonrpc": "2.0", "id": i, "method": "SendMessage", "params": {}}
            response = await http.post(proxy.base_url + "/mirror", json=body)
            assert response.status == 200
            await response.read()
    await proxy.stop()


async def test_otlp_grpc_export(
    raw: RawUpstream, grpc_receiver: tuple[TraceReceiver, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver, port = grpc_receiver
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_INSECURE", "true")
    settings = TelemetrySettings.from_env("proxy-under-test")
    assert settings.otlp_traces
    assert settings.otlp_protocol == "grpc"
    telemetry = build_telemetry(settings)
    await _traffic(raw, telemetry)
    telemetry.shutdown()
    telemetry.shutdown()  # twice is fine
    assert receiver.span_names().count("SendMessage") == 6  # server + client span per exchange
    resource = receiver.requests[0].resource_spans[0].resource
    assert {a.key: a.value.string_value for a in resource.attributes}[
        "service.name"
    ] == "proxy-under-test"


async def test_otlp_http_export(
    raw: RawUpstream,
    http_receiver: tuple[list[trace_service_pb2.ExportTraceServiceRequest], str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    received, url = http_receiver
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", url)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "named-by-env")
    telemetry = build_telemetry(TelemetrySettings.from_env("default-name"))
    await _traffic(raw, telemetry)
    # The exporter posts from its own thread with a blocking client; let it finish off-loop.
    await asyncio.to_thread(telemetry.shutdown)
    names = [
        s.name
        for r in received
        for rs in r.resource_spans
        for ss in rs.scope_spans
        for s in ss.spans
    ]
    assert names.count("SendMessage") == 6
    attrs = {a.key: a.value.string_value for a in received[0].resource_spans[0].resource.attributes}
    assert attrs["service.name"] == "named-by-env"


async def test_trace_file_is_otlp_json_lines(raw: RawUpstream, tmp_path: Path) -> None:
    path = tmp_path / "spans.jsonl"
    telemetry = build_telemetry(TelemetrySettings(service_name="file-test", trace_file=path))
    await _traffic(raw, telemetry)
    telemetry.shutdown()
    lines = path.read_text().splitlines()
    assert lines
    spans = []
    for line in lines:
        request = json.loads(line)
        for rs in request["resourceSpans"]:
            for ss in rs["scopeSpans"]:
                spans.extend(ss["spans"])
    server = next(s for s in spans if s["kind"] == 2)  # enums are integers in OTLP/JSON
    # OTLP/JSON: ids are lowercase hex (not base64), times are decimal strings.
    assert len(server["traceId"]) == 32
    assert int(server["traceId"], 16)
    assert len(server["spanId"]) == 16
    assert server["startTimeUnixNano"].isdigit()
    keys = {a["key"] for a in server["attributes"]}
    assert {"a2a.method.name", "rpc.method", "http.response.status_code"} <= keys


async def test_dead_backend_does_not_touch_traffic_and_drops_are_counted(
    raw: RawUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "1")
    reader = InMemoryMetricReader()
    telemetry = build_telemetry(
        TelemetrySettings.from_env("dead-backend", span_queue_size=4, span_batch_size=4),
        extra_metric_readers=[reader],
    )
    await _traffic(raw, telemetry, count=40)  # every request asserted 200 inside
    dropped = sum(
        point.value
        for point in metric_points(reader, "otel.sdk.processor.span.processed")
        if point.attributes.get("error.type") == "queue_full"
    )
    assert dropped > 0
    await asyncio.to_thread(telemetry.shutdown)


def test_bad_protocol_names_the_variable() -> None:
    with pytest.raises(TelemetryConfigError, match="OTEL_EXPORTER_OTLP_PROTOCOL='carrier-pigeon'"):
        TelemetrySettings.from_env(
            "x",
            environ={
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://h",
                "OTEL_EXPORTER_OTLP_PROTOCOL": "carrier-pigeon",
            },
        )


def test_no_endpoint_no_otlp_and_sdk_disabled_wins() -> None:
    assert not TelemetrySettings.from_env("x", environ={}).otlp_traces
    off = TelemetrySettings.from_env(
        "x", environ={"OTEL_EXPORTER_OTLP_ENDPOINT": "http://h", "OTEL_SDK_DISABLED": "true"}
    )
    assert not off.otlp_traces
    assert not off.otlp_metrics
    only = TelemetrySettings.from_env(
        "x", environ={"OTEL_EXPORTER_OTLP_ENDPOINT": "http://h", "OTEL_TRACES_EXPORTER": "none"}
    )
    assert not only.otlp_traces
    assert only.otlp_metrics


def test_sibling_shares_pipelines_under_its_own_service_name() -> None:
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    owner = build_telemetry(
        TelemetrySettings(service_name="evaluator"), extra_span_exporters=[exporter]
    )
    sidecar = owner.sibling("tau2observe-proxy")
    owner.tracer_provider.get_tracer("t").start_span("from-evaluator").end()
    sidecar.tracer_provider.get_tracer("t").start_span("from-sidecar").end()
    sidecar.shutdown()  # not the owner: nothing is closed
    owner.shutdown()  # flushes both
    services = {
        s.name: s.resource.attributes["service.name"] for s in exporter.get_finished_spans()
    }
    assert services == {"from-evaluator": "evaluator", "from-sidecar": "tau2observe-proxy"}
    assert sidecar.meter_provider is owner.meter_provider
