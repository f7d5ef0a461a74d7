"""The sidecar's exceptions.

Tau2ObserveError
 ├── UsageError           a command line or setting that cannot work (names the key and value)
 │    └── SettingsError
 └── UpstreamError        the configured agent could not be reached or failed mid-exchange
      ├── UpstreamUnavailable   connect refused / DNS / reset before a response (HTTP 502)
      └── UpstreamTimeout       no response or no progress in time (HTTP 504)
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


class UpstreamUnavailable(UpstreamError):
    error_type = "upstream_unavailable"
    http_status = 502


class UpstreamTimeout(UpstreamError):
    error_type = "upstream_timeout"
    http_status = 504
