"""The listener's limits: how many client connections, and how long a request head may take.

aiohttp serves each connection with its own protocol object; :class:`ConnectionGuard`
wraps that object and adds what aiohttp does not bound:

- a **cap on concurrent connections**: one over the cap is answered ``503`` with
  ``Connection: close`` and closed at once, and the first refusal of an episode is logged;
- a warning, once per episode, when open connections come near the **file-descriptor
  limit** (possible only with a ``--max-connections`` above the default): past it the
  kernel queues new connections unanswered and nothing else would say so;
- a **header deadline**: a client has ``header_timeout`` seconds to send a request head,
  counted from the connection's opening or, on a kept-alive connection, from the first
  byte of its next request. A late client gets ``408`` and the connection is closed.

aiohttp's own keep-alive timer closes connections that stay idle between requests.
Only the request handler knows when a head was complete; it reports each request's
start and end here (:meth:`ConnectionGuard.request_started`, ``request_finished``).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

log = logging.getLogger("tau2observe.proxy")


def _canned(status: str, message: str) -> bytes:
    body = json.dumps(
        {"error": {"code": int(status[:3]), "message": message, "data": {"proxy": "tau2observe"}}}
    ).encode()
    head = (
        f"HTTP/1.1 {status}\r\nConnection: close\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
    )
    if status.startswith("503"):
        head += "Retry-After: 1\r\n"
    return head.encode() + b"\r\n" + body


OVER_CAPACITY = _canned("503 Service Unavailable", "the sidecar is at its connection limit")
HEADER_TIMEOUT = _canned("408 Request Timeout", "request headers did not arrive in time")


@dataclass(slots=True)
class _Connection:
    awaiting_head: bool = True
    in_flight: int = 0
    deadline: asyncio.TimerHandle | None = None


class ConnectionGuard:
    def __init__(self, cap: int, header_timeout_s: float, fd_limit: int | None = None) -> None:
        self.cap = cap
        self.header_timeout_s = header_timeout_s
        # Each client connection may hold an upstream one too; keep a reserve for files.
        self.fd_room = max(8, (fd_limit - 64) // 2) if fd_limit is not None else None
        self._near_fd_limit = False
        self.refused = 0
        self.timed_out = 0
        self._open: dict[asyncio.BaseTransport, _Connection] = {}
        self._at_cap = False

    def __len__(self) -> int:
        return len(self._open)

    def protocol_factory(
        self, inner: Callable[[], asyncio.BaseProtocol]
    ) -> Callable[[], asyncio.Protocol]:
        return lambda: _GuardedProtocol(self, inner)

    # --- reported by the request handler -------------------------------------------------
    def request_started(self, transport: asyncio.BaseTransport | None) -> None:
        connection = self._open.get(transport) if transport is not None else None
        if connection is None:
            return
        connection.awaiting_head = False
        connection.in_flight += 1
        _cancel(connection)

    def request_finished(self, transport: asyncio.BaseTransport | None) -> None:
        connection = self._open.get(transport) if transport is not None else None
        if connection is None:
            return
        connection.in_flight -= 1
        if connection.in_flight <= 0:
            connection.in_flight = 0
            connection.awaiting_head = True  # the deadline starts at the next byte

    # --- called by the protocol wrapper ------------------------------------------------
    def _admit(self, transport: asyncio.Transport) -> bool:
        if len(self._open) >= self.cap:
            self.refused += 1
            if not self._at_cap:
                self._at_cap = True
                log.warning(
                    "connection limit reached: %d client connections open "
                    "(--max-connections %d); refusing new ones with 503 until some close",
                    len(self._open),
                    self.cap,
                )
            transport.write(OVER_CAPACITY)
            transport.close()
            return False
        near = self.fd_room is not None and len(self._open) + 1 >= self.fd_room
        if near and not self._near_fd_limit:
            self._near_fd_limit = True
            log.warning(
                "%d client connections open, near the open-file limit: beyond it new "
                "connections wait unanswered; raise the limit (ulimit -n) or lower "
                "--max-connections",
                len(self._open) + 1,
            )
        connection = _Connection()
        self._open[transport] = connection
        self._arm(transport, connection)
        return True

    def _data(self, transport: asyncio.BaseTransport) -> None:
        connection = self._open.get(transport)
        if connection is not None and connection.awaiting_head and connection.deadline is None:
            self._arm(transport, connection)

    def _closed(self, transport: asyncio.BaseTransport) -> None:
        connection = self._open.pop(transport, None)
        if connection is not None:
            _cancel(connection)
        if self.fd_room is not None and len(self._open) < self.fd_room * 0.9:
            self._near_fd_limit = False
        if self._at_cap and len(self._open) < self.cap * 0.9:
            self._at_cap = False
            log.warning(
                "connection count back under the limit (%d open); %d connections were refused",
                len(self._open),
                self.refused,
            )

    def _arm(self, transport: asyncio.BaseTransport, connection: _Connection) -> None:
        loop = asyncio.get_running_loop()
        connection.deadline = loop.call_later(self.header_timeout_s, self._expire, transport)

    def _expire(self, transport: asyncio.BaseTransport) -> None:
        connection = self._open.get(transport)
        if connection is None:
            return
        connection.deadline = None
        if not connection.awaiting_head or transport.is_closing():
            return
        self.timed_out += 1
        cast(asyncio.Transport, transport).write(HEADER_TIMEOUT)
        transport.close()


def _cancel(connection: _Connection) -> None:
    if connection.deadline is not None:
        connection.deadline.cancel()
        connection.deadline = None


class _GuardedProtocol(asyncio.Protocol):
    """aiohttp's per-connection protocol, seen through the guard."""

    def __init__(self, guard: ConnectionGuard, inner: Callable[[], asyncio.BaseProtocol]) -> None:
        self._guard = guard
        self._make_inner = inner
        self._inner: asyncio.Protocol | None = None
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport = cast(asyncio.Transport, transport)  # uvloop's does not subclass it
        if not self._guard._admit(transport):
            return
        self._transport = transport
        inner = cast(asyncio.Protocol, self._make_inner())
        self._inner = inner
        inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self._inner is None or self._transport is None:
            return
        self._guard._data(self._transport)
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received() if self._inner is not None else None

    def pause_writing(self) -> None:
        if self._inner is not None:
            self._inner.pause_writing()

    def resume_writing(self) -> None:
        if self._inner is not None:
            self._inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._transport is not None:
            self._guard._closed(self._transport)
        if self._inner is not None:
            self._inner.connection_lost(exc)
