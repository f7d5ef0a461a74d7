"""A down OTLP endpoint: one warning, and the exporters skip it at once."""

from __future__ import annotations

import logging
import socket
from collections.abc import Sequence

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

from proxy.otlp_reach import (
    Reachability,
    ReachableSpanExporter,
    endpoint_address,
    signal_endpoint,
)
from proxy.telemetry import TelemetrySettings, build_telemetry


class Counting(SpanExporter):
    def __init__(self) -> None:
        self.batches = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.batches += 1
        return SpanExportResult.SUCCESS


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_endpoint_addresses_as_the_sdk_reads_them() -> None:
    assert endpoint_address(None, "grpc") == ("localhost", 4317)
    assert endpoint_address("http://collector:4318/", "http/protobuf") == ("collector", 4318)
    assert endpoint_address("collector", "http/protobuf") == ("collector", 4318)
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:1",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://b:2",
    }
    assert signal_endpoint(env, "traces") == "http://b:2"
    assert signal_endpoint(env, "metrics") == "http://a:1"


def test_a_refused_endpoint_is_skipped_with_one_warning_until_it_answers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    port = closed_port()
    inner = Counting()
    reach = Reachability("127.0.0.1", port, recheck_s=0.0)
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(ReachableSpanExporter(inner, reach)))
    tracer = provider.get_tracer("t")
    with caplog.at_level(logging.WARNING, logger="proxy.telemetry"):
        for _ in range(5):
            tracer.start_span("s").end()
        assert inner.batches == 0
        with socket.socket() as listener:  # the collector comes up
            listener.bind(("127.0.0.1", port))
            listener.listen()
            tracer.start_span("s").end()
            assert inner.batches == 1
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        f"OTLP endpoint 127.0.0.1:{port} is not reachable: telemetry sent there is dropped "
        "until it answers (checked every 0 s)",
        f"OTLP endpoint 127.0.0.1:{port} answers again",
    ]


def test_built_telemetry_with_a_dead_endpoint_warns_once_for_traces_and_metrics(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{closed_port()}")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
    settings = TelemetrySettings.from_env("test")
    assert settings.otlp_traces
    assert settings.otlp_metrics
    with caplog.at_level(logging.INFO):
        telemetry = build_telemetry(settings)
        tracer = telemetry.tracer_provider.get_tracer("t")
        counter = telemetry.meter_provider.get_meter("m").create_counter("c")
        for _ in range(3):
            tracer.start_span("s").end()
            counter.add(1)
        telemetry.shutdown()
    unreachable = [r for r in caplog.records if "is not reachable" in r.getMessage()]
    assert len(unreachable) == 1
    assert not [r for r in caplog.records if r.name.startswith("opentelemetry.exporter")]
