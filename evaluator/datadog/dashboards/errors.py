"""What ``tau2observe dashboards`` raises on purpose.

Tau2ObserveError
 ├── UsageError                 (proxy.errors) bad command line or setting
 │    └── SettingsError         a DD_* / TAU2OBSERVE_* variable we cannot use
 └── DashboardsError
      ├── DefinitionError       definitions that fail validation (every problem listed)
      ├── OwnershipError        the lock file or a marker points at something not ours
      └── DatadogApiError       Datadog refused or failed a call (status, what, why)
"""

from __future__ import annotations

from collections.abc import Sequence

from proxy.errors import Tau2ObserveError


class DashboardsError(Tau2ObserveError):
    """Base of the dashboards-as-code errors."""


class DefinitionError(DashboardsError):
    """One or more definitions are invalid; ``problems`` names file and JSON path."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        listed = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{len(self.problems)} problem(s) in the definitions:\n{listed}")


class OwnershipError(DashboardsError):
    """Applying would touch a dashboard or monitor that tau2observe does not manage."""


class DatadogApiError(DashboardsError):
    """A Datadog API call failed; the message says which call, the status and what to do."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status
