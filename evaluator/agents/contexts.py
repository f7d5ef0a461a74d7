"""Per-conversation state keyed by A2A ``contextId``, bounded so memory stays flat.

An evaluator opens one context per task trial and never says when it is done, so the
book keeps the most recently used ``capacity`` conversations and forgets the oldest.
A forgotten conversation that speaks again is treated as a new one.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Generic, TypeVar

State = TypeVar("State")


class ContextBook(Generic[State]):
    """A least-recently-used map from context id to conversation state."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"capacity={capacity!r}: must be at least 1")
        self.capacity = capacity
        self._states: OrderedDict[str, State] = OrderedDict()
        self.evicted = 0

    def get(self, context_id: str) -> State | None:
        state = self._states.get(context_id)
        if state is not None:
            self._states.move_to_end(context_id)
        return state

    def put(self, context_id: str, state: State) -> None:
        self._states[context_id] = state
        self._states.move_to_end(context_id)
        while len(self._states) > self.capacity:
            self._states.popitem(last=False)
            self.evicted += 1

    def __contains__(self, context_id: object) -> bool:
        return context_id in self._states

    def __len__(self) -> int:
        return len(self._states)
