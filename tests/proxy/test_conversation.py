"""The conversation table, with no network: bounded in entries and in time."""

from __future__ import annotations

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from proxy.conversation import Conversation, ConversationTable


def _conversation(tracer_provider: TracerProvider, end_ns: int) -> Conversation:
    root = tracer_provider.get_tracer("t").start_span("a2a.conversation", start_time=1)
    return Conversation(None, root, last_seen=0.0, last_end_ns=end_ns)


def test_the_oldest_conversation_ends_when_the_table_is_full() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    table = ConversationTable(max_entries=2, idle_s=300)
    for i in range(3):
        conversation = _conversation(provider, end_ns=100 + i)
        conversation.turns = i + 1
        table.register(f"c-{i}", conversation)
    assert len(table) == 2
    assert table.get("c-0") is None
    [ended] = exporter.get_finished_spans()
    assert ended.end_time == 100  # the last turn's end, not the eviction time
    assert (ended.attributes or {})["a2a.proxy.conversation.turns"] == 1


def test_idle_conversations_are_swept_and_close_ends_the_rest() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    table = ConversationTable(max_entries=10, idle_s=5)
    table.register("old", _conversation(provider, 10))
    table.register("new", _conversation(provider, 20))
    table.get("new")  # seen now: not idle
    old = table._entries["old"]
    old.last_seen -= 1e9
    assert table.sweep() == 1
    assert [s.name for s in exporter.get_finished_spans()] == ["a2a.conversation"]
    table.close()
    assert len(table) == 0
    assert len(exporter.get_finished_spans()) == 2
