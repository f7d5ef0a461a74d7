"""A deterministic simulated user, no LLM: evaluations run offline and in tests.

Turn 1 states the task (the scenario's instructions). For dual-control tasks (telecom)
the user performs the reference actions that tau2 assigns to the user (``requestor ==
"user"``) as its own tool calls, one at a time, as soon as the agent has answered, then
tells the agent what it did. Once nothing is left to do, the next message from the agent
ends the conversation with ``###STOP###``: an agent that completed the task has by then
done what it had to do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

STOP = "###STOP###"


@dataclass(frozen=True)
class UserAction:
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class Say:
    text: str


@dataclass(frozen=True)
class Act:
    action: UserAction


UserMove = Say | Act

Incoming = Literal["agent_message", "tool_result"]


class ScriptedUserScript:
    """The user's side of one conversation; feed it what arrives, it answers."""

    def __init__(self, instructions: str, actions: Sequence[UserAction] = ()) -> None:
        self._instructions = instructions.strip()
        self._pending = list(actions)
        self._done: list[str] = []
        self._opened = False

    @property
    def pending_actions(self) -> int:
        return len(self._pending)

    def next_move(self, incoming: Incoming) -> UserMove:
        if not self._opened:
            self._opened = True
            return Say(self._instructions)
        if self._pending:
            return self._act()
        if incoming == "tool_result":
            done, self._done = self._done, []
            return Say(f"I did that on my side ({', '.join(done)}). What should I do next?")
        return Say(STOP)

    def _act(self) -> Act:
        action = self._pending.pop(0)
        self._done.append(action.name)
        return Act(action)
