"""What every scripted sample agent shares: the opening read once per context, later
messages read in the opening's format, replies rendered in it, unusable messages answered
with an explanation, and a bounded book of conversations."""

from __future__ import annotations

import json

import pytest

from evaluator.agents.oracle import OracleAgent
from evaluator.agents.scripted import (
    NO_TEXT_REPLY,
    UNRECOGNISED_OPENING_REPLY,
    Conversation,
    ScriptedAgent,
)
from evaluator.agents.wire import CallTool, Opening, Reply, SayText, Turn, WireFormat
from tests.evaluator.agents.openings import FORMATS, opening, tool_result, user_says


class Recording:
    """A conversation that calls ``get_users`` once, then says what it was told."""

    def __init__(self, opening: Opening) -> None:
        self.opening = opening
        self.turns: list[Turn] = []

    def respond(self, turn: Turn) -> Reply:
        self.turns.append(turn)
        if len(self.turns) == 1:
            return CallTool("get_users", {})
        return SayText(f"heard {turn.user_texts} {turn.tool_results}")


class EchoAgent(ScriptedAgent):
    def __init__(self, max_contexts: int = 10) -> None:
        super().__init__(max_contexts)
        self.opened: list[Recording] = []

    async def open(self, opening: Opening) -> Conversation:
        conversation = Recording(opening)
        self.opened.append(conversation)
        return conversation


@pytest.mark.parametrize("fmt", FORMATS)
async def test_the_opening_starts_a_conversation_in_its_format(fmt: str) -> None:
    agent = EchoAgent()
    reply = await agent.reply("ctx", opening(fmt, "mock", "Create a task for user_1"))
    (conversation,) = agent.opened
    assert conversation.opening.format == WireFormat(fmt)
    assert "create_task" in conversation.opening.tool_names
    assert conversation.turns == [Turn(user_texts=("Create a task for user_1",))]
    if fmt == "tau2":
        assert json.loads(reply) == {"tool_call": {"name": "get_users", "arguments": {}}}
    elif fmt == "agentify":
        assert reply == '<json>{"name": "get_users", "arguments": {}}</json>'
    else:
        assert json.loads(reply) == {"name": "get_users", "arguments": {}}


@pytest.mark.parametrize("fmt", FORMATS)
async def test_after_a_tool_call_the_next_message_is_its_result(fmt: str) -> None:
    agent = EchoAgent()
    await agent.reply("ctx", opening(fmt, "mock", "Create a task"))
    reply = await agent.reply("ctx", tool_result(fmt, '{"users": []}'))
    (conversation,) = agent.opened  # the same conversation, not a second opening
    (result,) = conversation.turns[1].tool_results
    assert '{"users": []}' in result  # tau2's keeps its "Tool result (id=...)" label
    assert conversation.turns[1].user_texts == ()
    assert "heard ()" in reply  # the text reply, rendered in the conversation's format


@pytest.mark.parametrize("fmt", FORMATS)
async def test_a_later_user_message_is_user_text(fmt: str) -> None:
    agent = EchoAgent()
    await agent.reply("ctx", opening(fmt, "mock", "Create a task"))
    await agent.reply("ctx", tool_result(fmt, "{}"))
    await agent.reply("ctx", user_says(fmt, "thanks"))
    assert agent.opened[0].turns[2] == Turn(user_texts=("thanks",))


async def test_each_context_is_its_own_conversation() -> None:
    agent = EchoAgent()
    await agent.reply("a", opening("tau2", "mock", "first"))
    await agent.reply("b", opening("agentify", "mock", "second"))
    assert [c.opening.format for c in agent.opened] == [WireFormat.TAU2, WireFormat.AGENTIFY]
    assert [c.opening.user_text for c in agent.opened] == ["first", "second"]


async def test_the_book_of_conversations_is_bounded() -> None:
    agent = EchoAgent(max_contexts=2)
    for context in ("a", "b", "c"):
        await agent.reply(context, opening("tau2", "mock", context))
    assert len(agent.contexts) == 2
    assert "a" not in agent.contexts
    assert await agent.reply("a", tool_result("tau2", "{}")) == UNRECOGNISED_OPENING_REPLY


async def test_unusable_messages_start_nothing() -> None:
    agent = EchoAgent()
    assert await agent.reply("ctx", "") == NO_TEXT_REPLY
    assert await agent.reply("ctx", "hello") == UNRECOGNISED_OPENING_REPLY
    assert agent.opened == []
    assert "ctx" not in agent.contexts
    await agent.reply("ctx", opening("tau2", "mock", "now properly"))
    assert len(agent.opened) == 1


async def test_unusable_messages_get_a_plain_explanation() -> None:
    agent = OracleAgent()
    assert await agent.reply("ctx", "   ") == NO_TEXT_REPLY
    assert await agent.reply("ctx", "hello, who are you?") == UNRECOGNISED_OPENING_REPLY
    assert "ctx" not in agent.contexts  # a proper opening can still start the conversation
