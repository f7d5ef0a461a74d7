"""The real a2a-sdk 1.3 client and server, with the sidecar between them."""

from __future__ import annotations

import json
from typing import Any

import httpx
from a2a.client import ClientConfig, create_client
from a2a.helpers import new_text_message
from a2a.types import Role, SendMessageRequest
from opentelemetry.trace import SpanKind, StatusCode

from tests.proxy.conftest import ProxyFactory, Recorded
from tests.proxy.peers import serve_asgi


async def _send(
    url: str, text: str, *, streaming: bool, context_id: str | None = None
) -> list[Any]:
    async with httpx.AsyncClient() as http:
        client = await create_client(url, ClientConfig(streaming=streaming, httpx_client=http))
        message = new_text_message(text, role=Role.ROLE_USER, context_id=context_id)
        events = [ev async for ev in client.send_message(SendMessageRequest(message=message))]
        await client.close()
        return events


def _attrs(span: Any) -> dict[str, Any]:
    return dict(span.attributes or {})


async def test_blocking_send_goes_through_proxy_and_is_recorded(
    agent_url: str, start: ProxyFactory, recorded: Recorded
) -> None:
    proxy = await start(agent_url)
    [event] = await _send(proxy.url_for("agent"), "hello", streaming=False)
    assert event.message.parts[0].text == "echo: hello"
    context_id = event.message.context_id

    servers = {s.name: s for s in recorded.server_spans()}
    # The card was fetched through the sidecar and the message did not bypass it.
    assert set(servers) == {"GetAgentCard", "SendMessage"}
    attrs = _attrs(servers["SendMessage"])
    assert attrs["a2a.method.name"] == "SendMessage"
    assert attrs["rpc.method"] == "SendMessage"
    assert attrs["rpc.system.name"] == "jsonrpc"
    assert attrs["a2a.protocol.version"] == "1.0"
    assert attrs["gen_ai.conversation.id"] == context_id
    assert attrs["a2a.proxy.result.kind"] == "message"
    assert attrs["resource.name"] == "SendMessage"  # the APM resource in Datadog
    assert attrs["http.response.status_code"] == 200
    assert attrs["jsonrpc.request.id"]
    assert attrs["a2a.message.id"] == event.message.message_id or attrs["a2a.message.id"]
    assert servers["SendMessage"].status.status_code is not StatusCode.ERROR
    [client] = [
        s for s in recorded.spans() if s.kind is SpanKind.CLIENT and s.name == "SendMessage"
    ]
    assert client.parent is not None
    assert client.parent.span_id == servers["SendMessage"].context.span_id


async def test_streaming_task_records_events_and_time_to_first_event(
    agent_url: str, start: ProxyFactory, recorded: Recorded
) -> None:
    proxy = await start(agent_url)
    events = await _send(proxy.url_for("agent"), "task: book", streaming=True)
    assert len(events) >= 3
    [server] = [s for s in recorded.server_spans() if s.name == "SendStreamingMessage"]
    attrs = _attrs(server)
    assert attrs["a2a.proxy.streaming"] is True
    assert attrs["a2a.task.state"] == "TASK_STATE_COMPLETED"
    assert "a2a.proxy.task.state_wire" not in attrs  # 1.0 traffic: the name is the wire's
    assert attrs["a2a.proxy.sse.event_count"] == len(events)
    assert attrs["a2a.proxy.time_to_first_event_ms"] > 0
    assert attrs["a2a.task.id"]
    [client] = [
        s
        for s in recorded.spans()
        if s.kind is SpanKind.CLIENT and s.name == "SendStreamingMessage"
    ]
    kinds = [e.attributes["a2a.stream.event.kind"] for e in client.events if e.attributes]
    assert kinds[0] == "task"
    assert "artifact-update" in kinds
    assert kinds[-1] == "status-update"
    assert recorded.metric_points("a2a.proxy.stream.time_to_first_event")


async def test_sdk_client_uses_0_3_compat_through_proxy(
    start: ProxyFactory, recorded: Recorded
) -> None:
    # A card that advertises only a 0.3 interface makes the 1.3 client speak 0.3.
    async with serve_asgi(_only_0_3_app) as url:
        proxy = await start(url)
        [event] = await _send(proxy.url_for("agent"), "hello", streaming=False)
    text = event.message.parts[0].text if event.message else event.task.status.message.parts[0].text
    assert text == "echo: hello"
    [server] = [s for s in recorded.server_spans() if s.name == "SendMessage"]
    attrs = _attrs(server)
    assert attrs["rpc.method"] == "message/send"
    assert attrs["a2a.method.name"] == "SendMessage"
    assert attrs["a2a.protocol.version"] == "0.3"
    assert "a2a.proxy.version_mismatch" not in attrs


def _only_0_3_app(base: str) -> Any:
    from a2a.server.request_handlers import DefaultRequestHandler
    from a2a.server.routes import create_agent_card_routes, create_jsonrpc_routes
    from a2a.server.tasks import InMemoryTaskStore
    from a2a.types import AgentCapabilities, AgentCard, AgentInterface, AgentSkill
    from starlette.applications import Starlette

    from tests.proxy.peers import EchoExecutor

    card = AgentCard(
        name="Compat",
        description="0.3 only",
        version="0.0.1",
        capabilities=AgentCapabilities(streaming=True),
        default_input_modes=["text/plain"],
        default_output_modes=["text/plain"],
        skills=[AgentSkill(id="echo", name="echo", description="echo", tags=["echo"])],
        supported_interfaces=[
            AgentInterface(protocol_binding="JSONRPC", protocol_version="0.3", url=base)
        ],
    )
    handler = DefaultRequestHandler(
        agent_executor=EchoExecutor(), task_store=InMemoryTaskStore(), agent_card=card
    )
    routes = create_agent_card_routes(card) + create_jsonrpc_routes(
        handler, rpc_url="/", enable_v0_3_compat=True
    )
    return Starlette(routes=routes)


async def test_raw_0_3_message_send_and_stream(
    agent_url: str, start: ProxyFactory, recorded: Recorded
) -> None:
    proxy = await start(agent_url)

    def message(message_id: str, text: str) -> dict[str, Any]:
        part = {"kind": "text", "text": text}
        return {"kind": "message", "messageId": message_id, "role": "user", "parts": [part]}

    send = {
        "jsonrpc": "2.0",
        "id": 7,
        "method": "message/send",
        "params": {"message": message("m-03", "hi")},
    }
    stream = {
        "jsonrpc": "2.0",
        "id": 8,
        "method": "message/stream",
        "params": {"message": message("m-03s", "task: x")},
    }
    async with httpx.AsyncClient() as http:
        reply = (await http.post(proxy.url_for("agent"), json=send)).json()
        assert reply["result"]["kind"] == "message"
        async with http.stream(
            "POST", proxy.url_for("agent"), json=stream, headers={"Accept": "text/event-stream"}
        ) as response:
            body = b"".join([chunk async for chunk in response.aiter_bytes()])
    assert b'"kind": "status-update"' in body or b'"kind":"status-update"' in body
    spans = {
        (_attrs(s)["rpc.method"]): _attrs(s)
        for s in recorded.server_spans()
        if "rpc.method" in _attrs(s)
    }
    assert spans["message/send"]["a2a.method.name"] == "SendMessage"
    assert spans["message/send"]["jsonrpc.request.id"] == "7"
    assert spans["message/send"]["a2a.protocol.version"] == "0.3"
    assert spans["message/stream"]["a2a.method.name"] == "SendStreamingMessage"
    assert spans["message/stream"]["a2a.task.state"] == "TASK_STATE_COMPLETED"
    assert spans["message/stream"]["a2a.proxy.task.state_wire"] == "completed"  # 0.3's own value


async def test_jsonrpc_error_with_http_200_marks_span(
    agent_url: str, start: ProxyFactory, recorded: Recorded
) -> None:
    proxy = await start(agent_url)
    request = {"jsonrpc": "2.0", "id": 11, "method": "GetTask", "params": {"id": "no-such-task"}}
    async with httpx.AsyncClient() as http:
        response = await http.post(
            proxy.url_for("agent"), json=request, headers={"A2A-Version": "1.0"}
        )
    assert response.status_code == 200
    assert response.json()["error"]["code"] == -32001
    [server] = [s for s in recorded.server_spans() if s.name == "GetTask"]
    attrs = _attrs(server)
    assert attrs["error.type"] == "-32001"
    assert attrs["rpc.response.status_code"] == "-32001"
    assert attrs["a2a.proxy.error.reason"] == "TASK_NOT_FOUND"
    assert attrs["a2a.task.id"] == "no-such-task"
    assert server.status.status_code is StatusCode.ERROR
    [point] = [
        p
        for p in recorded.metric_points("a2a.proxy.requests")
        if p.attributes.get("error.type") == "-32001"
    ]
    assert point.attributes["a2a.proxy.outcome"] == "error"
    assert point.attributes["a2a.method.name"] == "GetTask"


async def test_conversation_without_traceparent_is_one_trace(
    agent_url: str, start: ProxyFactory, recorded: Recorded
) -> None:
    proxy = await start(agent_url)
    url = proxy.url_for("agent")
    [first] = await _send(url, "turn one", streaming=False)
    context_id = first.message.context_id
    await _send(url, "turn two", streaming=False, context_id=context_id)
    await _send(url, "other conversation", streaming=False)
    await proxy.stop()  # ends the conversation roots

    sends = [s for s in recorded.server_spans() if s.name == "SendMessage"]
    by_context: dict[str, list[Any]] = {}
    for span in sends:
        by_context.setdefault(_attrs(span)["gen_ai.conversation.id"], []).append(span)
    turns = by_context[context_id]
    assert len(turns) == 2
    assert turns[0].context.trace_id == turns[1].context.trace_id
    others = [s for c, spans in by_context.items() if c != context_id for s in spans]
    assert others
    assert others[0].context.trace_id != turns[0].context.trace_id
    roots = [s for s in recorded.spans() if s.name == "a2a.conversation"]
    [root] = [r for r in roots if _attrs(r).get("gen_ai.conversation.id") == context_id]
    assert _attrs(root)["a2a.proxy.conversation.turns"] == 2
    assert _attrs(root)["gen_ai.operation.name"] == "invoke_workflow"
    assert all(t.parent is not None and t.parent.span_id == root.context.span_id for t in turns)
    assert root.end_time is not None
    assert root.end_time >= max(t.end_time or 0 for t in turns)


async def test_tool_call_in_agent_reply_is_recognised(
    agent_url: str, start: ProxyFactory, recorded: Recorded
) -> None:
    proxy = await start(agent_url)
    await _send(proxy.url_for("agent"), "tool: get_user_details", streaming=False)
    [server] = [s for s in recorded.server_spans() if s.name == "SendMessage"]
    attrs = _attrs(server)
    assert attrs["gen_ai.tool.name"] == "get_user_details"
    assert attrs["a2a.proxy.tool_call.valid"] is True
    assert attrs["a2a.proxy.tool_call.format"] == "tau2"
    [point] = recorded.metric_points("a2a.proxy.tool_calls")
    assert point.attributes["gen_ai.tool.name"] == "get_user_details"
    assert point.value == 1


async def test_content_capture_is_opt_in_and_capped(
    agent_url: str, start: ProxyFactory, recorded: Recorded
) -> None:
    plain = await start(agent_url)
    await _send(plain.url_for("agent"), "secret plan", streaming=False)
    assert all("gen_ai.input.messages" not in _attrs(s) for s in recorded.spans())

    capturing = await start(agent_url, capture_content=True, content_max_chars=8)
    await _send(capturing.url_for("agent"), "a long message that will be cut", streaming=False)
    [captured] = [s for s in recorded.server_spans() if "gen_ai.input.messages" in _attrs(s)]
    [message] = json.loads(_attrs(captured)["gen_ai.input.messages"])
    # The start and the end are kept (a long prompt asks its question last), not the middle.
    assert message["parts"][0]["content"] == "a lo…[23 chars omitted]… cut"
    [reply] = json.loads(_attrs(captured)["gen_ai.output.messages"])
    assert reply["parts"][0]["content"] == "echo…[29 chars omitted]… cut"
