"""Each evaluator's convention end to end: sample agents, the sidecar, tau2's own scoring.

For every ``--message-format``: the oracle scores full marks on mock (plain sends) and on
an airline sample (streamed), the negative control scores what tau2 gives natively, the
flawed agent's malformed calls are counted the same by the evaluator and the sidecar, and
the sidecar's spans name the tools, their validity and the convention.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind

from evaluator.agents import AgentSettings, RunningAgent, serve_in_thread
from evaluator.cli import main
from evaluator.results import RunResult, TrialResult, load_results
from tests.evaluator.test_evaluation_e2e import evaluate, native_noop_rewards, tau2_tasks

pytestmark = pytest.mark.slow

CONVENTIONS = ("tau2", "agentbeats-tutorial", "agentify")
AIRLINE_SAMPLE = 3


@pytest.fixture(scope="module")
def agents() -> Iterator[dict[str, RunningAgent]]:
    with (
        serve_in_thread(AgentSettings(kind="oracle")) as oracle,
        serve_in_thread(AgentSettings(kind="noop")) as noop,
    ):
        yield {"oracle": oracle, "noop": noop}


def server_turns(spans: list[ReadableSpan]) -> dict[int, list[ReadableSpan]]:
    """The sidecar's message exchanges, by trace, in order."""
    found: dict[int, list[ReadableSpan]] = {}
    for span in sorted(spans, key=lambda s: s.start_time or 0):
        attrs = span.attributes or {}
        if span.kind == SpanKind.SERVER and attrs.get("a2a.method.name") in (
            "SendMessage",
            "SendStreamingMessage",
        ):
            found.setdefault(span.context.trace_id, []).append(span)
    return found


def check_lens_matches_turns(result: RunResult, spans: list[ReadableSpan], fmt: str) -> None:
    """Span by span, the sidecar saw what the evaluator executed, under the same convention."""
    by_trace = server_turns(spans)
    malformed_on_spans = 0
    for trial in result.trials:
        assert trial.trace_id is not None
        turns = by_trace[int(trial.trace_id, 16)]
        assert len(turns) == len(trial.turn_records)
        for span, record in zip(turns, trial.turn_records, strict=True):
            attrs: dict[str, Any] = dict(span.attributes or {})
            assert attrs["a2a.proxy.message_format"] == fmt
            if record.tool_calls:
                assert attrs["a2a.proxy.tool_call.valid"] is True
                assert list(attrs["a2a.proxy.tool_call.names"]) == record.tool_calls
                assert attrs["gen_ai.tool.name"] == record.tool_calls[0]
            elif "a2a.proxy.tool_call.valid" in attrs:
                assert attrs["a2a.proxy.tool_call.valid"] is False
                malformed_on_spans += 1
            assert (record.malformed_tool_calls > 0) == (
                attrs.get("a2a.proxy.tool_call.valid") is False
            )
    assert malformed_on_spans == result.summary.malformed_tool_calls


def full_marks(trials: list[TrialResult]) -> None:
    for trial in trials:
        assert trial.reward == 1.0, (trial.task_id, trial.error, trial.reward_detail)
        assert trial.error is None


@pytest.mark.parametrize("fmt", CONVENTIONS)
def test_oracle_full_marks_on_mock(agents: dict[str, RunningAgent], fmt: str) -> None:
    observed = evaluate(agent_endpoint=agents["oracle"].url, message_format=fmt)
    result = observed.result
    assert result.agent.message_format == fmt
    assert len(result.trials) == len(tau2_tasks("mock"))
    full_marks(result.trials)
    assert result.summary.malformed_tool_calls == 0
    check_lens_matches_turns(result, observed.spans, fmt)


@pytest.mark.parametrize("fmt", CONVENTIONS)
def test_oracle_full_marks_on_airline_streamed(agents: dict[str, RunningAgent], fmt: str) -> None:
    observed = evaluate(
        domain="airline",
        agent_endpoint=agents["oracle"].url,
        message_format=fmt,
        num_tasks=AIRLINE_SAMPLE,
        streaming=True,
    )
    full_marks(observed.result.trials)
    assert len(observed.result.trials) == AIRLINE_SAMPLE
    turns = [s for group in server_turns(observed.spans).values() for s in group]
    assert turns
    for span in turns:
        attrs: dict[str, Any] = dict(span.attributes or {})
        assert span.name == "SendStreamingMessage"
        assert attrs["a2a.proxy.streaming"] is True
        assert attrs["a2a.proxy.time_to_first_event_ms"] > 0
    check_lens_matches_turns(observed.result, observed.spans, fmt)


@pytest.mark.parametrize("fmt", CONVENTIONS)
def test_negative_control_scores_what_tau2_gives_natively(
    agents: dict[str, RunningAgent], fmt: str
) -> None:
    ids = [t.id for t in tau2_tasks("mock")]
    observed = evaluate(agent_endpoint=agents["noop"].url, message_format=fmt)
    ours = {t.task_id: t.reward for t in observed.result.trials}
    assert ours == native_noop_rewards("mock", ids)
    assert all(t.tool_calls == 0 for t in observed.result.trials)
    check_lens_matches_turns(observed.result, observed.spans, fmt)


@pytest.mark.parametrize("fmt", CONVENTIONS)
def test_flawed_agents_malformed_calls_are_seen_alike(fmt: str) -> None:
    # a fresh agent per convention: flawed draws new faults for each later conversation
    with serve_in_thread(AgentSettings(kind="flawed", seed=5)) as flawed:
        observed = evaluate(agent_endpoint=flawed.url, message_format=fmt)
    result = observed.result
    assert result.summary.malformed_tool_calls > 0  # seed 5 sends three on mock
    check_lens_matches_turns(result, observed.spans, fmt)


# litellm builds its response models on first use; pydantic warns about one of them
@pytest.mark.filterwarnings("ignore:Item 'summary' on TypedDict:UserWarning")
@pytest.mark.parametrize(
    ("fmt", "answer"),
    [
        ("tau2", "I'm sorry, I can't help with that right now."),
        (
            "agentbeats-tutorial",
            '{"name": "respond", "arguments": {"content": "I\'m sorry, I can\'t help."}}',
        ),
        (
            "agentify",
            '<json>{"name": "respond", "arguments": {"content": "I\'m sorry, I can\'t help."}}'
            "</json>",
        ),
    ],
)
def test_llm_agent_in_each_convention(fmt: str, answer: str) -> None:
    settings = AgentSettings(kind="llm", model="gpt-4.1", llm_args={"mock_response": answer})
    with serve_in_thread(settings) as llm:
        observed = evaluate(
            agent_endpoint=llm.url, message_format=fmt, task_ids=(tau2_tasks("mock")[0].id,)
        )
    [trial] = observed.result.trials
    assert trial.error is None
    assert trial.termination_reason == "user_stop"
    said = [m.content for m in trial.messages if m.role == "assistant"][1:]  # after the greeting
    assert said
    assert all(text and text.startswith("I'm sorry") for text in said), said
    assert all("went wrong" not in text for text in said if text), said
    check_lens_matches_turns(observed.result, observed.spans, fmt)


def test_agentbeats_name_still_works_as_agentify_with_a_note(
    agents: dict[str, RunningAgent], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "r.json"
    code = main(
        [
            "eval",
            "--domain",
            "mock",
            "--task-ids",
            tau2_tasks("mock")[0].id,
            "--agent-a2a-endpoint",
            agents["oracle"].url,
            "--message-format",
            "agentbeats",
            "--save-to",
            str(out),
            "--quiet",
        ]
    )
    assert code == 0
    result = load_results(out)
    assert result.agent.message_format == "agentify"
    assert result.config["message_format"] == "agentify"
    assert "old name of 'agentify'" in caplog.text
    full_marks(result.trials)


def test_streamed_evaluation_from_the_cli_shows_time_to_first_event_in_the_report(
    agents: dict[str, RunningAgent], tmp_path: Path
) -> None:
    results, traces, page = tmp_path / "r.json", tmp_path / "t.jsonl", tmp_path / "report.html"
    ids = [t.id for t in tau2_tasks("mock")[:2]]
    eval_args = ["eval", "--domain", "mock", "--task-ids", *ids, "--streaming", "--quiet"]
    assert (
        main(
            [
                *eval_args,
                "--agent-a2a-endpoint",
                agents["oracle"].url,
                "--message-format",
                "agentbeats-tutorial",
                "--save-to",
                str(results),
                "--trace-file",
                str(traces),
            ]
        )
        == 0
    )
    result = load_results(results)
    assert result.config["streaming"] is True
    full_marks(result.trials)
    assert main(["report", str(results), "--traces", str(traces), "--output", str(page)]) == 0
    html = page.read_text()
    assert "stream: time to first event" in html
    assert "no streamed exchanges" not in html
