"""When and how ddtrace's LLM Observability runs: typed, frozen, read from the environment
in one place (:meth:`LLMObsSettings.from_env`).

It is on with ``--llmobs`` or ``DD_LLMOBS_ENABLED=1`` (``true``), and then needs
``DD_API_KEY``; ``DD_SITE`` defaults to ``datadoghq.com`` and ``DD_LLMOBS_ML_APP`` to the
command's own name. ``DD_LLMOBS_OVERRIDE_ORIGIN`` sends everything to another origin (a
local stand-in in tests). Message content goes on LLM Observability spans only with
``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true``, as on the OTel spans.
The key is kept out of ``repr`` and of every error message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from evaluator.datadog.site import DD_API_KEY, DD_SITE, DEFAULT_SITE
from evaluator.genai.instrument import DEFAULT_CONTENT_MAX_CHARS, ContentCapture
from proxy.errors import SettingsError

DD_LLMOBS_ENABLED = "DD_LLMOBS_ENABLED"
DD_LLMOBS_ML_APP = "DD_LLMOBS_ML_APP"
DD_LLMOBS_OVERRIDE_ORIGIN = "DD_LLMOBS_OVERRIDE_ORIGIN"
_TRUE = ("1", "true", "yes", "on")
_API_KEY = re.compile(r"^[0-9a-f]{32}$")
_SITE = re.compile(r"^[a-z0-9]+([.-][a-z0-9]+)*\.[a-z]{2,}$")
# Datadog's rules for ml_app: lowercase, these characters, at most 193, no "__", no "_" last.
_ML_APP = re.compile(r"^[a-z0-9_\-:./]{1,193}$")
HIDDEN = "***"


@dataclass(frozen=True)
class LLMObsSettings:
    api_key: str = field(repr=False)
    ml_app: str
    site: str = DEFAULT_SITE
    override_origin: str | None = None
    capture_content: bool = False
    content_max_chars: int = DEFAULT_CONTENT_MAX_CHARS

    def __post_init__(self) -> None:
        if not self.api_key:
            raise SettingsError(DD_API_KEY, "", "LLM Observability (--llmobs) needs an API key")
        if not _API_KEY.match(self.api_key):
            raise SettingsError(DD_API_KEY, HIDDEN, "a Datadog API key is 32 hex characters")
        if not _SITE.match(self.site):
            raise SettingsError(DD_SITE, self.site, "expected a Datadog site such as datadoghq.eu")
        if not _ML_APP.match(self.ml_app) or "__" in self.ml_app or self.ml_app.endswith("_"):
            raise SettingsError(
                DD_LLMOBS_ML_APP,
                self.ml_app,
                "use at most 193 lowercase letters, digits and _ - : . /, "
                "without '__' or a trailing '_'",
            )
        if self.override_origin is not None:
            parts = urlsplit(self.override_origin)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise SettingsError(
                    DD_LLMOBS_OVERRIDE_ORIGIN,
                    self.override_origin,
                    "expected an origin such as http://127.0.0.1:8080",
                )

    @property
    def content(self) -> ContentCapture:
        return ContentCapture(self.capture_content, self.content_max_chars)

    @classmethod
    def from_env(
        cls, flag: bool, default_ml_app: str, environ: Mapping[str, str]
    ) -> LLMObsSettings | None:
        """The settings when LLM Observability is asked for (flag or variable), else None."""
        asked = environ.get(DD_LLMOBS_ENABLED, "").strip().lower() in _TRUE
        if not (flag or asked):
            return None
        return cls(
            api_key=environ.get(DD_API_KEY, "").strip(),
            ml_app=environ.get(DD_LLMOBS_ML_APP, "").strip() or default_ml_app,
            site=environ.get(DD_SITE, "").strip() or DEFAULT_SITE,
            override_origin=environ.get(DD_LLMOBS_OVERRIDE_ORIGIN, "").strip() or None,
            capture_content=ContentCapture.from_env(environ).enabled,
        )
