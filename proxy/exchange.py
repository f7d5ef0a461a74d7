"""One A2A exchange as the sidecar saw it, and the span attributes it yields.

An :class:`Exchange` is made of parts with one writer each: the :class:`Arrival` (the
listener, frozen), the :class:`Delivery` (the server, as bytes move), what the request and
response said (the readers below), the card rewrite, the tool lens and the guard's note.
Everything here is pure: the method, version, outcome and attributes from what was seen. Credentials
never enter an exchange: only an allow-list of request headers is kept, and what could
carry one (query, URLs, error text, captured content) goes through :mod:`proxy.redact`.
Every attribute value is clipped to ``ATTRIBUTE_LIMIT``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from proxy import a2a, http
from proxy import semconv as sc
from proxy.conventions import Convention
from proxy.errors import UpstreamError
from proxy.jsonrpc import (
    TEXT_LIMIT,
    RequestView,
    ResultView,
    load_json,
    read_request,
    read_response,
    read_rest_request,
    read_rest_response,
    read_result,
)
from proxy.redact import ATTRIBUTE_LIMIT, DEFAULT, REDACTED, Redactor, clip, printable
from proxy.settings import Route
from proxy.toollens import Reply, parse_reply

__all__ = ["ATTRIBUTE_LIMIT", "REDACTED", "Arrival", "CardRewrite", "Delivery", "Exchange", "clip"]
VERSION_LIMIT = 64  # a version is a few characters; a longer header is clipped hard


@dataclass(slots=True)
class ResponseSummary:
    """What the response said, folded over one body or every event of a stream."""

    kinds: dict[str, int] = field(default_factory=dict)
    context_id: str | None = None
    task_id: str | None = None
    message_id: str | None = None
    task_state: str | None = None
    task_state_wire: str | None = None
    error_code: int | None = None
    error_message: str | None = None
    error_reason: str | None = None
    parse_error: str | None = None
    texts: list[str] = field(default_factory=list)
    text_chars: int = 0

    def absorb(self, view: ResultView) -> None:
        if view.parse_error is not None:
            self.parse_error = self.parse_error or view.parse_error
            self.kinds["unparsed"] = self.kinds.get("unparsed", 0) + 1
            return
        kind = view.kind or "other"
        self.kinds[kind] = self.kinds.get(kind, 0) + 1
        self.context_id = self.context_id or view.context_id
        self.task_id = self.task_id or view.task_id
        self.message_id = view.message_id or self.message_id
        if view.task_state:
            self.task_state = view.task_state
            self.task_state_wire = view.task_state_wire
        if view.error_code is not None and self.error_code is None:
            self.error_code = view.error_code
            self.error_message = view.error_message
            self.error_reason = view.error_reason
        for text in view.texts:
            if self.text_chars >= TEXT_LIMIT:
                break
            self.texts.append(text)
            self.text_chars += len(text)

    @property
    def result_kind(self) -> str | None:
        if not self.kinds:
            return None
        order = ("error", "task", "message", "card", "status-update", "artifact-update", "other")
        for kind in order:
            if kind in self.kinds:
                return kind
        return next(iter(self.kinds))

    def agent_text(self) -> str | None:
        return "\n".join(self.texts)[:TEXT_LIMIT] if self.texts else None


@dataclass(frozen=True, slots=True)
class Arrival:
    """The request as the listener saw it, before a byte of its body; never changes."""

    route: Route
    http_method: str
    path: str  # as received, including the route prefix
    relative_path: str  # relative to the route
    query: str
    scheme: str
    client_address: str | None
    server_address: str
    server_port: int
    user_agent: str | None
    version_header: str | None
    binding: str  # jsonrpc, rest, card, http
    start_ns: int
    rest_method: str | None = None  # the REST binding's method, from the path
    rest_task_id: str | None = None  # the task a REST path names


@dataclass(slots=True)
class Delivery:
    """What forwarding did, as bytes moved; written by the server alone."""

    request_bytes: int = 0
    status: int | None = None
    response_bytes: int = 0
    streaming: bool = False
    stream_events: int = 0
    stream_comments: int = 0
    first_event_ns: int | None = None
    upstream_error: str | None = None  # upstream_unavailable, upstream_timeout, upstream_reset
    upstream_error_detail: str | None = None
    client_disconnected: bool = False
    client_stalled: bool = False  # took no bytes for the write timeout, and was cut off
    end_ns: int | None = None


@dataclass(frozen=True, slots=True)
class CardRewrite:
    """What rewriting an agent card changed."""

    rewritten: int  # interface URLs pointed at the sidecar
    foreign: tuple[str, ...] = ()  # endpoints that are neither the upstream nor the sidecar
    signed: bool = False  # the card was signed: its signature no longer holds


@dataclass(slots=True)
class Exchange:
    """One exchange: each part has one writer, so a reader knows where a fact came from."""

    arrival: Arrival  # the listener
    delivery: Delivery = field(default_factory=Delivery)  # the server, as bytes move
    request: RequestView = field(default_factory=RequestView)  # read_request_body
    response: ResponseSummary = field(default_factory=ResponseSummary)  # the response readers
    card: CardRewrite | None = None  # the server, when it rewrote an agent card
    card_problem: str | None = None  # the card was relayed untouched: why
    reply: Reply | None = None  # the recorder's tool lens
    # What telemetry could not do, as "<where>: <exception type>"; traffic was not affected.
    telemetry_problem: str | None = None  # the guard

    @classmethod
    def begin(cls, arrival: Arrival) -> Exchange:
        ex = cls(arrival)
        if arrival.rest_task_id is not None:
            ex.request.task_id = arrival.rest_task_id
        return ex

    # --- classification ------------------------------------------------------
    @property
    def wire_method(self) -> str | None:
        return self.request.wire_method

    @property
    def method_name(self) -> str:
        if self.arrival.binding == "rest" and self.arrival.rest_method:
            return self.arrival.rest_method
        if self.arrival.binding == "card":
            return "GetAgentCard"
        if self.request.batch_size is not None:
            return "_BATCH"
        if self.request.wire_method is not None:
            return a2a.method_name(self.request.wire_method)
        return a2a.OTHER

    @property
    def protocol_version(self) -> str:
        """The A2A-Version header; per the spec an absent one means 0.3."""
        value = (self.arrival.version_header or "").strip()
        return clip(value, VERSION_LIMIT) if value else "0.3"

    @property
    def version_tag(self) -> str:
        """The protocol version as a metric tag: a known version or ``_OTHER``."""
        return a2a.version_tag(self.protocol_version)

    @property
    def version_mismatch(self) -> bool:
        style = a2a.method_style_version(self.request.wire_method or "")
        return style is not None and style != self.protocol_version

    @property
    def is_message(self) -> bool:
        return self.method_name in a2a.MESSAGE_METHODS

    @property
    def context_id(self) -> str | None:
        return self.request.context_id or self.response.context_id

    @property
    def error_type(self) -> str | None:
        if self.delivery.upstream_error is not None:
            return self.delivery.upstream_error
        if self.delivery.client_stalled:
            return "client_write_timeout"
        if self.delivery.client_disconnected:
            return "client_disconnect"
        if self.response.error_code is not None:
            return str(self.response.error_code)
        if self.delivery.status is not None and self.delivery.status >= 500:
            return str(self.delivery.status)
        if (
            self.delivery.status is not None
            and self.delivery.status >= 400
            and self.arrival.binding in ("jsonrpc", "rest")
        ):
            return str(self.delivery.status)
        return None

    @property
    def outcome(self) -> str:
        return "error" if self.error_type is not None else "ok"

    @property
    def span_name(self) -> str:
        name = self.method_name
        if name == a2a.OTHER and self.request.wire_method:
            wire = self.request.wire_method
            return wire if len(wire) <= 64 and re.fullmatch(r"[\w./:-]+", wire) else name
        if name == a2a.OTHER and self.arrival.binding == "http":
            return self.arrival.http_method
        if name == "_BATCH":
            return "JSON-RPC batch"
        return name


def server_attributes(
    ex: Exchange, capture_content: bool, content_max: int, redactor: Redactor = DEFAULT
) -> dict[str, Any]:
    """Attributes of the sidecar's SERVER span for one exchange."""
    req, arrival, delivery = ex.request, ex.arrival, ex.delivery
    attrs: dict[str, Any] = {
        sc.HTTP_REQUEST_METHOD: arrival.http_method,
        sc.URL_PATH: arrival.path,
        sc.URL_SCHEME: arrival.scheme,
        sc.SERVER_ADDRESS: arrival.server_address,
        sc.SERVER_PORT: arrival.server_port,
        sc.HTTP_REQUEST_BODY_SIZE: delivery.request_bytes,
        sc.HTTP_RESPONSE_BODY_SIZE: delivery.response_bytes,
        sc.A2A_METHOD_NAME: ex.method_name,
        sc.A2A_PROTOCOL_VERSION: ex.protocol_version,
        sc.GEN_AI_AGENT_NAME: arrival.route.name,
        sc.DATADOG_RESOURCE_NAME: ex.span_name,
        sc.PROXY_ROUTE: arrival.route.prefix,
        sc.PROXY_BINDING: arrival.binding,
        sc.PROXY_OUTCOME: ex.outcome,
        sc.PROXY_STREAMING: delivery.streaming,
    }
    if arrival.query:
        attrs[sc.URL_QUERY] = redactor.query(arrival.query)
    if arrival.client_address:
        attrs[sc.CLIENT_ADDRESS] = arrival.client_address
    if arrival.user_agent:
        attrs[sc.USER_AGENT_ORIGINAL] = clip(arrival.user_agent)
    if delivery.status is not None:
        attrs[sc.HTTP_RESPONSE_STATUS_CODE] = delivery.status
    if arrival.binding == "jsonrpc":
        attrs[sc.RPC_SYSTEM_NAME] = "jsonrpc"
        attrs["rpc.system"] = "jsonrpc"  # deprecated name, still what many backends read
        if req.wire_method is not None:
            attrs[sc.RPC_METHOD] = clip(req.wire_method)
        if req.request_id is not None:
            attrs[sc.JSONRPC_REQUEST_ID] = clip(req.request_id)
        if req.jsonrpc_version is not None:
            attrs[sc.JSONRPC_PROTOCOL_VERSION] = clip(req.jsonrpc_version)
        if req.batch_size is not None:
            attrs[sc.PROXY_BATCH_SIZE] = req.batch_size
            attrs[sc.PROXY_BATCH_METHODS] = [clip(m) for m in req.batch_methods[:32]]
    if req.parse_error is not None:
        attrs[sc.PROXY_REQUEST_PARSE_ERROR] = clip(req.parse_error)
    if ex.version_mismatch:
        attrs[sc.PROXY_VERSION_MISMATCH] = True
    _identity_attributes(ex, attrs)
    _outcome_attributes(ex, attrs, redactor)
    if delivery.streaming:
        attrs[sc.PROXY_SSE_EVENTS] = delivery.stream_events
        attrs[sc.PROXY_SSE_COMMENTS] = delivery.stream_comments
        if delivery.first_event_ns is not None:
            attrs[sc.PROXY_TTFE_MS] = (delivery.first_event_ns - arrival.start_ns) / 1e6
    if ex.card is not None:
        attrs[sc.PROXY_CARD_REWRITTEN] = ex.card.rewritten
        if ex.card.foreign:
            attrs[sc.PROXY_CARD_FOREIGN] = [redactor.url(u) for u in ex.card.foreign[:16]]
        if ex.card.signed:
            attrs[sc.PROXY_CARD_SIGNATURE_INVALIDATED] = True
    if ex.reply is not None:
        attrs.update(tool_attributes(ex.reply))
    if ex.telemetry_problem is not None:
        attrs[sc.PROXY_TELEMETRY_ERROR] = ex.telemetry_problem
    if ex.card_problem is not None:
        attrs[sc.PROXY_CARD_ERROR] = ex.card_problem
    if capture_content:
        attrs.update(content_attributes(ex, content_max, redactor))
    return clipped(attrs)


def clipped(attrs: dict[str, Any]) -> dict[str, Any]:
    """Every string value (and string list item) cut to ``ATTRIBUTE_LIMIT``: a client
    chooses most of them, and no single one may grow a span without bound."""
    for key, value in attrs.items():
        if isinstance(value, str):
            attrs[key] = clip(value)
        elif isinstance(value, list):
            attrs[key] = [clip(v) if isinstance(v, str) else v for v in value]
    return attrs


def client_attributes(
    ex: Exchange, upstream_host: str, upstream_port: int, url: str, redactor: Redactor = DEFAULT
) -> dict[str, Any]:
    """Attributes of the CLIENT span for the upstream call."""
    attrs: dict[str, Any] = {
        sc.HTTP_REQUEST_METHOD: ex.arrival.http_method,
        sc.SERVER_ADDRESS: upstream_host,
        sc.SERVER_PORT: upstream_port,
        sc.URL_FULL: redactor.url(url),
        sc.A2A_METHOD_NAME: ex.method_name,
        sc.GEN_AI_AGENT_NAME: ex.arrival.route.name,
        sc.DATADOG_RESOURCE_NAME: ex.span_name,
    }
    if ex.arrival.binding == "jsonrpc":
        attrs[sc.RPC_SYSTEM_NAME] = "jsonrpc"
        if ex.request.wire_method is not None:
            attrs[sc.RPC_METHOD] = clip(ex.request.wire_method)
    if ex.delivery.status is not None:
        attrs[sc.HTTP_RESPONSE_STATUS_CODE] = ex.delivery.status
    _outcome_attributes(ex, attrs, redactor)
    return clipped(attrs)


def _identity_attributes(ex: Exchange, attrs: dict[str, Any]) -> None:
    req, res = ex.request, ex.response
    if ex.context_id:
        attrs[sc.GEN_AI_CONVERSATION_ID] = clip(ex.context_id)
    task_id = req.task_id or res.task_id
    if task_id:
        attrs[sc.A2A_TASK_ID] = clip(task_id)
    if req.message_id:
        attrs[sc.A2A_MESSAGE_ID] = clip(req.message_id)
    if res.task_state:
        attrs[sc.A2A_TASK_STATE] = res.task_state
        if res.task_state_wire:
            attrs[sc.PROXY_TASK_STATE_WIRE] = clip(res.task_state_wire, 64)
    if req.tenant:
        attrs[sc.A2A_TENANT] = clip(req.tenant)
    if req.reference_task_ids:
        attrs[sc.A2A_REFERENCE_TASK_IDS] = [clip(t) for t in req.reference_task_ids[:32]]
    if res.result_kind:
        attrs[sc.PROXY_RESULT_KIND] = res.result_kind
    if res.parse_error:
        attrs[sc.PROXY_RESPONSE_PARSE_ERROR] = clip(res.parse_error)


def _outcome_attributes(ex: Exchange, attrs: dict[str, Any], redactor: Redactor) -> None:
    error_type = ex.error_type
    if error_type is None:
        return
    attrs[sc.ERROR_TYPE] = error_type
    res = ex.response
    if res.error_code is not None:
        if ex.arrival.binding == "jsonrpc":
            attrs[sc.RPC_RESPONSE_STATUS_CODE] = str(res.error_code)
        if res.error_reason:
            attrs[sc.PROXY_ERROR_REASON] = clip(res.error_reason)
    message = ex.delivery.upstream_error_detail or res.error_message
    if message:
        attrs[sc.PROXY_ERROR_MESSAGE] = clip(redactor.text(message))


def error_description(ex: Exchange, redactor: Redactor = DEFAULT) -> str | None:
    """The span status description for a failed exchange."""
    if ex.error_type is None:
        return None
    parts = [ex.error_type]
    detail = ex.delivery.upstream_error_detail or ex.response.error_message
    if detail:
        parts.append(redactor.text(detail))
    return clip(": ".join(parts), 256)


def tool_attributes(reply: Reply) -> dict[str, Any]:
    """The tau2 lens on an agent reply: which tool, and whether the call was well-formed."""
    convention: dict[str, Any] = (
        {sc.PROXY_MESSAGE_FORMAT: reply.format.value} if reply.format else {}
    )
    if not reply.tool_calls:
        return convention
    names = [c.name for c in reply.tool_calls if c.name]
    attrs: dict[str, Any] = {
        sc.PROXY_TOOL_CALLS: len(reply.tool_calls),
        sc.PROXY_TOOL_VALID: not reply.malformed,
        sc.PROXY_TOOL_FORMAT: reply.tool_calls[0].format,
    }
    if names:
        attrs[sc.GEN_AI_TOOL_NAME] = clip(names[0], 128)
        attrs[sc.PROXY_TOOL_NAMES] = [clip(n, 128) for n in names[:16]]
    if reply.problems:
        attrs[sc.PROXY_TOOL_PROBLEM] = clip(reply.problems[0])
    return {**convention, **attrs}


def content_attributes(ex: Exchange, limit: int, redactor: Redactor = DEFAULT) -> dict[str, Any]:
    """Opt-in message content as GenAI input/output messages, capped and scrubbed."""
    attrs: dict[str, Any] = {}
    if ex.request.text:
        attrs[sc.GEN_AI_INPUT_MESSAGES] = _messages("user", ex.request.text, limit, redactor)
    agent = ex.response.agent_text()
    if agent:
        attrs[sc.GEN_AI_OUTPUT_MESSAGES] = _messages("assistant", agent, limit, redactor)
    return attrs


def _messages(role: str, text: str, limit: int, redactor: Redactor) -> str:
    content = head_and_tail(redactor.text(text), limit)
    return json.dumps([{"role": role, "parts": [{"type": "text", "content": content}]}])


def head_and_tail(text: str, limit: int) -> str:
    """At most ``limit`` characters of ``text``: its start and its end, with a marker saying
    how much of the middle is left out. A long prompt carries its question last."""
    if len(text) <= limit:
        return text
    head = (limit + 1) // 2
    tail = limit - head
    omitted = len(text) - head - tail
    return text[:head] + f"…[{omitted} chars omitted]…" + (text[-tail:] if tail else "")


def access_line(ex: Exchange, end_ns: int, redactor: Redactor = DEFAULT) -> str:
    """One access-log line: what, where, how it ended, how long; no headers, query redacted,
    control characters escaped (a value cannot start a forged line)."""
    arrival = ex.arrival
    target = arrival.path + (f"?{redactor.query(arrival.query)}" if arrival.query else "")
    line = (
        f"{arrival.route.name} {arrival.http_method} {target} {ex.span_name} -> "
        f"{ex.delivery.status or '-'} in {(end_ns - arrival.start_ns) / 1e6:.1f} ms"
    )
    if ex.context_id:
        line += f" conversation={clip(ex.context_id, 64)}"
    if ex.error_type:
        line += f" error={ex.error_type}"
    if ex.delivery.streaming:
        line += f" events={ex.delivery.stream_events}"
    return printable(line)


def agent_reply(ex: Exchange, convention: Convention | None = None) -> Reply | None:
    """Run the tool lens over the agent's reply text, for message exchanges only.

    ``convention`` is the evaluator's, when known; else the reply's shape says.
    """
    if not ex.is_message:
        return None
    text = ex.response.agent_text()
    return parse_reply(text, convention) if text else None


# --- reading bodies for telemetry (pure; the server guards each call) ---------------------
def read_request_body(ex: Exchange, body: bytes) -> None:
    """Read the request copy into the exchange (JSON-RPC envelope or REST params)."""
    if ex.arrival.binding == "jsonrpc":
        ex.request = read_request(body)
    elif ex.arrival.binding == "rest" and body:
        task_id = ex.request.task_id
        ex.request = read_rest_request(body)
        ex.request.task_id = ex.request.task_id or task_id


def read_event(data: str, binding: str) -> ResultView:
    """One server-sent event's data: a JSON-RPC response, or a bare REST stream item."""
    if binding == "rest":
        value, problem = load_json(data.encode())
        return ResultView(parse_error=problem) if problem else read_result(value)
    return read_response(data.encode())


def parsed_before_writing(ex: Exchange, status: int) -> bool:
    """Only cards are read before the client gets a byte: they are rewritten."""
    if status != 200:
        return False
    return ex.arrival.binding == "card" or (
        ex.arrival.binding == "jsonrpc" and ex.method_name in a2a.EXTENDED_CARD_METHODS
    )


def read_response_copy(
    ex: Exchange, headers: Mapping[str, str], payload: bytes, limit: int
) -> None:
    """Read a complete response copy (already relayed) into the exchange."""
    if not payload or not http.is_json(headers) or ex.arrival.binding == "card":
        return
    encoding = http.content_encoding(headers)
    plain = http.decompressed(payload, encoding, limit)
    if plain is None:
        ex.response.parse_error = f"compressed: {encoding} body not read"
        return
    if ex.arrival.binding == "rest":
        ex.response.absorb(read_rest_response(plain))
    else:
        ex.response.absorb(read_response(plain))


# --- the sidecar's own answers ------------------------------------------------------------
_INTERNAL_ERROR = next(code for code, name in a2a.ERROR_NAMES.items() if name == "INTERNAL_ERROR")


def error_body(ex: Exchange, error: UpstreamError) -> bytes:
    """The client's body for a failed upstream call: a JSON-RPC error echoing the request's
    id (or a plain error object). It names the route, never the agent's address."""
    detail = {"error.type": error.error_type, "proxy": "tau2observe"}
    envelope: dict[str, Any]
    if ex.arrival.binding == "jsonrpc":
        envelope = {
            "jsonrpc": "2.0",
            "id": ex.request.id_value if ex.request.has_id else None,
            "error": {"code": _INTERNAL_ERROR, "message": error.public, "data": detail},
        }
    else:
        envelope = {"error": {"code": error.http_status, "message": error.public, "data": detail}}
    return json.dumps(envelope).encode()


def local_error_body(status: int, message: str) -> bytes:
    """The body of a request the sidecar refuses to forward."""
    body = {"error": {"code": status, "message": message, "data": {"proxy": "tau2observe"}}}
    return json.dumps(body).encode()
