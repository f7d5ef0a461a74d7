"""Real HTTP servers on loopback for the evaluator's end-to-end tests.

``serve_agent`` runs a sample-agent A2A app (a2a-sdk) around any conversational core,
for behaviours the sample agents do not have (empty replies, slowness, broken calls);
``serve_asgi`` runs any ASGI app (e.g. a server that is not an A2A agent).
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

from evaluator.agents.server import AgentSettings, build_agent_app


def free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serve_asgi(make_app: Callable[[str], ASGIApp]) -> Iterator[str]:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/"
    server = uvicorn.Server(
        uvicorn.Config(make_app(url), log_config=None, lifespan="off", ws="none")
    )
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    while not server.started and thread.is_alive():
        threading.Event().wait(0.01)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


class HeaderRecorder:
    """ASGI middleware that keeps the Authorization header of every request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.seen: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for key, value in scope["headers"]:
                if key == b"authorization":
                    self.seen.append(value.decode())
        await self.app(scope, receive, send)


@contextmanager
def serve_agent(
    core: Any,
    *,
    name: str = "test-agent",
    protocol: str = "both",
    reply: str = "message",
    recorder: list[HeaderRecorder] | None = None,
) -> Iterator[str]:
    settings = AgentSettings(kind="noop", name=name, protocol=protocol, reply=reply)  # type: ignore[arg-type]

    def make(url: str) -> ASGIApp:
        app: ASGIApp = build_agent_app(settings, url, core)
        if recorder is not None:
            wrapped = HeaderRecorder(app)
            recorder.append(wrapped)
            return wrapped
        return app

    with serve_asgi(make) as url:
        yield url


class ScriptedCore:
    """A conversational core answering each message with ``answer(text)``."""

    def __init__(self, answer: Callable[[str, int], str], delay_s: float = 0.0) -> None:
        self._answer = answer
        self._delay_s = delay_s
        self._turns: dict[str, int] = {}

    async def reply(self, context_id: str, text: str) -> str:
        if self._delay_s:
            await asyncio.sleep(self._delay_s)
        turn = self._turns.get(context_id, 0)
        self._turns[context_id] = turn + 1
        return self._answer(text, turn)
