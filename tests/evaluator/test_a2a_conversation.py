"""The conversation with the agent under test: reading A2A replies (pure, over a2a-sdk's own
types), and real a2a-sdk agents on loopback for the connection, its errors, and the turn
span of each exchange (through the OTel SDK's in-memory exporter)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from a2a.types import (
    AgentCard,
    AgentInterface,
    Artifact,
    Message,
    Part,
    Role,
    StreamResponse,
    Task,
    TaskArtifactUpdateEvent,
    TaskState,
    TaskStatus,
    TaskStatusUpdateEvent,
)
from opentelemetry import context as otel_context
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from evaluator.a2a_conversation import (
    A2AConnection,
    Conversation,
    chosen_protocol_version,
    exchange_from,
    fold_stream,
    redact,
)
from evaluator.errors import (
    AgentProtocolError,
    AgentReplyError,
    AgentTimeout,
    AgentUnreachable,
    NotAnA2AAgent,
)
from evaluator.event_loop import BackgroundLoop
from evaluator.formats import AgentAction, ProposedCall, ToolSpec, TurnInput
from tests.evaluator.a2a_servers import ScriptedCore, free_port, serve_agent, serve_asgi
from tests.evaluator.test_evaluation_e2e import evaluate

ENDPOINT = "http://agent.test/"
TOKEN = "tok-SECRET-4242"
CREATE = '{"tool_call": {"name": "create_task", "arguments": {"user_id": "user_1"}}}'


# --- reading replies (pure) ---------------------------------------------------------------


def agent_message(text: str, context_id: str = "ctx-1") -> Message:
    return Message(
        role=Role.ROLE_AGENT, parts=[Part(text=text)], message_id="m-1", context_id=context_id
    )


def task(state: int, *, artifacts: tuple[str, ...] = (), said: str | None = None) -> Task:
    status = TaskStatus(state=state)  # type: ignore[arg-type]
    if said is not None:
        status.message.CopyFrom(agent_message(said))
    return Task(
        id="task-1",
        context_id="ctx-1",
        status=status,
        artifacts=[
            Artifact(artifact_id=f"a{i}", parts=[Part(text=t)]) for i, t in enumerate(artifacts)
        ],
    )


def test_redact_masks_every_occurrence_and_nothing_without_a_secret() -> None:
    assert redact(f"Bearer {TOKEN} and {TOKEN}", TOKEN) == "Bearer *** and ***"
    assert redact("nothing to hide", None) == "nothing to hide"
    assert redact("nothing to hide", "") == "nothing to hide"


@pytest.mark.parametrize(
    ("versions", "chosen"),
    [(["0.3", "1.0"], "1.0"), (["1.0.1"], "1.0"), (["0.3"], "0.3"), (["", "0.2.5"], "0.2.5"),
     ([], None)],
)  # fmt: skip
def test_the_protocol_version_is_1_0_when_offered(versions: list[str], chosen: str | None) -> None:
    card = AgentCard(
        name="a",
        supported_interfaces=[
            AgentInterface(url=ENDPOINT, protocol_binding="JSONRPC", protocol_version=v)
            for v in versions
        ],
    )
    assert chosen_protocol_version(card) == chosen


def test_a_message_reply_gives_its_text_and_context() -> None:
    exchange = exchange_from(StreamResponse(message=agent_message("hello")), ENDPOINT)
    assert (exchange.text, exchange.context_id, exchange.task_id, exchange.task_state) == (
        "hello", "ctx-1", None, None,
    )  # fmt: skip


def test_a_task_reply_gives_its_artifacts_then_its_status_then_its_history() -> None:
    done = task(TaskState.TASK_STATE_COMPLETED, artifacts=("one", "two"), said="ignored")
    exchange = exchange_from(StreamResponse(task=done), ENDPOINT)
    assert (exchange.text, exchange.context_id, exchange.task_id, exchange.task_state) == (
        "one\ntwo", "ctx-1", "task-1", "TASK_STATE_COMPLETED",
    )  # fmt: skip
    asking = task(TaskState.TASK_STATE_INPUT_REQUIRED, said="which user?")
    assert exchange_from(StreamResponse(task=asking), ENDPOINT).text == "which user?"
    quiet = task(TaskState.TASK_STATE_COMPLETED)
    quiet.history.extend([agent_message("first"), agent_message("last")])
    quiet.history.append(Message(role=Role.ROLE_USER, parts=[Part(text="me")], message_id="u"))
    assert exchange_from(StreamResponse(task=quiet), ENDPOINT).text == "last"


@pytest.mark.parametrize(
    ("state", "word"),
    [
        (TaskState.TASK_STATE_FAILED, "failed"),
        (TaskState.TASK_STATE_REJECTED, "rejected"),
        (TaskState.TASK_STATE_CANCELED, "canceled"),
        (TaskState.TASK_STATE_AUTH_REQUIRED, "auth-required"),
    ],
)
def test_a_task_that_ended_badly_is_a_protocol_error(state: int, word: str) -> None:
    with pytest.raises(AgentProtocolError, match=f"task ended {word}: out of memory$"):
        exchange_from(StreamResponse(task=task(state, said="out of memory")), ENDPOINT)


def test_a_reply_with_neither_message_nor_task_is_a_protocol_error() -> None:
    update = TaskStatusUpdateEvent(task_id="t", context_id="c")
    with pytest.raises(AgentProtocolError, match="neither a message nor a task"):
        exchange_from(StreamResponse(status_update=update), ENDPOINT)


def test_a_stream_folds_into_its_last_message() -> None:
    events = [
        StreamResponse(status_update=TaskStatusUpdateEvent(task_id="t", context_id="c")),
        StreamResponse(message=agent_message("early")),
        StreamResponse(message=agent_message("final")),
    ]
    assert exchange_from(fold_stream(events, ENDPOINT), ENDPOINT).text == "final"


def test_a_stream_folds_status_and_artifact_updates_into_one_task() -> None:
    def chunk(text: str, append: bool, artifact_id: str = "reply") -> StreamResponse:
        artifact = Artifact(artifact_id=artifact_id, parts=[Part(text=text)])
        update = TaskArtifactUpdateEvent(
            task_id="task-9", context_id="ctx-9", artifact=artifact, append=append
        )
        return StreamResponse(artifact_update=update)

    working = TaskStatus(state=TaskState.TASK_STATE_WORKING)
    completed = TaskStatus(state=TaskState.TASK_STATE_COMPLETED)
    events = [
        StreamResponse(
            status_update=TaskStatusUpdateEvent(
                task_id="task-9", context_id="ctx-9", status=working
            )
        ),
        chunk("Hel", append=False),
        chunk("lo", append=True),
        chunk("P.S.", append=False, artifact_id="note"),
        chunk("replaced", append=False, artifact_id="note"),
        StreamResponse(
            status_update=TaskStatusUpdateEvent(
                task_id="task-9", context_id="ctx-9", status=completed
            )
        ),
    ]
    folded = fold_stream(events, ENDPOINT)
    assert folded.HasField("task")
    exchange = exchange_from(folded, ENDPOINT)
    # an appended chunk is one more part, and a2a-sdk joins parts with newlines
    assert (exchange.text, exchange.context_id, exchange.task_id, exchange.task_state) == (
        "Hel\nlo\nreplaced", "ctx-9", "task-9", "TASK_STATE_COMPLETED",
    )  # fmt: skip


def test_a_stream_with_nothing_to_fold_is_a_protocol_error() -> None:
    with pytest.raises(AgentProtocolError, match="neither a message nor a task"):
        fold_stream([StreamResponse()], ENDPOINT)


# --- the connection, against real servers on loopback -------------------------------------


def card_app(on_post: Response) -> Any:
    """A server with a valid A2A agent card whose JSON-RPC endpoint answers ``on_post``."""

    def make(url: str) -> Starlette:
        card = {
            "name": "broken",
            "description": "answers every request the same way",
            "supportedInterfaces": [
                {"url": url, "protocolBinding": "JSONRPC", "protocolVersion": "1.0"}
            ],
            "version": "0.1.0",
            "capabilities": {},
            "defaultInputModes": ["text/plain"],
            "defaultOutputModes": ["text/plain"],
            "skills": [],
        }

        async def post(request: Request) -> Response:
            return on_post

        return Starlette(
            routes=[
                Route("/.well-known/agent-card.json", lambda r: JSONResponse(card)),
                Route("/", post, methods=["POST"]),
            ]
        )

    return make


async def open_connection(url: str, **options: Any) -> A2AConnection:
    settings: dict[str, Any] = {"timeout_s": 5.0, "auth_token": None} | options
    return await A2AConnection.open(url, tracer_provider=TracerProvider(), **settings)


async def send(connection: A2AConnection, text: str, context_id: str | None = None) -> Any:
    return await connection.send(
        text, context_id=context_id, task_id=None, parent=otel_context.get_current()
    )


async def test_a_conversation_keeps_its_context_across_messages() -> None:
    core = ScriptedCore(lambda text, turn: f"turn {turn}: {text}")
    with serve_agent(core, reply="task") as url:
        connection = await open_connection(url)
        try:
            assert connection.card_name == "test-agent"
            assert connection.protocol_version == "1.0"
            first = await send(connection, "hi")
            again = await send(connection, "again", first.context_id)
            other = await send(connection, "new")
        finally:
            await connection.close()
    assert (first.text, first.task_state) == ("turn 0: hi", "TASK_STATE_COMPLETED")
    assert first.context_id
    assert (again.text, again.context_id) == ("turn 1: again", first.context_id)
    assert other.text == "turn 0: new"
    assert other.context_id != first.context_id


async def test_streaming_is_used_only_when_asked_for_and_the_card_streams() -> None:
    with serve_agent(ScriptedCore(lambda text, turn: "streamed"), reply="task") as url:
        connection = await open_connection(url, streaming=True)
        try:
            assert connection.streaming
            reply = await send(connection, "hi")
        finally:
            await connection.close()
    assert (reply.text, reply.task_state) == ("streamed", "TASK_STATE_COMPLETED")


async def test_a_slow_agent_is_a_timeout_naming_the_option() -> None:
    with serve_agent(ScriptedCore(lambda text, turn: "late", delay_s=2.0)) as url:
        connection = await open_connection(url, timeout_s=0.3)
        try:
            with pytest.raises(AgentTimeout, match=r"no reply within 0\.3 s"):
                await send(connection, "hi")
        finally:
            await connection.close()


@pytest.mark.parametrize(
    ("on_post", "error", "message"),
    [
        (PlainTextResponse("down", status_code=503), AgentUnreachable, "HTTP 503"),
        (PlainTextResponse("slow", status_code=504), AgentTimeout, "HTTP 504"),
        (PlainTextResponse("<html>not json</html>"), AgentProtocolError, "not JSON-RPC"),
        (
            JSONResponse({"jsonrpc": "2.0", "id": 1, "error": {"code": -32601, "message": "no"}}),
            AgentProtocolError,
            "A2A error",
        ),
    ],
)
async def test_a_broken_endpoint_behind_a_good_card_is_a_clear_error(
    on_post: Response, error: type[Exception], message: str
) -> None:
    with serve_asgi(card_app(on_post)) as url:
        connection = await open_connection(url, auth_token=TOKEN)
        try:
            with pytest.raises(error, match=message) as raised:
                await send(connection, "hi")
        finally:
            await connection.close()
    assert TOKEN not in str(raised.value)
    assert url in str(raised.value)


async def test_a_card_url_that_is_not_a_card_is_named() -> None:
    def html(url: str) -> Starlette:
        return Starlette(routes=[Route("/{p:path}", lambda r: HTMLResponse("<html>hi</html>"))])

    with serve_asgi(html) as url, pytest.raises(NotAnA2AAgent) as raised:
        await open_connection(url)
    assert f"{url}.well-known/agent-card.json: not an A2A agent card" in str(raised.value)


@pytest.mark.slow
def test_unreachable_agent_is_a_clear_error() -> None:
    url = f"http://127.0.0.1:{free_port()}/"
    for mode in ("none", "in-process"):
        with pytest.raises(
            AgentUnreachable, match=r"cannot reach the agent at .*is it running"
        ) as e:
            evaluate(agent_endpoint=url, proxy_mode=mode, auth_token=TOKEN)
        assert TOKEN not in str(e.value)


@pytest.mark.slow
def test_non_a2a_endpoints_are_a_clear_error() -> None:
    def html(url: str) -> Starlette:
        return Starlette(routes=[Route("/{p:path}", lambda r: HTMLResponse("<html>hi</html>"))])

    def missing(url: str) -> Starlette:
        return Starlette(routes=[Route("/x", lambda r: PlainTextResponse("no"))])

    with serve_asgi(missing) as url, pytest.raises(NotAnA2AAgent, match="HTTP 404"):
        evaluate(agent_endpoint=url, proxy_mode="none")
    with serve_asgi(html) as url, pytest.raises(NotAnA2AAgent, match="not an A2A agent card"):
        evaluate(agent_endpoint=url, proxy_mode="none")


# --- one trial's conversation: turns and their spans --------------------------------------


@contextmanager
def conversation(
    answer: Any, **connection_options: Any
) -> Iterator[tuple[Conversation, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with serve_agent(ScriptedCore(answer)) as url, BackgroundLoop() as loop:
        connection = loop.run(open_connection(url, **connection_options), timeout=30)
        try:
            yield (
                Conversation(
                    connection,
                    loop,
                    tracer=provider.get_tracer("test"),
                    agent_name="purple",
                    message_format="tau2",
                    policy="Be kind.",
                    tools=(ToolSpec("create_task", "Create a task", {"type": "object"}),),
                    label="task t trial 0",
                ),
                exporter,
            )
        finally:
            loop.run(connection.close(), timeout=10)
            provider.shutdown()


def test_each_turn_is_an_invoke_agent_span_in_one_context() -> None:
    def answer(text: str, turn: int) -> str:
        return CREATE if turn == 0 else "Done."

    with conversation(answer) as (talk, exporter):
        first = talk.turn(TurnInput(user_text="Create a task for user_1"))
        second = talk.turn(TurnInput(user_text="Thanks"))
    assert first == AgentAction(tool_calls=(ProposedCall("create_task", {"user_id": "user_1"}),))
    assert second.text == "Done."
    assert talk.context_id
    spans = exporter.get_finished_spans()
    assert [s.name for s in spans] == ["invoke_agent purple"] * 2
    assert all(s.kind == SpanKind.CLIENT for s in spans)
    attrs = [dict(s.attributes or {}) for s in spans]
    assert [a["tau2.turn.index"] for a in attrs] == [0, 1]
    assert attrs[0]["gen_ai.operation.name"] == "invoke_agent"
    assert attrs[0]["a2a.protocol.version"] == "1.0"
    assert attrs[0]["tau2.turn.tool_calls"] == ("create_task",)
    assert {a["gen_ai.conversation.id"] for a in attrs} == {talk.context_id}
    records = talk.turns
    assert [r.index for r in records] == [0, 1]
    assert "Create a task for user_1" in records[0].request_text
    assert "Be kind." in records[0].request_text  # the first message carries the policy
    assert "Be kind." not in records[1].request_text
    assert records[0].reply_text == CREATE
    assert records[0].tool_calls == ["create_task"]
    assert [r.span_id for r in records] == [
        format(s.context.span_id, "016x") for s in spans if s.context is not None
    ]
    assert talk.malformed_tool_calls == 0


def test_an_empty_reply_fails_the_turn_and_marks_its_span() -> None:
    with (
        conversation(lambda text, turn: "   ") as (talk, exporter),
        pytest.raises(AgentReplyError, match="the reply has no text and no tool call"),
    ):
        talk.turn(TurnInput(user_text="hello"))
    (span,) = exporter.get_finished_spans()
    assert span.status.status_code == StatusCode.ERROR
    assert (span.attributes or {})["error.type"] == "agent_reply_error"
    (record,) = talk.turns
    assert record.error is not None
    assert "no text and no tool call" in record.error


def test_a_malformed_tool_call_is_counted_on_the_turn() -> None:
    with conversation(lambda text, turn: CREATE[:-3]) as (talk, exporter):
        action = talk.turn(TurnInput(user_text="hello"))
    assert action.malformed_tool_calls == 1
    assert talk.malformed_tool_calls == 1
    (span,) = exporter.get_finished_spans()
    assert (span.attributes or {})["tau2.turn.malformed_tool_calls"] == 1


def test_a_timeout_fails_the_turn_with_its_error_type() -> None:
    with (
        serve_agent(ScriptedCore(lambda text, turn: "late", delay_s=2.0)) as url,
        BackgroundLoop() as loop,
    ):
        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        connection = loop.run(open_connection(url, timeout_s=0.3), timeout=30)
        talk = Conversation(
            connection,
            loop,
            tracer=provider.get_tracer("test"),
            agent_name="purple",
            message_format="tau2",
            policy="",
            tools=(),
            label="t",
        )
        try:
            with pytest.raises(AgentTimeout):
                talk.turn(TurnInput(user_text="hello"))
        finally:
            loop.run(connection.close(), timeout=10)
    (span,) = exporter.get_finished_spans()
    assert (span.attributes or {})["error.type"] == "agent_timeout"
    assert talk.turns[0].reply_text is None
    assert talk.turns[0].error is not None
