"""Where and as whom ``tau2observe dashboards`` talks to Datadog: read once from the environment.

``DD_API_KEY`` and ``DD_APP_KEY`` authenticate; ``DD_SITE`` (default ``datadoghq.com``)
gives ``https://api.<site>``; ``DD_HOST`` overrides that base URL (a proxy, a test server).
``TAU2OBSERVE_CASE_PROJECT`` is the Case Management project handle that monitor messages
notify (``@case-<handle>``). Keys never appear in ``repr``, logs or messages.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from evaluator.datadog.site import DD_API_KEY, DEFAULT_SITE, DatadogSite
from proxy.errors import SettingsError

DD_APP_KEY = "DD_APP_KEY"
CASE_PROJECT = "TAU2OBSERVE_CASE_PROJECT"

_CASE_HANDLE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


@dataclass(frozen=True)
class DatadogSettings:
    api_key: str = field(repr=False)
    app_key: str = field(repr=False)
    site: str = DEFAULT_SITE
    host: str | None = None

    @property
    def base_url(self) -> str:
        return DatadogSite(self.site, self.host).base_url

    @property
    def scope(self) -> str:
        """The lock file's key for this destination: the site, or the overriding host."""
        return self.host if self.host else self.site

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> DatadogSettings:
        missing = [name for name in (DD_API_KEY, DD_APP_KEY) if not env.get(name, "").strip()]
        if missing:
            raise SettingsError(
                " and ".join(missing),
                "",
                "not set; Datadog's dashboards and monitors API needs both an API key "
                "and an application key (Organization Settings > API Keys / Application Keys)",
            )
        destination = DatadogSite.from_env(env)
        site, host = destination.site, destination.host
        return cls(
            api_key=env[DD_API_KEY].strip(), app_key=env[DD_APP_KEY].strip(), site=site, host=host
        )


def case_project_from_env(env: Mapping[str, str]) -> str | None:
    """The Case Management project handle, checked; None when the variable is unset."""
    handle = env.get(CASE_PROJECT, "").strip()
    if not handle:
        return None
    handle = handle.removeprefix("@case-")
    if not _CASE_HANDLE.match(handle):
        raise SettingsError(
            CASE_PROJECT, handle, "expected a project handle: letters, digits, '-' and '_'"
        )
    return handle
