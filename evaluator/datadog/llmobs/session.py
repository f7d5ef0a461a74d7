"""Turning ddtrace's LLM Observability on, the one way that leaves our tracing alone.

ddtrace 4.16's defaults break an OTel-traced process in quiet ways, so
:func:`start` sets, before ddtrace is imported:

- ``DD_APM_TRACING_ENABLED=false``: LLM Observability only; this also selects the
  agentless ``/api/v2/llmobs`` intake (otherwise its data rides APM traces);
- ``DD_LLMOBS_AGENTLESS_ENABLED=true``: no Datadog Agent is needed;
- ``DD_TRACE_OTEL_ENABLED=false``: ddtrace must not take over the OTel API;
- ``DD_INSTRUMENTATION_TELEMETRY_ENABLED=false`` and
  ``DD_REMOTE_CONFIGURATION_ENABLED=false``: nothing but our data leaves the machine;

then enables LLM Observability with ``integrations_enabled=False`` (the default also
patches httpx, aiohttp, requests, ... and replaces the W3C ``traceparent`` our
evaluator sends with ddtrace's own) and patches litellm alone. Entry points call it
before tau2 is imported: tau2 binds ``litellm.completion`` at import (the evaluator also
routes that name through :func:`evaluator.genai.instrument.traced_completion`, which
looks litellm up at call time). ddtrace-run, ``ddtrace.auto`` and
``DD_TRACE_OTEL_ENABLED`` are never used.

This module and :mod:`evaluator.datadog.llmobs.run` are the only ones that import ddtrace.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from evaluator.datadog.llmobs.settings import LLMObsSettings

log = logging.getLogger(__name__)

# Forced, whatever the environment says: each one keeps our traces intact or the run offline.
FORCED_ENVIRONMENT = {
    "DD_APM_TRACING_ENABLED": "false",
    "DD_LLMOBS_AGENTLESS_ENABLED": "true",
    "DD_TRACE_OTEL_ENABLED": "false",
    "DD_INSTRUMENTATION_TELEMETRY_ENABLED": "false",
    "DD_REMOTE_CONFIGURATION_ENABLED": "false",
}
REDACTED = "[content not captured]"


class LLMObsSession:
    """LLM Observability, enabled for this process; ``shutdown`` flushes, twice is fine."""

    def __init__(self, settings: LLMObsSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._closed = False

    def flush(self) -> None:
        from ddtrace.llmobs import LLMObs

        LLMObs.flush()

    def shutdown(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        from ddtrace.llmobs import LLMObs

        LLMObs.flush()
        LLMObs.disable()
        global _current
        _current = None


_current: LLMObsSession | None = None


def current() -> LLMObsSession | None:
    """The session this process started, if any (LLM Observability is process-wide)."""
    return _current


def start(settings: LLMObsSettings) -> LLMObsSession:
    """Enable LLM Observability for this process (agentless, litellm only)."""
    global _current
    if _current is not None:
        return _current
    os.environ.update(FORCED_ENVIRONMENT)
    os.environ["DD_SITE"] = settings.site
    if settings.override_origin is not None:
        os.environ["DD_LLMOBS_OVERRIDE_ORIGIN"] = settings.override_origin
    import ddtrace
    from ddtrace.llmobs import LLMObs

    LLMObs.enable(
        agent_service=settings.ml_app,
        integrations_enabled=False,
        agentless_enabled=True,
        site=settings.site,
        api_key=settings.api_key,
        span_processor=None if settings.capture_content else _without_content,
    )
    ddtrace.patch(litellm=True)
    _current = LLMObsSession(settings)
    log.info(
        "LLM Observability on: ml_app %s, site %s%s",
        settings.ml_app,
        settings.site,
        f", sent to {settings.override_origin}" if settings.override_origin else "",
    )
    return _current


# Spans whose input and output are the product's own records (the run, the trial and its
# summary), never message text; an agent turn's text is only annotated under capture.
_STRUCTURED_KINDS = frozenset({"workflow", "task"})


def _without_content(span: Any) -> Any:
    """The span with message text replaced (content capture is off)."""
    if span.get_tag("span.kind") in _STRUCTURED_KINDS:
        return span
    for messages in (span.input, span.output):
        for message in messages:
            if isinstance(message, dict) and message.get("content"):
                message["content"] = REDACTED
    return span
