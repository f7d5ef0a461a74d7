"""session: LLM Observability turned on the one way that leaves our tracing alone.

Starting it rewrites the process environment and patches litellm for good, so that part
runs in a child process (traced_run.py); the content redaction is pure and runs here.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from evaluator.datadog.llmobs.session import FORCED_ENVIRONMENT, REDACTED, _without_content, current
from tests.evaluator.datadog.llmobs.conftest import TracedRun


def span_of(kind: str, **io: Any) -> SimpleNamespace:
    return SimpleNamespace(get_tag={"span.kind": kind}.get, **io)


def test_without_content_replaces_every_message_text() -> None:
    span = span_of(
        "llm",
        input=[{"role": "user", "content": "my card number"}, {"role": "system", "content": ""}],
        output=[{"role": "assistant", "content": "the answer"}, "not a message"],
    )
    assert _without_content(span) is span
    assert span.input == [
        {"role": "user", "content": REDACTED},
        {"role": "system", "content": ""},  # nothing to hide
    ]
    assert span.output == [{"role": "assistant", "content": REDACTED}, "not a message"]


def test_without_content_keeps_the_runs_own_records() -> None:
    """Workflow and task spans carry the run and trial records, never message text."""
    summary = [{"role": "", "content": '{"average_reward": 0.5}'}]
    for kind in ("workflow", "task"):
        span = span_of(kind, input=[], output=list(summary))
        assert _without_content(span).output == summary
    agent = span_of("agent", input=[], output=[{"role": "", "content": "a reply"}])
    assert _without_content(agent).output == [{"role": "", "content": REDACTED}]


def test_no_session_in_a_process_that_did_not_start_one() -> None:
    assert current() is None


def test_start_forces_the_environment_that_keeps_our_tracing_intact(traced: TracedRun) -> None:
    assert traced.report["started"]
    assert traced.report["forced"] == FORCED_ENVIRONMENT
    assert traced.report["forced"]["DD_TRACE_OTEL_ENABLED"] == "false"


def test_start_is_once_per_process_and_shutdown_twice_is_fine(traced: TracedRun) -> None:
    assert traced.report["same_session"]  # a second start returns the running session
    assert traced.report["current_before"]
    assert traced.report["current_after"]  # shutdown forgets it
    assert "Traceback" not in traced.stderr


def test_the_key_goes_as_the_header_and_nowhere_else(traced: TracedRun) -> None:
    from tests.fakes.llmobs_intake import API_KEY

    # the intake refuses (403) any request without the key in DD-API-KEY
    assert traced.record.headers
    assert traced.record.refused == []
    assert API_KEY not in traced.stderr
    assert API_KEY not in str(traced.record.spans) + str(traced.record.evaluations)
