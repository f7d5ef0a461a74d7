"""OTLP/JSON encoding of finished spans, straight from the SDK's ``ReadableSpan``.

Going through the protobuf messages and ``MessageToDict`` costs about half a millisecond
per span in the exporter thread, which holds the GIL the request path needs; building the
JSON mapping directly is several times cheaper. The output follows the OTLP/JSON rules:
ids as lowercase hex, 64-bit integers as decimal strings, enums as integers, lowerCamelCase
keys — what the collector's file exporter writes and its OTLP receiver reads.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping, Sequence
from json.encoder import encode_basestring_ascii as _str  # json.dumps' own escaping
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode

_KIND = {
    SpanKind.INTERNAL: 1,
    SpanKind.SERVER: 2,
    SpanKind.CLIENT: 3,
    SpanKind.PRODUCER: 4,
    SpanKind.CONSUMER: 5,
}
_STATUS = {StatusCode.UNSET: 0, StatusCode.OK: 1, StatusCode.ERROR: 2}


def any_value(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, str):
        return {"stringValue": value}
    if isinstance(value, bytes):
        return {"bytesValue": base64.b64encode(value).decode()}
    if isinstance(value, Mapping):
        return {"kvlistValue": {"values": key_values(value)}}
    if isinstance(value, Sequence):
        return {"arrayValue": {"values": [any_value(v) for v in value]}}
    return {"stringValue": str(value)}


def key_values(attributes: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    if not attributes:
        return []
    return [{"key": key, "value": any_value(value)} for key, value in attributes.items()]


def encode_span(span: ReadableSpan) -> dict[str, Any]:
    context = span.get_span_context()
    assert context is not None
    out: dict[str, Any] = {
        "traceId": format(context.trace_id, "032x"),
        "spanId": format(context.span_id, "016x"),
        "name": span.name,
        "kind": _KIND.get(span.kind, 0),
        "startTimeUnixNano": str(span.start_time or 0),
        "endTimeUnixNano": str(span.end_time or 0),
        "attributes": key_values(span.attributes),
        # As the SDK encoder: "has is_remote" (0x100), and is_remote (0x200) for remote parents.
        "flags": 0x100 | (0x200 if span.parent is not None and span.parent.is_remote else 0),
    }
    if span.parent is not None:
        out["parentSpanId"] = format(span.parent.span_id, "016x")
    if context.trace_state:
        out["traceState"] = context.trace_state.to_header()
    if span.events:
        out["events"] = [
            {
                "timeUnixNano": str(e.timestamp),
                "name": e.name,
                "attributes": key_values(e.attributes),
            }
            for e in span.events
        ]
    if span.links:
        out["links"] = [
            {
                "traceId": format(link.context.trace_id, "032x"),
                "spanId": format(link.context.span_id, "016x"),
                "attributes": key_values(link.attributes),
                "flags": 0x100 | (0x200 if link.context.is_remote else 0),
            }
            for link in span.links
        ]
    dropped = span.dropped_attributes
    if dropped:
        out["droppedAttributesCount"] = dropped
    if span.dropped_events:
        out["droppedEventsCount"] = span.dropped_events
    status: dict[str, Any] = {"code": _STATUS[span.status.status_code]}
    if span.status.description:
        status["message"] = span.status.description
    out["status"] = status
    return out


def encode_spans(spans: Sequence[ReadableSpan]) -> dict[str, Any]:
    """An ``ExportTraceServiceRequest`` in OTLP/JSON, grouped by resource and scope."""
    resources: dict[int, tuple[Any, dict[tuple[str, str | None], list[dict[str, Any]]]]] = {}
    for span in spans:
        resource_entry = resources.setdefault(id(span.resource), (span.resource, {}))
        source = span.instrumentation_scope
        key = (source.name, source.version) if source is not None else ("", None)
        resource_entry[1].setdefault(key, []).append(encode_span(span))
    resource_spans = []
    for resource, scopes in resources.values():
        scope_spans = []
        for (name, version), encoded in scopes.items():
            scope: dict[str, Any] = {"name": name}
            if version:
                scope["version"] = version
            scope_spans.append({"scope": scope, "spans": encoded})
        resource_spans.append(
            {"resource": {"attributes": key_values(resource.attributes)}, "scopeSpans": scope_spans}
        )
    return {"resourceSpans": resource_spans}


def span_text(span: ReadableSpan) -> str:
    """One span's OTLP/JSON text (compact), as it appears inside a request: exactly
    ``json.dumps(encode_span(span), separators=(",", ":"))``, written directly. Building
    the mapping first and encoding it costs about three times as much (a small dict per
    attribute, each walked again by the encoder), and this runs for every span."""
    context = span.get_span_context()
    assert context is not None
    parent = span.parent
    flags = 0x100 | (0x200 if parent is not None and parent.is_remote else 0)
    out = [
        f'{{"traceId":"{context.trace_id:032x}","spanId":"{context.span_id:016x}",'
        f'"name":{_str(span.name)},"kind":{_KIND.get(span.kind, 0)},'
        f'"startTimeUnixNano":"{span.start_time or 0}","endTimeUnixNano":"{span.end_time or 0}",'
        f'"attributes":{_key_values_text(span.attributes)},"flags":{flags}'
    ]
    if parent is not None:
        out.append(f',"parentSpanId":"{parent.span_id:016x}"')
    if context.trace_state:
        out.append(f',"traceState":{_str(context.trace_state.to_header())}')
    if span.events:
        events = ",".join(
            f'{{"timeUnixNano":"{e.timestamp}","name":{_str(e.name)},'
            f'"attributes":{_key_values_text(e.attributes)}}}'
            for e in span.events
        )
        out.append(f',"events":[{events}]')
    if span.links:
        links = ",".join(
            f'{{"traceId":"{link.context.trace_id:032x}","spanId":"{link.context.span_id:016x}",'
            f'"attributes":{_key_values_text(link.attributes)},'
            f'"flags":{0x100 | (0x200 if link.context.is_remote else 0)}}}'
            for link in span.links
        )
        out.append(f',"links":[{links}]')
    if span.dropped_attributes:
        out.append(f',"droppedAttributesCount":{span.dropped_attributes}')
    if span.dropped_events:
        out.append(f',"droppedEventsCount":{span.dropped_events}')
    status = span.status
    message = f',"message":{_str(status.description)}' if status.description else ""
    out.append(f',"status":{{"code":{_STATUS[status.status_code]}{message}}}}}')
    return "".join(out)


def _key_values_text(attributes: Mapping[str, Any] | None) -> str:
    if not attributes:
        return "[]"
    pairs = ",".join(
        f'{{"key":{_str(key)},"value":{_any_value_text(value)}}}'
        for key, value in attributes.items()
    )
    return f"[{pairs}]"


def _any_value_text(value: Any) -> str:
    """:func:`any_value`'s mapping as compact JSON text."""
    if isinstance(value, str):  # the common case first
        return f'{{"stringValue":{_str(value)}}}'
    if isinstance(value, bool):
        return '{"boolValue":true}' if value else '{"boolValue":false}'
    if isinstance(value, int):
        return f'{{"intValue":"{value}"}}'
    if isinstance(value, float):
        return f'{{"doubleValue":{_float(value)}}}'
    if isinstance(value, (bytes, Mapping)) or not isinstance(value, Sequence):
        return json.dumps(any_value(value), separators=(",", ":"))
    items = ",".join(_any_value_text(v) for v in value)
    return f'{{"arrayValue":{{"values":[{items}]}}}}'


def _float(value: float) -> str:
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    return float.__repr__(value)


def request_text(spans: Sequence[ReadableSpan], text_of: Callable[[ReadableSpan], str]) -> str:
    """The ``ExportTraceServiceRequest`` text for ``spans``, from each span's own text:
    the same text as ``json.dumps(encode_spans(spans))`` (compact), but the per-span work
    can be done earlier, elsewhere (``text_of`` returns it, or computes it). No single call
    here holds the interpreter lock for long: ``json.dumps`` of a whole 512-span batch is
    one C call of about 26 ms of CPU."""
    resources: dict[int, tuple[Any, dict[tuple[str, str | None], list[str]]]] = {}
    for span in spans:
        resource_entry = resources.setdefault(id(span.resource), (span.resource, {}))
        source = span.instrumentation_scope
        key = (source.name, source.version) if source is not None else ("", None)
        resource_entry[1].setdefault(key, []).append(text_of(span))
    resource_texts = []
    for resource, scopes in resources.values():
        scope_texts = []
        for (name, version), texts in scopes.items():
            scope: dict[str, Any] = {"name": name}
            if version:
                scope["version"] = version
            scope_json = json.dumps(scope, separators=(",", ":"))
            scope_texts.append('{"scope":' + scope_json + ',"spans":[' + ",".join(texts) + "]}")
        attributes = json.dumps(
            {"attributes": key_values(resource.attributes)}, separators=(",", ":")
        )
        resource_texts.append(
            '{"resource":' + attributes + ',"scopeSpans":[' + ",".join(scope_texts) + "]}"
        )
    return '{"resourceSpans":[' + ",".join(resource_texts) + "]}"
