"""A plain HTTP forwarder that records the trace headers each request arrives with.

Put between the sidecar and an agent, it shows the W3C ``traceparent`` the agent would
see, so a test can check that nothing in the process (ddtrace's integrations, say)
replaced the one our OTel spans injected. Requests and answers pass through unchanged.
"""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler
from typing import Any, ClassVar

from tests.fakes.loopback import LoopbackServer

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "host", "content-length"}


class _Handler(BaseHTTPRequestHandler):
    fake: ClassVar[Forwarder]
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_GET(self) -> None:
        self._forward(None)

    def do_POST(self) -> None:
        self._forward(self.rfile.read(int(self.headers.get("Content-Length", "0"))))

    def _forward(self, body: bytes | None) -> None:
        self.fake.seen(self.headers.get("traceparent"))
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        request = urllib.request.Request(
            self.fake.upstream.rstrip("/") + self.path,
            data=body,
            headers=headers,
            method=self.command,
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                status, payload, answer_headers = answer.status, answer.read(), answer.headers
        except urllib.error.HTTPError as error:
            status, payload, answer_headers = error.code, error.read(), error.headers
        self.send_response(status)
        for key, value in answer_headers.items():
            if key.lower() not in _HOP_BY_HOP:
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class Forwarder(LoopbackServer):
    handler_class = _Handler

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.traceparents: list[str | None] = []
        self._lock = threading.Lock()

    def seen(self, traceparent: str | None) -> None:
        with self._lock:
            self.traceparents.append(traceparent)
