"""The sidecar's exceptions.

Tau2ObserveError
 ├── UsageError           a command line or setting that cannot work (names the key and value)
 │    └── SettingsError
 ├── UpstreamError        the configured agent could not be reached or failed mid-exchange
 │    ├── UpstreamUnavailable   connect refused / DNS / reset before a response (HTTP 502)
 │    └── UpstreamTimeout       no response or no progress in time (HTTP 504)
 └── ClientStalled        the client accepted no bytes of its response in time

An upstream error has two texts: the detail (with the agent's address and the cause) for
spans and the log, and ``public``, which names only the route, for the client's error body.
"""

from __future__ import annotations


class Tau2ObserveError(Exception):
    """Base of everything tau2observe raises on purpose."""


class UsageError(Tau2ObserveError):
    """A command line or configuration that cannot work; the message names what and where."""


class SettingsError(UsageError):
    """A setting with a value we cannot use."""

    def __init__(self, key: str, value: object, problem: str) -> None:
        super().__init__(f"{key}={value!r}: {problem}")
        self.key = key
        self.value = value
        self.problem = problem


class UpstreamError(Tau2ObserveError):
    """The upstream agent failed; ``error_type`` is what spans and metrics record."""

    error_type = "upstream_error"
    http_status = 502

    def __init__(self, detail: str, public: str | None = None) -> None:
        super().__init__(detail)
        self.public = public or "the upstream agent failed"


class ClientStalled(Tau2ObserveError):
    """The client stopped reading its response for longer than the write timeout."""

    error_type = "client_write_timeout"


class UpstreamUnavailable(UpstreamError):
    error_type = "upstream_unavailable"
    http_status = 502


class UpstreamTimeout(UpstreamError):
    error_type = "upstream_timeout"
    http_status = 504
