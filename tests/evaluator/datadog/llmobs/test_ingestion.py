"""The resource attribute that keeps an LLM call from appearing twice in Datadog."""

from __future__ import annotations

from evaluator.datadog.llmobs.ingestion import resource_attributes


def test_otel_genai_spans_are_marked_for_llm_observability_by_default() -> None:
    assert resource_attributes(False, {}) == {"dd_llmobs_enabled": "true"}


def test_with_ddtrace_on_they_are_not() -> None:
    assert resource_attributes(True, {}) == {"dd_llmobs_enabled": "false"}


def test_the_users_own_setting_wins() -> None:
    environ = {"OTEL_RESOURCE_ATTRIBUTES": "team=evals, dd_llmobs_enabled=false"}
    assert resource_attributes(False, environ) == {}
