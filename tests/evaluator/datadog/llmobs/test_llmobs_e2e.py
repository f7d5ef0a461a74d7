"""End to end, as a user runs it: ``tau2observe agent llm`` and ``tau2observe eval --user llm
--llmobs`` as processes, their LLM calls answered by a loopback chat-completions server,
ddtrace's LLM Observability sending to the recording intake, the sidecar in between.

The intake must receive the run's workflow span, one task span per trial, one agent span
per A2A turn and one llm span per user-simulator call, tagged to link back to the OTel
traces, and each trial's evaluations with the values of the results file. The trace file
must still hold one OTel trace per trial, with the GenAI chat spans and the sidecar's
spans in it: ddtrace left our W3C ``traceparent`` alone.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from evaluator.datadog.llmobs.session import REDACTED
from evaluator.report.traces import Span, read_spans
from evaluator.results import RunResult, load_results
from tests.fakes.chat_completions import AGENT_MODEL, USER_MODEL, ChatCompletionsServer
from tests.fakes.chat_completions import API_KEY as LLM_API_KEY
from tests.fakes.forwarder import Forwarder
from tests.fakes.llmobs_intake import API_KEY, LLMObsIntake, LLMObsRecord, tag_value

pytestmark = pytest.mark.slow

CLI = [sys.executable, "-m", "evaluator.cli", "--log-level", "WARNING"]
# two mock tasks tau2 can grade whatever the agent does (its evaluator raises on
# create_task_1_with_env_assertions when the task was not created)
TASK_IDS = ("create_task_1", "update_task_1")
NUM_TASKS = len(TASK_IDS)
NUM_TRIALS = 2
SERVER_KIND = 2  # OTLP SpanKind SERVER
CLIENT_KIND = 3


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def llmobs_env(intake: LLMObsIntake, api_key: str = API_KEY) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DD_", "OTEL_"))}
    env.update(
        {
            "DD_API_KEY": api_key,
            "DD_SITE": "datadoghq.com",
            "DD_LLMOBS_OVERRIDE_ORIGIN": intake.url,
            "DD_LLMOBS_ML_APP": "tau2-e2e",
            "PYTHONPATH": str(Path(__file__).resolve().parents[4]),
        }
    )
    return env


def wait_for_card(url: str, process: subprocess.Popen[bytes], within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        assert process.poll() is None, "the agent exited before serving"
        try:
            with urllib.request.urlopen(f"{url}.well-known/agent-card.json", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"no agent card at {url} after {within}s")


def resources_of(path: Path) -> list[dict[str, Any]]:
    return [
        {a["key"]: a["value"] for a in rs["resource"]["attributes"]}
        for line in path.read_text().splitlines()
        for rs in json.loads(line)["resourceSpans"]
    ]


@dataclass
class Run:
    result: RunResult
    record: LLMObsRecord
    spans: list[Span]
    resources: list[dict[str, Any]]
    llm: ChatCompletionsServer
    traceparents: list[str | None]  # as the agent received them
    agent_spans: list[Span]
    agent_resources: list[dict[str, Any]]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    folder = tmp_path_factory.mktemp("llmobs")
    with (
        contextlib.ExitStack() as stack,
        ChatCompletionsServer() as llm,
        LLMObsIntake() as intake,
    ):
        env = llmobs_env(intake)
        port = free_port()
        agent_url = f"http://127.0.0.1:{port}/"
        # The agent's card names the forwarder, so every request passes through it.
        forwarder = stack.enter_context(Forwarder(agent_url))
        url = f"{forwarder.url}/"
        agent_log = (folder / "agent.log").open("wb")
        agent = subprocess.Popen(
            [
                *CLI,
                "agent",
                "llm",
                "--port",
                str(port),
                "--model",
                f"openai/{AGENT_MODEL}",
                "--llm-args",
                json.dumps(llm.litellm_args()),
                "--public-url",
                url,
                "--trace-file",
                str(folder / "agent-traces.jsonl"),
                "--llmobs",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=agent_log,
        )
        try:
            wait_for_card(agent_url, agent)
            evaluation = subprocess.run(
                [
                    *CLI,
                    "eval",
                    "--domain",
                    "mock",
                    "--agent-a2a-endpoint",
                    url,
                    "--task-ids",
                    *TASK_IDS,
                    "--num-trials",
                    str(NUM_TRIALS),
                    "--user",
                    "llm",
                    "--user-llm",
                    f"openai/{USER_MODEL}",
                    "--user-llm-args",
                    json.dumps(llm.litellm_args()),
                    "--trace-file",
                    str(folder / "traces.jsonl"),
                    "--save-to",
                    str(folder / "results.json"),
                    "--quiet",
                    "--llmobs",
                ],
                env=env,
                capture_output=True,
                timeout=600,
                check=False,
            )
            assert evaluation.returncode == 0, evaluation.stderr.decode()[-3000:]
        finally:
            agent.terminate()
            agent.wait(30)
            agent_log.close()
        resources = resources_of(folder / "traces.jsonl")
        yield Run(
            load_results(folder / "results.json"),
            intake.record,
            read_spans([folder / "traces.jsonl"]),
            resources,
            llm,
            list(forwarder.traceparents),
            read_spans([folder / "agent-traces.jsonl"]),
            resources_of(folder / "agent-traces.jsonl"),
        )


def test_the_intake_accepted_everything_and_no_credential(run: Run) -> None:
    assert run.record.refused == []
    assert run.record.spans
    assert run.record.evaluations
    sent = json.dumps([run.record.spans, run.record.evaluations, run.record.headers])
    assert LLM_API_KEY not in sent
    assert API_KEY not in sent


def test_one_workflow_per_run_and_one_task_per_trial_under_it(run: Run) -> None:
    (workflow,) = run.record.spans_of_kind("workflow")
    assert workflow["parent_id"] == "undefined"
    assert tag_value(workflow, "run_id") == run.result.run_id
    assert tag_value(workflow, "domain") == "mock"
    assert tag_value(workflow, "agent") == run.result.agent.name
    assert tag_value(workflow, "ml_app") == "tau2-e2e"
    tasks = run.record.spans_of_kind("task")
    assert len(tasks) == len(run.result.trials) == NUM_TASKS * NUM_TRIALS
    trials = {(t.task_id, str(t.trial)): t for t in run.result.trials}
    for task in tasks:
        assert task["parent_id"] == workflow["span_id"]
        assert task["trace_id"] == workflow["trace_id"]
        trial = trials[(tag_value(task, "task_id") or "", tag_value(task, "trial") or "")]
        assert tag_value(task, "otel.trace_id") == trial.trace_id
        assert tag_value(task, "run_id") == run.result.run_id


def test_the_llm_agents_calls_are_chat_spans_in_the_trials_trace(run: Run) -> None:
    # The agent continues the sidecar's traceparent, so its LLM calls join the trial.
    clients = {s.span_id: s for s in run.spans if s.scope == "tau2observe.proxy"}
    trials = {t.trace_id for t in run.result.trials}
    chats = [s for s in run.agent_spans if s.name == f"chat {AGENT_MODEL}"]
    assert len(chats) == sum(1 for r in run.llm.requests if r.model == AGENT_MODEL)
    for span in chats:
        assert span.trace_id in trials
        assert span.parent_id in clients
        assert span.attributes["tau2.llm.role"] == "agent"
        assert span.attributes["gen_ai.usage.input_tokens"] > 0
    marks = {r.get("dd_llmobs_enabled", {}).get("stringValue") for r in run.agent_resources}
    assert marks == {"false"}  # `agent llm --llmobs`: ddtrace reports these calls instead
    from_agent = [
        s for s in run.record.spans_of_kind("llm") if s["meta"]["model_name"] == AGENT_MODEL
    ]
    assert len(from_agent) == len(chats)


def test_agent_turns_and_user_simulator_calls_sit_under_their_trial(run: Run) -> None:
    tasks = {s["span_id"]: s for s in run.record.spans_of_kind("task")}
    agents = run.record.spans_of_kind("agent")
    assert len(agents) == sum(t.turns for t in run.result.trials)
    user_calls = [r for r in run.llm.requests if r.model == USER_MODEL]
    llms = [s for s in run.record.spans_of_kind("llm") if s["parent_id"] in tasks]
    assert len(llms) == len(user_calls)
    for span in [*agents, *llms]:
        parent = tasks[span["parent_id"]]
        assert tag_value(span, "otel.trace_id") == tag_value(parent, "otel.trace_id")
    for span in llms:
        assert span["meta"]["model_name"] == USER_MODEL
        assert span["metrics"]["input_tokens"] > 0
        # Content capture is off: the text never left the machine.
        assert {m["content"] for m in span["meta"]["input"]["messages"]} == {REDACTED}
    input_tokens = sum(s["metrics"]["input_tokens"] for s in llms)
    assert input_tokens == run.result.summary.user_input_tokens


def test_every_trial_is_evaluated_on_its_task_span(run: Run) -> None:
    tasks = run.record.spans_of_kind("task")
    trials = {(t.task_id, str(t.trial)): t for t in run.result.trials}
    for task in tasks:
        trial = trials[(tag_value(task, "task_id") or "", tag_value(task, "trial") or "")]
        found = {m["label"]: m for m in run.record.evaluations_for(task["span_id"])}
        assert set(found) == {"reward", "success", "termination"}
        assert found["reward"]["metric_type"] == "score"
        assert found["reward"]["score_value"] == trial.reward
        assert found["success"]["categorical_value"] == ("pass" if trial.success else "fail")
        assert found["termination"]["categorical_value"] == trial.termination_reason
        assert found["reward"]["join_on"]["span"]["trace_id"] == task["trace_id"]
        assert f"otel.trace_id:{trial.trace_id}" in found["reward"]["tags"]


def test_the_run_is_scored_on_the_workflow_span(run: Run) -> None:
    (workflow,) = run.record.spans_of_kind("workflow")
    found = {m["label"]: m["score_value"] for m in run.record.evaluations_for(workflow["span_id"])}
    summary = run.result.summary
    assert found == {
        "average_reward": summary.average_reward,
        **{f"pass_hat_{k}": v for k, v in summary.pass_hat_k.items()},
    }
    assert set(summary.pass_hat_k) == {1, 2}


def test_each_trial_is_still_one_otel_trace_through_the_sidecar(run: Run) -> None:
    by_id = {s.span_id: s for s in run.spans}
    for trial in run.result.trials:
        spans = [s for s in run.spans if s.trace_id == trial.trace_id]
        (root,) = [s for s in spans if s.parent_id is None]
        assert root.name == f"tau2.task {trial.task_id}"
        sidecar = [s for s in spans if s.kind == SERVER_KIND and s.is_proxy_server]
        assert len(sidecar) == trial.turns
        for server in sidecar:
            # The sidecar's parent is the evaluator's HTTP client span: the traceparent
            # the evaluator sent arrived as OTel made it, not replaced by ddtrace.
            assert server.parent_id is not None
            client = by_id[server.parent_id]
            assert client.trace_id == trial.trace_id
            assert client.scope.startswith("opentelemetry.instrumentation.httpx")
        chats = [s for s in spans if s.name == f"chat {USER_MODEL}"]
        assert chats
        assert all(s.attributes["gen_ai.usage.output_tokens"] > 0 for s in chats)


def test_the_agent_receives_the_traceparent_of_our_client_spans(run: Run) -> None:
    # The in-process sidecar forwards with aiohttp and the evaluator fetches the card with
    # httpx; ddtrace would patch both (and inject its own context) if its integrations
    # were on. Every traceparent the agent received must name one of our CLIENT spans.
    clients = {(s.trace_id, s.span_id): s for s in run.spans if s.kind == CLIENT_KIND}
    sent = [(t.split("-")[1], t.split("-")[2]) for t in run.traceparents if t is not None]
    assert len(sent) == len(run.traceparents)
    assert all(ids in clients for ids in sent)
    through_sidecar = [ids for ids in sent if clients[ids].scope == "tau2observe.proxy"]
    assert len(through_sidecar) >= sum(t.turns for t in run.result.trials)


def test_the_otel_spans_are_not_marked_for_llm_observability(run: Run) -> None:
    # With --llmobs, Datadog must not also turn the GenAI spans into LLMObs spans.
    marks = {r.get("dd_llmobs_enabled", {}).get("stringValue") for r in run.resources}
    assert marks == {"false"}


def test_a_bad_key_is_refused_with_datadogs_error(tmp_path: Path) -> None:
    script = (
        "from evaluator.datadog.llmobs.settings import LLMObsSettings\n"
        "from evaluator.datadog.llmobs.session import start\n"
        "from evaluator.datadog.llmobs.run import LLMObsRun\n"
        "import os\n"
        "session = start(LLMObsSettings.from_env(True, 'tau2-e2e', os.environ))\n"
        "LLMObsRun(session, 'run-1', 'mock', 'agent').finish(None)\n"
        "session.shutdown()\n"
    )
    with LLMObsIntake() as intake:
        done = subprocess.run(
            [sys.executable, "-c", script],
            env=llmobs_env(intake, api_key="0" * 32),
            capture_output=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr.decode()[-2000:]
        assert intake.wait_for(lambda r: bool(r.refused), within=10)
    assert intake.record.spans == []
    assert {(r.path, r.status) for r in intake.record.refused} == {("/api/v2/llmobs", 403)}
    assert b"403" in done.stderr  # ddtrace says so; the run went on


def test_the_demo_sends_one_workflow_per_agent_with_its_evaluations(tmp_path: Path) -> None:
    with LLMObsIntake() as intake:
        done = subprocess.run(
            [
                *CLI,
                "demo",
                "--domain",
                "mock",
                "--num-tasks",
                "2",
                "--num-trials",
                "1",
                "--output",
                str(tmp_path / "demo"),
                "--llmobs",
            ],
            env=llmobs_env(intake),
            capture_output=True,
            timeout=600,
            check=False,
        )
        assert done.returncode == 0, done.stderr.decode()[-3000:]
    assert intake.record.refused == []
    workflows = intake.record.spans_of_kind("workflow")
    assert sorted(tag_value(w, "agent") or "" for w in workflows) == ["flawed", "oracle"]
    assert len(intake.record.spans_of_kind("task")) == 4
    labels = [m["label"] for m in intake.record.evaluations]
    assert sorted(set(labels)) == [
        "average_reward",
        "pass_hat_1",
        "reward",
        "success",
        "termination",
    ]
    assert labels.count("reward") == 4
