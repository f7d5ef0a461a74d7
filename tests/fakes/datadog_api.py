"""A local stand-in for Datadog's dashboards and monitors API (v1), for tests.

It plays list, get, create, update and delete on ``/api/v1/dashboard`` and
``/api/v1/monitor`` the way Datadog does: it checks ``DD-API-KEY`` and
``DD-APPLICATION-KEY`` (403 with Datadog's error JSON otherwise), parses every request
body with datadog-api-client's models and answers 400 when the body does not fit (an
unparsed widget, enum or oneOf), assigns ids and the fields Datadog sets itself (author,
timestamps, url, widget ids, monitor option defaults), and records every request so tests
can assert what was written.
"""

from __future__ import annotations

import copy
import itertools
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.loopback import LoopbackServer

API_KEY = "0123456789abcdef0123456789abcdef"
APP_KEY = "fedcba9876543210fedcba9876543210fedcba98"
AUTHOR = "platform@example.org"
# Options Datadog fills in when a monitor does not set them.
MONITOR_OPTION_DEFAULTS: dict[str, Any] = {
    "notify_audit": False,
    "include_tags": True,
    "new_group_delay": 60,
    "notify_no_data": False,
    "silenced": {},
}


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any


@dataclass
class Failure:
    method: str
    path_prefix: str
    status: int
    errors: list[str]


@dataclass
class FakeDatadog(LoopbackServer):
    api_key: str = API_KEY
    app_key: str = APP_KEY
    dashboards: dict[str, dict[str, Any]] = field(default_factory=dict)
    monitors: dict[int, dict[str, Any]] = field(default_factory=dict)
    requests: list[RecordedRequest] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._clock = itertools.count(1)

    # --- what tests use ------------------------------------------------------------------

    def writes(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method in ("POST", "PUT", "DELETE")]

    def fail_next(self, method: str, path_prefix: str, status: int, *errors: str) -> None:
        """Answer the next matching request with ``status`` and Datadog's error JSON."""
        self.failures.append(Failure(method, path_prefix, status, list(errors) or ["Error"]))

    def add_dashboard(self, body: dict[str, Any]) -> dict[str, Any]:
        """A dashboard made by hand in the UI (not through the code under test)."""
        with self._lock:
            return self._store_dashboard(copy.deepcopy(body), None)

    def add_monitor(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            return self._store_monitor(copy.deepcopy(body), None)

    # --- the API -------------------------------------------------------------------------

    def handle(self, request: RecordedRequest) -> tuple[int, Any]:
        with self._lock:
            self.requests.append(request)
            if (
                request.headers.get("dd-api-key") != self.api_key
                or request.headers.get("dd-application-key") != self.app_key
            ):
                return 403, {"errors": ["Forbidden"]}
            for failure in self.failures:
                if request.method == failure.method and request.path.startswith(
                    failure.path_prefix
                ):
                    self.failures.remove(failure)
                    return failure.status, {"errors": failure.errors}
            parts = [p for p in request.path.split("/") if p]
            if parts[:2] != ["api", "v1"] or len(parts) < 3:
                return 404, {"errors": ["Not found"]}
            resource, ident = parts[2], (parts[3] if len(parts) > 3 else None)
            if resource == "dashboard":
                return self._dashboard(request, ident)
            if resource == "monitor":
                return self._monitor(request, ident)
            return 404, {"errors": ["Not found"]}

    def _dashboard(self, request: RecordedRequest, ident: str | None) -> tuple[int, Any]:
        method = request.method
        if ident is None and method == "GET":
            count = int(request.query.get("count", ["100"])[0])
            start = int(request.query.get("start", ["0"])[0])
            page = list(self.dashboards.values())[start : start + count]
            return 200, {"dashboards": [_summary(d) for d in page]}
        if ident is None and method == "POST":
            problem = _model_problem(request.body, "Dashboard")
            if problem:
                return 400, {"errors": [f"Invalid dashboard: {problem}"]}
            return 200, self._store_dashboard(request.body, None)
        if ident is None or ident not in self.dashboards:
            return 404, {"errors": [f"Dashboard {ident} not found"]}
        if method == "GET":
            return 200, self.dashboards[ident]
        if method == "PUT":
            problem = _model_problem(request.body, "Dashboard")
            if problem:
                return 400, {"errors": [f"Invalid dashboard: {problem}"]}
            return 200, self._store_dashboard(request.body, self.dashboards[ident])
        if method == "DELETE":
            del self.dashboards[ident]
            return 200, {"deleted_dashboard_id": ident}
        return 405, {"errors": ["Method not allowed"]}

    def _monitor(self, request: RecordedRequest, ident: str | None) -> tuple[int, Any]:
        method = request.method
        if ident is None and method == "GET":
            wanted = [t for t in request.query.get("monitor_tags", [""])[0].split(",") if t]
            found = [m for m in self.monitors.values() if all(t in m["tags"] for t in wanted)]
            size = int(request.query.get("page_size", ["100"])[0])
            page = int(request.query.get("page", ["0"])[0])
            return 200, found[page * size : (page + 1) * size]
        if ident is None and method == "POST":
            problem = _model_problem(request.body, "Monitor")
            if problem:
                return 400, {"errors": [f"Invalid monitor: {problem}"]}
            return 200, self._store_monitor(request.body, None)
        if ident is None or not ident.isdigit() or int(ident) not in self.monitors:
            return 404, {"errors": ["Monitor not found"]}
        monitor_id = int(ident)
        if method == "GET":
            return 200, self.monitors[monitor_id]
        if method == "PUT":
            problem = _model_problem(request.body, "MonitorUpdateRequest")
            if problem:
                return 400, {"errors": [f"Invalid monitor: {problem}"]}
            return 200, self._store_monitor(request.body, self.monitors[monitor_id])
        if method == "DELETE":
            del self.monitors[monitor_id]
            return 200, {"deleted_monitor_id": monitor_id}
        return 405, {"errors": ["Method not allowed"]}

    def _now(self) -> str:
        return f"2026-01-01T00:00:{next(self._clock) % 60:02d}.000000+00:00"

    def _store_dashboard(
        self, body: dict[str, Any], previous: dict[str, Any] | None
    ) -> dict[str, Any]:
        dashboard_id = previous["id"] if previous else _dashboard_id(next(self._ids))
        now = self._now()
        stored = {
            **body,
            "id": dashboard_id,
            "author_handle": AUTHOR,
            "author_name": "Platform Team",
            "created_at": previous["created_at"] if previous else now,
            "modified_at": now,
            "url": f"/dashboard/{dashboard_id}/{_slug(str(body.get('title', '')))}",
            "is_read_only": body.get("is_read_only", False),
            "notify_list": body.get("notify_list"),
        }
        self._number_widgets(stored.get("widgets") or [])
        self.dashboards[dashboard_id] = stored
        return stored

    def _number_widgets(self, widgets: list[Any]) -> None:
        for widget in widgets:
            widget.setdefault("id", next(self._ids) * 1000003 % 9_000_000_000_000)
            self._number_widgets(widget.get("definition", {}).get("widgets") or [])

    def _store_monitor(
        self, body: dict[str, Any], previous: dict[str, Any] | None
    ) -> dict[str, Any]:
        base = previous or {}
        monitor_id = base.get("id") or 1_000_000 + next(self._ids)
        now = self._now()
        merged = {**base, **body}  # Datadog's PUT changes only the fields it is given
        merged["options"] = {
            **MONITOR_OPTION_DEFAULTS,
            **(body.get("options") or base.get("options") or {}),
        }
        stored = {
            **merged,
            "id": monitor_id,
            "tags": merged.get("tags") or [],
            "created": base.get("created", now),
            "modified": now,
            "creator": {"email": AUTHOR, "handle": AUTHOR, "name": "Platform Team"},
            "overall_state": base.get("overall_state", "No Data"),
            "multi": " by " in str(merged.get("query", "")),
            "org_id": 4242,
            "deleted": None,
            "priority": merged.get("priority"),
            "restricted_roles": merged.get("restricted_roles"),
        }
        self.monitors[monitor_id] = stored
        return stored


def _model_problem(body: Any, model: str) -> str | None:
    """Why Datadog would reject ``body``: it does not deserialize, or parts stay unparsed."""
    from datadog_api_client import ApiClient, Configuration
    from datadog_api_client.exceptions import OpenApiException
    from datadog_api_client.v1.model.dashboard import Dashboard
    from datadog_api_client.v1.model.monitor import Monitor
    from datadog_api_client.v1.model.monitor_update_request import MonitorUpdateRequest

    classes = {
        "Dashboard": Dashboard,
        "Monitor": Monitor,
        "MonitorUpdateRequest": MonitorUpdateRequest,
    }
    if not isinstance(body, dict):
        return "expected a JSON object"
    try:
        client = ApiClient(Configuration())  # type: ignore[no-untyped-call]
        parsed = client.deserialize(json.dumps(body), (classes[model],), True)
    except (OpenApiException, TypeError, ValueError, AttributeError) as exc:
        return str(exc).splitlines()[0]
    if getattr(parsed, "_unparsed", False):
        return f"the body does not fit {model} (unknown type, enum value or field)"
    return None


def _summary(dashboard: dict[str, Any]) -> dict[str, Any]:
    keys = ("id", "title", "description", "layout_type", "url", "author_handle", "created_at",
            "modified_at", "is_read_only")  # fmt: skip
    return {k: dashboard.get(k) for k in keys} | {"deleted_at": None}


def _dashboard_id(n: int) -> str:
    alphabet = "abcdefghijkmnpqrstuvwxyz23456789"
    digits = []
    n = (n * 2654435761 + 97) % (32**9)
    for _ in range(9):
        digits.append(alphabet[n % len(alphabet)])
        n //= len(alphabet)
    text = "".join(digits)
    return f"{text[0:3]}-{text[3:6]}-{text[6:9]}"


def _slug(title: str) -> str:
    return "-".join("".join(c if c.isalnum() else " " for c in title.lower()).split())


class _Handler(BaseHTTPRequestHandler):
    fake: FakeDatadog

    def _serve(self) -> None:
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except json.JSONDecodeError:
            body = raw.decode("utf-8", "replace")
        request = RecordedRequest(
            method=self.command,
            path=split.path,
            query=parse_qs(split.query),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        status, payload = self.fake.handle(request)
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output quiet


FakeDatadog.handler_class = _Handler
