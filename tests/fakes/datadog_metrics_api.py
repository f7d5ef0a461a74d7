"""A local stand-in for Datadog's Metrics API submit endpoints, for tests.

It serves ``POST /api/v2/series`` (``MetricPayload``, ``application/json``) and
``POST /api/v1/distribution_points`` (``DistributionPointsPayload``, ``text/json``) the
way Datadog does: 403 with Datadog's error JSON without the right ``DD-API-KEY``, 415 for
another content type or an unknown ``Content-Encoding``, 400 for a body that does not
decompress (gzip, deflate) or decode, 413 past the size limits (512 000 bytes as sent,
5 MiB decompressed), and 202 ``{"errors": []}`` for an accepted body.

Bodies are parsed with datadog-api-client's models, and the fake walks the parsed model
beside the JSON: anything the client would leave unparsed (a wrong type, an unknown enum
value, a point of the wrong shape) or keep as an unknown field is refused with 400, as is a
point outside the window Datadog keeps (more than 1 hour old, more than 10 minutes
ahead; Datadog drops those silently, the fake refuses them so that tests notice).
Accepted and refused requests are recorded; ``fail_next`` scripts failures (429 with
rate-limit headers, 5xx, 413) for the next matching requests.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.fakes.loopback import LoopbackServer

API_KEY = "0123456789abcdef0123456789abcdef"
MAX_COMPRESSED = 512_000
MAX_DECOMPRESSED = 5 * 1024 * 1024
MAX_AGE_S = 3600
MAX_AHEAD_S = 600

# path -> (content types accepted, model class name)
ENDPOINTS: dict[str, tuple[tuple[str, ...], str]] = {
    "/api/v2/series": (("application/json",), "MetricPayload"),
    "/api/v1/distribution_points": (("text/json", "application/json"), "DistributionPointsPayload"),
}


@dataclass(frozen=True)
class MetricsRequest:
    path: str
    headers: dict[str, str]  # lower-case names
    sent_bytes: int  # the body as it came over the wire
    body_bytes: int  # decompressed
    payload: Any  # the decoded JSON


@dataclass(frozen=True)
class Refusal:
    path: str
    status: int
    reason: str


@dataclass
class ScriptedFailure:
    path: str
    status: int
    headers: dict[str, str]
    errors: list[str]


@dataclass
class FakeMetricsApi(LoopbackServer):
    api_key: str = API_KEY
    accepted: list[MetricsRequest] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    failures: list[ScriptedFailure] = field(default_factory=list)
    clock: Any = time.time  # what "now" is for the time window

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    # --- what tests use ------------------------------------------------------------------

    def fail_next(
        self,
        path: str,
        status: int,
        *errors: str,
        headers: dict[str, str] | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` requests to ``path`` with ``status`` and Datadog's error JSON."""
        for _ in range(times):
            self.failures.append(
                ScriptedFailure(path, status, dict(headers or {}), list(errors) or ["Error"])
            )

    def series(self) -> Iterator[dict[str, Any]]:
        """Every accepted count and gauge series (``/api/v2/series``)."""
        for request in self.accepted:
            if request.path == "/api/v2/series":
                yield from request.payload["series"]

    def distributions(self) -> Iterator[dict[str, Any]]:
        """Every accepted distribution series (``/api/v1/distribution_points``)."""
        for request in self.accepted:
            if request.path == "/api/v1/distribution_points":
                yield from request.payload["series"]

    def attempts(self) -> int:
        return len(self.accepted) + len(self.refused)

    # --- the API -------------------------------------------------------------------------

    def handle(
        self, method: str, path: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, dict[str, str], Any]:
        with self._lock:
            status, extra, answer = self._handle(method, path, headers, raw)
            if status >= 300:
                reason = "; ".join(answer.get("errors", [])) if isinstance(answer, dict) else ""
                self.refused.append(Refusal(path, status, reason))
            return status, extra, answer

    def _handle(
        self, method: str, path: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, dict[str, str], Any]:
        endpoint = ENDPOINTS.get(path)
        if endpoint is None:
            return 404, {}, {"errors": [f"no endpoint at {path}"]}
        if method != "POST":
            return 405, {}, {"errors": [f"{method} not allowed on {path}"]}
        if headers.get("dd-api-key") != self.api_key:
            return 403, {}, {"errors": ["Forbidden"]}
        for failure in self.failures:
            if failure.path == path:
                self.failures.remove(failure)
                return failure.status, failure.headers, {"errors": failure.errors}
        content_types, model = endpoint
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type not in content_types:
            return 415, {}, {"errors": [f"content type {content_type!r} not accepted"]}
        if len(raw) > MAX_COMPRESSED:
            return 413, {}, {"errors": [f"payload of {len(raw)} bytes is too large"]}
        encoding = headers.get("content-encoding", "").strip().lower()
        try:
            body = _decompress(encoding, raw)
        except LookupError as exc:
            return 415, {}, {"errors": [str(exc)]}
        except ValueError as exc:
            return 400, {}, {"errors": [str(exc)]}
        if len(body) > MAX_DECOMPRESSED:
            return 413, {}, {"errors": ["decompressed payload is too large"]}
        try:
            payload = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            return 400, {}, {"errors": [f"body is not JSON: {exc}"]}
        problems = model_problems(payload, model) or self._time_problems(payload, model)
        if problems:
            return 400, {}, {"errors": problems[:10]}
        self.accepted.append(MetricsRequest(path, headers, len(raw), len(body), payload))
        return 202, {}, {"errors": []}

    def _time_problems(self, payload: dict[str, Any], model: str) -> list[str]:
        now = self.clock()
        problems = []
        for i, series in enumerate(payload["series"]):
            for j, point in enumerate(series["points"]):
                ts = point["timestamp"] if model == "MetricPayload" else point[0]
                if ts < now - MAX_AGE_S or ts > now + MAX_AHEAD_S:
                    problems.append(
                        f"series[{i}].points[{j}]: timestamp {ts} is outside the window"
                    )
        return problems


def model_problems(payload: Any, model: str) -> list[str]:
    """Where ``payload`` does not fit datadog-api-client's ``model``, as JSON paths."""
    from datadog_api_client import ApiClient, Configuration
    from datadog_api_client.exceptions import OpenApiException
    from datadog_api_client.v1.model.distribution_points_payload import (
        DistributionPointsPayload,
    )
    from datadog_api_client.v2.model.metric_payload import MetricPayload

    classes = {
        "MetricPayload": MetricPayload,
        "DistributionPointsPayload": DistributionPointsPayload,
    }
    if not isinstance(payload, dict):
        return ["$: expected a JSON object"]
    try:
        client = ApiClient(Configuration())  # type: ignore[no-untyped-call]
        parsed = client.deserialize(json.dumps(payload), (classes[model],), True)
    except (OpenApiException, TypeError, ValueError, AttributeError, KeyError) as exc:
        return [f"$: {str(exc).splitlines()[0]}"]
    problems: list[str] = []
    _walk(parsed, payload, "$", problems)
    return problems


def _walk(model: Any, raw: Any, path: str, problems: list[str]) -> None:
    """Unparsed parts and unknown fields, which the client accepts without a word."""
    from datadog_api_client.model_utils import ModelNormal, ModelSimple

    if getattr(model, "_unparsed", False):
        problems.append(f"{path}: does not fit {type(model).__name__}")
        return
    if isinstance(model, ModelSimple):
        return
    if isinstance(model, ModelNormal):
        fields = {json_name: name for name, json_name in model.attribute_map.items()}
        for key, value in raw.items():
            if key not in fields:
                problems.append(f"{path}.{key}: unknown field of {type(model).__name__}")
            else:
                _walk(model._data_store.get(fields[key]), value, f"{path}.{key}", problems)
    elif isinstance(model, list) and isinstance(raw, list):
        for i, (item, raw_item) in enumerate(zip(model, raw, strict=True)):
            _walk(item, raw_item, f"{path}[{i}]", problems)


def _decompress(encoding: str, body: bytes) -> bytes:
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


class _Handler(BaseHTTPRequestHandler):
    fake: FakeMetricsApi

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, extra, answer = self.fake.handle(self.command, self.path, headers, raw)
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in extra.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output quiet


FakeMetricsApi.handler_class = _Handler
