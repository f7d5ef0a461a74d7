from __future__ import annotations

from typing import Any

import httpx
import pytest
from aiohttp import web

from proxy.conventions import (
    Convention,
    ConventionBook,
    convention_named,
    recognise,
    recognise_opening,
)
from tests.proxy.conftest import ProxyFactory, Recorded
from tests.proxy.peers import serve_aiohttp

TUTORIAL_OPENING = (
    "# Policy\n\nHere's a list of tools you can use (you can use at most one tool at a time):\n"
    '[{"type": "function", "function": {"name": "f"}}]\n\nand \n\n'
    '{"type": "function", "function": {"name": "respond"}}\n\n'
    "Please respond in JSON format.\n<json>\n{}\n</json>\n\n"
    "Now here are the user messages:\nHi! How can I help you today?\nPlease do f."
)


@pytest.mark.parametrize(
    ("text", "convention"),
    [
        (TUTORIAL_OPENING, Convention.AGENTBEATS_TUTORIAL),
        (
            "policy\nHere's a list of tools ...\nPlease wrap the JSON part with <json>...</json>"
            ' tags.\nUser message: "user: hi"',
            Convention.AGENTIFY,
        ),
        ("<instructions>x</instructions>\n<available_tools>\n</available_tools>\nhi", "tau2"),
        ("Tool result (id=call_1): {}", Convention.TAU2),
        ("Please do f.", None),
        ("user: thanks", None),
    ],
)
def test_recognise(text: str, convention: Convention | None) -> None:
    assert recognise(text) == convention


def test_a_tool_result_alone_opens_nothing() -> None:
    assert recognise_opening("Tool result (id=call_1): {}") is None


def test_names_and_the_deprecated_alias() -> None:
    assert convention_named("agentbeats") is Convention.AGENTIFY
    assert convention_named("agentbeats-tutorial") is Convention.AGENTBEATS_TUTORIAL
    with pytest.raises(ValueError, match="unknown message format 'x': use one of tau2, "):
        convention_named("x")


def test_the_book_remembers_each_conversation_and_stays_bounded() -> None:
    book = ConventionBook(capacity=2)
    assert book.learn("a", TUTORIAL_OPENING) is Convention.AGENTBEATS_TUTORIAL
    assert book.learn("a", "Please do f.") is Convention.AGENTBEATS_TUTORIAL
    assert book.learn(None, "Please do f.") is None
    book.learn("b", TUTORIAL_OPENING)
    book.learn("c", TUTORIAL_OPENING)
    assert len(book) == 2
    assert book.learn("a", "Please do f.") is None  # forgotten, least recently used


async def test_sidecar_judges_later_replies_by_the_conversations_opening(
    start: ProxyFactory, recorded: Recorded
) -> None:
    """A tutorial conversation answered in <json> tags: never a valid call (D2)."""
    replies = iter(
        [
            '{"name": "f", "arguments": {}}',
            '<json>{"name": "f", "arguments": {}}</json>',
            '<json>{"name": "f", "arguments": {}}</json>',
        ]
    )

    async def agent(request: web.Request) -> web.Response:
        body = await request.json()
        result = {
            "kind": "message",
            "messageId": "m",
            "role": "agent",
            "contextId": "ctx-1",
            "parts": [{"kind": "text", "text": next(replies)}],
        }
        return web.json_response({"jsonrpc": "2.0", "id": body["id"], "result": result})

    app = web.Application()
    app.router.add_post("/", agent)

    def send(text: str, context_id: str | None) -> dict[str, Any]:
        message: dict[str, Any] = {
            "kind": "message",
            "messageId": text[:8],
            "role": "user",
            "parts": [{"kind": "text", "text": text}],
        }
        if context_id:
            message["contextId"] = context_id
        return {"jsonrpc": "2.0", "id": 1, "method": "message/send", "params": {"message": message}}

    async with serve_aiohttp(app) as upstream:
        proxy = await start(upstream)
        async with httpx.AsyncClient() as http:
            for text, context in [
                (TUTORIAL_OPENING, None),
                ('{"task_id": "t1"}', "ctx-1"),  # a bare tool result: no markers
                ("Thanks!", "ctx-1"),
            ]:
                response = await http.post(proxy.url_for("agent"), json=send(text, context))
                assert response.status_code == 200
    spans = sorted(recorded.server_spans(), key=lambda s: s.start_time or 0)
    attrs: list[dict[str, Any]] = [dict(s.attributes or {}) for s in spans]
    assert [a["a2a.proxy.message_format"] for a in attrs] == ["agentbeats-tutorial"] * 3
    assert [a["a2a.proxy.tool_call.valid"] for a in attrs] == [True, False, False]
    assert all(a["gen_ai.tool.name"] == "f" for a in attrs)
    assert "wrapped in <json> tags" in attrs[1]["a2a.proxy.tool_call.problem"]
