"""Spans from OTLP JSON lines files, and the join from an evaluator turn to the sidecar's span.

Each line is one ``ExportTraceServiceRequest`` in OTLP/JSON (what ``--trace-file`` and the
collector's file exporter write): ``resourceSpans[].scopeSpans[].spans[]`` with hex ids,
integer kinds (2 = SERVER, 3 = CLIENT) and attributes as key/value lists.

A turn record carries the span id of the evaluator's ``invoke_agent`` span; the sidecar's
SERVER span for that exchange is a descendant of it in the same trace (through the HTTP
client span). :class:`TraceIndex` finds it by walking up from each sidecar span.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from proxy import semconv

KIND_SERVER = 2
KIND_CLIENT = 3
STATUS_ERROR = 2

# Attribute keys the report reads: the sidecar's own names, not retyped.
A2A_METHOD = semconv.A2A_METHOD_NAME
AGENT_NAME = semconv.GEN_AI_AGENT_NAME
OUTCOME = semconv.PROXY_OUTCOME
HTTP_STATUS = semconv.HTTP_RESPONSE_STATUS_CODE
ERROR_TYPE = semconv.ERROR_TYPE
STREAMING = semconv.PROXY_STREAMING
TTFE_MS = semconv.PROXY_TTFE_MS
TOOL_NAME = semconv.GEN_AI_TOOL_NAME
TOOL_VALID = semconv.PROXY_TOOL_VALID
TOOL_PROBLEM = semconv.PROXY_TOOL_PROBLEM
TOOL_COUNT = semconv.PROXY_TOOL_CALLS


class TraceFileError(ValueError):
    """A trace file that cannot be read; the message names the file and the line."""


@dataclass(frozen=True)
class Span:
    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    kind: int
    scope: str
    start_ns: int
    end_ns: int
    status_code: int = 0
    status_message: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)

    @property
    def duration_s(self) -> float:
        return max(0, self.end_ns - self.start_ns) / 1e9

    @property
    def is_proxy_server(self) -> bool:
        """A sidecar SERVER span: one A2A exchange as the sidecar saw it."""
        return self.kind == KIND_SERVER and A2A_METHOD in self.attributes

    @property
    def method(self) -> str:
        return str(self.attributes.get(A2A_METHOD, self.name))

    @property
    def agent(self) -> str | None:
        value = self.attributes.get(AGENT_NAME)
        return str(value) if value is not None else None

    @property
    def failed(self) -> bool:
        return self.status_code == STATUS_ERROR or ERROR_TYPE in self.attributes

    @property
    def tool_valid(self) -> bool | None:
        value = self.attributes.get(TOOL_VALID)
        return value if isinstance(value, bool) else None


def any_value(value: Mapping[str, Any]) -> Any:
    """An OTLP/JSON ``AnyValue`` as a Python value (64-bit integers arrive as strings)."""
    if "stringValue" in value:
        return value["stringValue"]
    if "boolValue" in value:
        return bool(value["boolValue"])
    if "intValue" in value:
        return int(value["intValue"])
    if "doubleValue" in value:
        return float(value["doubleValue"])
    if "arrayValue" in value:
        return [any_value(v) for v in value["arrayValue"].get("values", [])]
    if "kvlistValue" in value:
        return attributes_of(value["kvlistValue"].get("values", []))
    return None


def attributes_of(items: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    return {str(item["key"]): any_value(item.get("value", {})) for item in items}


def span_from_json(data: Mapping[str, Any], scope: str) -> Span:
    status = data.get("status") or {}
    parent = data.get("parentSpanId") or None
    return Span(
        trace_id=str(data["traceId"]).lower(),
        span_id=str(data["spanId"]).lower(),
        parent_id=str(parent).lower() if parent else None,
        name=str(data.get("name", "")),
        kind=int(data.get("kind", 0)),
        scope=scope,
        start_ns=int(data.get("startTimeUnixNano", 0)),
        end_ns=int(data.get("endTimeUnixNano", 0)),
        status_code=int(status.get("code", 0)),
        status_message=status.get("message"),
        attributes=attributes_of(data.get("attributes", [])),
    )


def spans_of_request(request: Mapping[str, Any]) -> list[Span]:
    spans: list[Span] = []
    for resource in request.get("resourceSpans", []):
        for scope_spans in resource.get("scopeSpans", []):
            scope = str((scope_spans.get("scope") or {}).get("name", ""))
            spans.extend(span_from_json(s, scope) for s in scope_spans.get("spans", []))
    return spans


def read_spans(paths: Sequence[Path]) -> list[Span]:
    """Every span of every line of ``paths``; a bad line raises naming file and line."""
    spans: list[Span] = []
    for path in paths:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise TraceFileError(f"{path}: cannot read: {exc.strerror or exc}") from exc
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                request = json.loads(line)
                if not isinstance(request, dict):
                    raise TypeError("not a JSON object")
                spans.extend(spans_of_request(request))
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                raise TraceFileError(
                    f"{path}:{number}: not an OTLP/JSON trace request: {exc}"
                ) from exc
    return spans


class TraceIndex:
    """Spans by trace, with the sidecar's SERVER span of each evaluator turn."""

    def __init__(self, spans: Iterable[Span]) -> None:
        self.spans: list[Span] = []
        seen: set[tuple[str, str]] = set()
        for span in spans:  # a file read twice, or two files with the same batch
            if (span.trace_id, span.span_id) not in seen:
                seen.add((span.trace_id, span.span_id))
                self.spans.append(span)
        self._by_id = {(s.trace_id, s.span_id): s for s in self.spans}
        self._turn_server: dict[tuple[str, str], Span] = {}
        for span in sorted(self.proxy_spans(), key=lambda s: s.start_ns):
            for ancestor in self._ancestors(span):
                key = (span.trace_id, ancestor)
                self._turn_server.setdefault(key, span)

    def _ancestors(self, span: Span) -> Iterable[str]:
        parent, hops = span.parent_id, 0
        while parent is not None and hops < 64:
            yield parent
            node = self._by_id.get((span.trace_id, parent))
            parent, hops = (node.parent_id if node else None), hops + 1

    def proxy_spans(self) -> list[Span]:
        return [s for s in self.spans if s.is_proxy_server]

    def server_span_for_turn(self, trace_id: str | None, turn_span_id: str | None) -> Span | None:
        """The first sidecar SERVER span below the evaluator's turn span, if recorded."""
        if not trace_id or not turn_span_id:
            return None
        return self._turn_server.get((trace_id.lower(), turn_span_id.lower()))

    def __len__(self) -> int:
        return len(self.spans)
