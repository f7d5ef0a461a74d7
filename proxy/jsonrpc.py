"""Reading A2A exchanges: pure functions from body bytes to what telemetry records.

Never raises on bad input: a body that cannot be read yields a view whose
``parse_error`` says why (``invalid_utf8``, ``invalid_json``, ``too_deep``,
``too_large``, ``not_jsonrpc``). The proxy forwards such bodies untouched. Valid JSON
that Python cannot hold (an integer of more than 4300 digits, nesting deeper than the
parser's stack) is ``too_large`` or ``too_deep``, not an exception.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from proxy import a2a

# Text kept from one body for the tool lens and opt-in content capture.
TEXT_LIMIT = 64 * 1024


@dataclass(slots=True)
class RequestView:
    """What a request says, as far as it could be read."""

    parse_error: str | None = None
    wire_method: str | None = None
    request_id: str | None = None
    id_value: Any = None  # the id as sent, echoed in the sidecar's own error replies
    has_id: bool = False
    jsonrpc_version: str | None = None
    batch_size: int | None = None
    batch_methods: tuple[str, ...] = ()
    context_id: str | None = None
    task_id: str | None = None
    message_id: str | None = None
    tenant: str | None = None
    reference_task_ids: tuple[str, ...] = ()
    text: str | None = None

    @property
    def is_notification(self) -> bool:
        return self.wire_method is not None and not self.has_id and self.batch_size is None


@dataclass(slots=True)
class ResultView:
    """What a response (or one stream event) says."""

    parse_error: str | None = None
    kind: str | None = None  # message, task, status-update, artifact-update, card, other
    context_id: str | None = None
    task_id: str | None = None
    message_id: str | None = None
    task_state: str | None = None  # the 1.0 enum name
    task_state_wire: str | None = None  # the wire's own value when it differs (0.3)
    final: bool | None = None
    error_code: int | None = None
    error_message: str | None = None
    error_reason: str | None = None
    texts: list[str] = field(default_factory=list)


def load_json(body: bytes) -> tuple[Any, str | None]:
    """Decode a JSON body; the error names the problem and where it is."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, f"invalid_utf8: byte {exc.start}"
    try:
        return json.loads(text), None
    except json.JSONDecodeError as exc:
        return None, f"invalid_json: {exc.msg} at line {exc.lineno} column {exc.colno}"
    except RecursionError:
        return None, "too_deep: JSON nested deeper than the parser allows"
    except ValueError:
        # Python's int-string conversion limit (sys.set_int_max_str_digits).
        return None, "too_large: an integer with more digits than Python converts"


def read_request(body: bytes) -> RequestView:
    """Read a JSON-RPC request (single or batch) carrying A2A params."""
    if not body.strip():
        return RequestView(parse_error="empty: no body")
    value, problem = load_json(body)
    if problem is not None:
        return RequestView(parse_error=problem)
    if isinstance(value, list):
        methods = tuple(
            str(item.get("method")) for item in value if isinstance(item, dict) and "method" in item
        )
        view = RequestView(batch_size=len(value), batch_methods=methods)
        if not value or len(methods) != len(value):
            view.parse_error = "not_jsonrpc: batch entries without a method"
        return view
    if not isinstance(value, dict) or not isinstance(value.get("method"), str):
        return RequestView(parse_error="not_jsonrpc: no method member")
    view = RequestView(wire_method=value["method"])
    version = value.get("jsonrpc")
    view.jsonrpc_version = version if isinstance(version, str) else None
    if "id" in value:
        view.has_id = True
        rid = value["id"]
        view.id_value = rid if isinstance(rid, (str, int, float)) or rid is None else None
        view.request_id = None if rid is None else str(rid)
    params = value.get("params")
    if isinstance(params, dict):
        read_params(params, view)
    return view


def read_params(params: dict[str, Any], view: RequestView) -> None:
    """A2A request params (JSON-RPC ``params`` or a REST body): message and task ids."""
    tenant = params.get("tenant")
    view.tenant = tenant if isinstance(tenant, str) and tenant else None
    message = params.get("message")
    if isinstance(message, dict):
        view.context_id = _str(message.get("contextId"))
        view.task_id = _str(message.get("taskId"))
        view.message_id = _str(message.get("messageId"))
        refs = message.get("referenceTaskIds")
        if isinstance(refs, list):
            view.reference_task_ids = tuple(r for r in refs if isinstance(r, str))
        view.text = _join(_part_texts(message.get("parts")))
    else:
        task_id = _str(params.get("id")) or _task_from_name(params.get("name"))
        view.task_id = task_id
        view.context_id = _str(params.get("contextId"))


def read_rest_request(body: bytes) -> RequestView:
    """A REST-binding request body (a bare params object, no JSON-RPC envelope)."""
    if not body.strip():
        return RequestView()
    value, problem = load_json(body)
    if problem is not None:
        return RequestView(parse_error=problem)
    view = RequestView()
    if isinstance(value, dict):
        read_params(value, view)
    return view


def read_response(body: bytes) -> ResultView:
    """A JSON-RPC response (or a batch: the first error or result is reported)."""
    value, problem = load_json(body)
    if problem is not None:
        return ResultView(parse_error=problem)
    return read_response_value(value)


def read_response_value(value: Any) -> ResultView:
    if isinstance(value, list):
        # A batch is one level deep; an array inside it is not a response.
        views = [_read_response_object(v) for v in value]
        errors = [v for v in views if v.error_code is not None]
        return errors[0] if errors else (views[0] if views else ResultView(kind="other"))
    return _read_response_object(value)


def _read_response_object(value: Any) -> ResultView:
    if not isinstance(value, dict):
        return ResultView(parse_error="not_jsonrpc: response is not an object")
    error = value.get("error")
    if isinstance(error, dict):
        return _read_error(error)
    if "result" in value:
        return read_result(value["result"])
    return ResultView(parse_error="not_jsonrpc: neither result nor error")


def read_rest_response(body: bytes) -> ResultView:
    """A REST-binding response body: the result object itself, or an error object."""
    value, problem = load_json(body)
    if problem is not None:
        return ResultView(parse_error=problem)
    if isinstance(value, dict) and isinstance(value.get("error"), dict):
        return _read_error(value["error"])
    return read_result(value)


def read_result(result: Any) -> ResultView:
    """Classify an A2A result: Message, Task, stream update, or agent card (both generations)."""
    view = ResultView()
    if not isinstance(result, dict):
        view.kind = "other"
        return view
    kind = result.get("kind")
    body = result
    if not isinstance(kind, str):
        for key, name in (
            ("message", "message"),
            ("task", "task"),
            ("statusUpdate", "status-update"),
            ("artifactUpdate", "artifact-update"),
        ):
            if isinstance(result.get(key), dict):
                kind, body = name, result[key]
                break
        else:
            kind = _infer_kind(result)
    view.kind = kind
    view.context_id = _str(body.get("contextId"))
    if kind == "message":
        view.message_id = _str(body.get("messageId"))
        view.task_id = _str(body.get("taskId"))
        if _is_agent(body.get("role")):
            view.texts = _part_texts(body.get("parts"))
    elif kind == "task":
        view.task_id = _str(body.get("id"))
        _read_status(body.get("status"), view)
        artifacts = body.get("artifacts")
        for artifact in artifacts if isinstance(artifacts, list) else ():
            if isinstance(artifact, dict):
                view.texts.extend(_part_texts(artifact.get("parts")))
    elif kind == "status-update":
        view.task_id = _str(body.get("taskId"))
        _read_status(body.get("status"), view)
        final = body.get("final")
        view.final = final if isinstance(final, bool) else None
    elif kind == "artifact-update":
        view.task_id = _str(body.get("taskId"))
        artifact = body.get("artifact")
        if isinstance(artifact, dict):
            view.texts = _part_texts(artifact.get("parts"))
    return view


def agent_text(views: list[ResultView]) -> str | None:
    """The agent's reply text across a response or a stream, capped."""
    return _join([t for v in views for t in v.texts])


def _infer_kind(result: dict[str, Any]) -> str:
    if "status" in result and "id" in result:
        return "task"
    if "messageId" in result and "parts" in result:
        return "message"
    if "skills" in result or "supportedInterfaces" in result or "capabilities" in result:
        return "card"
    return "other"


def _read_status(status: Any, view: ResultView) -> None:
    if not isinstance(status, dict):
        return
    state = status.get("state")
    view.task_state = a2a.normalise_state(state)
    if isinstance(state, str) and state and state != view.task_state:
        view.task_state_wire = state
    message = status.get("message")
    if isinstance(message, dict) and _is_agent(message.get("role")):
        view.texts.extend(_part_texts(message.get("parts")))


def _read_error(error: dict[str, Any]) -> ResultView:
    view = ResultView(kind="error")
    code = error.get("code")
    view.error_code = code if isinstance(code, int) and not isinstance(code, bool) else None
    message = error.get("message")
    view.error_message = message if isinstance(message, str) else None
    # A google.rpc.ErrorInfo carries the reason: in ``data`` (JSON-RPC 1.0) or ``details``
    # (the REST binding's google.rpc.Status); 0.3 sends null or an object.
    for key in ("data", "details"):
        items = error.get(key)
        if isinstance(items, list):
            for item in items:
                if isinstance(item, dict) and isinstance(item.get("reason"), str):
                    view.error_reason = item["reason"]
                    break
        if view.error_reason is not None:
            break
    if view.error_reason is None and view.error_code is not None:
        view.error_reason = a2a.error_name(view.error_code)
    return view


def _part_texts(parts: Any) -> list[str]:
    if not isinstance(parts, list):
        return []
    texts = []
    for part in parts:
        if isinstance(part, dict) and isinstance(part.get("text"), str):
            texts.append(part["text"])
    return texts


def _join(texts: list[str]) -> str | None:
    """The texts joined, at most ``TEXT_LIMIT`` characters: the start and the end of a longer
    one (a long prompt asks its question last), with the cut marked."""
    if not texts:
        return None
    text = "\n".join(texts)
    if len(text) <= TEXT_LIMIT:
        return text
    half = TEXT_LIMIT // 2
    return text[:half] + f"\n…[{len(text) - 2 * half} chars omitted]…\n" + text[-half:]


def _is_agent(role: Any) -> bool:
    return role in ("agent", "ROLE_AGENT")


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _task_from_name(name: Any) -> str | None:
    if isinstance(name, str) and name.startswith("tasks/"):
        return name.split("/", 2)[1] or None
    return None
