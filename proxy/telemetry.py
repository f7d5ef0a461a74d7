"""Telemetry pipelines: tracer and meter providers built from settings and ``OTEL_*``.

Shared by the sidecar and the evaluator. Only entry points call :func:`build_telemetry`;
library code receives the providers it needs (never a global).

Spans leave through a bounded :class:`BatchSpanProcessor` per destination, so nothing on
the request path waits for an exporter. When a queue is full the span is dropped and
counted by the SDK as ``otel.sdk.processor.span.processed{error.type=queue_full}``.

Destinations:
- OTLP (gRPC or HTTP/protobuf, ``OTEL_EXPORTER_OTLP_PROTOCOL``) when
  ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or the traces/metrics specific variable) is set;
- an OTLP JSON lines file (``trace_file``), one ``ExportTraceServiceRequest`` per line,
  as the collector's file exporter writes it.

For the file, each span is encoded to its JSON text when it ends, by :class:`SpanTexts`,
in the thread that ends it (in the sidecar, the event loop after the request): the
exporter thread then only joins texts. Encoding in the exporter thread made it hold the
interpreter lock the event loop needs for tens of milliseconds per batch.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from google.protobuf.json_format import MessageToDict
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.sdk.metrics import (
    Counter,
    Histogram,
    MeterProvider,
    ObservableCounter,
    ObservableUpDownCounter,
    UpDownCounter,
)
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    MetricExporter,
    MetricExportResult,
    MetricReader,
    MetricsData,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from proxy.otlp_json import request_text, span_text
from proxy.otlp_reach import (
    Reachability,
    ReachableMetricExporter,
    ReachableSpanExporter,
    quiet_exporter_logs,
    reachability_for,
)

log = logging.getLogger(__name__)

# Datadog (and most metric backends) want delta temporality for counters and histograms;
# the SDK's default is cumulative. OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE wins.
DELTA_TEMPORALITY: dict[type, AggregationTemporality] = {
    Counter: AggregationTemporality.DELTA,
    Histogram: AggregationTemporality.DELTA,
    ObservableCounter: AggregationTemporality.DELTA,
    UpDownCounter: AggregationTemporality.CUMULATIVE,
    ObservableUpDownCounter: AggregationTemporality.CUMULATIVE,
}

ENV_ENDPOINT = "OTEL_EXPORTER_OTLP_ENDPOINT"
ENV_TRACES_ENDPOINT = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
ENV_METRICS_ENDPOINT = "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"
ENV_PROTOCOL = "OTEL_EXPORTER_OTLP_PROTOCOL"
ENV_TEMPORALITY = "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE"
ENV_SERVICE_NAME = "OTEL_SERVICE_NAME"
ENV_RESOURCE_ATTRIBUTES = "OTEL_RESOURCE_ATTRIBUTES"
ENV_TRACES_EXPORTER = "OTEL_TRACES_EXPORTER"
ENV_SDK_DISABLED = "OTEL_SDK_DISABLED"
ENV_SDK_INTERNAL_METRICS = "OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED"

_OTLP_PROTOCOLS = ("grpc", "http/protobuf")


class TelemetryConfigError(ValueError):
    """An OTEL_* variable or telemetry option has a value we cannot use."""


@dataclass(frozen=True)
class TelemetrySettings:
    """What to export and where. ``from_env`` is the one place that reads ``OTEL_*``."""

    service_name: str
    trace_file: Path | None = None
    otlp_traces: bool = False
    otlp_metrics: bool = False
    otlp_protocol: str = "grpc"
    span_queue_size: int = 2048
    span_batch_size: int = 512
    span_schedule_delay_ms: int = 1000
    metric_interval_ms: int = 10_000
    extra_resource_attributes: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.otlp_protocol not in _OTLP_PROTOCOLS:
            raise TelemetryConfigError(
                f"{ENV_PROTOCOL}={self.otlp_protocol!r} is not supported; "
                f"use one of {', '.join(_OTLP_PROTOCOLS)}"
            )
        for name in ("span_queue_size", "span_batch_size", "metric_interval_ms"):
            if getattr(self, name) <= 0:
                raise TelemetryConfigError(f"{name} must be positive, got {getattr(self, name)}")

    @classmethod
    def from_env(
        cls,
        default_service_name: str,
        *,
        trace_file: Path | None = None,
        environ: Mapping[str, str] | None = None,
        **overrides: Any,
    ) -> TelemetrySettings:
        env = os.environ if environ is None else environ
        disabled = env.get(ENV_SDK_DISABLED, "").strip().lower() == "true"
        exporters = {
            e.strip() for e in env.get(ENV_TRACES_EXPORTER, "otlp").lower().split(",") if e.strip()
        }
        base = bool(env.get(ENV_ENDPOINT, "").strip())
        traces = (base or bool(env.get(ENV_TRACES_ENDPOINT, "").strip())) and "otlp" in exporters
        metrics = base or bool(env.get(ENV_METRICS_ENDPOINT, "").strip())
        protocol = env.get(ENV_PROTOCOL, "grpc").strip().lower() or "grpc"
        values: dict[str, Any] = {
            "service_name": _service_name(env, default_service_name),
            "trace_file": trace_file,
            "otlp_traces": traces and not disabled,
            "otlp_metrics": metrics and not disabled,
            "otlp_protocol": protocol,
        }
        values.update(overrides)
        return cls(**values)


def _service_name(env: Mapping[str, str], default: str) -> str:
    """OTEL_SERVICE_NAME, then service.name in OTEL_RESOURCE_ATTRIBUTES, then ours."""
    if name := env.get(ENV_SERVICE_NAME, "").strip():
        return name
    for item in env.get(ENV_RESOURCE_ATTRIBUTES, "").split(","):
        key, _, value = item.partition("=")
        if key.strip() == "service.name" and value.strip():
            return value.strip()
    return default


class Telemetry:
    """The providers an entry point hands to the code it runs; shutdown flushes, twice is fine."""

    def __init__(
        self,
        tracer_provider: TracerProvider,
        meter_provider: MeterProvider,
        description: Sequence[str],
        span_processors: Sequence[SpanProcessor] = (),
        owner: bool = True,
        *,
        records_metrics: bool = True,
    ) -> None:
        self.tracer_provider = tracer_provider
        self.meter_provider = meter_provider
        self.records_metrics = records_metrics  # a metric reader is attached
        self.description = tuple(description)
        self._span_processors = tuple(span_processors)
        self._owner = owner
        self._lock = threading.Lock()
        self._closed = False

    def sibling(self, service_name: str) -> Telemetry:
        """The same span pipelines under another ``service.name``, for a second component in
        this process (the evaluator's in-process sidecar). Metrics stay on the shared meter
        provider: a metric reader belongs to one provider. Only the owner shuts down."""
        resource = self.tracer_provider.resource.merge(Resource({"service.name": service_name}))
        provider = TracerProvider(resource=resource)
        for processor in self._span_processors:
            provider.add_span_processor(processor)
        return Telemetry(
            provider,
            self.meter_provider,
            self.description,
            self._span_processors,
            owner=False,
            records_metrics=self.records_metrics,
        )

    @property
    def records_spans(self) -> bool:
        """Whether any span processor receives spans (else nothing would see them)."""
        return bool(self._span_processors)

    def force_flush(self, timeout_millis: int = 10_000) -> None:
        self.tracer_provider.force_flush(timeout_millis)
        self.meter_provider.force_flush(timeout_millis)

    def shutdown(self) -> None:
        with self._lock:
            if self._closed or not self._owner:
                return
            self._closed = True
        # Spans first: the span processors' own metrics go through the meter provider.
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()


def build_telemetry(
    settings: TelemetrySettings,
    *,
    extra_span_exporters: Sequence[SpanExporter] = (),
    extra_metric_readers: Sequence[MetricReader] = (),
) -> Telemetry:
    """Build providers for ``settings``; extra exporters and readers are for tests and demos."""
    attributes: dict[str, str] = {"service.name": settings.service_name}
    attributes.update(settings.extra_resource_attributes)
    resource = Resource.create(attributes)

    # The SDK counts its own drops (otel.sdk.processor.span.processed{error.type=queue_full})
    # only when this variable is on, read as processors are made; an explicit value wins.
    os.environ.setdefault(ENV_SDK_INTERNAL_METRICS, "true")
    readers: list[MetricReader] = list(extra_metric_readers)
    described: list[str] = []
    probes: dict[tuple[str, int], Reachability] = {}

    def reach(signal: str) -> Reachability:
        probe = reachability_for(signal, settings.otlp_protocol)
        return probes.setdefault(probe.address, probe)

    if settings.otlp_traces or settings.otlp_metrics:
        quiet_exporter_logs()
    if settings.otlp_metrics:
        readers.append(
            PeriodicExportingMetricReader(
                ReachableMetricExporter(
                    _otlp_metric_exporter(settings.otlp_protocol), reach("metrics")
                ),
                export_interval_millis=settings.metric_interval_ms,
            )
        )
        described.append(f"metrics: OTLP/{settings.otlp_protocol}")
    meter_provider = MeterProvider(resource=resource, metric_readers=readers)

    tracer_provider = TracerProvider(resource=resource)
    exporters: list[tuple[str, SpanExporter]] = [("extra", e) for e in extra_span_exporters]
    if settings.otlp_traces:
        exporters.append(
            (
                f"OTLP/{settings.otlp_protocol}",
                ReachableSpanExporter(_otlp_span_exporter(settings), reach("traces")),
            )
        )
    processors: list[SpanProcessor] = []
    if settings.trace_file is not None:
        texts = SpanTexts()
        tracer_provider.add_span_processor(texts)  # first: it runs before the batch queue
        processors.append(texts)
        exporters.append(
            (f"file {settings.trace_file}", OtlpJsonFileSpanExporter(settings.trace_file, texts))
        )
    for label, exporter in exporters:
        processor = BatchSpanProcessor(
            exporter,
            max_queue_size=settings.span_queue_size,
            max_export_batch_size=min(settings.span_batch_size, settings.span_queue_size),
            schedule_delay_millis=settings.span_schedule_delay_ms,
            meter_provider=meter_provider,
        )
        tracer_provider.add_span_processor(processor)
        processors.append(processor)
        if label != "extra":
            described.append(f"traces: {label}")
    _quiet_queue_full_warnings()
    return Telemetry(
        tracer_provider, meter_provider, described, processors, records_metrics=bool(readers)
    )


def _otlp_span_exporter(settings: TelemetrySettings) -> SpanExporter:
    if settings.otlp_protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
        OTLPSpanExporter as HttpSpanExporter,
    )

    return HttpSpanExporter()


def _otlp_metric_exporter(protocol: str) -> MetricExporter:
    temporality = None if os.environ.get(ENV_TEMPORALITY) else DELTA_TEMPORALITY
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter

        return OTLPMetricExporter(preferred_temporality=temporality)
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
        OTLPMetricExporter as HttpMetricExporter,
    )

    return HttpMetricExporter(preferred_temporality=temporality)


class _EveryNth(logging.Filter):
    """Lets through the first record and then one in ``n``: a down backend must not flood logs."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self._n = n
        self._seen = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if "Queue full" not in record.getMessage():
            return True
        self._seen += 1
        return self._seen % self._n == 1


def _quiet_queue_full_warnings() -> None:
    logger = logging.getLogger("opentelemetry.sdk._shared_internal")
    if not any(isinstance(f, _EveryNth) for f in logger.filters):
        logger.addFilter(_EveryNth(1000))


def otlp_json(message: Any) -> dict[str, Any]:
    """A protobuf OTLP request as OTLP/JSON: ids as lowercase hex, not base64."""
    data: dict[str, Any] = MessageToDict(message, preserving_proto_field_name=False)
    _hex_ids(data)
    return data


_ID_KEYS = frozenset({"traceId", "spanId", "parentSpanId"})


def _hex_ids(node: Any) -> None:
    import base64

    if isinstance(node, dict):
        for key, value in node.items():
            if key in _ID_KEYS and isinstance(value, str):
                node[key] = base64.b64decode(value).hex()
            else:
                _hex_ids(value)
    elif isinstance(node, list):
        for item in node:
            _hex_ids(item)


class SpanTexts(SpanProcessor):
    """Each span's OTLP/JSON text, made when the span ends, kept until it is exported (or
    dropped: a span the batch queue refused is forgotten with it)."""

    def __init__(self) -> None:
        self._texts: weakref.WeakKeyDictionary[ReadableSpan, str] = weakref.WeakKeyDictionary()

    def __len__(self) -> int:
        return len(self._texts)

    def on_end(self, span: ReadableSpan) -> None:
        self._texts[span] = span_text(span)

    def text_of(self, span: ReadableSpan) -> str:
        text = self._texts.pop(span, None)
        return text if text is not None else span_text(span)

    def shutdown(self) -> None:
        self._texts.clear()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True


class OtlpJsonFileSpanExporter(SpanExporter):
    """Appends each batch as one OTLP/JSON ``ExportTraceServiceRequest`` line.

    Each line is one ``write`` on a descriptor opened with ``O_APPEND``, so several
    processes (``--workers``) can share one file without tearing each other's lines."""

    def __init__(self, path: Path, texts: SpanTexts | None = None) -> None:
        self._path = path
        self._text_of = texts.text_of if texts is not None else span_text
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd: int | None = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        line = (request_text(spans, self._text_of) + "\n").encode()
        with self._lock:
            if self._fd is None:
                return SpanExportResult.FAILURE
            view = memoryview(line)
            while view:
                view = view[os.write(self._fd, view) :]
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True


class OtlpJsonFileMetricExporter(MetricExporter):
    """Appends each collection as one OTLP/JSON ``ExportMetricsServiceRequest`` line."""

    def __init__(self, path: Path) -> None:
        super().__init__(preferred_temporality=DELTA_TEMPORALITY)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[str] | None = path.open("a", encoding="utf-8")
        self._lock = threading.Lock()

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> MetricExportResult:
        line = json.dumps(otlp_json(encode_metrics(metrics_data)), separators=(",", ":"))
        with self._lock:
            if self._file is None:
                return MetricExportResult.FAILURE
            self._file.write(line + "\n")
            self._file.flush()
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


def now_ns() -> int:
    return time.time_ns()
