"""Real peers for the sidecar's tests, all on loopback.

- :func:`a2a_agent_app`: an a2a-sdk 1.3 agent (protocol 1.0, optionally 0.3 compat).
  Input ``hello`` gets a Message ``echo: hello``; input starting with ``task:`` runs the
  Task pattern (submitted, working, artifact, completed), which streams as several events;
  input starting with ``tool:`` answers with a tau2-format tool call.
- :func:`raw_upstream_app`: an aiohttp app with the odd behaviours real agents have:
  mirrors, slow streams, resets mid-body and mid-stream, stalls, huge and gzip bodies.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import hashlib
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from a2a.helpers import new_text_message
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events import EventQueue
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.routes import create_agent_card_routes, create_jsonrpc_routes
from a2a.server.tasks import InMemoryTaskStore, TaskUpdater
from a2a.types import (
    AgentCapabilities,
    AgentCard,
    AgentInterface,
    AgentSkill,
    Part,
    Task,
    TaskStatus,
)
from a2a.types import TaskState as State
from aiohttp import web
from starlette.applications import Starlette

from proxy.tasks import spawn


class EchoExecutor(AgentExecutor):
    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        text = context.get_user_input()
        if text.startswith("task:"):
            await self._task(context, event_queue, text)
            return
        reply = "echo: " + text
        if text.startswith("tool:"):
            name = text.removeprefix("tool:").strip() or "lookup"
            reply = json.dumps({"tool_call": {"name": name, "arguments": {"id": "42"}}})
        await event_queue.enqueue_event(new_text_message(reply, context_id=context.context_id))

    async def _task(self, context: RequestContext, queue: EventQueue, text: str) -> None:
        assert context.task_id is not None
        assert context.context_id is not None
        task = Task(
            id=context.task_id,
            context_id=context.context_id,
            status=TaskStatus(state=State.TASK_STATE_SUBMITTED),
        )
        await queue.enqueue_event(task)
        updater = TaskUpdater(queue, context.task_id, context.context_id)
        await updater.start_work()
        await updater.add_artifact([Part(text="done: " + text)], last_chunk=True)
        await updater.complete()

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        assert context.task_id is not None
        assert context.context_id is not None
        await TaskUpdater(event_queue, context.task_id, context.context_id).cancel()


def a2a_agent_app(base_url: str, *, compat_0_3: bool = True, name: str = "Echo") -> Starlette:
    interfaces = [AgentInterface(protocol_binding="JSONRPC", protocol_version="1.0", url=base_url)]
    if compat_0_3:
        interfaces.append(
            AgentInterface(protocol_binding="JSONRPC", protocol_version="0.3", url=base_url)
        )
    card = AgentCard(
        name=name,
        description="echo agent for tests",
        version="0.0.1",
        capabilities=AgentCapabilities(streaming=True),
        default_input_modes=["text/plain"],
        default_output_modes=["text/plain"],
        skills=[AgentSkill(id="echo", name="echo", description="echo", tags=["echo"])],
        supported_interfaces=interfaces,
    )
    handler = DefaultRequestHandler(
        agent_executor=EchoExecutor(), task_store=InMemoryTaskStore(), agent_card=card
    )
    routes = create_agent_card_routes(card) + create_jsonrpc_routes(
        handler, rpc_url="/", enable_v0_3_compat=compat_0_3
    )
    return Starlette(routes=routes)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def serve_asgi(app_for: Any) -> AsyncIterator[str]:
    """Serve ``app_for(base_url)`` with uvicorn on a free loopback port, in this loop."""
    port = free_port()
    base = f"http://127.0.0.1:{port}/"
    config = uvicorn.Config(
        app_for(base), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    task = spawn(server.serve(), name="peer-server")
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield base
    finally:
        server.should_exit = True
        await task


@contextlib.asynccontextmanager
async def serve_aiohttp(app: web.Application) -> AsyncIterator[str]:
    runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = next(a[1] for a in runner.addresses if isinstance(a, tuple))
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


# --- the raw upstream --------------------------------------------------------------------
IGNORED_IN_MIRROR = frozenset({"host", "traceparent", "tracestate"})


async def mirror(request: web.Request) -> web.Response:
    """Answers with what it received, so a test can compare direct and proxied requests."""
    body = await request.read()
    headers = [[k, v] for k, v in request.headers.items() if k.lower() not in IGNORED_IN_MIRROR]
    status = int(request.query.get("status", "200"))
    payload = {
        "method": request.method,
        "path": request.raw_path,
        "headers": headers,
        "body_hex": body.hex() if len(body) <= 65536 else None,
        "body_sha256": hashlib.sha256(body).hexdigest(),
        "body_length": len(body),
        "traceparent": request.headers.get("traceparent"),
        "tracestate": request.headers.get("tracestate"),
        "peer_port": request.transport.get_extra_info("peername")[1] if request.transport else None,
    }
    response = web.Response(
        status=status,
        body=json.dumps(payload).encode(),
        content_type="application/json",
        headers={"X-Mirror": "1", "Set-Cookie": "a=1"},
    )
    response.headers.add("Set-Cookie", "b=2")
    return response


async def echo(request: web.Request) -> web.StreamResponse:
    """A deterministic function of the request, byte for byte (for differential tests)."""
    body = await request.read()
    lines = [f"{request.method} {request.raw_path}".encode()]
    lines += [
        f"{k}: {v}".encode()
        for k, v in request.headers.items()
        if k.lower() not in IGNORED_IN_MIRROR
    ]
    status = int(request.query.get("status", "200"))
    headers = {"Content-Type": request.headers.get("X-Reply-Type", "application/octet-stream")}
    if "X-Reply-Header" in request.headers:
        headers["X-Echoed"] = request.headers["X-Reply-Header"]
    response = web.Response(status=status, body=b"\n".join(lines) + b"\n\n" + body, headers=headers)
    if request.query.get("chunked"):
        response.enable_chunked_encoding()
    return response


async def sse(request: web.Request) -> web.StreamResponse:
    """A JSON-RPC stream with comments, CRLF and multi-line data; ``?gap=`` seconds apart."""
    gap = float(request.query.get("gap", "0"))
    count = int(request.query.get("count", "3"))
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "X-Accel-Buffering": "no"}
    )
    await response.prepare(request)
    await response.write(b": ping - keepalive\r\n\r\n")
    for i in range(count):
        state = "TASK_STATE_COMPLETED" if i == count - 1 else "TASK_STATE_WORKING"
        event = {
            "jsonrpc": "2.0",
            "id": 1,
            "result": {
                "statusUpdate": {"taskId": "t1", "contextId": "c-sse", "status": {"state": state}}
            },
        }
        text = json.dumps(event)
        half = len(text) // 2
        # One event split across two data lines and two writes.
        await response.write(f"data: {text[:half]}\n".encode())
        await asyncio.sleep(0)
        await response.write(f"data:{text[half:]}\r\n\r\n".encode())
        if gap:
            await asyncio.sleep(gap)
    await response.write_eof()
    return response


GATES = web.AppKey("gates", dict)


async def sse_gated(request: web.Request) -> web.StreamResponse:
    """Sends one event, then waits for the test to open the gate before the second."""
    gate = request.app[GATES].setdefault(request.query["key"], asyncio.Event())
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    for state in ("TASK_STATE_WORKING", "TASK_STATE_COMPLETED"):
        event = {
            "jsonrpc": "2.0",
            "id": 1,
            "result": {
                "statusUpdate": {"taskId": "t", "contextId": "c", "status": {"state": state}}
            },
        }
        await response.write(f"data: {json.dumps(event)}\n\n".encode())
        await gate.wait()
    await response.write_eof()
    return response


async def extended_card(request: web.Request) -> web.Response:
    body = await request.json()
    base = f"http://{request.host}"
    result = {
        "name": "Raw",
        "url": f"{base}/",
        "supportedInterfaces": [
            {"url": f"{base}/", "protocolBinding": "JSONRPC", "protocolVersion": "1.0"}
        ],
    }
    return web.json_response({"jsonrpc": "2.0", "id": body.get("id"), "result": result})


async def sse_error(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    event = {
        "jsonrpc": "2.0",
        "id": 5,
        "error": {
            "code": -32001,
            "message": "Task not found",
            "data": [{"reason": "TASK_NOT_FOUND"}],
        },
    }
    await response.write(f"data: {json.dumps(event)}\n\n".encode())
    await response.write_eof()
    return response


async def reset_mid_body(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    response.content_length = 1000
    await response.prepare(request)
    await response.write(b'{"jsonrpc": "2.0", "result": {')
    await asyncio.sleep(0.05)
    assert request.transport is not None
    request.transport.abort()
    return response


async def reset_mid_stream(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    task = {"id": "t", "contextId": "c", "status": {"state": "TASK_STATE_WORKING"}}
    event = {"jsonrpc": "2.0", "id": 1, "result": {"task": task}}
    await response.write(f"data: {json.dumps(event)}\n\n".encode())
    await asyncio.sleep(0.05)
    assert request.transport is not None
    request.transport.abort()
    return response


async def reset_before_response(request: web.Request) -> web.StreamResponse:
    await request.read()
    assert request.transport is not None
    request.transport.abort()
    return web.Response()


CANCELLED = web.AppKey("cancelled", list)
STARTED = web.AppKey("started", list)


async def stall(request: web.Request) -> web.Response:
    request.app[STARTED].append(request.raw_path)
    try:
        await asyncio.sleep(30)
    except asyncio.CancelledError:
        request.app[CANCELLED].append(request.raw_path)
        raise
    return web.Response(text="too late")


async def big(request: web.Request) -> web.Response:
    size = int(request.query.get("mb", "20")) * 1024 * 1024
    return web.Response(body=b"x" * size, content_type="application/octet-stream")


async def gzipped(request: web.Request) -> web.Response:
    payload = {
        "jsonrpc": "2.0",
        "id": 9,
        "result": {
            "message": {
                "messageId": "m",
                "contextId": "c-gz",
                "role": "ROLE_AGENT",
                "parts": [{"text": "zipped"}],
            }
        },
    }
    return web.Response(
        body=gzip.compress(json.dumps(payload).encode()),
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )


async def card(request: web.Request) -> web.Response:
    """A hybrid card naming the upstream in every generation's fields, plus a foreign URL."""
    base = f"http://{request.host}"
    body = {
        "name": "Raw",
        "url": f"{base}/a2a/v1",
        "preferredTransport": "JSONRPC",
        "additionalInterfaces": [
            {"url": f"{base}/a2a/v1", "transport": "JSONRPC"},
            {"url": "https://elsewhere.example/a2a", "transport": "HTTP+JSON"},
            {"url": "127.0.0.1:50051", "transport": "GRPC"},
        ],
        "supportedInterfaces": [
            {
                "url": f"http://localhost:{request.url.port}/a2a/v1",
                "protocolBinding": "JSONRPC",
                "protocolVersion": "1.0",
            }
        ],
        "signatures": [{"protected": "x", "signature": "y"}],
    }
    etag = '"upstream-v1"'
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers={"ETag": etag})
    return web.json_response(body, headers={"ETag": etag, "Cache-Control": "max-age=60"})


async def bounce(request: web.Request) -> web.StreamResponse:
    """Answers with the request's body as the response body, typed by ``X-Reply-Type``
    (default JSON), or with the string in its ``reply`` member when ``X-Reply-Member`` is
    set. An event stream is sent one event per write."""
    body = await request.read()
    if request.headers.get("X-Reply-Member"):
        body = json.loads(body)["reply"].encode()
    reply_type = request.headers.get("X-Reply-Type", "application/json")
    if reply_type != "text/event-stream":
        return web.Response(body=body, headers={"Content-Type": reply_type})
    response = web.StreamResponse(headers={"Content-Type": reply_type})
    await response.prepare(request)
    for event in body.split(b"\n\n"):
        if event.strip():
            await response.write(event + b"\n\n")
            await asyncio.sleep(0.01)
    await response.write_eof()
    return response


async def surrogate_card(request: web.Request) -> web.Response:
    """A card whose name holds a lone surrogate escape: valid JSON, no UTF-8 form."""
    base = f"http://{request.host}"
    body = '{"name": "odd \\ud800", "url": "' + base + '/", "skills": []}'
    return web.Response(body=body.encode(), content_type="application/json")


def raw_upstream_app() -> web.Application:
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app[GATES] = {}
    app[CANCELLED] = []
    app[STARTED] = []
    app.router.add_get("/sse-gated", sse_gated)
    app.router.add_post("/extended", extended_card)
    app.router.add_route("*", "/mirror{tail:.*}", mirror)
    app.router.add_route("*", "/echo{tail:.*}", echo)
    app.router.add_get("/sse", sse)
    app.router.add_post("/sse", sse)
    app.router.add_post("/sse-error", sse_error)
    app.router.add_post("/reset-mid-body", reset_mid_body)
    app.router.add_post("/reset-mid-stream", reset_mid_stream)
    app.router.add_post("/reset-before-response", reset_before_response)
    app.router.add_post("/stall", stall)
    app.router.add_get("/big", big)
    app.router.add_post("/gzip", gzipped)
    app.router.add_post("/bounce", bounce)
    app.router.add_get("/odd/.well-known/agent-card.json", surrogate_card)
    app.router.add_get("/.well-known/agent-card.json", card)
    app.router.add_get("/.well-known/agent.json", card)
    return app
