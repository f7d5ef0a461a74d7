"""A local stand-in for Datadog's LLM Observability intake, as ddtrace writes to it.

ddtrace (4.16, agentless) sends spans to ``POST /api/v2/llmobs`` (on
``llmobs-intake.<site>``) and evaluations to ``POST /api/intake/llm-obs/v2/eval-metric``
(on ``api.<site>``); ``DD_LLMOBS_OVERRIDE_ORIGIN`` points both here. The stand-in checks
each body the way the intake does and records what it accepted:

- ``DD-API-KEY`` must be the key: otherwise 403 with Datadog's error JSON;
- ``Content-Type: application/json``, else 415; a body that is not JSON, 400;
- spans: a JSON array of ``{"_dd.stage": "raw", "event_type": "span", "spans": [...]}``;
  each span with a 32-hex ``trace_id``, decimal ``span_id``, decimal or ``"undefined"``
  ``parent_id``, a name, integer ``start_ns`` and ``duration``, ``status`` ok|error,
  ``meta.span.kind`` one of Datadog's kinds, ``"key:value"`` string tags including
  ``ml_app:`` (lowercase, Datadog's characters), and messages with content;
- evaluations: ``{"data": {"type": "evaluation_metric", "attributes": {"metrics":
  [...]}}}``; each metric joined on exactly one of a span (``span_id`` decimal,
  ``trace_id`` 32 hex) or a tag, with a label (no dots, at most 200 characters), a
  ``metric_type`` of categorical|score|boolean|json with the matching ``*_value``, an
  ``ml_app``, and an integer ``timestamp_ms`` of at most a day ago;
- anything that does not fit is refused with 400 and the reason, and recorded as such.

Accepted requests answer 202, as Datadog does.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, ClassVar

from tests.fakes.loopback import LoopbackServer

API_KEY = "fedcba9876543210fedcba9876543210"
SPANS_PATH = "/api/v2/llmobs"
EVALUATIONS_PATH = "/api/intake/llm-obs/v2/eval-metric"
FORBIDDEN = {"errors": [{"status": "403", "title": "Forbidden", "detail": "API key is invalid"}]}
SPAN_KINDS = {"agent", "workflow", "llm", "tool", "task", "embedding", "retrieval"}
METRIC_VALUES = {
    "categorical": ("categorical_value", (str,)),
    "score": ("score_value", (int, float)),
    "boolean": ("boolean_value", (bool,)),
    "json": ("json_value", (dict,)),
}
MAX_AGE_MS = 24 * 3600 * 1000
_HEX32 = re.compile(r"^[0-9a-f]{32}$")
_DECIMAL = re.compile(r"^[0-9]{1,20}$")
_ML_APP = re.compile(r"^[a-z0-9_\-:./]{1,193}$")


class Invalid(ValueError):
    """A payload the intake would refuse; the message says where and why."""


def _require(condition: bool, where: str, problem: str) -> None:
    if not condition:
        raise Invalid(f"{where}: {problem}")


def _check_ml_app(value: Any, where: str) -> None:
    _require(isinstance(value, str) and bool(_ML_APP.match(value)), where, f"bad ml_app {value!r}")
    _require("__" not in value and not value.endswith("_"), where, f"bad ml_app {value!r}")


def _check_messages(io: Any, where: str) -> None:
    if not isinstance(io, dict) or "messages" not in io:
        return
    messages = io["messages"]
    _require(isinstance(messages, list), where, "messages must be a list")
    for i, message in enumerate(messages):
        _require(
            isinstance(message, dict) and isinstance(message.get("content"), str),
            f"{where}.messages[{i}]",
            "a message needs string content",
        )


def check_span(span: Any, where: str) -> None:
    _require(isinstance(span, dict), where, "a span is an object")
    _require(
        isinstance(span.get("trace_id"), str) and bool(_HEX32.match(span["trace_id"])),
        where,
        "trace_id must be 32 hex",
    )
    _require(
        isinstance(span.get("span_id"), str) and bool(_DECIMAL.match(span["span_id"])),
        where,
        "span_id must be a decimal string",
    )
    parent = span.get("parent_id")
    _require(
        isinstance(parent, str) and (parent == "undefined" or bool(_DECIMAL.match(parent))),
        where,
        "parent_id must be decimal or 'undefined'",
    )
    _require(isinstance(span.get("name"), str) and bool(span["name"]), where, "name is required")
    for key in ("start_ns", "duration"):
        _require(
            isinstance(span.get(key), int) and span[key] >= 0,
            where,
            f"{key} must be a non-negative integer",
        )
    _require(span.get("status") in ("ok", "error"), where, "status must be ok or error")
    meta = span.get("meta")
    _require(isinstance(meta, dict), where, "meta is required")
    kind = (meta.get("span") or {}).get("kind") if isinstance(meta.get("span"), dict) else None
    _require(kind in SPAN_KINDS, where, f"meta.span.kind {kind!r} is not a span kind")
    for io in ("input", "output"):
        _check_messages(meta.get(io), f"{where}.meta.{io}")
    tags = span.get("tags")
    _require(
        isinstance(tags, list) and all(isinstance(t, str) for t in tags),
        where,
        "tags must be a list of strings",
    )
    ml_apps = [t.split(":", 1)[1] for t in tags if t.startswith("ml_app:")]
    _require(len(ml_apps) == 1, where, "exactly one ml_app tag is required")
    _check_ml_app(ml_apps[0], f"{where}.tags")
    metrics = span.get("metrics", {})
    _require(
        isinstance(metrics, dict) and all(isinstance(v, int | float) for v in metrics.values()),
        where,
        "metrics must be numbers",
    )


def check_spans_payload(payload: Any) -> list[dict[str, Any]]:
    _require(
        isinstance(payload, list) and bool(payload), "body", "a non-empty JSON array of events"
    )
    spans = []
    for i, event in enumerate(payload):
        where = f"[{i}]"
        _require(isinstance(event, dict), where, "an event is an object")
        _require(event.get("_dd.stage") == "raw", where, "_dd.stage must be 'raw'")
        _require(event.get("event_type") == "span", where, "event_type must be 'span'")
        _require(
            isinstance(event.get("spans"), list) and bool(event["spans"]),
            where,
            "spans must be a non-empty list",
        )
        for j, span in enumerate(event["spans"]):
            check_span(span, f"{where}.spans[{j}]")
            spans.append(span)
    return spans


def check_metric(metric: Any, where: str, now_ms: int) -> None:
    _require(isinstance(metric, dict), where, "a metric is an object")
    join = metric.get("join_on")
    _require(isinstance(join, dict), where, "join_on is required")
    _require(("span" in join) != ("tag" in join), where, "join_on needs exactly one of span or tag")
    if "span" in join:
        span = join["span"]
        _require(isinstance(span, dict), where, "join_on.span is an object")
        _require(
            isinstance(span.get("span_id"), str) and bool(_DECIMAL.match(span["span_id"])),
            where,
            "join_on.span.span_id must be a decimal string",
        )
        _require(
            isinstance(span.get("trace_id"), str) and bool(_HEX32.match(span["trace_id"])),
            where,
            "join_on.span.trace_id must be 32 hex",
        )
    else:
        tag = join["tag"]
        _require(
            isinstance(tag, dict)
            and isinstance(tag.get("key"), str)
            and isinstance(tag.get("value"), str),
            where,
            "join_on.tag needs key and value",
        )
    label = metric.get("label")
    _require(
        isinstance(label, str) and 0 < len(label) <= 200, where, "label must be 1 to 200 characters"
    )
    _require("." not in label, where, f"label {label!r} must not contain '.'")
    kind = metric.get("metric_type")
    _require(
        kind in METRIC_VALUES, where, f"metric_type {kind!r} is not one of {sorted(METRIC_VALUES)}"
    )
    key, types = METRIC_VALUES[kind]
    value = metric.get(key)
    ok = isinstance(value, types) and not (kind == "score" and isinstance(value, bool))
    _require(ok, where, f"{kind} needs {key} of type {'/'.join(t.__name__ for t in types)}")
    _check_ml_app(metric.get("ml_app"), where)
    stamp = metric.get("timestamp_ms")
    _require(
        isinstance(stamp, int) and now_ms - MAX_AGE_MS <= stamp <= now_ms + 600_000,
        where,
        "timestamp_ms out of range",
    )
    if "assessment" in metric and metric["assessment"] is not None:
        _require(metric["assessment"] in ("pass", "fail"), where, "assessment must be pass or fail")
    tags = metric.get("tags", [])
    _require(
        isinstance(tags, list) and all(isinstance(t, str) for t in tags),
        where,
        "tags must be strings",
    )


def check_evaluations_payload(payload: Any) -> list[dict[str, Any]]:
    _require(
        isinstance(payload, dict) and isinstance(payload.get("data"), dict),
        "body",
        "a JSON:API object with data",
    )
    data = payload["data"]
    _require(data.get("type") == "evaluation_metric", "data", "type must be 'evaluation_metric'")
    metrics: Any = (data.get("attributes") or {}).get("metrics")
    _require(
        isinstance(metrics, list) and bool(metrics),
        "data.attributes",
        "metrics must be a non-empty list",
    )
    now_ms = int(time.time() * 1000)
    for i, metric in enumerate(metrics):
        check_metric(metric, f"data.attributes.metrics[{i}]", now_ms)
    return list(metrics)


@dataclass(frozen=True)
class Refusal:
    path: str
    status: int
    reason: str


@dataclass
class LLMObsRecord:
    spans: list[dict[str, Any]] = field(default_factory=list)
    evaluations: list[dict[str, Any]] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)

    def spans_of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [s for s in self.spans if s["meta"]["span"]["kind"] == kind]

    def by_span_id(self) -> dict[str, dict[str, Any]]:
        return {s["span_id"]: s for s in self.spans}

    def evaluations_for(self, span_id: str) -> Iterator[dict[str, Any]]:
        for metric in self.evaluations:
            if metric["join_on"].get("span", {}).get("span_id") == span_id:
                yield metric


def tag_value(span: dict[str, Any], key: str) -> str | None:
    tags: list[str] = span.get("tags", [])
    for tag in tags:
        name, _, value = tag.partition(":")
        if name == key:
            return value
    return None


_CHECKS: dict[str, Callable[[Any], list[dict[str, Any]]]] = {
    SPANS_PATH: check_spans_payload,
    EVALUATIONS_PATH: check_evaluations_payload,
}


class _Handler(BaseHTTPRequestHandler):
    fake: ClassVar[LLMObsIntake]

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_POST(self) -> None:
        status, answer = self.fake.receive(
            self.path.split("?")[0].rstrip("/"),
            {k.lower(): v for k, v in self.headers.items()},
            self.rfile.read(int(self.headers.get("Content-Length", "0"))),
        )
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class LLMObsIntake(LoopbackServer):
    handler_class = _Handler

    def __init__(self, api_key: str = API_KEY) -> None:
        self.api_key = api_key
        self.record = LLMObsRecord()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)

    def receive(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        with self._lock:
            status, answer = self._receive(path, headers, body)
            self._changed.notify_all()
            return status, answer

    def _refuse(self, path: str, status: int, reason: str, answer: Any = None) -> tuple[int, Any]:
        self.record.refused.append(Refusal(path, status, reason))
        return status, answer if answer is not None else {
            "errors": [{"status": str(status), "title": "Bad Request", "detail": reason}]
        }

    def _receive(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        check = _CHECKS.get(path)
        if check is None:
            return self._refuse(path, 404, f"no intake at {path}", {"errors": ["Not found"]})
        if headers.get("dd-api-key") != self.api_key:
            return self._refuse(path, 403, "missing or invalid DD-API-KEY", FORBIDDEN)
        if headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return self._refuse(path, 415, f"content type {headers.get('content-type')!r}")
        try:
            items = check(json.loads(body))
        except ValueError as exc:  # Invalid, or not JSON
            return self._refuse(path, 400, str(exc))
        self.record.headers.append({k: v for k, v in headers.items() if k != "dd-api-key"})
        if path == SPANS_PATH:
            self.record.spans.extend(items)
            return 202, {}
        self.record.evaluations.extend(items)
        return 202, {"data": {"type": "evaluation_metric", "attributes": {"metrics": items}}}

    def wait_for(self, condition: Callable[[LLMObsRecord], bool], within: float) -> bool:
        deadline = time.monotonic() + within
        with self._lock:
            while not condition(self.record):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)
            return True
