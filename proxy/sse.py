"""Incremental server-sent events reader (WHATWG rules), fed a copy of the relayed bytes.

The proxy relays stream chunks unchanged as they arrive; this reader only observes them.
Lines end in CRLF, LF or CR (a CR at the end of one chunk may pair with an LF at the start
of the next); ``:`` starts a comment (keep-alive pings); a blank line ends an event; data
lines join with ``\\n``. Memory is bounded: an event larger than ``max_event_chars`` is
reported with ``data=None`` and ``oversize=True`` instead of being buffered.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

_EOL = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True, slots=True)
class SseEvent:
    data: str | None
    event: str | None
    id: str | None
    chars: int
    oversize: bool = False


class SseReader:
    def __init__(self, max_event_chars: int = 8 * 1024 * 1024) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._max = max_event_chars
        self._buffer = ""
        self._data: list[str] = []
        self._data_chars = 0
        self._event: str | None = None
        self._id: str | None = None
        self._chars = 0
        self._oversize = False
        self._skipping_line = False
        self.comments = 0

    def feed(self, chunk: bytes) -> list[SseEvent]:
        self._buffer += self._decoder.decode(chunk)
        events: list[SseEvent] = []
        pos = 0
        buffer = self._buffer
        while True:
            match = _EOL.search(buffer, pos)
            if match is None or (match.group() == "\r" and match.end() == len(buffer)):
                break  # no full line yet, or a CR that may be the first half of CRLF
            line = buffer[pos : match.start()]
            self._chars += match.end() - pos
            pos = match.end()
            if self._skipping_line:
                self._skipping_line = False
                continue
            event = self._line(line)
            if event is not None:
                events.append(event)
        rest = buffer[pos:]
        if len(rest) > self._max:
            # One line longer than any event we keep: count it, then drop it to its end.
            self._chars += len(rest)
            self._oversize = True
            self._skipping_line = True
            rest = ""
        self._buffer = rest
        return events

    def close(self) -> list[SseEvent]:
        """End of stream: an unterminated event is not dispatched (per the spec)."""
        self._buffer += self._decoder.decode(b"", final=True)
        return []

    def _line(self, line: str) -> SseEvent | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            self.comments += 1
            return None
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data_chars += len(value) + 1
            if self._data_chars > self._max:
                self._oversize = True
                self._data.clear()
            elif not self._oversize:
                self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id" and "\0" not in value:
            self._id = value
        return None

    def _dispatch(self) -> SseEvent | None:
        if not self._data and not self._oversize:
            self._reset()
            return None
        event = SseEvent(
            data=None if self._oversize else "\n".join(self._data),
            event=self._event,
            id=self._id,
            chars=self._chars,
            oversize=self._oversize,
        )
        self._reset()
        return event

    def _reset(self) -> None:
        self._data = []
        self._data_chars = 0
        self._event = None
        self._chars = 0
        self._oversize = False
