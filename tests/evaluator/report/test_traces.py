"""Reading OTLP JSON lines and joining a turn to the sidecar's SERVER span."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind, format_span_id, format_trace_id
from opentelemetry.util.types import AttributeValue

from evaluator.report.traces import KIND_SERVER, TraceFileError, TraceIndex, read_spans
from proxy.telemetry import OtlpJsonFileSpanExporter


def write_turn(path: Path) -> tuple[str, str, str]:
    """turn span (CLIENT) > HTTP client span > sidecar SERVER span, written by the real exporter."""
    provider = TracerProvider()
    exporter = OtlpJsonFileSpanExporter(path)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    attributes: dict[str, AttributeValue] = {
        "a2a.method.name": "SendMessage",
        "gen_ai.agent.name": "oracle",
        "a2a.proxy.tool_call.valid": False,
        "a2a.proxy.tool_call.problem": "no arguments",
        "a2a.proxy.tool_call.names": ["get_user"],
    }
    with (
        tracer.start_as_current_span("invoke_agent oracle", kind=SpanKind.CLIENT) as turn,
        tracer.start_as_current_span("POST", kind=SpanKind.CLIENT),
        tracer.start_as_current_span(
            "SendMessage", kind=SpanKind.SERVER, attributes=attributes
        ) as server,
    ):
        pass
    provider.shutdown()
    context = turn.get_span_context()
    return (
        format_trace_id(context.trace_id),
        format_span_id(context.span_id),
        format_span_id(server.get_span_context().span_id),
    )


def test_the_turn_finds_the_sidecar_span_below_it(tmp_path: Path) -> None:
    path = tmp_path / "traces.jsonl"
    trace_id, turn_id, server_id = write_turn(path)
    spans = read_spans([path])
    assert len(spans) == 3
    index = TraceIndex(spans)
    found = index.server_span_for_turn(trace_id, turn_id)
    assert found is not None
    assert found.span_id == server_id
    assert found.kind == KIND_SERVER
    assert found.method == "SendMessage"
    assert found.agent == "oracle"
    assert found.tool_valid is False
    assert found.attributes["a2a.proxy.tool_call.names"] == ["get_user"]
    assert found.duration_s >= 0
    # another trace, or a span that is not an ancestor, finds nothing
    assert index.server_span_for_turn("0" * 32, turn_id) is None
    assert index.server_span_for_turn(trace_id, server_id) is None
    assert index.server_span_for_turn(None, turn_id) is None


def test_the_same_file_twice_counts_each_span_once(tmp_path: Path) -> None:
    path = tmp_path / "traces.jsonl"
    write_turn(path)
    assert len(TraceIndex(read_spans([path, path]))) == 3


def test_a_bad_line_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "traces.jsonl"
    write_turn(path)
    with path.open("a", encoding="utf-8") as f:
        f.write("\n{not json\n")  # three span lines (one per export), a blank, then this
    with pytest.raises(TraceFileError, match=r"traces\.jsonl:5: not an OTLP/JSON"):
        read_spans([path])


def test_a_span_without_ids_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [{}]}]}]}) + "\n")
    with pytest.raises(TraceFileError, match=r"t\.jsonl:1"):
        read_spans([path])


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(TraceFileError, match=r"nope\.jsonl: cannot read"):
        read_spans([tmp_path / "nope.jsonl"])
