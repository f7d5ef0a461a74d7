"""Sample purple agents as real A2A servers (a2a-sdk 1.x, Starlette, uvicorn).

``build_agent_app(settings, base_url)`` gives the Starlette app; ``serve_in_background``
(async) and ``serve_in_thread`` (sync) run it with uvicorn on a free loopback port for
tests and demos; ``serve_forever`` is what ``tau2observe agent`` runs.

The card lists a JSON-RPC interface per protocol version asked for. With ``0.3`` in
play, the 0.3 compatibility layer serves ``message/send`` and ``message/stream`` on the
same endpoint; a card with only a 0.3 interface makes a 1.x client use that layer.
Replies follow the Message pattern (one agent message) or the Task pattern (a task that
ends ``completed`` with the reply as its one artifact). The answer is never repeated in
the status message: clients that join status text and artifacts (the AgentBeats
tutorial's) would read it twice.
"""

from __future__ import annotations

import asyncio
import json
import logging
import queue
import socket
import threading
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Literal

from a2a.helpers import new_task, new_text_message, new_text_part
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events import EventQueue
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.routes import create_agent_card_routes, create_jsonrpc_routes
from a2a.server.tasks import InMemoryTaskStore, TaskUpdater
from a2a.types import AgentCapabilities, AgentCard, AgentInterface, AgentSkill, Part, TaskState
from opentelemetry import context as otel_context
from opentelemetry import propagate
from starlette.applications import Starlette

from evaluator.agents.scripted import DEFAULT_MAX_CONTEXTS, ConversationalAgent
from evaluator.agents.tau2_tasks import DEFAULT_TASK_SETS
from evaluator.genai.instrument import ChatInstrumentation
from proxy.errors import SettingsError
from proxy.tasks import spawn

log = logging.getLogger(__name__)

AgentKind = Literal["llm", "oracle", "flawed", "noop", "always-approve", "always-deny"]
ProtocolChoice = Literal["both", "1.0", "0.3"]
ReplyPattern = Literal["message", "task"]

KINDS: dict[str, str] = {
    "llm": "an agent backed by a litellm model (--model, --llm-args), in any tau2 convention",
    "oracle": "replays each task's reference actions, recognised from the conversation",
    "flawed": "the oracle with seeded faults: malformed calls, wrong arguments, giving up",
    "noop": "never calls a tool; answers every message with a polite refusal",
    "always-approve": "recognises the task like the oracle, then grants every request as asked",
    "always-deny": "recognises the task like the oracle, then refuses every request",
}
PROTOCOLS: tuple[str, ...] = ("both", "1.0", "0.3")
REPLY_PATTERNS: tuple[str, ...] = ("message", "task")


@dataclass(frozen=True)
class AgentSettings:
    """How to run one sample agent. ``validate()`` names the setting at fault."""

    kind: AgentKind
    host: str = "127.0.0.1"
    port: int = 0  # 0: any free port
    public_url: str | None = None  # the card's URLs; default http://host:port/
    protocol: ProtocolChoice = "both"
    reply: ReplyPattern = "message"
    seed: int = 0
    name: str | None = None
    model: str | None = None
    llm_args: Mapping[str, Any] = field(default_factory=dict)
    max_contexts: int = DEFAULT_MAX_CONTEXTS
    task_sets: tuple[str, ...] = DEFAULT_TASK_SETS

    def validate(self) -> None:
        if self.kind not in KINDS:
            raise SettingsError("kind", self.kind, f"must be one of {', '.join(KINDS)}")
        if self.protocol not in PROTOCOLS:
            raise SettingsError("protocol", self.protocol, f"must be one of {', '.join(PROTOCOLS)}")
        if self.reply not in REPLY_PATTERNS:
            raise SettingsError("reply", self.reply, "must be 'message' or 'task'")
        if not 0 <= self.port <= 65535:
            raise SettingsError("port", self.port, "must be between 0 and 65535")
        if self.max_contexts < 1:
            raise SettingsError("max_contexts", self.max_contexts, "must be at least 1")
        if self.public_url is not None and not self.public_url.startswith(("http://", "https://")):
            raise SettingsError("public_url", self.public_url, "must be an http(s) URL")
        if self.kind == "llm" and not self.model:
            raise SettingsError("--model", self.model, "the llm agent needs a litellm model name")
        if self.kind != "llm" and (self.model or self.llm_args):
            raise SettingsError(
                "model", self.model, f"only the llm agent uses a model, not {self.kind}"
            )
        try:
            json.dumps(dict(self.llm_args))
        except (TypeError, ValueError) as exc:
            raise SettingsError(
                "llm_args", self.llm_args, f"must be JSON-serialisable: {exc}"
            ) from exc

    @property
    def agent_name(self) -> str:
        return self.name or f"tau2observe-{self.kind}"


def build_agent(
    settings: AgentSettings, chat: ChatInstrumentation | None = None
) -> ConversationalAgent:
    """The conversational core of the agent ``settings.kind`` (no server); ``chat``
    traces the ``llm`` agent's model calls as GenAI spans."""
    settings.validate()
    if settings.kind == "llm":
        from evaluator.agents.llm import LlmAgent

        assert settings.model is not None  # validate() checked it
        return LlmAgent(
            settings.model,
            settings.llm_args,
            settings.max_contexts,
            chat=chat,
            name=settings.agent_name,
        )
    if settings.kind == "oracle":
        from evaluator.agents.oracle import OracleAgent

        return OracleAgent(settings.task_sets, settings.max_contexts)
    if settings.kind == "flawed":
        from evaluator.agents.flawed import FlawedAgent

        return FlawedAgent(settings.seed, settings.task_sets, settings.max_contexts)
    if settings.kind == "always-approve":
        from evaluator.agents.one_way import AlwaysApproveAgent

        return AlwaysApproveAgent(settings.task_sets, settings.max_contexts)
    if settings.kind == "always-deny":
        from evaluator.agents.one_way import AlwaysDenyAgent

        return AlwaysDenyAgent(settings.task_sets, settings.max_contexts)
    from evaluator.agents.noop import NoopAgent

    return NoopAgent(settings.max_contexts)


def _package_version() -> str:
    try:
        return version("tau2observe")
    except PackageNotFoundError:
        return "0.0.0"


def build_agent_card(settings: AgentSettings, base_url: str) -> AgentCard:
    versions = {"both": ["1.0", "0.3"], "1.0": ["1.0"], "0.3": ["0.3"]}[settings.protocol]
    return AgentCard(
        name=settings.agent_name,
        description=f"tau2observe sample purple agent ({settings.kind}): {KINDS[settings.kind]}",
        version=_package_version(),
        capabilities=AgentCapabilities(streaming=True),
        default_input_modes=["text/plain"],
        default_output_modes=["text/plain"],
        skills=[
            AgentSkill(
                id=f"tau2-{settings.kind}",
                name="tau2 customer service",
                description="Answers tau2-bench conversations in the convention of the tau2 fork, "
                "the AgentBeats tutorial or the agentify example",
                tags=["tau2", "benchmark", settings.kind],
            )
        ],
        supported_interfaces=[
            AgentInterface(protocol_binding="JSONRPC", protocol_version=v, url=base_url)
            for v in versions
        ],
    )


def describe_parts(context: RequestContext) -> str:
    message = context.message
    if message is None or not message.parts:
        return "no parts"
    kinds = sorted({part.WhichOneof("content") or "empty" for part in message.parts})
    return "parts: " + ", ".join(kinds)


def _headers(context: RequestContext) -> dict[str, str]:
    state = context.call_context.state if context.call_context is not None else {}
    headers = state.get("headers")
    return dict(headers) if isinstance(headers, Mapping) else {}


class ReplyingExecutor(AgentExecutor):
    """Runs one agent turn per request and answers in the configured A2A pattern."""

    def __init__(self, agent: ConversationalAgent, pattern: ReplyPattern) -> None:
        self.agent = agent
        self.pattern = pattern

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        context_id = context.context_id or ""
        text = context.get_user_input()
        if not text.strip():
            log.info("context %s: message without text (%s)", context_id, describe_parts(context))
        # Continue the caller's trace (W3C traceparent), for the spans the agent makes.
        token = otel_context.attach(propagate.extract(_headers(context)))
        try:
            answer = await self.agent.reply(context_id, text)
        finally:
            otel_context.detach(token)
        if self.pattern == "message":
            await event_queue.enqueue_event(new_text_message(answer, context_id=context_id))
            return
        task_id = context.task_id or ""
        task = context.current_task
        if task is None:
            history = [context.message] if context.message is not None else []
            task = new_task(task_id, context_id, TaskState.TASK_STATE_SUBMITTED, history=history)
            await event_queue.enqueue_event(task)
        updater = TaskUpdater(event_queue, task.id, task.context_id)
        await updater.start_work()
        parts: list[Part] = [new_text_part(answer)]
        await updater.add_artifact(parts, name="reply", last_chunk=True)
        await updater.complete()

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        await TaskUpdater(event_queue, context.task_id or "", context.context_id or "").cancel()


def build_agent_app(
    settings: AgentSettings,
    base_url: str,
    agent: ConversationalAgent | None = None,
) -> Starlette:
    """The A2A app for ``settings``; its card names ``base_url`` (the public URL)."""
    settings.validate()
    card = build_agent_card(settings, base_url)
    handler = DefaultRequestHandler(
        agent_executor=ReplyingExecutor(agent or build_agent(settings), settings.reply),
        task_store=InMemoryTaskStore(),
        agent_card=card,
    )
    routes = [
        *create_agent_card_routes(card),
        *create_jsonrpc_routes(handler, rpc_url="/", enable_v0_3_compat=settings.protocol != "1.0"),
    ]
    return Starlette(routes=routes)


@dataclass(frozen=True)
class RunningAgent:
    """A started agent: its public URL (on the card), where it listens, and its core."""

    url: str
    listen_url: str  # differs from ``url`` when a public URL (say, a proxy's) was given
    agent: ConversationalAgent
    settings: AgentSettings


def listening_socket(host: str, port: int, option: str = "port") -> socket.socket:
    """A socket listening on ``host:port``; a port in use is a SettingsError on ``option``."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise SettingsError(option, port, f"cannot listen on {host}:{port}: {exc}") from exc
    # listening now, not when uvicorn starts: once the URL is known, connects queue up
    sock.listen(2048)
    return sock


def _listen_url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def _public_url(settings: AgentSettings, port: int) -> str:
    if settings.public_url:
        return settings.public_url.rstrip("/") + "/"
    return _listen_url(settings.host, port)


async def _warm_up(agent: ConversationalAgent) -> None:
    """Load what the first request would otherwise wait for (the oracle's task index)."""
    load = getattr(agent, "load", None)
    if load is not None:
        await load()


@asynccontextmanager
async def serve_in_background(
    settings: AgentSettings, *, warm_up: bool = True
) -> AsyncIterator[RunningAgent]:
    """Serve the agent with uvicorn in this event loop until the block exits."""
    import uvicorn

    settings.validate()
    agent = build_agent(settings)
    if warm_up:
        await _warm_up(agent)
    sock = listening_socket(settings.host, settings.port)
    url = _public_url(settings, sock.getsockname()[1])
    config = uvicorn.Config(
        build_agent_app(settings, url, agent),
        log_config=None,
        lifespan="off",
        ws="none",
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    serving = spawn(server.serve(sockets=[sock]), name=f"agent-{settings.kind}")
    try:
        while not server.started:
            if serving.done():
                serving.result()  # raises what stopped the server
                raise RuntimeError(f"the {settings.kind} agent stopped before it started")
            await asyncio.sleep(0.01)
        yield RunningAgent(url, _listen_url(settings.host, sock.getsockname()[1]), agent, settings)
    finally:
        server.should_exit = True
        await serving
        sock.close()


@contextmanager
def serve_in_thread(settings: AgentSettings, *, warm_up: bool = True) -> Iterator[RunningAgent]:
    """Serve the agent from a background thread (its own event loop) until the block exits."""
    handoff: queue.Queue[
        tuple[RunningAgent, asyncio.AbstractEventLoop, asyncio.Event] | BaseException
    ] = queue.Queue()

    async def run() -> None:
        stop = asyncio.Event()
        async with serve_in_background(settings, warm_up=warm_up) as running:
            handoff.put((running, asyncio.get_running_loop(), stop))
            await stop.wait()

    def main() -> None:
        try:
            asyncio.run(run())
        except BaseException as exc:  # handed to the caller, who re-raises it
            handoff.put(exc)

    thread = threading.Thread(target=main, name=f"agent-{settings.kind}", daemon=True)
    thread.start()
    item = handoff.get()
    if isinstance(item, BaseException):
        thread.join()
        raise item
    running, loop, stop = item
    try:
        yield running
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join()


def serve_forever(settings: AgentSettings, chat: ChatInstrumentation | None = None) -> None:
    """Run the agent in the foreground until SIGINT/SIGTERM (``tau2observe agent``)."""
    import uvicorn

    settings.validate()
    agent = build_agent(settings, chat)
    asyncio.run(_warm_up(agent))
    sock = listening_socket(settings.host, settings.port)
    url = _public_url(settings, sock.getsockname()[1])
    config = uvicorn.Config(
        build_agent_app(settings, url, agent), log_config=None, ws="none", lifespan="off"
    )
    log.info(
        "%s agent %r serving A2A at %s (card: %s.well-known/agent-card.json)",
        settings.kind,
        settings.agent_name,
        url,
        url,
    )
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
