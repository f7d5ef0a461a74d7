"""A local stand-in for Datadog's intake, for the collector's datadog exporter.

It serves the endpoints the exporter writes to: ``/api/v1/validate`` (API key check),
``/api/v0.2/traces`` (gzip protobuf ``AgentPayload``), ``/api/v0.2/stats`` (gzip
msgpack ``StatsPayload``), ``/api/v2/series`` and ``/api/beta/sketches`` (protobuf
``MetricPayload`` / ``SketchPayload``; JSON series too, as the Metrics API takes) and
``/intake/`` (host metadata JSON). Like Datadog it answers 403 without the right
``DD-API-KEY``, 415 for a content type the endpoint does not take, 400 for a body that
does not decompress or decode, and 413 past the size limits. Accepted requests are
decoded and recorded for tests to assert on; rejected ones are recorded too.

The protobuf messages are declared here from the field numbers of Datadog's public
``.proto`` files (datadog-agent ``pkg/proto/datadog/trace``, agent-payload
``proto/metrics``), only as far as the tests read them.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import msgpack  # type: ignore[import-untyped]
from aiohttp import web
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory
from google.protobuf.message import DecodeError, Message

API_KEY = "0123456789abcdef0123456789abcdef"
# Datadog's documented limits: metrics payloads at most 512 kB compressed and 5 MiB
# decompressed; trace payloads at most 3.2 MB.
MAX_COMPRESSED = {"metrics": 512_000, "traces": 3_200_000}
MAX_DECOMPRESSED = {"metrics": 5 * 1024 * 1024, "traces": 50 * 1024 * 1024}

# --- protobuf schema -----------------------------------------------------------------

_Field = descriptor_pb2.FieldDescriptorProto
_T: Any = _Field
_SCALARS = {
    "string": _T.TYPE_STRING,
    "bytes": _T.TYPE_BYTES,
    "bool": _T.TYPE_BOOL,
    "double": _T.TYPE_DOUBLE,
    "int32": _T.TYPE_INT32,
    "int64": _T.TYPE_INT64,
    "uint32": _T.TYPE_UINT32,
    "uint64": _T.TYPE_UINT64,
    "sint32": _T.TYPE_SINT32,
    "fixed64": _T.TYPE_FIXED64,
}
_PACKAGE = "tau2observe.fakes.datadog"

# message name -> [(field name, number, type, repeated?)]; "map<k,v>" declares a map and
# any other non-scalar type names a message in this table.
_MESSAGES: dict[str, list[tuple[str, int, str, bool]]] = {
    # datadog-agent pkg/proto/datadog/trace/agent_payload.proto
    "AgentPayload": [
        ("hostName", 1, "string", False),
        ("env", 2, "string", False),
        ("tracerPayloads", 5, "TracerPayload", True),
        ("tags", 6, "map<string,string>", False),
        ("agentVersion", 7, "string", False),
        ("targetTPS", 8, "double", False),
        ("errorTPS", 9, "double", False),
        ("rareSamplerEnabled", 10, "bool", False),
    ],
    # .../tracer_payload.proto
    "TracerPayload": [
        ("containerID", 1, "string", False),
        ("languageName", 2, "string", False),
        ("languageVersion", 3, "string", False),
        ("tracerVersion", 4, "string", False),
        ("runtimeID", 5, "string", False),
        ("chunks", 6, "TraceChunk", True),
        ("tags", 7, "map<string,string>", False),
        ("env", 8, "string", False),
        ("hostname", 9, "string", False),
        ("appVersion", 10, "string", False),
    ],
    "TraceChunk": [
        ("priority", 1, "int32", False),
        ("origin", 2, "string", False),
        ("spans", 3, "Span", True),
        ("tags", 4, "map<string,string>", False),
        ("droppedTrace", 5, "bool", False),
    ],
    # .../span.proto
    "Span": [
        ("service", 1, "string", False),
        ("name", 2, "string", False),
        ("resource", 3, "string", False),
        ("traceID", 4, "uint64", False),
        ("spanID", 5, "uint64", False),
        ("parentID", 6, "uint64", False),
        ("start", 7, "int64", False),
        ("duration", 8, "int64", False),
        ("error", 9, "int32", False),
        ("meta", 10, "map<string,string>", False),
        ("metrics", 11, "map<string,double>", False),
        ("type", 12, "string", False),
        ("meta_struct", 13, "map<string,bytes>", False),
        ("spanLinks", 14, "SpanLink", True),
        ("spanEvents", 15, "SpanEvent", True),
    ],
    "SpanLink": [
        ("traceID", 1, "uint64", False),
        ("traceID_high", 2, "uint64", False),
        ("spanID", 3, "uint64", False),
        ("attributes", 4, "map<string,string>", False),
        ("tracestate", 5, "string", False),
        ("flags", 6, "uint32", False),
    ],
    "SpanEvent": [
        ("time_unix_nano", 1, "fixed64", False),
        ("name", 2, "string", False),
        ("attributes", 3, "map<string,AttributeAnyValue>", False),
    ],
    "AttributeAnyValue": [
        ("type", 1, "int32", False),
        ("string_value", 2, "string", False),
        ("bool_value", 3, "bool", False),
        ("int_value", 4, "int64", False),
        ("double_value", 5, "double", False),
        ("array_value", 6, "AttributeArray", False),
    ],
    "AttributeArray": [("values", 1, "AttributeArrayValue", True)],
    "AttributeArrayValue": [
        ("type", 1, "int32", False),
        ("string_value", 2, "string", False),
        ("bool_value", 3, "bool", False),
        ("int_value", 4, "int64", False),
        ("double_value", 5, "double", False),
    ],
    # agent-payload proto/metrics/agent_payload.proto
    "MetricPayload": [("series", 1, "MetricSeries", True)],
    "MetricSeries": [
        ("resources", 1, "MetricResource", True),
        ("metric", 2, "string", False),
        ("tags", 3, "string", True),
        ("points", 4, "MetricPoint", True),
        ("type", 5, "int32", False),  # 0 unspecified, 1 count, 2 rate, 3 gauge
        ("unit", 6, "string", False),
        ("source_type_name", 7, "string", False),
        ("interval", 8, "int64", False),
    ],
    "MetricResource": [("type", 1, "string", False), ("name", 2, "string", False)],
    "MetricPoint": [("value", 1, "double", False), ("timestamp", 2, "int64", False)],
    "SketchPayload": [("sketches", 1, "Sketch", True)],
    "Sketch": [
        ("metric", 1, "string", False),
        ("host", 2, "string", False),
        ("tags", 4, "string", True),
        ("dogsketches", 7, "Dogsketch", True),
    ],
    "Dogsketch": [
        ("ts", 1, "int64", False),
        ("cnt", 2, "int64", False),
        ("min", 3, "double", False),
        ("max", 4, "double", False),
        ("avg", 5, "double", False),
        ("sum", 6, "double", False),
        ("k", 7, "sint32", True),
        ("n", 8, "uint32", True),
    ],
}


def _field(name: str, number: int, type_name: str, repeated: bool) -> Any:
    proto = _T(name=name, number=number, json_name=name)
    proto.label = _T.LABEL_REPEATED if repeated else _T.LABEL_OPTIONAL
    if type_name in _SCALARS:
        proto.type = _SCALARS[type_name]
    else:
        proto.type = _T.TYPE_MESSAGE
        proto.type_name = f".{_PACKAGE}.{type_name}"
    return proto


def _message_classes() -> dict[str, type[Message]]:
    file = descriptor_pb2.FileDescriptorProto(
        name="tau2observe_fake_datadog.proto", package=_PACKAGE, syntax="proto3"
    )
    for name, fields in _MESSAGES.items():
        message = file.message_type.add(name=name)
        for field_name, number, type_name, repeated in fields:
            if not type_name.startswith("map<"):
                message.field.append(_field(field_name, number, type_name, repeated))
                continue
            key, value = type_name[4:-1].split(",")
            entry_name = field_name[0].upper() + field_name[1:] + "Entry"
            entry = message.nested_type.add(name=entry_name)
            entry.options.map_entry = True
            entry.field.append(_field("key", 1, key, False))
            entry.field.append(_field("value", 2, value, False))
            map_field = _field(field_name, number, f"{name}.{entry_name}", True)
            message.field.append(map_field)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return {
        name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{_PACKAGE}.{name}"))
        for name in _MESSAGES
    }


_CLASSES = _message_classes()


def decode_protobuf(message: str, body: bytes) -> dict[str, Any]:
    """Parse ``body`` as the named message; raise ValueError when it is not one."""
    parsed = _CLASSES[message]()
    try:
        parsed.ParseFromString(body)
    except DecodeError as exc:
        raise ValueError(f"not a protobuf {message}: {exc}") from exc
    decoded: dict[str, Any] = json_format.MessageToDict(parsed, preserving_proto_field_name=True)
    return decoded


def _decode_traces(body: bytes) -> Any:
    payload = decode_protobuf("AgentPayload", body)
    chunks = [c for p in payload.get("tracerPayloads", []) for c in p.get("chunks", [])]
    if not chunks or not all(c.get("spans") for c in chunks):
        raise ValueError("AgentPayload without trace chunks, or a chunk without spans")
    return payload


def _decode_series(body: bytes) -> Any:
    payload = decode_protobuf("MetricPayload", body)
    for index, series in enumerate(payload.get("series", [])):
        if not series.get("metric") or not series.get("points"):
            raise ValueError(f"series[{index}] lacks a metric name or points")
    return payload


def _decode_sketches(body: bytes) -> Any:
    payload = decode_protobuf("SketchPayload", body)
    for index, sketch in enumerate(payload.get("sketches", [])):
        if not sketch.get("metric") or not sketch.get("dogsketches"):
            raise ValueError(f"sketches[{index}] lacks a metric name or dogsketches")
    return payload


# --- what the intake records ---------------------------------------------------------


@dataclass(frozen=True)
class IntakeRequest:
    """One request as it arrived: ``body`` is decompressed, ``payload`` decoded."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    payload: Any


@dataclass(frozen=True)
class Rejection:
    method: str
    path: str
    status: int
    reason: str
    headers: dict[str, str]


@dataclass
class IntakeRecord:
    accepted: list[IntakeRequest] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)

    def at(self, path: str) -> list[IntakeRequest]:
        return [r for r in self.accepted if r.path.rstrip("/") == path.rstrip("/")]

    def spans(self) -> Iterator[dict[str, Any]]:
        """Every span of every trace payload."""
        for request in self.at("/api/v0.2/traces"):
            for tracer_payload in request.payload.get("tracerPayloads", []):
                for chunk in tracer_payload.get("chunks", []):
                    yield from chunk.get("spans", [])

    def stats_groups(self) -> Iterator[dict[str, Any]]:
        """Every grouped APM stat (service, name, resource, hits, ...) of every payload."""
        for request in self.at("/api/v0.2/stats"):
            for client in request.payload.get("Stats") or []:
                for bucket in client.get("Stats") or []:
                    yield from bucket.get("Stats") or []

    def series(self) -> Iterator[dict[str, Any]]:
        for request in self.at("/api/v2/series"):
            yield from request.payload.get("series", [])

    def sketches(self) -> Iterator[dict[str, Any]]:
        for request in self.at("/api/beta/sketches"):
            yield from request.payload.get("sketches", [])

    def bodies(self) -> Iterator[tuple[str, bytes]]:
        """Every decompressed body that reached the intake, accepted or not."""
        for request in self.accepted:
            yield request.path, request.body


# --- the server ------------------------------------------------------------------------

_Decoder = Callable[[bytes], Any]


@dataclass(frozen=True)
class _Endpoint:
    content_types: tuple[str, ...]
    decoders: dict[str, _Decoder]
    limit: str
    answer: tuple[int, Any]


def _decode_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError as exc:
        raise ValueError(f"not JSON: {exc}") from exc


def _decode_stats(body: bytes) -> Any:
    try:
        payload = msgpack.unpackb(body, raw=False, strict_map_key=False)
    except (ValueError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError) as exc:
        raise ValueError(f"not msgpack: {exc}") from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("Stats"), list):
        raise ValueError("msgpack StatsPayload without a Stats list")
    return payload


def _decode_json_series(body: bytes) -> Any:
    payload = _decode_json(body)
    if not isinstance(payload, dict) or not isinstance(payload.get("series"), list):
        raise ValueError("series JSON without a 'series' list")
    for index, series in enumerate(payload["series"]):
        if not isinstance(series, dict) or not series.get("metric") or "points" not in series:
            raise ValueError(f"series[{index}] lacks 'metric' or 'points'")
    return payload


_ENDPOINTS: dict[str, _Endpoint] = {
    "/api/v0.2/traces": _Endpoint(
        ("application/x-protobuf",),
        {"application/x-protobuf": _decode_traces},
        "traces",
        (202, {}),
    ),
    "/api/v0.2/stats": _Endpoint(
        ("application/msgpack",), {"application/msgpack": _decode_stats}, "traces", (202, {})
    ),
    "/api/v2/series": _Endpoint(
        ("application/x-protobuf", "application/json"),
        {
            "application/x-protobuf": _decode_series,
            "application/json": _decode_json_series,
        },
        "metrics",
        (202, {"errors": []}),
    ),
    "/api/beta/sketches": _Endpoint(
        ("application/x-protobuf",),
        {"application/x-protobuf": _decode_sketches},
        "metrics",
        (202, {}),
    ),
    "/intake": _Endpoint(
        ("application/json",), {"application/json": _decode_json}, "metrics", (202, {})
    ),
}


def _decompress(encoding: str, body: bytes) -> bytes:
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return body
    try:
        if encoding == "gzip":
            return gzip.decompress(body)
        if encoding == "deflate":
            return zlib.decompress(body)
    except (OSError, EOFError, zlib.error) as exc:
        raise ValueError(f"body is not valid {encoding}: {exc}") from exc
    raise LookupError(f"unsupported Content-Encoding {encoding!r}")


class DatadogIntake:
    """The fake intake on 127.0.0.1 and a free port. ``url`` is valid after ``start()``."""

    def __init__(self, api_key: str = API_KEY) -> None:
        self.api_key = api_key
        self.record = IntakeRecord()
        self.url = ""
        self._runner: web.AppRunner | None = None
        self._changed = asyncio.Event()

    async def start(self) -> str:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/api/v1/validate", self._validate)
        app.router.add_route("*", "/{path:.*}", self._receive)
        # Bodies are decompressed here, not by aiohttp: the encoding is part of the check.
        self._runner = web.AppRunner(app, access_log=None, auto_decompress=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.Server)
        port = server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def wait_for(self, condition: Callable[[IntakeRecord], bool], within: float) -> bool:
        """Wait until ``condition(record)`` holds; False when ``within`` seconds pass first."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while not condition(self.record):
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                return condition(self.record)
        return True

    def _reject(self, request: web.Request, status: int, reason: str) -> web.Response:
        headers = {name.lower(): value for name, value in request.headers.items()}
        self.record.rejected.append(
            Rejection(request.method, request.path, status, reason, headers)
        )
        self._changed.set()
        return web.json_response({"errors": [reason]}, status=status)

    def _key_ok(self, request: web.Request) -> bool:
        return request.headers.get("DD-API-KEY", "") == self.api_key

    async def _validate(self, request: web.Request) -> web.Response:
        # The validate endpoint also takes the key as a query parameter, as the exporter
        # sends it.
        given = request.headers.get("DD-API-KEY") or request.query.get("api_key", "")
        if given != self.api_key:
            self._reject(request, 403, "invalid API key")
            return web.json_response({"valid": False}, status=403)
        self.record.accepted.append(IntakeRequest(request.method, request.path, {}, b"", None))
        self._changed.set()
        return web.json_response({"valid": True})

    async def _receive(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["path"].rstrip("/")
        endpoint = _ENDPOINTS.get(path)
        if endpoint is None:
            return self._reject(request, 404, f"no intake at {request.path}")
        if request.method != "POST":
            return self._reject(request, 405, f"{request.method} not allowed on {path}")
        if not self._key_ok(request):
            return self._reject(request, 403, "missing or invalid DD-API-KEY")
        content_type = request.content_type
        if content_type not in endpoint.content_types:
            return self._reject(request, 415, f"content type {content_type!r} not accepted")
        raw = await request.read()
        if len(raw) > MAX_COMPRESSED[endpoint.limit]:
            return self._reject(request, 413, f"payload of {len(raw)} bytes is too large")
        try:
            body = _decompress(request.headers.get("Content-Encoding", ""), raw)
        except LookupError as exc:
            return self._reject(request, 415, str(exc))
        except ValueError as exc:
            return self._reject(request, 400, str(exc))
        if len(body) > MAX_DECOMPRESSED[endpoint.limit]:
            return self._reject(request, 413, "decompressed payload is too large")
        try:
            payload = endpoint.decoders[content_type](body)
        except ValueError as exc:
            return self._reject(request, 400, f"{path}: {exc}")
        headers = {name.lower(): value for name, value in request.headers.items()}
        self.record.accepted.append(IntakeRequest(request.method, path, headers, body, payload))
        self._changed.set()
        status, answer = endpoint.answer
        return web.json_response(answer, status=status)
