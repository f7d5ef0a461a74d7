"""Which Datadog API a command talks to: ``DD_SITE`` and ``DD_HOST``, read one way everywhere.

``DD_SITE`` (default ``datadoghq.com``) gives ``https://api.<site>``; ``DD_HOST`` overrides
that base URL, as the Terraform provider reads it (a proxy, a test server).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from proxy.errors import SettingsError

DD_API_KEY = "DD_API_KEY"
DD_SITE = "DD_SITE"
DD_HOST = "DD_HOST"
DEFAULT_SITE = "datadoghq.com"
_SITE = re.compile(r"^[a-z0-9]+([.-][a-z0-9]+)*\.[a-z]{2,}$")


@dataclass(frozen=True)
class DatadogSite:
    site: str = DEFAULT_SITE
    host: str | None = None

    @property
    def base_url(self) -> str:
        return self.host if self.host else f"https://api.{self.site}"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> DatadogSite:
        site = env.get(DD_SITE, "").strip() or DEFAULT_SITE
        if not _SITE.match(site):
            raise SettingsError(DD_SITE, site, "expected a Datadog site such as datadoghq.eu")
        host = env.get(DD_HOST, "").strip() or None
        if host is not None:
            parts = urlsplit(host)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise SettingsError(
                    DD_HOST, host, "expected a base URL such as https://api.datadoghq.com"
                )
            host = host.rstrip("/")
        return cls(site=site, host=host)
