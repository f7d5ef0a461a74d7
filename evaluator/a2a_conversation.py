"""Talking to the purple agent over A2A with the a2a-sdk 1.3 client.

:class:`A2AConnection` is one per run: one ``httpx.AsyncClient`` (bearer token in its
headers, OpenTelemetry-instrumented so every request carries ``traceparent``), the agent
card, and an a2a-sdk client that speaks protocol 1.0 or 0.3 as the card says.
:class:`Conversation` is one per task trial: it renders each tau2 turn in the chosen
message format, sends it under an ``invoke_agent`` span, keeps the A2A ``contextId`` that
ties the trial's turns together, and reads the reply leniently.

Connections live on a :class:`~evaluator.event_loop.BackgroundLoop`; conversations are
called from tau2's synchronous worker threads.
"""

from __future__ import annotations

import concurrent.futures
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx
from opentelemetry import context as otel_context
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as gen_ai
from opentelemetry.semconv.attributes import error_attributes
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer, format_span_id

from evaluator.datadog.llmobs.run import agent_turn
from evaluator.errors import (
    AgentProtocolError,
    AgentReplyError,
    AgentTimeout,
    AgentUnreachable,
    EvaluationError,
    NotAnA2AAgent,
)
from evaluator.formats import (
    AgentAction,
    MessageFormat,
    ToolSpec,
    TurnInput,
    message_format_named,
    read_reply,
    render,
)
from evaluator.results import TurnRecord

if TYPE_CHECKING:
    from a2a.client import Client
    from a2a.types import AgentCard, StreamResponse
    from opentelemetry.sdk.trace import TracerProvider

    from evaluator.event_loop import BackgroundLoop

log = logging.getLogger("evaluator.a2a")

ATTR_TURN_INDEX = "tau2.turn.index"
ATTR_PROTOCOL_VERSION = "a2a.protocol.version"
# Seconds on top of the HTTP timeout before a worker thread stops waiting on the loop.
LOOP_GRACE_S = 5.0


def redact(text: str, secret: str | None) -> str:
    """``text`` with every occurrence of ``secret`` masked."""
    return text.replace(secret, "***") if secret else text


@dataclass(frozen=True)
class Exchange:
    """One reply of the agent: its text and where the conversation stands."""

    text: str
    context_id: str | None
    task_id: str | None
    task_state: str | None


@dataclass
class A2AConnection:
    endpoint: str
    card: AgentCard
    client: Client
    http: httpx.AsyncClient
    timeout_s: float
    protocol_version: str | None
    debug: bool = False
    streaming: bool = False  # SendStreamingMessage: asked for, and the card streams
    _token: str | None = field(default=None, repr=False)

    @property
    def card_name(self) -> str:
        return str(self.card.name)

    @classmethod
    async def open(
        cls,
        endpoint: str,
        *,
        timeout_s: float,
        auth_token: str | None,
        tracer_provider: TracerProvider,
        debug: bool = False,
        streaming: bool = False,
    ) -> A2AConnection:
        from a2a.client import A2ACardResolver, ClientConfig, ClientFactory
        from a2a.client.errors import AgentCardResolutionError
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

        headers = {"Authorization": f"Bearer {auth_token}"} if auth_token else {}
        http = httpx.AsyncClient(timeout=httpx.Timeout(timeout_s), headers=headers)
        HTTPXClientInstrumentor.instrument_client(
            http, tracer_provider=tracer_provider, meter_provider=NoOpMeterProvider()
        )
        try:
            card = await A2ACardResolver(http, endpoint).get_agent_card()
            # streaming only takes effect when the card says the agent streams
            client = ClientFactory(ClientConfig(streaming=streaming, httpx_client=http)).create(
                card
            )
        except AgentCardResolutionError as exc:
            await http.aclose()
            raise _card_error(endpoint, exc, auth_token) from None
        except Exception as exc:
            await http.aclose()
            raise NotAnA2AAgent(
                f"{endpoint}: the agent card cannot be used: {redact(str(exc), auth_token)}"
            ) from None
        return cls(
            endpoint=endpoint,
            card=card,
            client=client,
            http=http,
            timeout_s=timeout_s,
            protocol_version=chosen_protocol_version(card),
            debug=debug,
            streaming=streaming and bool(card.capabilities.streaming),
            _token=auth_token,
        )

    async def send(
        self,
        text: str,
        *,
        context_id: str | None,
        task_id: str | None,
        parent: otel_context.Context,
    ) -> Exchange:
        """Send one message under ``parent`` (the turn span) and return the agent's reply."""
        from a2a.client.errors import A2AClientError, A2AClientTimeoutError
        from a2a.helpers.proto_helpers import new_text_message
        from a2a.types import Role, SendMessageRequest
        from a2a.utils.errors import A2AError

        message = new_text_message(
            text, context_id=context_id, task_id=task_id, role=Role.ROLE_USER
        )
        token = otel_context.attach(parent)
        try:
            replies = [
                r async for r in self.client.send_message(SendMessageRequest(message=message))
            ]
        except A2AClientTimeoutError:
            raise AgentTimeout(
                f"{self.endpoint}: no reply within {self.timeout_s:g} s (--agent-a2a-timeout)"
            ) from None
        except A2AClientError as exc:
            raise self._transport_error(exc) from None
        except A2AError as exc:
            raise AgentProtocolError(
                f"{self.endpoint}: the agent answered with an A2A error: "
                f"{type(exc).__name__}: {redact(str(exc), self._token)}"
            ) from None
        except (ValueError, KeyError, TypeError) as exc:
            raise AgentProtocolError(
                f"{self.endpoint}: the reply is not a valid A2A response: "
                f"{redact(str(exc), self._token)}"
            ) from None
        finally:
            otel_context.detach(token)
        if not replies:
            raise AgentProtocolError(f"{self.endpoint}: the agent sent no response")
        if len(replies) > 1 or not (replies[0].HasField("task") or replies[0].HasField("message")):
            return exchange_from(fold_stream(replies, self.endpoint), self.endpoint)
        return exchange_from(replies[-1], self.endpoint)

    def _transport_error(self, exc: Exception) -> EvaluationError:
        cause = exc.__cause__
        detail = redact(str(exc), self._token)
        if isinstance(cause, httpx.TimeoutException):
            return AgentTimeout(f"{self.endpoint}: no reply within {self.timeout_s:g} s")
        if isinstance(cause, httpx.HTTPStatusError):
            status = cause.response.status_code
            if status == 504:
                return AgentTimeout(f"{self.endpoint}: HTTP 504 (the agent did not answer in time)")
            return AgentUnreachable(
                f"{self.endpoint}: HTTP {status} {cause.response.reason_phrase}"
            )
        if isinstance(cause, httpx.RequestError):
            return AgentUnreachable(f"{self.endpoint}: cannot connect: {type(cause).__name__}")
        if "JSON" in detail:
            return AgentProtocolError(f"{self.endpoint}: the reply is not JSON-RPC: {detail}")
        return AgentUnreachable(f"{self.endpoint}: {detail}")

    async def close(self) -> None:
        await self.client.close()
        await self.http.aclose()


def _card_error(endpoint: str, exc: Exception, token: str | None) -> EvaluationError:
    cause = exc.__cause__
    where = f"{endpoint.rstrip('/')}/.well-known/agent-card.json"
    if isinstance(cause, httpx.TimeoutException):
        return AgentTimeout(f"{where}: no answer in time; is the agent running?")
    if isinstance(cause, httpx.RequestError):
        return AgentUnreachable(
            f"cannot reach the agent at {endpoint} ({type(cause).__name__}); is it running?"
        )
    if isinstance(cause, httpx.HTTPStatusError):
        return NotAnA2AAgent(
            f"{where}: HTTP {cause.response.status_code}; the URL does not serve an A2A agent card"
        )
    return NotAnA2AAgent(f"{where}: not an A2A agent card: {redact(str(exc), token)[:300]}")


def chosen_protocol_version(card: AgentCard) -> str | None:
    """The protocol version the a2a-sdk client will use: 1.0 when offered, else the first."""
    versions = [i.protocol_version for i in card.supported_interfaces if i.protocol_version]
    for version in versions:
        if version.split(".")[:2] == ["1", "0"]:
            return "1.0"
    return versions[0] if versions else None


_BAD_STATES = {
    "TASK_STATE_FAILED": "failed",
    "TASK_STATE_REJECTED": "rejected",
    "TASK_STATE_CANCELED": "canceled",
    "TASK_STATE_AUTH_REQUIRED": "auth-required",
}


def exchange_from(reply: StreamResponse, endpoint: str) -> Exchange:
    """The text and conversation ids of a non-streaming reply (a Message or a Task)."""
    from a2a.helpers.proto_helpers import get_artifact_text, get_message_text
    from a2a.types import Role, TaskState

    if reply.HasField("message"):
        m = reply.message
        return Exchange(get_message_text(m), m.context_id or None, m.task_id or None, None)
    if not reply.HasField("task"):
        raise AgentProtocolError(f"{endpoint}: the reply holds neither a message nor a task")
    task = reply.task
    state = TaskState.Name(task.status.state)
    if state in _BAD_STATES:
        said = get_message_text(task.status.message) if task.status.HasField("message") else ""
        raise AgentProtocolError(
            f"{endpoint}: the agent's task ended {_BAD_STATES[state]}"
            + (f": {said[:200]}" if said else "")
        )
    texts = [t for t in (get_artifact_text(a) for a in task.artifacts) if t]
    if not texts and task.status.HasField("message"):
        texts = [get_message_text(task.status.message)]
    if not texts:
        agent_said = [get_message_text(m) for m in task.history if m.role == Role.ROLE_AGENT]
        texts = agent_said[-1:]
    return Exchange("\n".join(texts), task.context_id or None, task.id or None, state)


def fold_stream(events: list[StreamResponse], endpoint: str) -> StreamResponse:
    """One reply from a stream's events: its message, or its task with updates applied."""
    from a2a.types import StreamResponse, Task

    messages = [e for e in events if e.HasField("message")]
    if messages:
        return messages[-1]
    task = Task()
    for event in events:
        if event.HasField("task"):
            task.CopyFrom(event.task)
        elif event.HasField("status_update"):
            update = event.status_update
            task.id = task.id or update.task_id
            task.context_id = task.context_id or update.context_id
            task.status.CopyFrom(update.status)
        elif event.HasField("artifact_update"):
            _apply_artifact(task, event.artifact_update)
    if not task.id and not task.context_id:
        raise AgentProtocolError(f"{endpoint}: the stream carried neither a message nor a task")
    folded = StreamResponse()
    folded.task.CopyFrom(task)
    return folded


def _apply_artifact(task: Any, update: Any) -> None:
    task.id = task.id or update.task_id
    task.context_id = task.context_id or update.context_id
    for artifact in task.artifacts:
        if artifact.artifact_id == update.artifact.artifact_id:
            if update.append:
                artifact.parts.extend(update.artifact.parts)
            else:
                artifact.CopyFrom(update.artifact)
            return
    task.artifacts.append(update.artifact)


class Conversation:
    """One task trial's conversation; :meth:`turn` is tau2's agent turn."""

    def __init__(
        self,
        connection: A2AConnection,
        loop: BackgroundLoop,
        *,
        tracer: Tracer,
        agent_name: str,
        message_format: MessageFormat | str,
        policy: str,
        tools: tuple[ToolSpec, ...],
        label: str,
    ) -> None:
        self._connection = connection
        self._loop = loop
        self._tracer = tracer
        self._agent_name = agent_name
        self._format: MessageFormat = message_format_named(message_format)
        self._policy = policy
        self._tools = tools
        self._label = label
        self.context_id: str | None = None
        self._task_id: str | None = None
        self.turns: list[TurnRecord] = []

    @property
    def malformed_tool_calls(self) -> int:
        return sum(t.malformed_tool_calls for t in self.turns)

    def turn(self, turn_input: TurnInput) -> AgentAction:
        index = len(self.turns)
        text = render(
            self._format, turn_input, first=index == 0, policy=self._policy, tools=self._tools
        )
        started_at = datetime.now(UTC).isoformat()
        attributes: dict[str, Any] = {
            gen_ai.GEN_AI_OPERATION_NAME: "invoke_agent",
            gen_ai.GEN_AI_AGENT_NAME: self._agent_name,
            ATTR_TURN_INDEX: index,
        }
        if self._connection.protocol_version:
            attributes[ATTR_PROTOCOL_VERSION] = self._connection.protocol_version
        if self.context_id:
            attributes[gen_ai.GEN_AI_CONVERSATION_ID] = self.context_id
        with self._tracer.start_as_current_span(
            f"invoke_agent {self._agent_name}",
            kind=SpanKind.CLIENT,
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            span_id = format_span_id(span.get_span_context().span_id)
            if self._connection.debug:
                log.info("%s turn %d -> agent:\n%s", self._label, index, text)
            t0 = time.perf_counter()
            try:
                # LLM Observability's agent span for the turn (a no-op unless --llmobs).
                with agent_turn(self._agent_name, index, text) as observed:
                    exchange = self._exchange(text)
                    observed.replied(exchange.text)
            except EvaluationError as exc:
                span.set_status(Status(StatusCode.ERROR, str(exc)))
                span.set_attribute(error_attributes.ERROR_TYPE, exc.error_type)
                self.turns.append(
                    TurnRecord(
                        index,
                        started_at,
                        time.perf_counter() - t0,
                        text,
                        None,
                        span_id=span_id,
                        error=str(exc),
                    )
                )
                raise
            duration = time.perf_counter() - t0
            if self._connection.debug:
                log.info("%s turn %d <- agent:\n%s", self._label, index, exchange.text)
            if exchange.context_id:
                self.context_id = exchange.context_id
                span.set_attribute(gen_ai.GEN_AI_CONVERSATION_ID, exchange.context_id)
            # An input-required task continues with the next message; a finished one does not.
            self._task_id = (
                exchange.task_id if exchange.task_state == "TASK_STATE_INPUT_REQUIRED" else None
            )
            action = read_reply(exchange.text, self._format)
            record = TurnRecord(
                index,
                started_at,
                duration,
                text,
                exchange.text,
                tool_calls=[c.name for c in action.tool_calls],
                malformed_tool_calls=action.malformed_tool_calls,
                span_id=span_id,
            )
            self.turns.append(record)
            if action.tool_calls:
                span.set_attribute("tau2.turn.tool_calls", [c.name for c in action.tool_calls])
            if action.malformed_tool_calls:
                span.set_attribute("tau2.turn.malformed_tool_calls", action.malformed_tool_calls)
            if action.fatal or not (action.tool_calls or (action.text and action.text.strip())):
                error = AgentReplyError(
                    f"{self._connection.endpoint}: the {self._format.value} evaluator fails on "
                    f"this reply: {action.fatal}"
                    if action.fatal
                    else f"{self._connection.endpoint}: the reply has no text and no tool call"
                )
                record.error = str(error)
                span.set_status(Status(StatusCode.ERROR, str(error)))
                span.set_attribute(error_attributes.ERROR_TYPE, error.error_type)
                raise error
            return action

    def _exchange(self, text: str) -> Exchange:
        coro = self._connection.send(
            text,
            context_id=self.context_id,
            task_id=self._task_id,
            parent=otel_context.get_current(),
        )
        try:
            return self._loop.run(coro, timeout=self._connection.timeout_s + LOOP_GRACE_S)
        except concurrent.futures.TimeoutError:
            raise AgentTimeout(
                f"{self._connection.endpoint}: no reply within "
                f"{self._connection.timeout_s:g} s (--agent-a2a-timeout)"
            ) from None
