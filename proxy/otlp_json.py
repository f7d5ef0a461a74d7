"""OTLP/JSON encoding of finished spans, straight from the SDK's ``ReadableSpan`` to text.

Going through the protobuf messages and ``MessageToDict`` costs about half a millisecond
per span in the exporter thread, which holds the GIL the request path needs; building a
JSON mapping and dumping it costs about 45 us a span; writing the text directly about 20.
The tests hold it to the SDK's own protobuf encoder. The output follows the OTLP/JSON rules:
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


def span_text(span: ReadableSpan) -> str:
    """One span's OTLP/JSON text (compact), as it appears inside a request."""
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
    """An attribute value as an OTLP ``AnyValue``, compact JSON text."""
    if isinstance(value, str):  # the common case first
        return f'{{"stringValue":{_str(value)}}}'
    if isinstance(value, bool):
        return '{"boolValue":true}' if value else '{"boolValue":false}'
    if isinstance(value, int):
        return f'{{"intValue":"{value}"}}'
    if isinstance(value, float):
        return f'{{"doubleValue":{_float(value)}}}'
    if isinstance(value, bytes):
        return f'{{"bytesValue":"{base64.b64encode(value).decode()}"}}'
    if isinstance(value, Mapping):
        return f'{{"kvlistValue":{{"values":{_key_values_text(value)}}}}}'
    if not isinstance(value, Sequence):
        return f'{{"stringValue":{_str(str(value))}}}'
    items = ",".join(_any_value_text(v) for v in value)
    return f'{{"arrayValue":{{"values":[{items}]}}}}'


def _float(value: float) -> str:
    """A double as the protobuf JSON mapping writes it: the three special values quoted."""
    if value != value:
        return '"NaN"'
    if value in (float("inf"), float("-inf")):
        return '"Infinity"' if value > 0 else '"-Infinity"'
    return float.__repr__(value)


def request_text(spans: Sequence[ReadableSpan], text_of: Callable[[ReadableSpan], str]) -> str:
    """The ``ExportTraceServiceRequest`` text for ``spans``, grouped by resource and scope,
    from each span's own text: the per-span work can be done earlier, elsewhere
    (``text_of`` returns it, or computes it). No single call
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
        attributes = _key_values_text(resource.attributes)
        resource_texts.append(
            '{"resource":{"attributes":'
            + attributes
            + '},"scopeSpans":['
            + ",".join(scope_texts)
            + "]}"
        )
    return '{"resourceSpans":[' + ",".join(resource_texts) + "]}"
