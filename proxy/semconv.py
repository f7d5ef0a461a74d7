"""Attribute keys: OpenTelemetry semantic-convention constants (pinned package), the draft
GenAI A2A keys (no module exists for them yet), and the sidecar's own ``a2a.proxy.*``."""

from __future__ import annotations

from opentelemetry.semconv._incubating.attributes.gen_ai_attributes import (
    GEN_AI_AGENT_NAME,
    GEN_AI_CONVERSATION_ID,
    GEN_AI_INPUT_MESSAGES,
    GEN_AI_OPERATION_NAME,
    GEN_AI_OUTPUT_MESSAGES,
    GEN_AI_PROVIDER_NAME,
    GEN_AI_TOOL_NAME,
)
from opentelemetry.semconv._incubating.attributes.http_attributes import (
    HTTP_REQUEST_BODY_SIZE,
    HTTP_RESPONSE_BODY_SIZE,
)
from opentelemetry.semconv._incubating.attributes.jsonrpc_attributes import (
    JSONRPC_PROTOCOL_VERSION,
    JSONRPC_REQUEST_ID,
)
from opentelemetry.semconv._incubating.attributes.rpc_attributes import (
    RPC_METHOD,
    RPC_RESPONSE_STATUS_CODE,
    RPC_SYSTEM_NAME,
)
from opentelemetry.semconv.attributes.client_attributes import CLIENT_ADDRESS
from opentelemetry.semconv.attributes.error_attributes import ERROR_TYPE
from opentelemetry.semconv.attributes.http_attributes import (
    HTTP_REQUEST_METHOD,
    HTTP_RESPONSE_STATUS_CODE,
)
from opentelemetry.semconv.attributes.server_attributes import SERVER_ADDRESS, SERVER_PORT
from opentelemetry.semconv.attributes.url_attributes import (
    URL_FULL,
    URL_PATH,
    URL_QUERY,
    URL_SCHEME,
)
from opentelemetry.semconv.attributes.user_agent_attributes import USER_AGENT_ORIGINAL

# The two services' OTel service.name defaults (OTEL_SERVICE_NAME overrides them).
PROXY_SERVICE = "tau2observe-proxy"
EVALUATOR_SERVICE = "tau2observe-evaluator"

# Draft GenAI A2A conventions (semantic-conventions-genai, docs/gen-ai/a2a.md).
A2A_METHOD_NAME = "a2a.method.name"
A2A_PROTOCOL_VERSION = "a2a.protocol.version"
A2A_MESSAGE_ID = "a2a.message.id"
A2A_TASK_ID = "a2a.task.id"
A2A_TASK_STATE = "a2a.task.state"
A2A_TENANT = "a2a.tenant"
A2A_REFERENCE_TASK_IDS = "a2a.message.reference_task_ids"

# Datadog's mapping attribute: the APM resource of a span (otherwise "POST" for every
# A2A method); set to the bounded A2A method name.
DATADOG_RESOURCE_NAME = "resource.name"

# The sidecar's own.
PROXY_ROUTE = "a2a.proxy.route"
PROXY_BINDING = "a2a.proxy.binding"
PROXY_OUTCOME = "a2a.proxy.outcome"
PROXY_STREAMING = "a2a.proxy.streaming"
PROXY_RESULT_KIND = "a2a.proxy.result.kind"
PROXY_REQUEST_PARSE_ERROR = "a2a.proxy.request.parse_error"
PROXY_RESPONSE_PARSE_ERROR = "a2a.proxy.response.parse_error"
PROXY_VERSION_MISMATCH = "a2a.proxy.version_mismatch"
PROXY_SSE_EVENTS = "a2a.proxy.sse.event_count"
PROXY_SSE_EVENTS_DROPPED = "a2a.proxy.sse.events_dropped"
PROXY_SSE_COMMENTS = "a2a.proxy.sse.comment_count"
PROXY_TTFE_MS = "a2a.proxy.time_to_first_event_ms"
PROXY_CARD_REWRITTEN = "a2a.proxy.card.rewritten_urls"
PROXY_CARD_FOREIGN = "a2a.proxy.card.foreign_urls"
PROXY_CARD_SIGNATURE_INVALIDATED = "a2a.proxy.card.signature_invalidated"
PROXY_CARD_ERROR = "a2a.proxy.card.rewrite_error"  # the card was relayed untouched
PROXY_TELEMETRY_ERROR = "a2a.proxy.telemetry_error"  # what could not be read, and where
PROXY_BATCH_SIZE = "jsonrpc.batch.size"
PROXY_BATCH_METHODS = "a2a.proxy.batch.methods"
PROXY_ERROR_MESSAGE = "a2a.proxy.error.message"
PROXY_ERROR_REASON = "a2a.proxy.error.reason"
PROXY_TOOL_CALLS = "a2a.proxy.tool_call.count"
PROXY_TOOL_NAMES = "a2a.proxy.tool_call.names"
PROXY_TOOL_VALID = "a2a.proxy.tool_call.valid"
PROXY_TOOL_FORMAT = "a2a.proxy.tool_call.format"
PROXY_TOOL_PROBLEM = "a2a.proxy.tool_call.problem"
# the evaluator's convention (tau2, agentbeats-tutorial, agentify) the reply was judged by
PROXY_MESSAGE_FORMAT = "a2a.proxy.message_format"
# a2a.task.state is the 1.0 name; 0.3 traffic also keeps the value it had on the wire
PROXY_TASK_STATE_WIRE = "a2a.proxy.task.state_wire"
PROXY_TURNS = "a2a.proxy.conversation.turns"
STREAM_EVENT = "a2a.stream.event"
STREAM_EVENT_KIND = "a2a.stream.event.kind"
STREAM_EVENT_SEQ = "a2a.stream.event.seq"
STREAM_EVENT_CHARS = "a2a.stream.event.chars"

__all__ = [
    "CLIENT_ADDRESS",
    "ERROR_TYPE",
    "EVALUATOR_SERVICE",
    "GEN_AI_AGENT_NAME",
    "GEN_AI_CONVERSATION_ID",
    "GEN_AI_INPUT_MESSAGES",
    "GEN_AI_OPERATION_NAME",
    "GEN_AI_OUTPUT_MESSAGES",
    "GEN_AI_PROVIDER_NAME",
    "GEN_AI_TOOL_NAME",
    "HTTP_REQUEST_BODY_SIZE",
    "HTTP_REQUEST_METHOD",
    "HTTP_RESPONSE_BODY_SIZE",
    "HTTP_RESPONSE_STATUS_CODE",
    "JSONRPC_PROTOCOL_VERSION",
    "JSONRPC_REQUEST_ID",
    "PROXY_SERVICE",
    "RPC_METHOD",
    "RPC_RESPONSE_STATUS_CODE",
    "RPC_SYSTEM_NAME",
    "SERVER_ADDRESS",
    "SERVER_PORT",
    "URL_FULL",
    "URL_PATH",
    "URL_QUERY",
    "URL_SCHEME",
    "USER_AGENT_ORIGINAL",
]
