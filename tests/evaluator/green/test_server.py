"""The green agent end to end: a real a2a-sdk client, the green server, sample purple agents.

Mock domain, few tasks: each evaluation takes a second or two.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from a2a.client import Client, ClientConfig, create_client
from a2a.client.errors import A2AClientError
from a2a.helpers import new_data_part, new_message, new_text_message
from a2a.types import (
    CancelTaskRequest,
    GetTaskRequest,
    Role,
    SendMessageConfiguration,
    SendMessageRequest,
    Task,
    TaskState,
)
from google.protobuf import json_format
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from evaluator.agents import AgentSettings, RunningAgent, serve_in_thread
from evaluator.agents.oracle import OracleAgent
from evaluator.cli import main
from evaluator.green.client import artifact_data, message_text, request_assessment, state_name
from evaluator.green.structured import CONFIG_KEYS
from evaluator.merging import merge_runs
from evaluator.results import load_results
from proxy.telemetry import Telemetry
from tests.evaluator.a2a_servers import free_port, serve_agent
from tests.evaluator.green.conftest import GreenFactory

pytestmark = pytest.mark.slow

# pydantic warns when litellm first builds its response models (as in test_evaluation_edges)
LITELLM_READONLY_WARNING = pytest.mark.filterwarnings(
    "ignore:Item .* is using the `ReadOnly` qualifier"
)
MOCK_TASKS = [
    "create_task_1", "create_task_1_with_env_assertions", "create_task_1_nl_eval",
    "update_task_1", "update_task_with_message_history", "update_task_with_initialization_data",
    "update_task_with_initialization_actions", "update_task_with_history_and_env_assertions",
    "impossible_task_1",
]  # fmt: skip


@asynccontextmanager
async def a2a_client(
    url: str, *, streaming: bool = False, token: str | None = None
) -> AsyncIterator[Client]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(timeout=120, headers=headers) as http:
        client = await create_client(url, ClientConfig(streaming=streaming, httpx_client=http))
        try:
            yield client
        finally:
            await client.close()


def structured(url: str, **config: Any) -> dict[str, Any]:
    return {"participants": {"agent": url}, "config": {"domain": "mock", **config}}


async def send(
    url: str, parts: list[Any], *, immediately: bool = False, task: Task | None = None
) -> Task:
    """A blocking SendMessage (or one that returns at once); the task it returns."""
    message = new_message(parts, role=Role.ROLE_USER)
    if task is not None:
        message.task_id, message.context_id = task.id, task.context_id
    request = SendMessageRequest(
        message=message, configuration=SendMessageConfiguration(return_immediately=immediately)
    )
    async with a2a_client(url) as client:
        async for event in client.send_message(request):
            assert event.WhichOneof("payload") == "task"
            return event.task
    raise AssertionError("no task came back")


async def get_task(url: str, task_id: str) -> Task:
    async with a2a_client(url) as client:
        return await client.get_task(GetTaskRequest(id=task_id))


async def until(
    url: str, task_id: str, condition: Callable[[Task], bool], timeout_s: float = 60
) -> Task:
    """GetTask until ``condition`` holds."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        task = await get_task(url, task_id)
        if condition(task):
            return task
        assert asyncio.get_running_loop().time() < deadline, task
        await asyncio.sleep(0.05)


def data_of(task: Task) -> dict[str, Any]:
    (artifact,) = task.artifacts
    (data,) = artifact_data(artifact)
    return data


def text_part(value: Any) -> Any:
    return new_text_message(value if isinstance(value, str) else json.dumps(value)).parts[0]


class SlowOracle:
    """The oracle, ``delay_s`` slower per reply: time to cancel or queue."""

    def __init__(self, delay_s: float) -> None:
        self.inner = OracleAgent(("mock",))
        self.delay_s = delay_s

    async def reply(self, context_id: str, text: str) -> str:
        await asyncio.sleep(self.delay_s)
        return await self.inner.reply(context_id, text)


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


async def test_the_same_request_as_a_data_part_blocking(
    green_server: GreenFactory, oracle: RunningAgent
) -> None:
    with green_server() as green:
        task = await send(
            green.url, [new_data_part(structured(oracle.url, task_ids=["update_task_1"]))]
        )
    assert task.status.state == TaskState.TASK_STATE_COMPLETED
    assert data_of(task)["task_rewards"] == {"update_task_1": 1.0}


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


async def test_the_numbers_equal_those_of_tau2observe_eval_for_the_same_configuration(
    green_server: GreenFactory, tmp_path: Path
) -> None:
    path = tmp_path / "eval.json"
    # the flawed agent's outcomes are fixed per task for a fresh agent; create_task_1's
    # reward varies from run to run whatever the evaluator, so it is left out
    tasks = [t for t in MOCK_TASKS if t != "create_task_1"]
    with serve_in_thread(AgentSettings(kind="flawed")) as flawed:  # a fresh agent, like the next
        command = ["eval", "--domain", "mock", "--agent-a2a-endpoint", flawed.url,
                   "--num-trials", "2", "--seed", "11", "--save-to", str(path), "--quiet",
                   "--task-ids", *tasks]  # fmt: skip
        await asyncio.to_thread(main, command)  # a loop of its own, as on the command line
    expected = load_results(path)
    with (
        serve_in_thread(AgentSettings(kind="flawed")) as flawed,
        green_server() as green,
    ):
        request = structured(
            flawed.url, num_trials=2, seed=11, message_format="tau2", task_ids=tasks
        )
        followed = await request_assessment(green.url, request)
    (data,) = followed.results
    by_task: dict[str, list[float]] = {}
    for trial in expected.trials:
        by_task.setdefault(trial.task_id, []).append(trial.reward)
    rewards = {task: sum(r) / len(r) for task, r in by_task.items()}
    assert 0 < sum(rewards.values()) < len(rewards)  # a mixed run, not all passes
    assert data["task_rewards"] == pytest.approx(rewards)
    assert data["score"] == pytest.approx(sum(rewards.values()))
    assert data["max_score"] == len(tasks)
    assert data["pass_rate"] == pytest.approx(sum(rewards.values()) / len(tasks) * 100)
    s = expected.summary
    assert data["pass_hat_k"] == pytest.approx({str(k): v for k, v in s.pass_hat_k.items()})
    assert data["pass_hat_1_ci"] == pytest.approx(s.pass_hat_1_ci)
    assert data["average_reward"] == pytest.approx(s.average_reward)
    assert (data["scored_trials"], data["not_scored"], data["trials"]) == (
        s.scored_trials, s.not_scored, s.trials,
    )  # fmt: skip
    assert data["causes"] == s.causes
    failed = [t for t in data["task_results"] if t["causes"]]
    assert failed
    assert all(r["cause_label"] for t in failed for r in t["results"] if r["cause"])


async def test_two_shards_cover_the_unsharded_request_with_no_overlap(
    green_server: GreenFactory, oracle: RunningAgent, tmp_path: Path
) -> None:
    with green_server(max_running=3, data_dir=tmp_path / "green") as green:
        whole, *shards = await asyncio.gather(
            request_assessment(green.url, structured(oracle.url, num_tasks=5)),
            *(
                request_assessment(
                    green.url, structured(oracle.url, num_tasks=5, shard_index=i, num_shards=2)
                )
                for i in (0, 1)
            ),
        )
    every = set(whole.results[0]["task_rewards"])
    parts = [set(s.results[0]["task_rewards"]) for s in shards]
    assert every == set(MOCK_TASKS[:5])
    assert parts[0] | parts[1] == every
    assert not parts[0] & parts[1]
    assert parts[0] == set(MOCK_TASKS[0:5:2])
    assert [s.results[0]["shard"] for s in shards] == [
        {"index": 0, "count": 2},
        {"index": 1, "count": 2},
    ]
    # the shards' results files are eval --shard's: tau2observe merge joins them
    runs = tmp_path / "green" / "runs"
    named = [(s.task_id, load_results(runs / f"{s.task_id}.json")) for s in shards]
    merged = merge_runs(named, order=MOCK_TASKS[:5])
    unsharded = load_results(runs / f"{whole.task_id}.json")
    assert sorted((t.task_id, t.trial) for t in merged.trials) == sorted(
        (t.task_id, t.trial) for t in unsharded.trials
    )
    assert merged.summary.pass_hat_k == unsharded.summary.pass_hat_k


async def test_cancel_stops_the_trials_not_started_and_returns_what_finished(
    green_server: GreenFactory, tmp_path: Path
) -> None:
    with (
        serve_agent(SlowOracle(0.25), name="slow-oracle") as slow,
        green_server(trial_concurrency=1, data_dir=tmp_path / "green") as green,
    ):
        task = await send(green.url, [text_part(structured(slow, num_trials=2))], immediately=True)
        await until(green.url, task.id, lambda t: "] task " in message_text(t.status.message))
        async with a2a_client(green.url) as client:
            canceled = await client.cancel_task(CancelTaskRequest(id=task.id))
        stored = await get_task(green.url, task.id)
    assert canceled.status.state == TaskState.TASK_STATE_CANCELED
    for seen in (canceled, stored):
        data = data_of(seen)
        assert data["partial"] is True
        assert data["status"] == "interrupted"
        assert 1 <= data["scored_trials"] < 18
        assert data["unfinished"] == 18 - data["scored_trials"]
    assert "PARTIAL: canceled" in message_text(stored.artifacts[0])
    assert "the trials not started never ran" in message_text(stored.status.message)
    results = load_results(tmp_path / "green" / "runs" / f"{task.id}.json")
    assert results.status == "interrupted"
    assert len(results.trials) == data_of(stored)["scored_trials"]


async def test_a_request_over_the_bound_waits_in_submitted_or_is_refused(
    green_server: GreenFactory,
) -> None:
    with (
        serve_agent(SlowOracle(0.2), name="slow-oracle") as slow,
        green_server(max_running=1, max_queued=1, trial_concurrency=1) as green,
    ):
        request = [text_part(structured(slow, num_tasks=2))]
        first = await send(green.url, request, immediately=True)
        second = await send(green.url, request, immediately=True)
        third = await send(green.url, request, immediately=True)
        waiting = await until(green.url, second.id, lambda t: t.status.HasField("message"))
        assert waiting.status.state == TaskState.TASK_STATE_SUBMITTED
        assert "queued: 1 evaluations running" in message_text(waiting.status.message)
        refused = await until(green.url, third.id, lambda t: t.status.HasField("message"))
        assert refused.status.state == TaskState.TASK_STATE_REJECTED
        assert "busy: 1 evaluations running and 1 waiting" in message_text(refused.status.message)
        done = [
            await until(green.url, t.id, lambda t: t.status.state == TaskState.TASK_STATE_COMPLETED)
            for t in (first, second)
        ]
    assert all(data_of(t)["score"] == 2.0 for t in done)


async def test_results_survive_a_restart(
    green_server: GreenFactory, oracle: RunningAgent, tmp_path: Path
) -> None:
    data_dir = tmp_path / "kept"
    with green_server(data_dir=data_dir) as green:
        task = await send(green.url, [text_part(structured(oracle.url, num_tasks=1))])
    with green_server(data_dir=data_dir) as again:
        stored = await get_task(again.url, task.id)
    assert stored.status.state == TaskState.TASK_STATE_COMPLETED
    assert data_of(stored) == data_of(task)


async def test_a_run_cut_short_by_a_restart_is_interrupted_never_lost(
    green_server: GreenFactory, tmp_path: Path
) -> None:
    """The server process is killed mid-run; the next one marks the task interrupted."""
    data_dir = tmp_path / "green"
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "evaluator.cli", "serve",
        "--port", str(port), "--data-dir", str(data_dir), "--trial-concurrency", "1",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        with serve_agent(SlowOracle(0.25), name="slow-oracle") as slow:
            await wait_for_card(url)
            task = await send(url, [text_part(structured(slow, num_trials=3))], immediately=True)
            await until(url, task.id, lambda t: "] task " in message_text(t.status.message))
            process.kill()
            await process.wait()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    with green_server(data_dir=data_dir) as again:
        stored = await get_task(again.url, task.id)
        assert task.id in again.green.recovered
    assert stored.status.state == TaskState.TASK_STATE_FAILED
    assert "interrupted: the server stopped during this evaluation" in message_text(
        stored.status.message
    )
    data = data_of(stored)
    assert data["partial"] is True
    assert data["scored_trials"] >= 1
    results = load_results(data_dir / "runs" / f"{task.id}.json")
    assert results.status == "interrupted"
    assert "tau2observe eval --resume" in (results.status_note or "")


async def wait_for_card(url: str, timeout_s: float = 90.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    async with httpx.AsyncClient() as http:
        while True:
            try:
                if (await http.get(f"{url}.well-known/agent-card.json")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"no agent card at {url}")
            await asyncio.sleep(0.2)


async def test_bearer_auth_refuses_without_the_token_and_accepts_it(
    green_server: GreenFactory, oracle: RunningAgent, caplog: pytest.LogCaptureFixture
) -> None:
    token = "s3cret-token"
    with green_server(auth_token=token) as green:
        async with httpx.AsyncClient() as http:
            card = (await http.get(f"{green.url}.well-known/agent-card.json")).json()
            refused = await http.post(green.url, json={"jsonrpc": "2.0", "id": 1, "method": "x"})
            wrong = await http.post(green.url, json={}, headers={"Authorization": "Bearer nope"})
        with pytest.raises(A2AClientError, match="401"):
            await request_assessment(green.url, structured(oracle.url, num_tasks=1))
        followed = await request_assessment(
            green.url, structured(oracle.url, num_tasks=1), token=token
        )
    assert "bearer" in card["securitySchemes"]
    assert refused.status_code == 401
    assert "missing bearer token" in refused.json()["error"]
    assert wrong.status_code == 401
    assert "wrong bearer token" in wrong.json()["error"]
    assert followed.state == "completed"
    assert token not in caplog.text


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


async def test_a_0_3_client_and_the_readme_curl_body(
    green_server: GreenFactory, oracle: RunningAgent
) -> None:
    """The README's curl example, as raw JSON-RPC: 0.3's message/send with no A2A-Version."""
    request = json.dumps(structured(oracle.url, num_tasks=1))
    body = {
        "jsonrpc": "2.0", "id": 1, "method": "message/send",
        "params": {"message": {"kind": "message", "role": "user", "messageId": "m-1",
                               "parts": [{"kind": "text", "text": request}]}},
    }  # fmt: skip
    with green_server() as green:
        async with httpx.AsyncClient(timeout=60) as http:
            answer = (await http.post(green.url, json=body)).json()
    task = answer["result"]
    assert task["kind"] == "task"
    assert task["status"]["state"] == "completed"
    data = next(p["data"] for p in task["artifacts"][0]["parts"] if p["kind"] == "data")
    assert data["task_rewards"] == {"create_task_1": 1.0}


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


@LITELLM_READONLY_WARNING
async def test_credentials_in_a_request_are_kept_nowhere(
    green_server: GreenFactory, oracle: RunningAgent, tmp_path: Path
) -> None:
    secret = "sk-test-not-a-real-key"
    request = structured(
        oracle.url,
        num_tasks=1,
        user_llm="openai/gpt-4o-mini",
        user_llm_args={"api_key": secret, "mock_response": "###STOP###"},
    )
    with green_server(data_dir=tmp_path / "green") as green:
        followed = await request_assessment(green.url, request)
        stored = await get_task(green.url, followed.task_id)
    assert followed.state == "completed"
    assert followed.results[0]["user"] == {"kind": "llm", "model": "openai/gpt-4o-mini"}
    kept = "".join(p.read_text() for p in (tmp_path / "green").rglob("*.json"))
    assert '"api_key": "***"' in kept.replace('\\"', '"')
    assert secret not in kept
    assert secret not in json_format.MessageToJson(stored)


async def test_a_server_stopped_during_a_run_ends_it_interrupted_with_what_finished(
    green_server: GreenFactory, tmp_path: Path
) -> None:
    data_dir = tmp_path / "green"
    with serve_agent(SlowOracle(0.25), name="slow-oracle") as slow:
        with green_server(data_dir=data_dir, trial_concurrency=1) as green:
            task = await send(
                green.url, [text_part(structured(slow, num_trials=3))], immediately=True
            )
            await until(green.url, task.id, lambda t: "] task " in message_text(t.status.message))
        with green_server(data_dir=data_dir) as again:  # a graceful stop, then a restart
            stored = await get_task(again.url, task.id)
            assert again.green.recovered == []  # the first server closed it itself
    assert stored.status.state == TaskState.TASK_STATE_FAILED
    assert "interrupted: the server was stopped during this evaluation" in message_text(
        stored.status.message
    )
    data = data_of(stored)
    assert data["partial"] is True
    assert 1 <= data["scored_trials"] < 27
    assert load_results(data_dir / "runs" / f"{task.id}.json").status == "interrupted"
