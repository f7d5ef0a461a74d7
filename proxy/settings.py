"""The sidecar's settings: typed, frozen, validated where they are made.

An explicit argument beats the environment, which beats the default. Every error names
the setting and the value at fault.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from proxy.errors import SettingsError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")


@dataclass(frozen=True)
class Route:
    """One upstream agent, served under ``prefix`` ("/" or "/name")."""

    name: str
    prefix: str
    upstream: str

    def __post_init__(self) -> None:
        check_upstream_url(self.upstream, key="upstream")
        if not self.prefix.startswith("/") or (self.prefix != "/" and self.prefix.endswith("/")):
            raise SettingsError(
                "prefix", self.prefix, 'must be "/" or "/name" without a trailing slash'
            )
        if not _NAME.match(self.name):
            raise SettingsError("name", self.name, "use letters, digits, '_', '.', '-' (max 63)")

    @property
    def upstream_base(self) -> str:
        return self.upstream.rstrip("/")

    @classmethod
    def parse(cls, spec: str, default_name: str | None = None) -> Route:
        """``URL`` (served at /) or ``NAME=URL`` / ``/NAME=URL`` (served at /NAME)."""
        head, sep, tail = spec.partition("=")
        if sep and "://" not in head:
            name = head.strip().strip("/")
            if not name or "/" in name:
                raise SettingsError(
                    "--upstream", spec, "the route before '=' must be one path segment"
                )
            return cls(name=name, prefix="/" + name, upstream=tail.strip())
        url = spec.strip()
        check_upstream_url(url, key="--upstream")
        return cls(name=default_name or _default_name(url), prefix="/", upstream=url)


def check_upstream_url(url: str, *, key: str) -> None:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError as exc:
        raise SettingsError(key, url, f"not a URL ({exc})") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingsError(key, url, "must be an http:// or https:// URL with a host")
    if parts.query or parts.fragment:
        raise SettingsError(key, url, "must not carry a query or fragment")
    if parts.username or parts.password:
        raise SettingsError(key, "<redacted>", "must not carry credentials; clients send their own")


def _default_name(url: str) -> str:
    parts = urlsplit(url)
    host = (parts.hostname or "agent").replace(":", "_")
    return f"{host}-{parts.port}" if parts.port else host


@dataclass(frozen=True)
class ProxySettings:
    listen_host: str = "127.0.0.1"
    listen_port: int = 0  # 0: pick a free port (tests, in-process use)
    routes: tuple[Route, ...] = ()
    # Public base URL written into rewritten cards; None: from the request (Host, X-Forwarded-*).
    public_url: str | None = None
    # Also point card URLs that name neither the upstream nor the sidecar at the sidecar.
    rewrite_all_card_urls: bool = False
    connect_timeout_s: float = 10.0
    # Longest silence tolerated from the upstream (SSE pings come every 15 s).
    read_timeout_s: float = 600.0
    # Idle upstream connections are closed sooner than servers close theirs (gunicorn 2 s,
    # uvicorn and Node 5 s): reusing one the server is closing fails the request.
    upstream_keepalive_s: float = 1.5
    # Bodies up to this size are read whole (one write upstream); larger ones are streamed.
    inline_body_bytes: int = 1024 * 1024
    # Largest body copy kept for parsing; beyond it the exchange is forwarded but not read.
    # Parsing runs on the event loop (about 10 ms per MiB), so this also bounds the stall
    # one body can cause every other request, and the copy each connection holds.
    parse_max_bytes: int = 1024 * 1024
    access_log: bool = False  # one INFO line per exchange (no credentials, query redacted)
    capture_content: bool = False
    content_max_chars: int = 4096
    # Words that make a query parameter or a field secret, beyond proxy.redact.SECRET_WORDS.
    redact_names: tuple[str, ...] = ()
    # A client has this long to send a request's headers: from the connection's opening,
    # or from the first byte of a later request on a kept-alive connection.
    client_header_timeout_s: float = 60.0
    # A kept-alive connection with no request in flight is closed after this long.
    client_idle_timeout_s: float = 75.0
    # A client that accepts no bytes of its response for this long is disconnected.
    client_write_timeout_s: float = 60.0
    # Concurrent client connections; None: half the file-descriptor limit (each client
    # connection may need one upstream), so the cap is hit before the descriptors run out.
    max_connections: int | None = None
    stream_events_head: int = 64
    stream_events_tail: int = 64
    conversation_idle_s: float = 300.0
    max_conversations: int = 10_000
    # Bind with SO_REUSEPORT, so that several worker processes share one port (--workers).
    reuse_port: bool = False
    # Finished exchanges waiting to be recorded (after their requests); full: dropped, counted.
    record_queue_max: int = 4096
    # On stop (SIGTERM), requests in flight get this long to finish, then are cut. An
    # in-process sidecar uses a short one: its stop is what ends an interrupted run's turns.
    shutdown_grace_s: float = 30.0
    # Distinct tool names kept as a metric tag; later ones are tagged _OTHER (the agent
    # chooses them, and each would be a new series). Spans keep every name.
    max_tool_name_tags: int = 256

    def __post_init__(self) -> None:
        if not self.routes:
            raise SettingsError("--upstream", None, "at least one upstream agent is required")
        prefixes = [r.prefix for r in self.routes]
        if len(set(prefixes)) != len(prefixes):
            raise SettingsError("--upstream", prefixes, "two upstreams share a prefix")
        names = [r.name for r in self.routes]
        if len(set(names)) != len(names):
            raise SettingsError("--upstream", names, "two upstreams share a name")
        if not 0 <= self.listen_port <= 65535:
            raise SettingsError("--listen", self.listen_port, "port must be 0..65535")
        for key in (
            "connect_timeout_s",
            "read_timeout_s",
            "upstream_keepalive_s",
            "conversation_idle_s",
            "client_header_timeout_s",
            "client_idle_timeout_s",
            "client_write_timeout_s",
        ):
            if getattr(self, key) <= 0:
                raise SettingsError(key, getattr(self, key), "must be positive")
        for key in (
            "inline_body_bytes",
            "parse_max_bytes",
            "content_max_chars",
            "max_conversations",
            "record_queue_max",
            "max_tool_name_tags",
        ):
            if getattr(self, key) < 1:
                raise SettingsError(key, getattr(self, key), "must be at least 1")
        if self.shutdown_grace_s < 0:
            raise SettingsError("--shutdown-grace", self.shutdown_grace_s, "must be 0 or more")
        if self.max_connections is not None and self.max_connections < 1:
            raise SettingsError("--max-connections", self.max_connections, "must be at least 1")
        for name in self.redact_names:
            if not name.strip():
                raise SettingsError("--redact-name", name, "must not be empty")
        if self.public_url is not None:
            check_upstream_url(self.public_url, key="--public-url")

    @property
    def connection_cap(self) -> int:
        """``max_connections``, or half the soft file-descriptor limit less a reserve."""
        if self.max_connections is not None:
            return self.max_connections
        return default_connection_cap()

    def route_for(self, path: str) -> tuple[Route, str] | None:
        """The route serving ``path`` and the path relative to it (longest prefix wins)."""
        best: tuple[Route, str] | None = None
        for route in self.routes:
            if route.prefix == "/":
                candidate = (route, path)
            elif path == route.prefix or path.startswith(route.prefix + "/"):
                candidate = (route, path[len(route.prefix) :])
            else:
                continue
            if best is None or len(route.prefix) > len(best[0].prefix):
                best = candidate
        return best


def open_file_limit() -> int | None:
    """The soft limit on open file descriptors, or None when there is none to read."""
    try:
        import resource

        soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (ImportError, OSError, ValueError):
        return None
    return None if soft == resource.RLIM_INFINITY or soft <= 0 else int(soft)


def default_connection_cap() -> int:
    limit = open_file_limit()
    if limit is None:
        return 10_000
    return max(16, (limit - 64) // 2)


def parse_listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise SettingsError("--listen", value, "expected HOST:PORT, e.g. 127.0.0.1:9100")
    host = host.strip("[]") or "127.0.0.1"
    number = int(port)
    if not 0 <= number <= 65535:
        raise SettingsError("--listen", value, "port must be 0..65535")
    return host, number
