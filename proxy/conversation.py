"""One trace per A2A conversation, for clients that send no ``traceparent``.

The first turn of a conversation starts a root span (``a2a.conversation``); the turn's
response reveals the ``contextId`` the agent assigned, and later turns carrying that
``contextId`` become children of the same root. The root ends when the conversation has
been quiet for ``idle_s``, when the table is full (least recently used first), or at
shutdown, with its end time set to the last turn's end.

The table is bounded in entries and in time, so memory stays flat however many
conversations pass through.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass

from opentelemetry.trace import Span

from proxy import semconv as sc


@dataclass(slots=True)
class Conversation:
    context_id: str | None
    root: Span
    last_seen: float  # monotonic seconds
    last_end_ns: int
    turns: int = 0


class ConversationTable:
    def __init__(self, max_entries: int, idle_s: float) -> None:
        self._entries: OrderedDict[str, Conversation] = OrderedDict()
        self._max = max_entries
        self._idle = idle_s

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, context_id: str) -> Conversation | None:
        conversation = self._entries.get(context_id)
        if conversation is not None:
            self._entries.move_to_end(context_id)
            conversation.last_seen = time.monotonic()
        return conversation

    def register(self, context_id: str, conversation: Conversation) -> None:
        conversation.context_id = context_id
        self._entries[context_id] = conversation
        self._entries.move_to_end(context_id)
        while len(self._entries) > self._max:
            _, oldest = self._entries.popitem(last=False)
            end_root(oldest)

    def sweep(self, now: float | None = None) -> int:
        """End the roots of conversations idle for longer than ``idle_s``; returns how many."""
        now = time.monotonic() if now is None else now
        ended = 0
        while self._entries:
            context_id, oldest = next(iter(self._entries.items()))
            if now - oldest.last_seen < self._idle:
                break
            del self._entries[context_id]
            end_root(oldest)
            ended += 1
        return ended

    def close(self) -> None:
        while self._entries:
            _, conversation = self._entries.popitem(last=False)
            end_root(conversation)


def end_root(conversation: Conversation) -> None:
    conversation.root.set_attribute(sc.PROXY_TURNS, conversation.turns)
    conversation.root.end(end_time=conversation.last_end_ns)
