"""What every sample agent shares: the reply contract, and conversations kept per context.

An agent turns one incoming text into one outgoing text for a context. The scripted
agents (oracle, flawed, noop) read the opening message to learn the wire format and
the tools, then hand each later turn to a per-conversation :class:`Conversation` that
decides the next :class:`~evaluator.agents.wire.Reply`. Messages an agent cannot use
(no text, or an opening in neither format) get a plain-text explanation, never an error.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Protocol

from evaluator.agents.contexts import ContextBook
from evaluator.agents.wire import (
    CallTool,
    Opening,
    Reply,
    Turn,
    WireFormat,
    parse_opening,
    parse_turn,
    render,
)

DEFAULT_MAX_CONTEXTS = 1000

NO_TEXT_REPLY = (
    "I could not read this message: it has no text. "
    "This agent reads the text parts of A2A messages only."
)
UNRECOGNISED_OPENING_REPLY = (
    "I could not start a conversation from this message: it does not look like a tau2 "
    "benchmark opening. The first message must carry the tools, either an "
    '<available_tools> block with the {"tool_call": ...} convention (tau2 format) or a '
    "JSON list of tool schemas with JSON answers (the AgentBeats tutorial's format, or "
    "the agentify example's <json>...</json>)."
)


class ConversationalAgent(Protocol):
    """The contract between an agent and the A2A server: text in, text out, per context."""

    async def reply(self, context_id: str, text: str) -> str: ...


class Conversation(Protocol):
    """One conversation's decisions, in the format-neutral vocabulary of ``wire``."""

    def respond(self, turn: Turn) -> Reply: ...


@dataclass
class _Session:
    format: WireFormat
    conversation: Conversation
    after_call: bool = False  # the last reply was a tool call: a result comes next


class ScriptedAgent(ABC):
    """Parses the wire, keeps a bounded book of conversations, renders the replies."""

    def __init__(self, max_contexts: int = DEFAULT_MAX_CONTEXTS) -> None:
        self.contexts: ContextBook[_Session] = ContextBook(max_contexts)

    async def reply(self, context_id: str, text: str) -> str:
        if not text.strip():
            return NO_TEXT_REPLY
        session = self.contexts.get(context_id)
        if session is None:
            opening = parse_opening(text)
            if opening is None:
                return UNRECOGNISED_OPENING_REPLY
            session = _Session(opening.format, await self.open(opening))
            self.contexts.put(context_id, session)
            turn = Turn(user_texts=(opening.user_text,) if opening.user_text else ())
        else:
            turn = parse_turn(session.format, text, after_call=session.after_call)
        reply = session.conversation.respond(turn)
        session.after_call = isinstance(reply, CallTool)
        return render(session.format, reply)

    @abstractmethod
    async def open(self, opening: Opening) -> Conversation:
        """A new conversation for a well-formed opening message."""
