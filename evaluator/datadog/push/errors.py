"""What ``tau2observe metrics push`` raises on purpose.

Tau2ObserveError
 ├── UsageError                  (proxy.errors) bad command line or setting
 │    └── SettingsError          a DD_* variable we cannot use (never shows a key's value)
 └── PushError
      ├── OutsideTimeWindowError a results file whose times Datadog would drop (names the
      │                          file, suggests --at-now)
      └── MetricsApiError        Datadog refused or failed a request (status, what to do)
"""

from __future__ import annotations

from proxy.errors import Tau2ObserveError


class PushError(Tau2ObserveError):
    """Base of the metrics push errors."""


class OutsideTimeWindowError(PushError):
    """Points would fall outside the window Datadog's Metrics API accepts."""


class MetricsApiError(PushError):
    """A Metrics API request failed; the message says which, the status and what to do."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status
