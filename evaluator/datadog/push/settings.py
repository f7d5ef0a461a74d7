"""Where a metrics push goes and as whom: read once from the environment and the options.

``DD_API_KEY`` authenticates (the Metrics API needs no application key); ``DD_SITE``
(default ``datadoghq.com``) gives ``https://api.<site>``; ``DD_HOST`` overrides that base
URL, as the Terraform provider reads it (a proxy, a test server). ``env`` comes from
``--env``, then ``DD_ENV``; ``service`` from ``--service``, then ``OTEL_SERVICE_NAME`` (or
``service.name`` in ``OTEL_RESOURCE_ATTRIBUTES``), then the evaluator's own name, so the
tags match what the OTLP path's resource gives. The key never appears in ``repr``, logs or
messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from evaluator.datadog.site import DD_API_KEY, DEFAULT_SITE, DatadogSite
from proxy import semconv
from proxy.errors import SettingsError

DD_ENV = "DD_ENV"

EVALUATOR_SERVICE = semconv.EVALUATOR_SERVICE  # the evaluator's default OTel service.name


@dataclass(frozen=True)
class PushSettings:
    api_key: str | None = field(repr=False)  # None only for a dry run
    site: str = DEFAULT_SITE
    host: str | None = None
    env: str | None = None
    service: str = EVALUATOR_SERVICE

    @property
    def base_url(self) -> str:
        return DatadogSite(self.site, self.host).base_url

    def extra_tags(self) -> tuple[tuple[str, str], ...]:
        """The unified service tags every pushed series carries."""
        tags = [("service", self.service)]
        if self.env:
            tags.append(("env", self.env))
        return tuple(sorted(tags))

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str],
        *,
        require_key: bool = True,
        env_name: str | None = None,
        service: str | None = None,
    ) -> PushSettings:
        from proxy.telemetry import TelemetrySettings

        api_key = env.get(DD_API_KEY, "").strip() or None
        if api_key is None and require_key:
            raise SettingsError(
                DD_API_KEY,
                "",
                "not set; the Metrics API needs a Datadog API key (Organization Settings > "
                "API Keys). Use --dry-run to see what would be sent without one",
            )
        destination = DatadogSite.from_env(env)
        site, host = destination.site, destination.host
        chosen_env = (env_name if env_name is not None else env.get(DD_ENV, "")).strip() or None
        if service is not None and not service.strip():
            raise SettingsError("--service", service, "must not be empty")
        chosen_service = (service or "").strip() or TelemetrySettings.from_env(
            EVALUATOR_SERVICE, environ=env
        ).service_name
        return cls(api_key=api_key, site=site, host=host, env=chosen_env, service=chosen_service)
