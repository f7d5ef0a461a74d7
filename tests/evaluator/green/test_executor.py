"""The green agent's executor: what each kind of request becomes (a question, a listing,
results, an evaluation, a refusal), over a real green server and sample purple agents."""

from __future__ import annotations

import json
from typing import Any

import pytest
from a2a.helpers import new_data_part, new_text_part
from a2a.server.agent_execution import RequestContext
from a2a.server.context import ServerCallContext
from a2a.types import Artifact, Message, Role, Task, TaskState, TaskStatus
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from evaluator.agents import RunningAgent
from evaluator.green import outcome
from evaluator.green.client import message_text, request_assessment
from evaluator.green.executor import (
    _domain_sizes,
    _result_data,
    _result_row,
    _result_text,
    message_content,
    request_parent,
)
from evaluator.green.reading import MessageContent
from evaluator.green.structured import CONFIG_KEYS
from proxy.telemetry import Telemetry
from tests.evaluator.green.conftest import GreenFactory
from tests.evaluator.green.requesters import (
    LITELLM_READONLY_WARNING,
    MOCK_TASKS,
    data_of,
    send,
    structured,
    text_part,
)

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN_ID = "00f067aa0ba902b7"


def test_a_message_becomes_its_text_and_data_parts() -> None:
    message = Message(
        role=Role.ROLE_USER,
        parts=[new_text_part("evaluate"), new_data_part({"config": {"domain": "mock"}})],
        message_id="m",
    )
    assert message_content(message) == MessageContent(
        ("evaluate",), ({"config": {"domain": "mock"}},)
    )
    assert message_content(None) == MessageContent()


def context_with(headers: dict[str, str] | None) -> RequestContext:
    state = {} if headers is None else {"headers": headers}
    return RequestContext(ServerCallContext(state=state))


def test_a_traceparent_on_the_request_becomes_the_parent() -> None:
    parent = request_parent(context_with({"traceparent": f"00-{TRACE_ID}-{SPAN_ID}-01"}))
    assert parent is not None
    span = trace.get_current_span(parent).get_span_context()
    assert (format(span.trace_id, "032x"), format(span.span_id, "016x")) == (TRACE_ID, SPAN_ID)
    assert span.is_remote
    assert request_parent(context_with({"accept": "*/*"})) is None
    assert request_parent(context_with(None)) is None


def stored(task_id: str, state: int, *, data: dict[str, Any] | None, name: str = "Result") -> Task:
    parts = [new_text_part(f"text of {task_id}")]
    if data is not None:
        parts.append(new_data_part(data))
    return Task(
        id=task_id,
        context_id="c",
        status=TaskStatus(state=state),  # type: ignore[arg-type]
        artifacts=[Artifact(artifact_id="a", name=name, parts=parts)],
    )


def test_only_a_result_artifact_with_a_score_counts_as_results() -> None:
    data = {"domain": "mock", "score": 1.0, "max_score": 1, "pass_rate": 100.0,
            "partial": False, "run_id": "t-1", "other": "dropped"}  # fmt: skip
    done = stored("t-1", TaskState.TASK_STATE_COMPLETED, data=data)
    assert outcome.ARTIFACT_NAME == "Result"
    assert _result_data(done) == data
    assert _result_text(done) == "text of t-1"
    assert _result_row(done) == {
        "task_id": "t-1", "state": "completed", "domain": "mock", "score": 1.0,
        "max_score": 1, "pass_rate": 100.0, "partial": False, "run_id": "t-1",
    }  # fmt: skip
    listing = stored("t-2", TaskState.TASK_STATE_COMPLETED, data={"domains": []})
    assert _result_data(listing) is None
    other = stored("t-3", TaskState.TASK_STATE_COMPLETED, data=data, name="Notes")
    assert _result_data(other) is None
    assert _result_data(stored("t-4", TaskState.TASK_STATE_FAILED, data=None)) is None


def test_a_domain_that_cannot_be_listed_does_not_hide_the_others(
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert _domain_sizes(["mock", "no_such_domain"]) == {"mock": 9}
    assert "domain no_such_domain cannot be listed" in caplog.text


@pytest.mark.slow
async def test_plain_language_blocking_and_a_question_answered_in_the_same_task(
    green_server: GreenFactory, oracle: RunningAgent
) -> None:
    with green_server() as green:
        task = await send(
            green.url,
            [text_part(f"Evaluate my agent at {oracle.url} on the mock domain with 2 tasks")],
        )
        assert task.status.state == TaskState.TASK_STATE_COMPLETED
        assert set(data_of(task)["task_rewards"]) == set(MOCK_TASKS[:2])

        asked = await send(green.url, [text_part("Please evaluate my agent with 1 task")])
        assert asked.status.state == TaskState.TASK_STATE_INPUT_REQUIRED
        question = message_text(asked.status.message)
        assert "Which agent? Give its A2A URL" in question
        assert "Which domain:" in question
        answered = await send(green.url, [text_part(f"{oracle.url}, mock")], task=asked)
    assert answered.id == asked.id
    assert answered.status.state == TaskState.TASK_STATE_COMPLETED
    assert data_of(answered)["task_rewards"] == {"create_task_1": 1.0}
    assert data_of(answered)["agent"]["url"] == oracle.url


@pytest.mark.slow
async def test_domains_and_results_in_words(
    green_server: GreenFactory, oracle: RunningAgent
) -> None:
    with green_server() as green:
        listing = await send(green.url, [text_part("Which domains can you run?")])
        done = await send(green.url, [text_part(structured(oracle.url, num_tasks=1))])
        results = await send(green.url, [text_part(f"show the results of {done.id}")])
    assert "mock (9)" in message_text(listing.status.message)
    domains = {d["name"]: d["num_tasks"] for d in data_of(listing)["domains"]}
    assert domains["mock"] == 9
    assert "airline" in domains
    rows = data_of(results)["results"]
    assert [(r["task_id"], r["score"], r["max_score"]) for r in rows] == [(done.id, 1.0, 1.0)]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("request_", "state", "reason"),
    [
        ({"config": {"domain": "mock"}}, "rejected", "no agent URL"),
        (structured("http://127.0.0.1:9/", num_tasks=1), "failed",
         "the agent cannot be evaluated: cannot reach the agent at http://127.0.0.1:9/"),
        ({"participants": {"agent": "http://127.0.0.1:9/"}, "config": {"domain": "banking"}},
         "rejected", "config.domain 'banking': unknown domain"),
        (structured("http://127.0.0.1:9/", num_tasks=50), "rejected", "too many tasks: 50"),
        (structured("http://127.0.0.1:9/", num_trials=9), "rejected", "too many trials"),
        (structured("http://127.0.0.1:9/", task_ids=["nope"]), "rejected",
         "task_ids: domain 'mock' has no task 'nope'"),
        ('{"participants": {"agent": "http://127.0.0.1:9/"}, "config": {', "rejected",
         "malformed JSON in the request"),
        (structured("http://127.0.0.1:9/", tasks=3), "rejected",
         "unknown config key(s) 'tasks'; accepted: " + ", ".join(CONFIG_KEYS)),
    ],
)  # fmt: skip
async def test_each_kind_of_bad_request_gets_its_reason(
    green_server: GreenFactory, request_: Any, state: str, reason: str
) -> None:
    with green_server(max_tasks=20, max_trials=4) as green:
        followed = await request_assessment(green.url, request_)
    assert followed.state == state
    assert reason in followed.message


@pytest.mark.slow
async def test_a_requesters_traceparent_is_continued_through_every_trial(
    green_server: GreenFactory,
    oracle: RunningAgent,
    spans: InMemorySpanExporter,
    telemetry: Telemetry,
) -> None:
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    parent = "00f067aa0ba902b7"
    with green_server() as green:
        followed = await request_assessment(
            green.url,
            structured(oracle.url, num_tasks=2),
            headers={"traceparent": f"00-{trace_id}-{parent}-01"},
        )
    assert followed.results[0]["trace_ids"] == [trace_id]
    telemetry.force_flush()
    by_name: dict[str, list[Any]] = {}
    for span in spans.get_finished_spans():
        by_name.setdefault(span.name.split(" ")[0], []).append(span)
    (assessment,) = by_name["tau2.assessment"]
    assert format(assessment.context.trace_id, "032x") == trace_id
    assert format(assessment.parent.span_id, "016x") == parent
    trials = by_name["tau2.task"]
    assert len(trials) == 2
    assert all(t.parent.span_id == assessment.context.span_id for t in trials)
    assert all(t.attributes["tau2.run.id"] == followed.task_id for t in trials)


@pytest.mark.slow
@LITELLM_READONLY_WARNING
async def test_an_llm_reads_what_the_rules_do_not_and_cannot_invent_a_url(
    green_server: GreenFactory, oracle: RunningAgent
) -> None:
    words = f"Could you put the thing living at {oracle.url} through its paces? The toy one."
    answer = {"intent": "evaluate", "agent_url": oracle.url, "domain": "mock", "num_tasks": 1}
    invented = {**answer, "agent_url": "http://invented.example/"}
    with green_server(
        llm="openai/gpt-4o-mini", llm_args={"mock_response": json.dumps(answer)}
    ) as g:
        task = await send(g.url, [text_part(words)])
    with green_server(
        llm="openai/gpt-4o-mini", llm_args={"mock_response": json.dumps(invented)}
    ) as g:
        asked = await send(g.url, [text_part("Could you put my thing through its paces?")])
    assert task.status.state == TaskState.TASK_STATE_COMPLETED
    assert data_of(task)["task_rewards"] == {"create_task_1": 1.0}
    assert asked.status.state == TaskState.TASK_STATE_INPUT_REQUIRED
    assert "Which agent? Give its A2A URL" in message_text(asked.status.message)
