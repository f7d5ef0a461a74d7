"""The direct OTLP/JSON encoder says exactly what the SDK's protobuf encoder says."""

from __future__ import annotations

import base64
import json
from typing import Any

from google.protobuf.json_format import ParseDict
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans as protobuf_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, SpanKind, Status, StatusCode, set_span_in_context

from proxy.otlp_json import encode_spans


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

    ours = json.loads(json.dumps(encode_spans(spans)))
    _hex_to_base64(ours)
    parsed = ParseDict(ours, ExportTraceServiceRequest())
    assert parsed == protobuf_spans(spans)


def test_dumping_in_pieces_writes_the_same_text() -> None:
    from proxy.otlp_json import dumps_in_pieces

    value = {
        "resourceSpans": [
            {"resource": {"attributes": []}, "scopeSpans": [{"scope": {"name": "s"}, "spans": [
                {"name": "é\n\"", "attributes": [{"key": "k", "value": {"intValue": "1"}}]},
                {"name": "b", "flags": 256, "x": [1.5, True, None]},
            ]}]},
        ]
    }  # fmt: skip
    assert dumps_in_pieces(value) == json.dumps(value, separators=(",", ":"))
    assert dumps_in_pieces([]) == "[]"
    assert dumps_in_pieces({}) == "{}"
