"""A2A protocol facts as data: method names, bindings, error codes, task states.

Both protocol generations are recognised (0.3 slash names and 1.0 PascalCase names) and
normalised to the 1.0 name for ``a2a.method.name``; the wire name stays in ``rpc.method``.
Nothing here changes traffic: it only classifies it for telemetry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

OTHER: Final = "_OTHER"

# wire method -> 1.0 method name
METHODS: Final[dict[str, str]] = {
    # 1.0
    "SendMessage": "SendMessage",
    "SendStreamingMessage": "SendStreamingMessage",
    "GetTask": "GetTask",
    "ListTasks": "ListTasks",
    "CancelTask": "CancelTask",
    "SubscribeToTask": "SubscribeToTask",
    "CreateTaskPushNotificationConfig": "CreateTaskPushNotificationConfig",
    "GetTaskPushNotificationConfig": "GetTaskPushNotificationConfig",
    "ListTaskPushNotificationConfigs": "ListTaskPushNotificationConfigs",
    "DeleteTaskPushNotificationConfig": "DeleteTaskPushNotificationConfig",
    "GetExtendedAgentCard": "GetExtendedAgentCard",
    # 0.2 / 0.3
    "message/send": "SendMessage",
    "message/stream": "SendStreamingMessage",
    "tasks/get": "GetTask",
    "tasks/list": "ListTasks",
    "tasks/cancel": "CancelTask",
    "tasks/resubscribe": "SubscribeToTask",
    "tasks/pushNotificationConfig/set": "CreateTaskPushNotificationConfig",
    "tasks/pushNotificationConfig/get": "GetTaskPushNotificationConfig",
    "tasks/pushNotificationConfig/list": "ListTaskPushNotificationConfigs",
    "tasks/pushNotificationConfig/delete": "DeleteTaskPushNotificationConfig",
    "agent/getAuthenticatedExtendedCard": "GetExtendedAgentCard",
    # 0.1
    "tasks/send": "SendMessage",
    "tasks/sendSubscribe": "SendStreamingMessage",
    "tasks/pushNotification/set": "CreateTaskPushNotificationConfig",
    "tasks/pushNotification/get": "GetTaskPushNotificationConfig",
}

MESSAGE_METHODS: Final = frozenset({"SendMessage", "SendStreamingMessage"})
EXTENDED_CARD_METHODS: Final = frozenset({"GetExtendedAgentCard"})

# JSON-RPC and A2A error codes -> short names (the reason in 1.0 ErrorInfo where defined).
ERROR_NAMES: Final[dict[int, str]] = {
    -32700: "PARSE_ERROR",
    -32600: "INVALID_REQUEST",
    -32601: "METHOD_NOT_FOUND",
    -32602: "INVALID_PARAMS",
    -32603: "INTERNAL_ERROR",
    -32001: "TASK_NOT_FOUND",
    -32002: "TASK_NOT_CANCELABLE",
    -32003: "PUSH_NOTIFICATION_NOT_SUPPORTED",
    -32004: "UNSUPPORTED_OPERATION",
    -32005: "CONTENT_TYPE_NOT_SUPPORTED",
    -32006: "INVALID_AGENT_RESPONSE",
    -32007: "EXTENDED_AGENT_CARD_NOT_CONFIGURED",
    -32008: "EXTENSION_SUPPORT_REQUIRED",
    -32009: "VERSION_NOT_SUPPORTED",
}

# 0.3 task states -> 1.0 enum names, so a2a.task.state has one vocabulary.
TASK_STATES: Final[dict[str, str]] = {
    "submitted": "TASK_STATE_SUBMITTED",
    "working": "TASK_STATE_WORKING",
    "input-required": "TASK_STATE_INPUT_REQUIRED",
    "completed": "TASK_STATE_COMPLETED",
    "canceled": "TASK_STATE_CANCELED",
    "failed": "TASK_STATE_FAILED",
    "rejected": "TASK_STATE_REJECTED",
    "auth-required": "TASK_STATE_AUTH_REQUIRED",
    "unknown": "TASK_STATE_UNSPECIFIED",
}

CARD_PATHS: Final = ("/.well-known/agent-card.json", "/.well-known/agent.json")
# Routes whose 200 JSON body is an agent card (REST bindings and the 0.2 extended card).
CARD_PATH_SUFFIXES: Final = (
    *CARD_PATHS,
    "/v1/card",
    "/extendedAgentCard",
    "/agent/authenticatedExtendedCard",
)

# The HTTP+JSON (REST) binding, 0.3 (/v1 prefix) and 1.0 (no prefix).
_REST_ROUTES: Final[tuple[tuple[str, re.Pattern[str], str], ...]] = tuple(
    (verb, re.compile(pattern), name)
    for verb, pattern, name in (
        ("POST", r"(?:^|/)message:send$", "SendMessage"),
        ("POST", r"(?:^|/)message:stream$", "SendStreamingMessage"),
        ("POST", r"(?:^|/)tasks/[^/]+:cancel$", "CancelTask"),
        ("POST", r"(?:^|/)tasks/[^/]+:subscribe$", "SubscribeToTask"),
        ("GET", r"(?:^|/)tasks/[^/]+:subscribe$", "SubscribeToTask"),
        (
            "POST",
            r"(?:^|/)tasks/[^/]+/pushNotificationConfigs$",
            "CreateTaskPushNotificationConfig",
        ),
        ("GET", r"(?:^|/)tasks/[^/]+/pushNotificationConfigs$", "ListTaskPushNotificationConfigs"),
        (
            "GET",
            r"(?:^|/)tasks/[^/]+/pushNotificationConfigs/[^/]+$",
            "GetTaskPushNotificationConfig",
        ),
        (
            "DELETE",
            r"(?:^|/)tasks/[^/]+/pushNotificationConfigs/[^/]+$",
            "DeleteTaskPushNotificationConfig",
        ),
        ("GET", r"(?:^|/)tasks/[^/:]+$", "GetTask"),
        ("GET", r"(?:^|/)tasks$", "ListTasks"),
        ("GET", r"(?:^|/)v1/card$", "GetExtendedAgentCard"),
        ("GET", r"(?:^|/)extendedAgentCard$", "GetExtendedAgentCard"),
    )
)
_REST_TASK_ID = re.compile(r"(?:^|/)tasks/([^/:]+)")


@dataclass(frozen=True)
class RestCall:
    method: str
    task_id: str | None
    version: str | None  # "0.3" for /v1 routes; None when the path does not say


def method_name(wire: str) -> str:
    """The 1.0 name of a wire method, or ``_OTHER`` (bounded cardinality for metrics)."""
    return METHODS.get(wire, OTHER)


# Protocol versions a metric tag may carry; anything else a client sends is ``_OTHER``, so
# one client cannot fill the metric SDK's series limit with made-up versions.
KNOWN_VERSIONS: Final = frozenset({"0.1", "0.2", "0.3", "1.0", "1.1"})


def version_tag(version: str) -> str:
    """``version`` for a metric tag: a known ``MAJOR.MINOR`` (a patch level dropped), or
    ``_OTHER``."""
    major_minor = ".".join(version.strip().split(".")[:2])
    return major_minor if major_minor in KNOWN_VERSIONS else OTHER


def method_style_version(wire: str) -> str | None:
    """The protocol generation a wire method name belongs to, if it is a known A2A method."""
    if wire not in METHODS:
        return None
    return "1.0" if "/" not in wire else "0.3"


def rest_call(http_method: str, path: str) -> RestCall | None:
    """Classify a REST-binding request by verb and path (relative to the agent's base)."""
    for verb, pattern, name in _REST_ROUTES:
        if verb == http_method and pattern.search(path):
            task = _REST_TASK_ID.search(path)
            version = "0.3" if "/v1/" in path or path.startswith("v1/") else None
            return RestCall(name, task.group(1) if task else None, version)
    return None


def binding_of(http_method: str, relative_path: str) -> tuple[str, RestCall | None]:
    """How a request speaks A2A: ``card`` (a card fetch), ``rest`` (the HTTP+JSON binding,
    with its call), ``jsonrpc`` (any other POST) or ``http`` (anything else)."""
    rest = rest_call(http_method, relative_path)
    if is_card_path(relative_path) and http_method in ("GET", "HEAD"):
        return "card", rest
    if rest is not None:
        return "rest", rest
    return ("jsonrpc" if http_method == "POST" else "http"), None


def is_card_path(path: str) -> bool:
    return path.endswith(CARD_PATH_SUFFIXES)


def normalise_state(state: object) -> str | None:
    if not isinstance(state, str) or not state:
        return None
    if state.startswith("TASK_STATE_"):
        return state
    return TASK_STATES.get(state, state)


def error_name(code: int) -> str | None:
    return ERROR_NAMES.get(code)
