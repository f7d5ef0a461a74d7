"""Turning exchanges into spans and metrics: the only place the sidecar touches the OTel API.

Per exchange: a SERVER span named after the A2A method (the sidecar's inbound side) and a
CLIENT span below it for the upstream call, whose context travels upstream as
``traceparent``. The parent is the client's ``traceparent`` when it sent one; otherwise
the conversation's root span (see :mod:`proxy.conversation`); otherwise a new trace.

Stream events become span events on the CLIENT span, bounded: the first ``head`` are
added as they arrive, the last ``tail`` are kept in a ring and added at the end with
their original timestamps; the rest are counted.

Off the request path: only :meth:`Recorder.begin` runs before forwarding (the CLIENT
span's id travels upstream in ``traceparent``). A finished exchange is handed over with
:meth:`Recorder.submit`, which appends it to a bounded queue (full: dropped and counted)
and returns; reading the response copy, the tool lens, attributes, span ends, metrics and
the access-log line run from the loop afterwards (:meth:`Recorder.drain`), eight at a
time (about 2 ms of loop time), with each span's recorded times unchanged.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, TracerProvider
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from proxy import __version__, instruments
from proxy import semconv as sc
from proxy.conventions import ConventionBook
from proxy.conversation import Conversation, ConversationTable, end_root
from proxy.exchange import (
    Exchange,
    access_line,
    agent_reply,
    client_attributes,
    error_description,
    server_attributes,
)
from proxy.guard import guarded
from proxy.jsonrpc import ResultView
from proxy.redact import Redactor
from proxy.settings import ProxySettings

_PROPAGATOR = TraceContextTextMapPropagator()
log = logging.getLogger("tau2observe.proxy")
access_log = logging.getLogger("tau2observe.proxy.access")


@dataclass(slots=True)
class Turn:
    """The spans of one exchange in flight."""

    exchange: Exchange
    server: Span
    client: Span
    conversation: Conversation | None
    new_conversation: bool
    traceparent: dict[str, str]
    tail: deque[tuple[str, dict[str, Any], int]] = field(default_factory=deque)
    events_added: int = 0
    events_dropped: int = 0
    upstream_end_ns: int | None = None
    # Telemetry reads left for after the request (the response copy), run before finish.
    deferred: list[Callable[[], None]] = field(default_factory=list)


class BoundedTag:
    """A metric tag whose values the agent chooses (tool names): the first ``capacity``
    well-formed values are kept as they are, every later or odd one becomes ``_OTHER``, so
    no agent can grow the number of series without bound. Spans keep the real name."""

    OTHER = "_OTHER"
    UNKNOWN = "_UNKNOWN"
    _SHAPE = re.compile(r"[A-Za-z0-9_.:/-]{1,64}")

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._seen: set[str] = set()

    def tag(self, value: str | None) -> str:
        if not value:
            return self.UNKNOWN
        if value in self._seen:
            return value
        if len(self._seen) >= self._capacity or not self._SHAPE.fullmatch(value):
            return self.OTHER
        self._seen.add(value)
        return value


def untraced(ex: Exchange) -> Turn:
    """A turn with no spans: the client's trace context goes upstream as it came."""
    return Turn(ex, trace.INVALID_SPAN, trace.INVALID_SPAN, None, False, {})


class Recorder:
    """Exchanges into spans, metrics and the access log, after each request.

    ``spans`` and ``metrics`` say whether anything consumes them (a span processor, a
    metric reader). What nothing consumes is not built: without span processors no span
    is started and the client's ``traceparent`` goes to the agent unchanged, as through
    any proxy that records nothing.
    """

    def __init__(
        self,
        settings: ProxySettings,
        tracer_provider: TracerProvider,
        meter_provider: MeterProvider,
        *,
        spans: bool = True,
        metrics: bool = True,
    ) -> None:
        self._settings = settings
        self._spans = spans
        self._metrics = metrics
        # Whether anything uses what a response says; else the server does not read it.
        self.reads_responses = spans or metrics or settings.access_log
        self.redactor = Redactor.with_names(settings.redact_names)
        self._tracer = tracer_provider.get_tracer("tau2observe.proxy", __version__)
        meter = meter_provider.get_meter("tau2observe.proxy", __version__)
        self._requests = instruments.counter(meter, instruments.PROXY_REQUESTS)
        self._duration = instruments.histogram(meter, instruments.PROXY_DURATION)
        self._ttfe = instruments.histogram(meter, instruments.PROXY_TIME_TO_FIRST_EVENT)
        self._events = instruments.counter(meter, instruments.PROXY_STREAM_EVENTS)
        self._tool_calls = instruments.counter(meter, instruments.PROXY_TOOL_CALLS)
        self.conventions = ConventionBook()
        self.tool_names = BoundedTag(settings.max_tool_name_tags)
        self.conversations = ConversationTable(
            settings.max_conversations, settings.conversation_idle_s
        )
        self._pending: deque[Turn] = deque()
        self._drain_scheduled = False
        self.dropped = 0  # finished exchanges not recorded because the queue was full

    # --- lifecycle of one exchange ---------------------------------------------
    def begin(self, ex: Exchange, headers: Mapping[str, str]) -> Turn:
        if not self._spans:
            return untraced(ex)
        incoming = _PROPAGATOR.extract(carrier=headers, context=Context())
        conversation: Conversation | None = None
        new_conversation = False
        if trace.get_current_span(incoming).get_span_context().is_valid:
            parent = incoming
        else:
            context_id = ex.request.context_id
            if context_id is not None:
                conversation = self.conversations.get(context_id)
            if conversation is None and (context_id is not None or ex.is_message):
                conversation = self._start_conversation(ex)
                new_conversation = True
                if context_id is not None:
                    self.conversations.register(context_id, conversation)
            parent = trace.set_span_in_context(conversation.root) if conversation else Context()
        server = self._tracer.start_span(
            ex.span_name, context=parent, kind=SpanKind.SERVER, start_time=ex.arrival.start_ns
        )
        client = self._tracer.start_span(
            ex.span_name,
            context=trace.set_span_in_context(server, parent),
            kind=SpanKind.CLIENT,
            start_time=ex.arrival.start_ns,
        )
        carrier: dict[str, str] = {}
        _PROPAGATOR.inject(carrier, context=trace.set_span_in_context(client))
        return Turn(ex, server, client, conversation, new_conversation, carrier)

    def submit(self, turn: Turn) -> None:
        """Hand over a finished exchange; recording happens after the request, in order."""
        if len(self._pending) >= self._settings.record_queue_max:
            self.dropped += 1
            if self.dropped % 1000 == 1:
                log.warning(
                    "recording is behind: %d finished exchanges dropped so far (queue of %d)",
                    self.dropped,
                    self._settings.record_queue_max,
                )
            return
        self._pending.append(turn)
        if not self._drain_scheduled:
            self._drain_scheduled = True
            asyncio.get_running_loop().call_soon(self.drain)

    def drain(self, batch: int = 8) -> None:
        """Record up to ``batch`` finished exchanges, then yield the loop for the rest."""
        self._drain_scheduled = False
        for _ in range(min(batch, len(self._pending))):
            turn = self._pending.popleft()
            for step in turn.deferred:
                guarded(turn.exchange, "response", step)
            guarded(turn.exchange, "finish", self.finish, turn)
        if self._pending and not self._drain_scheduled:
            self._drain_scheduled = True
            asyncio.get_running_loop().call_soon(self.drain)

    def stream_event(self, turn: Turn, view: ResultView, seq: int, chars: int, at_ns: int) -> None:
        ex = turn.exchange
        kind = "unparsed" if view.parse_error else (view.kind or "other")
        if self._metrics:
            self._events.add(
                1,
                {
                    sc.GEN_AI_AGENT_NAME: ex.arrival.route.name,
                    sc.A2A_METHOD_NAME: ex.method_name,
                    sc.STREAM_EVENT_KIND: kind,
                },
            )
        if not self._spans:
            return
        attrs: dict[str, Any] = {
            sc.STREAM_EVENT_SEQ: seq,
            sc.STREAM_EVENT_KIND: kind,
            sc.STREAM_EVENT_CHARS: chars,
        }
        if view.task_state:
            attrs[sc.A2A_TASK_STATE] = view.task_state
            if view.task_state_wire:
                attrs[sc.PROXY_TASK_STATE_WIRE] = view.task_state_wire[:64]
        if view.final is not None:
            attrs["a2a.stream.event.final"] = view.final
        if view.error_code is not None:
            attrs[sc.ERROR_TYPE] = str(view.error_code)
        if turn.events_added < self._settings.stream_events_head:
            turn.client.add_event(sc.STREAM_EVENT, attrs, timestamp=at_ns)
            turn.events_added += 1
            return
        turn.tail.append((sc.STREAM_EVENT, attrs, at_ns))
        if len(turn.tail) > self._settings.stream_events_tail:
            turn.tail.popleft()
            turn.events_dropped += 1

    def finish(self, turn: Turn) -> None:
        ex = turn.exchange
        end_ns = ex.delivery.end_ns or time.time_ns()
        if ex.is_message and (self._spans or self._metrics):
            convention = self.conventions.learn(ex.context_id, ex.request.text)
            ex.reply = agent_reply(ex, convention)
        if self._spans:
            self._end_spans(turn, end_ns)
            self._settle_conversation(turn, end_ns)
        if self._metrics:
            self._record_metrics(ex, end_ns)
        if self._settings.access_log:
            access_log.info("%s", access_line(ex, end_ns, self.redactor))

    def _end_spans(self, turn: Turn, end_ns: int) -> None:
        ex = turn.exchange
        for name, attrs, at_ns in turn.tail:
            turn.client.add_event(name, attrs, timestamp=at_ns)
        if turn.events_dropped:
            turn.client.set_attribute(sc.PROXY_SSE_EVENTS_DROPPED, turn.events_dropped)

        upstream = ex.arrival.route.upstream_base
        turn.client.set_attributes(
            client_attributes(
                ex, *_host_port(upstream), upstream + ex.arrival.relative_path, self.redactor
            )
        )
        turn.server.set_attributes(
            server_attributes(
                ex,
                self._settings.capture_content,
                self._settings.content_max_chars,
                self.redactor,
            )
        )
        description = error_description(ex, self.redactor)
        if description is not None:
            turn.client.set_status(Status(StatusCode.ERROR, description))
            turn.server.set_status(Status(StatusCode.ERROR, description))
        turn.client.end(end_time=turn.upstream_end_ns or end_ns)
        turn.server.end(end_time=end_ns)

    # --- conversations -----------------------------------------------------------
    def _start_conversation(self, ex: Exchange) -> Conversation:
        root = self._tracer.start_span(
            "a2a.conversation",
            context=Context(),
            kind=SpanKind.INTERNAL,
            start_time=ex.arrival.start_ns,
            attributes={
                sc.GEN_AI_OPERATION_NAME: "invoke_workflow",
                sc.GEN_AI_AGENT_NAME: ex.arrival.route.name,
                sc.PROXY_ROUTE: ex.arrival.route.prefix,
            },
        )
        return Conversation(None, root, time.monotonic(), ex.arrival.start_ns)

    def _settle_conversation(self, turn: Turn, end_ns: int) -> None:
        conversation = turn.conversation
        if conversation is None:
            return
        conversation.turns += 1
        conversation.last_end_ns = max(conversation.last_end_ns, end_ns)
        context_id = turn.exchange.context_id
        if conversation.context_id is None:
            if context_id is None:
                # The first turn never learned its contextId: nothing can join this trace.
                end_root(conversation)
                return
            conversation.root.set_attribute(sc.GEN_AI_CONVERSATION_ID, context_id)
            self.conversations.register(context_id, conversation)
        elif turn.new_conversation:
            conversation.root.set_attribute(sc.GEN_AI_CONVERSATION_ID, conversation.context_id)
        self.conversations.sweep()

    # --- metrics -----------------------------------------------------------------
    def _record_metrics(self, ex: Exchange, end_ns: int) -> None:
        tags: dict[str, Any] = {
            sc.GEN_AI_AGENT_NAME: ex.arrival.route.name,
            sc.A2A_METHOD_NAME: ex.method_name,
            sc.A2A_PROTOCOL_VERSION: ex.version_tag,
            sc.PROXY_OUTCOME: ex.outcome,
        }
        self._duration.record((end_ns - ex.arrival.start_ns) / 1e9, tags)
        error_type = ex.error_type
        if error_type is not None:
            tags = {**tags, sc.ERROR_TYPE: error_type}
        self._requests.add(1, tags)
        if ex.delivery.first_event_ns is not None:
            self._ttfe.record(
                (ex.delivery.first_event_ns - ex.arrival.start_ns) / 1e9,
                {
                    sc.GEN_AI_AGENT_NAME: ex.arrival.route.name,
                    sc.A2A_METHOD_NAME: ex.method_name,
                    sc.A2A_PROTOCOL_VERSION: ex.version_tag,
                },
            )
        if ex.reply is not None:
            for call in ex.reply.tool_calls:
                self._tool_calls.add(
                    1,
                    {
                        sc.GEN_AI_AGENT_NAME: ex.arrival.route.name,
                        sc.GEN_AI_TOOL_NAME: self.tool_names.tag(call.name),
                        sc.PROXY_TOOL_VALID: str(call.valid).lower(),
                        sc.PROXY_TOOL_FORMAT: call.format,
                    },
                )

    def close(self) -> None:
        while self._pending:
            self.drain(len(self._pending))
        self.conversations.close()


@functools.lru_cache(maxsize=64)  # one upstream base per route: parsed once
def _host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    default = 443 if parts.scheme == "https" else 80
    return parts.hostname or "", parts.port or default
