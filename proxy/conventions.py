"""The three ways tau2 evaluators talk to a purple agent, as one table of names.

Agents under tau2 get their tools as text and answer in text. Three evaluators are in
use, and each has its own convention (the name is what ``--message-format`` takes):

================== ================================ ==========================================
name               evaluator                        a tool call in the reply
================== ================================ ==========================================
tau2               the tau2 A2A fork                ``{"tool_call": {"name", "arguments"}}``,
                   (``tau2 run --agent a2a_agent``) whole reply or first code fence
agentbeats-tutorial the AgentBeats tutorial's tau2  bare ``{"name", "arguments"}``, the whole
                   green (the platform reference)   reply; ``respond`` carries text
agentify           the upstream agentify example    ``<json>{"name", "arguments"}</json>``;
                                                    ``respond`` carries text
================== ================================ ==========================================

``agentbeats`` is the old name of ``agentify`` and still accepted, with a note: the
AgentBeats platform's own evaluator is ``agentbeats-tutorial``.

:func:`recognise` tells from a message sent to the agent which convention it is in: an
opening always says, and later tau2 messages carry reminders. Pure and dependency-free,
so the sidecar, the evaluator and the sample agents share it.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from enum import StrEnum
from typing import Final


class Convention(StrEnum):
    TAU2 = "tau2"
    AGENTBEATS_TUTORIAL = "agentbeats-tutorial"
    AGENTIFY = "agentify"


ALIASES: Final[dict[str, Convention]] = {"agentbeats": Convention.AGENTIFY}
DEPRECATION_NOTES: Final[dict[str, str]] = {
    "agentbeats": (
        "'agentbeats' is the old name of 'agentify' (the upstream agentify example, "
        "<json> answers); the AgentBeats tutorial's evaluator is 'agentbeats-tutorial'"
    ),
}
NAMES: Final[tuple[str, ...]] = tuple(c.value for c in Convention)
EVALUATORS: Final[dict[Convention, str]] = {
    Convention.TAU2: "the tau2 A2A fork (tau2 run --agent a2a_agent)",
    Convention.AGENTBEATS_TUTORIAL: "the AgentBeats tutorial's tau2 evaluator",
    Convention.AGENTIFY: "the upstream tau2-bench agentify example",
}


def convention_named(name: str) -> Convention:
    """The convention called ``name`` (aliases included); ValueError names the choices."""
    if name in ALIASES:
        return ALIASES[name]
    try:
        return Convention(name)
    except ValueError:
        raise ValueError(
            f"unknown message format {name!r}: use one of {', '.join(NAMES)}"
        ) from None


# Markers, strongest first: the tutorial's prompt also shows <json> examples, and the
# agentify prompt also mentions "respond".
_TUTORIAL = re.compile(r"Now here are the user messages:", re.IGNORECASE)
_AGENTIFY = re.compile(
    r"wrap the JSON part with <json>\.\.\.</json> tags|^\s*User message:", re.IGNORECASE | re.M
)
_TAU2 = re.compile(r"<available_tools>|\{\"tool_call\":")
_TAU2_RESULT = re.compile(r"^\s*Tool result \(id=")
_RESPOND_SCHEMA = re.compile(r"\"name\":\s*\"respond\"")


def recognise(text: str) -> Convention | None:
    """The convention a message to the agent is written in, when it says so."""
    found = recognise_opening(text)
    if found is None and _TAU2_RESULT.match(text):
        return Convention.TAU2
    return found


def recognise_opening(text: str) -> Convention | None:
    """The convention of a message that opens a conversation (it carries the tools)."""
    if _TUTORIAL.search(text):
        return Convention.AGENTBEATS_TUTORIAL
    if _AGENTIFY.search(text):
        return Convention.AGENTIFY
    if _TAU2.search(text):
        return Convention.TAU2
    if _RESPOND_SCHEMA.search(text):
        # a respond pseudo-tool without <json> instructions: the raw-JSON convention
        return Convention.AGENTIFY if "<json>" in text.lower() else Convention.AGENTBEATS_TUTORIAL
    return None


class ConventionBook:
    """The convention of each recent conversation, by ``contextId``; bounded (LRU).

    Only the opening says which evaluator is speaking (the tutorial's later messages are
    bare text), so the sidecar remembers it for the conversation's later replies.
    """

    def __init__(self, capacity: int = 4096) -> None:
        self._entries: OrderedDict[str, Convention] = OrderedDict()
        self._capacity = capacity

    def __len__(self) -> int:
        return len(self._entries)

    def learn(self, context_id: str | None, request_text: str | None) -> Convention | None:
        """The convention of this exchange: said by its request, else remembered."""
        said = recognise(request_text) if request_text else None
        if context_id is None:
            return said
        if said is not None:
            self._entries[context_id] = said
            self._entries.move_to_end(context_id)
            while len(self._entries) > self._capacity:
                self._entries.popitem(last=False)
            return said
        known = self._entries.get(context_id)
        if known is not None:
            self._entries.move_to_end(context_id)
        return known
