"""The HTTP+JSON (REST) binding: the real a2a-sdk 1.3 REST server and client, through the
sidecar."""

from __future__ import annotations

from typing import Any

import httpx
from a2a.client import ClientConfig, create_client
from a2a.helpers import new_text_message
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.routes import create_agent_card_routes, create_rest_routes
from a2a.server.tasks import InMemoryTaskStore
from a2a.types import (
    AgentCapabilities,
    AgentCard,
    AgentInterface,
    AgentSkill,
    Role,
    SendMessageRequest,
)
from starlette.applications import Starlette

from tests.proxy.conftest import ProxyFactory, Recorded
from tests.proxy.peers import EchoExecutor, serve_asgi

HTTP_JSON = "HTTP+JSON"


def _rest_agent(base: str) -> Starlette:
    card = AgentCard(
        name="RestEcho",
        description="echo agent over HTTP+JSON",
        version="0.0.1",
        capabilities=AgentCapabilities(streaming=True),
        default_input_modes=["text/plain"],
        default_output_modes=["text/plain"],
        skills=[AgentSkill(id="echo", name="echo", description="echo", tags=["echo"])],
        supported_interfaces=[
            AgentInterface(protocol_binding=HTTP_JSON, protocol_version="1.0", url=base)
        ],
    )
    handler = DefaultRequestHandler(
        agent_executor=EchoExecutor(), task_store=InMemoryTaskStore(), agent_card=card
    )
    return Starlette(routes=create_agent_card_routes(card) + create_rest_routes(handler))


async def _send(url: str, text: str, *, streaming: bool) -> list[Any]:
    async with httpx.AsyncClient() as http:
        config = ClientConfig(
            streaming=streaming, httpx_client=http, supported_protocol_bindings=[HTTP_JSON]
        )
        client = await create_client(url, config)
        message = new_text_message(text, role=Role.ROLE_USER)
        events = [ev async for ev in client.send_message(SendMessageRequest(message=message))]
        await client.close()
        return events


def _by_name(recorded: Recorded) -> dict[str, dict[str, Any]]:
    return {s.name: dict(s.attributes or {}) for s in recorded.server_spans()}


async def test_rest_send_and_stream_through_the_sidecar(
    start: ProxyFactory, recorded: Recorded
) -> None:
    async with serve_asgi(_rest_agent) as agent:
        proxy = await start(agent)
        url = proxy.url_for("agent")
        [reply] = await _send(url, "hello", streaming=False)
        streamed = await _send(url, "task: over rest", streaming=True)
    assert reply.message.parts[0].text == "echo: hello"
    assert len(streamed) >= 3
    spans = _by_name(recorded)
    # The card pointed the client at the sidecar, so both calls went through it.
    assert {"GetAgentCard", "SendMessage", "SendStreamingMessage"} <= set(spans)
    send = spans["SendMessage"]
    assert send["a2a.proxy.binding"] == "rest"
    assert send["url.path"].endswith("message:send")
    assert send["gen_ai.conversation.id"] == reply.message.context_id
    assert "rpc.system.name" not in send  # not JSON-RPC
    stream = spans["SendStreamingMessage"]
    assert stream["a2a.proxy.streaming"] is True
    assert stream["a2a.task.state"] == "TASK_STATE_COMPLETED"
    assert stream["a2a.proxy.sse.event_count"] == len(streamed)


async def test_rest_task_lookup_and_errors(start: ProxyFactory, recorded: Recorded) -> None:
    async with serve_asgi(_rest_agent) as agent:
        proxy = await start(agent)
        base = proxy.url_for("agent")
        [event, *_] = await _send(base, "task: remember me", streaming=True)
        task_id = event.task.id
        async with httpx.AsyncClient() as http:
            found = await http.get(f"{base}tasks/{task_id}", headers={"A2A-Version": "1.0"})
            missing = await http.get(f"{base}tasks/no-such-task", headers={"A2A-Version": "1.0"})
    assert found.status_code == 200
    assert missing.status_code == 404
    lookups = [dict(s.attributes or {}) for s in recorded.server_spans() if s.name == "GetTask"]
    by_task = {a["a2a.task.id"]: a for a in lookups}
    assert by_task[task_id]["a2a.proxy.outcome"] == "ok"
    assert by_task[task_id]["a2a.task.state"] == "TASK_STATE_COMPLETED"
    assert by_task["no-such-task"]["error.type"] == "404"
    assert by_task["no-such-task"]["a2a.proxy.error.reason"] == "TASK_NOT_FOUND"
    assert "rpc.response.status_code" not in by_task["no-such-task"]  # not JSON-RPC
