from __future__ import annotations

import pytest

from proxy.sse import SseReader

STREAM = (
    b": ping - 2026-01-01\r\n\r\n"
    b'data: {"a": 1}\r\n\r\n'
    b"event: update\nid: 7\ndata: line one\ndata:line two\n\n"
    b"data: cr only\r\r"
    b"data: unterminated"
)


def _feed_in_pieces(
    stream: bytes, size: int
) -> tuple[list[tuple[str | None, str | None, str | None]], int]:
    reader = SseReader()
    events = []
    for i in range(0, len(stream), size):
        events.extend(reader.feed(stream[i : i + size]))
    reader.close()
    return [(e.data, e.event, e.id) for e in events], reader.comments


@pytest.mark.parametrize("size", [1, 2, 3, 7, 1000])
def test_events_are_the_same_however_the_stream_is_cut(size: int) -> None:
    events, comments = _feed_in_pieces(STREAM, size)
    assert events == [
        ('{"a": 1}', None, None),
        ("line one\nline two", "update", "7"),
        ("cr only", None, "7"),
    ]
    assert comments == 1


def test_multibyte_characters_split_across_chunks() -> None:
    data = "data: héllo ✓\n\n".encode()
    events, _ = _feed_in_pieces(data, 1)
    assert events == [("héllo ✓", None, None)]


def test_oversize_event_is_reported_not_buffered() -> None:
    reader = SseReader(max_event_chars=100)
    events = reader.feed(b"data: " + b"x" * 1000 + b"\n\ndata: ok\n\n")
    assert [(e.data, e.oversize) for e in events] == [(None, True), ("ok", False)]


def test_oversize_line_without_newline_is_dropped_and_counted() -> None:
    reader = SseReader(max_event_chars=100)
    assert reader.feed(b"data: " + b"y" * 500) == []
    events = reader.feed(b"y" * 500 + b"\n\ndata: next\n\n")
    assert [(e.data, e.oversize) for e in events] == [(None, True), ("next", False)]
