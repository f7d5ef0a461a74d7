"""The green agent as a server: settings, agent card, bearer auth, app, recovery.

``start_green(settings, telemetry)`` (async) builds everything and recovers the tasks a
previous process left running; ``serve_in_thread`` runs it with uvicorn on loopback for
tests and the demo; ``serve_forever`` is what ``tau2observe serve`` runs.

The app serves JSON-RPC at ``/`` for A2A 1.0 and, through a2a-sdk's compatibility layer,
0.3 (``message/send``, ``message/stream``, ``tasks/get``, ``tasks/cancel``), and the card
at ``/.well-known/agent-card.json``. With a token, every request but the card's needs
``Authorization: Bearer <token>``, compared in constant time; the token is never logged.

After a restart, a task that was submitted or working is an interrupted run: its results
file is marked ``interrupted`` (``tau2observe eval --resume`` can continue it) and the
task ends ``failed`` with what finished as a partial artifact. Nothing is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hmac
import json
import logging
import queue
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from a2a.helpers import new_data_part, new_text_part
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.routes import create_agent_card_routes, create_jsonrpc_routes
from a2a.types import (
    AgentCapabilities,
    AgentCard,
    AgentInterface,
    AgentSkill,
    Artifact,
    HTTPAuthSecurityScheme,
    Message,
    Role,
    SecurityRequirement,
    SecurityScheme,
    StringList,
    Task,
    TaskState,
)
from starlette.applications import Starlette
from starlette.types import ASGIApp, Receive, Scope, Send

from evaluator.agents.server import listening_socket
from evaluator.green import outcome
from evaluator.green.evaluations import Evaluations, EvaluationSettings
from evaluator.green.executor import GreenExecutor
from evaluator.green.llm_reader import LlmReader
from evaluator.green.reading import Vocabulary
from evaluator.green.store import SYSTEM, FileTaskStore
from proxy.errors import SettingsError
from proxy.tasks import spawn

if TYPE_CHECKING:
    from proxy.telemetry import Telemetry

log = logging.getLogger(__name__)

AGENT_NAME = "tau2observe-green"
ENV_AUTH_TOKEN = "TAU2OBSERVE_GREEN_AUTH_TOKEN"  # noqa: S105 (a variable name)
CARD_PATHS = ("/.well-known/agent-card.json", "/.well-known/agent.json")
PENDING = (TaskState.TASK_STATE_SUBMITTED, TaskState.TASK_STATE_WORKING)


@dataclass(frozen=True)
class GreenSettings:
    """How to run the green agent. ``validate()`` names the setting at fault."""

    evaluation: EvaluationSettings
    host: str = "127.0.0.1"
    port: int = 9009
    public_url: str | None = None
    auth_token: str | None = dataclasses.field(default=None, repr=False)
    llm: str | None = None  # litellm model for plain language the rules do not read
    llm_args: dict[str, Any] = dataclasses.field(default_factory=dict, repr=False)

    def validate(self) -> None:
        e = self.evaluation
        if not 0 <= self.port <= 65535:
            raise SettingsError("--port", self.port, "must be between 0 and 65535")
        for key, value in (
            ("--max-concurrent-evaluations", e.max_running),
            ("--trial-concurrency", e.trial_concurrency),
        ):
            if value < 1:
                raise SettingsError(key, value, "must be at least 1")
        if e.max_queued < 0:
            raise SettingsError("--max-queued-evaluations", e.max_queued, "must be 0 or more")
        for key, limit in (("--max-tasks", e.max_tasks), ("--max-trials", e.max_trials)):
            if limit is not None and limit < 1:
                raise SettingsError(key, limit, "must be at least 1")
        if self.public_url is not None and not self.public_url.startswith(("http://", "https://")):
            raise SettingsError("--public-url", self.public_url, "must be an http(s) URL")
        if self.auth_token is not None and not self.auth_token.strip():
            raise SettingsError("--auth-token", "(empty)", "must not be empty")


def _package_version() -> str:
    try:
        return version("tau2observe")
    except PackageNotFoundError:
        return "0.0.0"


def build_card(base_url: str, *, bearer: bool) -> AgentCard:
    example = (
        '{"participants": {"agent": "http://127.0.0.1:9019/"}, '
        '"config": {"domain": "mock", "num_tasks": 3, "num_trials": 2}}'
    )
    card = AgentCard(
        name=AGENT_NAME,
        description=(
            "tau2observe's green agent: evaluates an A2A agent on tau2-bench domains through "
            "an observing sidecar, with one status update per trial and an AgentBeats-"
            "compatible result (score, max_score, pass_rate, task_rewards, time_used) plus "
            "pass^k with intervals, causes of failures and trace ids"
        ),
        version=_package_version(),
        capabilities=AgentCapabilities(streaming=True),
        default_input_modes=["text/plain", "application/json"],
        default_output_modes=["text/plain", "application/json"],
        skills=[
            AgentSkill(
                id="tau2-evaluate",
                name="Evaluate an agent",
                description=(
                    "Runs tau2-bench against the agent under test. AgentBeats' structured "
                    "request (JSON as text or a data part; role 'agent' or the only "
                    "participant; the agentbeats-tutorial message format unless "
                    "config.message_format says otherwise) or plain language (the tau2 format)."
                ),
                tags=["tau2", "benchmark", "agentbeats", "evaluation"],
                examples=[
                    example,
                    "Evaluate my agent at http://127.0.0.1:9019 on the mock domain with "
                    "3 tasks and 2 trials",
                ],
            ),
            AgentSkill(
                id="tau2-list-domains",
                name="List domains",
                description="The tau2 domains this server runs, with their number of tasks.",
                tags=["tau2", "domains"],
                examples=["Which domains can you run?"],
            ),
            AgentSkill(
                id="tau2-get-results",
                name="Get results",
                description=(
                    "The results of earlier evaluations (or GetTask with the evaluation's "
                    "task id, also after a restart)."
                ),
                tags=["tau2", "results"],
                examples=["Show the latest results", "Show the results of <task id>"],
            ),
        ],
        supported_interfaces=[
            AgentInterface(protocol_binding="JSONRPC", protocol_version=v, url=base_url)
            for v in ("1.0", "0.3")
        ],
    )
    if bearer:
        card.security_schemes["bearer"].CopyFrom(
            SecurityScheme(http_auth_security_scheme=HTTPAuthSecurityScheme(scheme="Bearer"))
        )
        card.security_requirements.append(SecurityRequirement(schemes={"bearer": StringList()}))
    return card


class BearerAuth:
    """ASGI middleware: every request but the card's needs the bearer token."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self._token = token.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (
            scope.get("method") == "GET" and scope.get("path") in CARD_PATHS
        ):
            await self.app(scope, receive, send)
            return
        given = b""
        for key, value in scope.get("headers", []):
            if key == b"authorization":
                scheme, _, credentials = value.partition(b" ")
                if scheme.lower() == b"bearer":
                    given = credentials.strip()
        if hmac.compare_digest(given, self._token):
            await self.app(scope, receive, send)
            return
        problem = "missing" if not given else "wrong"
        body = json.dumps(
            {"error": f"unauthorized: {problem} bearer token (Authorization: Bearer <token>)"}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"www-authenticate", b'Bearer realm="tau2observe-green"'),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


@dataclass
class Green:
    """A built green agent: its app and the parts tests and shutdown reach."""

    app: ASGIApp
    card: AgentCard
    store: FileTaskStore
    evaluations: Evaluations
    handler: DefaultRequestHandler
    recovered: list[str]  # task ids marked interrupted at start

    async def aclose(self) -> None:
        """Stop the runs, mark them interrupted (with what finished), close the handler."""
        await self.evaluations.shutdown()
        await recover(self.store, self.evaluations.settings.runs_dir, reason=STOPPED)
        try:
            await asyncio.wait_for(self.handler.aclose(), timeout=10)
        except TimeoutError:
            log.warning("the A2A request handler did not close within 10 s")


async def start_green(settings: GreenSettings, telemetry: Telemetry, base_url: str) -> Green:
    """Build the green agent for ``base_url`` (the card's URL) and recover its data dir."""
    from evaluator import tau2_adapter
    from evaluator.formats import MESSAGE_FORMAT_CHOICES

    settings.validate()
    e = settings.evaluation
    domains = await asyncio.to_thread(tau2_adapter.known_domains)
    vocabulary = Vocabulary(
        domains=tuple(domains),
        message_formats=tuple(MESSAGE_FORMAT_CHOICES),  # read now: new ones join by themselves
        max_tasks=e.max_tasks,
        max_trials=e.max_trials,
    )
    store = await FileTaskStore.open(e.data_dir)
    recovered = await recover(store, e.runs_dir)
    evaluations = Evaluations(e, telemetry, vocabulary)
    llm = LlmReader(settings.llm, settings.llm_args) if settings.llm else None
    card = build_card(base_url, bearer=settings.auth_token is not None)
    handler = DefaultRequestHandler(
        agent_executor=GreenExecutor(evaluations, store, llm=llm),
        task_store=store,
        agent_card=card,
    )
    routes = [
        *create_agent_card_routes(card),
        *create_jsonrpc_routes(handler, rpc_url="/", enable_v0_3_compat=True),
    ]
    green = Green(Starlette(routes=routes), card, store, evaluations, handler, recovered)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await green.aclose()

    app: ASGIApp = Starlette(routes=routes, lifespan=lifespan)
    if settings.auth_token:
        app = BearerAuth(app, settings.auth_token)
    green.app = app
    return green


RESTARTED = "the server stopped during this evaluation"
STOPPED = "the server was stopped during this evaluation"


async def recover(store: FileTaskStore, runs_dir: Path, reason: str = RESTARTED) -> list[str]:
    """Mark the runs left unfinished (by a previous process, or by a stop) as
    interrupted, with what finished; their task ids."""
    from evaluator.results import INTERRUPTED, ResultsFileError, load_results, save_results

    recovered = []
    for task in await store.all():
        if task.status.state not in PENDING:
            continue
        path = runs_dir / store.path_for(task.id).name
        partial = None
        if path.exists():
            try:
                previous = load_results(path)
            except ResultsFileError as exc:
                log.warning("task %s: its results file cannot be read: %s", task.id, exc)
            else:
                partial = dataclasses.replace(
                    previous,
                    status=INTERRUPTED,
                    status_note=(
                        "interrupted: the green agent stopped during the run; "
                        f"tau2observe eval --resume --save-to {path} continues it"
                    ),
                )
                save_results(partial, path)
        updated = Task()
        updated.CopyFrom(task)
        if updated.status.HasField("message"):
            updated.history.append(updated.status.message)
        done = len(partial.trials) if partial is not None else 0
        text = f"interrupted: {reason}; {done} trial(s) had finished" + (
            "; the artifact holds them (partial)" if partial else ""
        )
        if partial is not None:
            data = outcome.numbers(partial, partial=True)
            summary = outcome.summary_text(partial, data, why_partial=f"interrupted: {reason}")
            updated.artifacts.append(
                Artifact(
                    artifact_id=f"{task.id}-interrupted",
                    name=outcome.ARTIFACT_NAME,
                    parts=[new_text_part(summary), new_data_part(data)],
                )
            )
        updated.status.state = TaskState.TASK_STATE_FAILED
        updated.status.message.CopyFrom(
            Message(
                message_id=f"{task.id}-interrupted",
                role=Role.ROLE_AGENT,
                parts=[new_text_part(text)],
                task_id=task.id,
                context_id=task.context_id,
            )
        )
        updated.status.timestamp.GetCurrentTime()
        await store.save(updated, SYSTEM)
        recovered.append(task.id)
        log.info("task %s interrupted (%s): failed, %d trial(s) kept", task.id, reason, done)
    return recovered


def bind(host: str, port: int) -> socket.socket:
    return listening_socket(host, port, option="--port")


def base_url(settings: GreenSettings, port: int) -> str:
    if settings.public_url:
        return settings.public_url.rstrip("/") + "/"
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    return f"http://{host}:{port}/"


@dataclass(frozen=True)
class RunningGreen:
    url: str
    green: Green


async def _serve(
    settings: GreenSettings, telemetry: Telemetry, sock: socket.socket
) -> tuple[Any, Green]:
    import uvicorn

    url = base_url(settings, sock.getsockname()[1])
    green = await start_green(settings, telemetry, url)
    config = uvicorn.Config(
        green.app, log_config=None, lifespan="on", ws="none", timeout_graceful_shutdown=5
    )
    return uvicorn.Server(config), green


@contextlib.contextmanager
def serve_in_thread(settings: GreenSettings, telemetry: Telemetry) -> Iterator[RunningGreen]:
    """Serve the green agent from a background thread until the block exits."""
    handoff: queue.Queue[tuple[RunningGreen, Any] | BaseException] = queue.Queue()

    async def run() -> None:
        sock = bind(settings.host, settings.port)
        try:
            server, green = await _serve(settings, telemetry, sock)
            serving = spawn(server.serve(sockets=[sock]), name="green-agent")
            while not server.started:
                if serving.done():
                    serving.result()
                    raise RuntimeError("the green agent stopped before it started")
                await asyncio.sleep(0.01)
            handoff.put((RunningGreen(base_url(settings, sock.getsockname()[1]), green), server))
            await serving
        finally:
            sock.close()

    def main() -> None:
        try:
            asyncio.run(run())
        except BaseException as exc:  # handed to the caller, who re-raises it
            handoff.put(exc)

    thread = threading.Thread(target=main, name="green-agent", daemon=True)
    thread.start()
    item = handoff.get()
    if isinstance(item, BaseException):
        thread.join()
        raise item
    running, server = item
    try:
        yield running
    finally:
        server.should_exit = True
        thread.join(timeout=60)


def serve_forever(settings: GreenSettings, telemetry: Telemetry) -> None:
    """Run in the foreground until SIGINT/SIGTERM (``tau2observe serve``)."""

    async def run() -> None:
        sock = bind(settings.host, settings.port)
        try:
            server, green = await _serve(settings, telemetry, sock)
            url = base_url(settings, sock.getsockname()[1])
            log.info(
                "green agent %r serving A2A at %s (card: %s.well-known/agent-card.json); "
                "data in %s%s; %d interrupted run(s) recovered",
                AGENT_NAME,
                url,
                url,
                settings.evaluation.data_dir,
                "; bearer auth on" if settings.auth_token else "",
                len(green.recovered),
            )
            await server.serve(sockets=[sock])
        finally:
            sock.close()

    asyncio.run(run())
