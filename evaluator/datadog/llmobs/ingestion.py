"""Whether Datadog turns our OTel GenAI spans into LLM Observability spans.

Datadog converts OTel spans that follow the GenAI conventions (``gen_ai.operation.name``
and friends) into LLM Observability spans, through the collector's datadog exporter or
its OTLP intake; the resource (or span) attribute ``dd_llmobs_enabled`` switches that
conversion on or off (Datadog's documentation has said both "on unless false" and "off
unless true"; setting it explicitly is right under either reading).

The evaluator sets it to ``true``, except when ddtrace's LLM Observability is on
(``--llmobs``): then ``false``, so that no LLM call appears twice in Datadog; the spans
still reach APM and any OTLP backend. A value already in ``OTEL_RESOURCE_ATTRIBUTES``
is the user's choice and wins.
"""

from __future__ import annotations

from collections.abc import Mapping

ATTR_DD_LLMOBS_ENABLED = "dd_llmobs_enabled"
ENV_RESOURCE_ATTRIBUTES = "OTEL_RESOURCE_ATTRIBUTES"


def resource_attributes(ddtrace_on: bool, environ: Mapping[str, str]) -> dict[str, str]:
    """The resource attribute to add to the evaluator's telemetry (none if the user set it)."""
    for item in environ.get(ENV_RESOURCE_ATTRIBUTES, "").split(","):
        if item.partition("=")[0].strip() == ATTR_DD_LLMOBS_ENABLED:
            return {}
    return {ATTR_DD_LLMOBS_ENABLED: "false" if ddtrace_on else "true"}
