"""Following an assessment as AgentBeats' client does: the pure reading of task events
(state names, texts, artifact data) and ``request_assessment`` against real servers."""

from __future__ import annotations

import json

import pytest
from a2a.helpers import new_data_part, new_text_part
from a2a.types import (
    Artifact,
    Message,
    Role,
    StreamResponse,
    Task,
    TaskArtifactUpdateEvent,
    TaskState,
    TaskStatus,
    TaskStatusUpdateEvent,
)

from evaluator.agents import RunningAgent
from evaluator.green.client import (
    Followed,
    artifact_data,
    message_text,
    request_assessment,
    state_name,
)
from tests.evaluator.a2a_servers import HeaderRecorder, ScriptedCore, serve_agent
from tests.evaluator.green.conftest import GreenFactory
from tests.evaluator.green.requesters import data_of, get_task, structured

RESULT = {"score": 2.0, "max_score": 2}


def agent_says(text: str) -> Message:
    return Message(role=Role.ROLE_AGENT, parts=[new_text_part(text)], message_id="m")


def status(state: int, text: str | None = None) -> TaskStatus:
    kept = TaskStatus(state=state)  # type: ignore[arg-type]
    if text is not None:
        kept.message.CopyFrom(agent_says(text))
    return kept


@pytest.mark.parametrize(
    ("state", "name"),
    [
        (TaskState.TASK_STATE_INPUT_REQUIRED, "input-required"),
        (TaskState.TASK_STATE_COMPLETED, "completed"),
        (TaskState.TASK_STATE_AUTH_REQUIRED, "auth-required"),
    ],
)
def test_state_names_are_the_0_3_spelling(state: int, name: str) -> None:
    assert state_name(state) == name


def test_message_text_joins_the_text_parts_only() -> None:
    message = Message(
        role=Role.ROLE_AGENT,
        parts=[new_text_part("one"), new_data_part({"x": 1}), new_text_part("two")],
        message_id="m",
    )
    assert message_text(message) == "one\ntwo"


def test_artifact_data_reads_data_parts_and_json_object_text_only() -> None:
    artifact = Artifact(
        artifact_id="a",
        parts=[
            new_text_part("Score 2.00 / 2 tasks"),
            new_data_part(RESULT),
            new_text_part(json.dumps({"from": "text"})),
            new_text_part("[1, 2]"),
        ],
    )
    assert artifact_data(artifact) == [RESULT, {"from": "text"}]


def test_followed_keeps_the_state_each_new_status_line_and_the_results() -> None:
    followed = Followed()
    submitted = Task(id="t-1", context_id="c-1", status=status(TaskState.TASK_STATE_SUBMITTED))
    events = [
        StreamResponse(task=submitted),
        StreamResponse(
            status_update=TaskStatusUpdateEvent(
                task_id="t-1", status=status(TaskState.TASK_STATE_WORKING, "[1/2] task a")
            )
        ),
        StreamResponse(
            status_update=TaskStatusUpdateEvent(
                task_id="t-1", status=status(TaskState.TASK_STATE_WORKING, "[1/2] task a")
            )
        ),
        StreamResponse(
            artifact_update=TaskArtifactUpdateEvent(
                task_id="t-1",
                artifact=Artifact(
                    artifact_id="r", parts=[new_text_part("Score"), new_data_part(RESULT)]
                ),
            )
        ),
        StreamResponse(
            status_update=TaskStatusUpdateEvent(
                task_id="t-1", status=status(TaskState.TASK_STATE_COMPLETED, "complete: 2.00")
            )
        ),
    ]
    for event in events:
        followed.take(event)
    assert (followed.task_id, followed.context_id, followed.state) == ("t-1", "c-1", "completed")
    assert followed.updates == ["[1/2] task a", "complete: 2.00"]  # a repeat is kept once
    assert followed.message == "complete: 2.00"
    assert followed.results == [RESULT]
    assert followed.texts == ["Score"]


def test_a_final_task_brings_its_artifacts_unless_they_came_already() -> None:
    done = Task(
        id="t-2",
        context_id="c-2",
        status=status(TaskState.TASK_STATE_COMPLETED),
        artifacts=[Artifact(artifact_id="r", parts=[new_data_part(RESULT)])],
    )
    followed = Followed()
    followed.take(StreamResponse(task=done))
    followed.take(StreamResponse(task=done))  # GetTask's view after the stream
    assert followed.results == [RESULT]
    assert followed.state == "completed"


def test_a_bare_message_reply_is_kept_as_the_message() -> None:
    followed = Followed()
    followed.take(StreamResponse(message=agent_says("hello")))
    assert (followed.state, followed.message) == ("message", "hello")


@pytest.mark.parametrize("streaming", [True, False])
async def test_the_request_goes_as_json_text_and_the_token_only_in_a_header(
    streaming: bool,
) -> None:
    heard: list[str] = []

    def answer(text: str, turn: int) -> str:
        heard.append(text)
        return json.dumps(RESULT)

    recorders: list[HeaderRecorder] = []
    request = {"participants": {"agent": "http://127.0.0.1:9/"}, "config": {"domain": "mock"}}
    with serve_agent(ScriptedCore(answer), reply="task", recorder=recorders) as url:
        followed = await request_assessment(url, request, token="s3cret", streaming=streaming)
    assert heard == [json.dumps(request)]
    assert set(recorders[0].seen) == {"Bearer s3cret"}
    assert followed.state == "completed"
    assert followed.results == [RESULT]  # the reply artifact's text is a JSON object
    assert followed.task_id


async def test_words_are_sent_as_they_are_and_a_message_reply_ends_it() -> None:
    with serve_agent(ScriptedCore(lambda text, turn: f"you said: {text}")) as url:
        followed = await request_assessment(url, "which domains can you run?")
    assert (followed.state, followed.message) == ("message", "you said: which domains can you run?")
    assert followed.results == []


@pytest.mark.slow
async def test_a_structured_request_streams_one_update_per_trial_then_the_artifact(
    green_server: GreenFactory, oracle: RunningAgent
) -> None:
    seen: list[str] = []
    with green_server() as green:
        followed = await request_assessment(
            green.url,
            structured(oracle.url, num_tasks=2, num_trials=2),
            on_update=lambda f: seen.append(f.state),
        )
        stored = await get_task(green.url, followed.task_id)
    assert followed.state == "completed"
    assert "working" in seen
    trial_lines = [u for u in followed.updates if "] task " in u]
    assert len(trial_lines) == 4
    assert all(": pass, reward 1.00" in line for line in trial_lines)
    assert {line.split("] ")[0] for line in trial_lines} == {"[1/4", "[2/4", "[3/4", "[4/4"}
    (data,) = followed.results
    assert data["task_rewards"] == {"create_task_1": 1.0, "create_task_1_with_env_assertions": 1.0}
    assert (data["score"], data["max_score"], data["pass_rate"]) == (2.0, 2, 100.0)
    assert data["pass_hat_k"] == {"1": 1.0, "2": 1.0}
    assert data["run_id"] == followed.task_id
    assert len(data["trace_ids"]) == 4
    assert data["agent"]["via_proxy"] is True  # through the in-process sidecar
    assert "Score 2.00 / 2 tasks (pass rate 100.0%)" in followed.texts[0]
    # GetTask shows the same: the final state, every update in the history, the artifact
    assert state_name(stored.status.state) == "completed"
    history = [message_text(m) for m in stored.history]
    assert sum("] task " in h for h in history) == 4
    assert data_of(stored)["task_rewards"] == data["task_rewards"]
