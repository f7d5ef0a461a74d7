"""The direct OTLP/JSON encoder says exactly what the SDK's protobuf encoder says."""

from __future__ import annotations

import base64
import json
import math
from typing import Any

import pytest
from google.protobuf.json_format import ParseDict
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans as protobuf_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, SpanKind, Status, StatusCode, set_span_in_context

from proxy.otlp_json import request_text, span_text


def _hex_to_base64(node: Any) -> None:
    """OTLP/JSON writes ids as hex; protobuf's JSON mapping expects base64."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("traceId", "spanId", "parentSpanId") and isinstance(value, str):
                node[key] = base64.b64encode(bytes.fromhex(value)).decode()
            else:
                _hex_to_base64(value)
    elif isinstance(node, list):
        for item in node:
            _hex_to_base64(item)


def _as_protobuf(text: str) -> ExportTraceServiceRequest:
    ours = json.loads(text)
    _hex_to_base64(ours)
    parsed: ExportTraceServiceRequest = ParseDict(ours, ExportTraceServiceRequest())
    return parsed


def test_same_message_as_the_protobuf_encoder() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "s", "n": 3}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("scope", "1.2")
    other = provider.get_tracer("other")
    root = tracer.start_span(
        "root",
        kind=SpanKind.SERVER,
        attributes={"s": "é", "i": -7, "f": 0.5, "b": True, "list": ["a", "b"], "ints": [1, 2]},
    )
    child = tracer.start_span(
        "child",
        context=set_span_in_context(root),
        kind=SpanKind.CLIENT,
        links=[Link(root.get_span_context(), {"why": "x"})],
    )
    child.add_event("a2a.stream.event", {"seq": 1, "kind": "task"}, timestamp=123)
    child.set_status(Status(StatusCode.ERROR, "boom"))
    child.end()
    root.end()
    lone = other.start_span("lone")
    lone.end()
    spans = exporter.get_finished_spans()

    assert _as_protobuf(request_text(spans, span_text)) == protobuf_spans(spans)


def test_a_request_groups_span_texts_by_resource_and_scope() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "s"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    for scope, version in (("a", "1"), ("b", None), ("a", "1")):
        span = provider.get_tracer(scope, version).start_span("x", attributes={"k": "é"})
        span.add_event("e", {"n": 1})
        span.end()
    spans = exporter.get_finished_spans()
    text = request_text(spans, span_text)
    assert _as_protobuf(text) == protobuf_spans(spans)
    [resource] = json.loads(text)["resourceSpans"]
    scopes = [(s["scope"], len(s["spans"])) for s in resource["scopeSpans"]]
    assert scopes == [({"name": "a", "version": "1"}, 2), ({"name": "b"}, 1)]


def test_span_texts_are_made_when_spans_end_not_in_the_exporter(tmp_path: Any) -> None:
    from proxy.telemetry import SpanTexts, TelemetrySettings, build_telemetry

    path = tmp_path / "spans.jsonl"
    telemetry = build_telemetry(
        TelemetrySettings(service_name="s", trace_file=path, span_schedule_delay_ms=60_000)
    )
    [texts] = [p for p in telemetry._span_processors if isinstance(p, SpanTexts)]
    span = telemetry.tracer_provider.get_tracer("t").start_span("x")
    span.end()
    assert len(texts) == 1  # encoded in this thread, as the span ended
    telemetry.shutdown()
    assert len(texts) == 0
    [line] = path.read_text().splitlines()
    assert json.loads(line)["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["name"] == "x"


def test_every_value_type_and_field_is_what_the_protobuf_encoder_says() -> None:
    """Escapes, non-ASCII, 64-bit integers, arrays, events and links over the limits, a
    remote parent with trace state, statuses: the SDK's protobuf encoder is the judge."""
    from opentelemetry.sdk.trace import SpanLimits
    from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, TraceState

    exporter = InMemorySpanExporter()
    provider = TracerProvider(
        resource=Resource.create({"service.name": "s"}),
        span_limits=SpanLimits(max_span_attributes=12, max_events=2),
    )
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("scope")
    remote = SpanContext(
        0xABC,
        0xDEF,
        is_remote=True,
        trace_flags=TraceFlags(1),
        trace_state=TraceState([("vendor", "v1")]),
    )
    span = tracer.start_span(
        'quote " back\\slash é \u2028 \x01',
        context=set_span_in_context(NonRecordingSpan(remote)),
        kind=SpanKind.CLIENT,
        links=[Link(remote, {"why": "x"}), Link(remote)],
        attributes={
            "s": 'a "b" \n é 😀',
            "empty": "",
            "i": -(2**63),
            "big": 2**63 - 1,
            "f": 0.1,
            "g": -2.5e-300,
            "h": 1e300,
            "j": 3,
            "t": True,
            "no": False,
            "strs": ["x", 'y"'],
            "ints": [1, -2],
            "floats": [1.5, -2.0],
            "bools": [True, False],
            "over the limit": "dropped",
        },
    )
    for n in range(4):
        span.add_event(f"e{n}", {"n": n, "s": "é"}, timestamp=100 + n)
    span.set_status(Status(StatusCode.ERROR, 'it broke: "why"'))
    span.end()
    plain = tracer.start_span("plain")
    plain.end()
    ok = tracer.start_span("ok")
    ok.set_status(Status(StatusCode.OK))
    ok.end()
    spans = exporter.get_finished_spans()
    assert spans[0].dropped_attributes
    assert spans[0].dropped_events
    assert spans[0].links
    assert spans[0].context is not None
    assert spans[0].context.trace_state.to_header() == "vendor=v1"
    assert _as_protobuf(request_text(spans, span_text)) == protobuf_spans(spans)


def test_special_doubles_are_quoted_as_the_protobuf_json_mapping_says() -> None:
    """Bare NaN is not JSON: a strict reader (the collector's) refuses the whole line."""
    from opentelemetry.proto.common.v1.common_pb2 import KeyValue

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    values = {"nan": float("nan"), "inf": float("inf"), "ninf": float("-inf"), "one": 1.5}
    provider.get_tracer("t").start_span("x", attributes=values).end()
    [span] = exporter.get_finished_spans()
    text = span_text(span)
    decoded = json.loads(text, parse_constant=lambda name: pytest.fail(f"bare {name}"))
    read = {a["key"]: ParseDict(a, KeyValue()).value.double_value for a in decoded["attributes"]}
    assert math.isnan(read["nan"])
    assert (read["inf"], read["ninf"], read["one"]) == (math.inf, -math.inf, 1.5)
