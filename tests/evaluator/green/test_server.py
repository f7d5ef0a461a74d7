"""The green agent end to end: a real a2a-sdk client, the green server, sample purple agents.

Mock domain, few tasks: each evaluation takes a second or two.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import httpx
import pytest
from a2a.client.errors import A2AClientError
from a2a.helpers import new_data_part
from a2a.types import TaskState
from google.protobuf import json_format

from evaluator.agents import AgentSettings, RunningAgent, serve_in_thread
from evaluator.cli import main
from evaluator.green.client import message_text, request_assessment
from evaluator.merging import merge_runs
from evaluator.results import load_results
from tests.evaluator.a2a_servers import free_port, serve_agent
from tests.evaluator.green.conftest import GreenFactory
from tests.evaluator.green.requesters import (
    LITELLM_READONLY_WARNING,
    MOCK_TASKS,
    SlowOracle,
    data_of,
    get_task,
    send,
    structured,
    text_part,
    until,
    wait_for_card,
)

pytestmark = pytest.mark.slow


async def test_the_same_request_as_a_data_part_blocking(
    green_server: GreenFactory, oracle: RunningAgent
) -> None:
    with green_server() as green:
        task = await send(
            green.url, [new_data_part(structured(oracle.url, task_ids=["update_task_1"]))]
        )
    assert task.status.state == TaskState.TASK_STATE_COMPLETED
    assert data_of(task)["task_rewards"] == {"update_task_1": 1.0}


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
