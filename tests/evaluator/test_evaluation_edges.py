"""Both message formats, both protocol versions, and bad input, end to end on loopback."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from evaluator.agents import AgentSettings, RunningAgent, serve_in_thread
from evaluator.cli import main
from evaluator.errors import UnknownDomain, UnknownTask
from evaluator.results import load_results
from tests.evaluator.a2a_servers import (
    HeaderRecorder,
    ScriptedCore,
    free_port,
    serve_agent,
)
from tests.evaluator.test_evaluation_e2e import evaluate

pytestmark = pytest.mark.slow

TOKEN = "tok-SECRET-4242"
CREATE = '{"tool_call": {"name": "create_task", "arguments": {"user_id": "user_1", "title": "Important Meeting"}}}'


@pytest.fixture(scope="module")
def oracle() -> Iterator[RunningAgent]:
    with serve_in_thread(AgentSettings(kind="oracle")) as running:
        yield running


def test_agentbeats_format_scores_like_the_tau2_format(oracle: RunningAgent) -> None:
    tau2 = evaluate(agent_endpoint=oracle.url).result
    agentbeats = evaluate(agent_endpoint=oracle.url, message_format="agentbeats").result
    assert agentbeats.agent.message_format == "agentify"  # the old name is an alias
    first = agentbeats.trials[0].turn_records[0].request_text
    assert "<json>...</json>" in first
    assert "<available_tools>" not in first
    assert {t.task_id: t.reward for t in agentbeats.trials} == {
        t.task_id: t.reward for t in tau2.trials
    }
    assert all(t.reward == 1.0 for t in agentbeats.trials)
    replies = [r.reply_text or "" for t in agentbeats.trials for r in t.turn_records]
    assert any(r.startswith("<json>") for r in replies)


@pytest.mark.parametrize(
    ("protocol", "reply"), [("0.3", "message"), ("1.0", "task"), ("0.3", "task")]
)
def test_both_protocol_versions(protocol: str, reply: str) -> None:
    settings = AgentSettings(kind="oracle", protocol=protocol, reply=reply)  # type: ignore[arg-type]
    with serve_in_thread(settings) as agent:
        for proxy_mode in ("in-process", "none"):
            result = evaluate(
                agent_endpoint=agent.url, task_ids=("create_task_1",), proxy_mode=proxy_mode
            ).result
            assert result.agent.protocol_version == protocol
            (trial,) = result.trials
            assert trial.reward == 1.0, trial.error
            assert trial.turns == 2
            assert trial.context_id


def test_malformed_tool_calls_are_counted_and_the_trial_goes_on() -> None:
    def answer(text: str, turn: int) -> str:
        # the call, then a broken one (passed to the user as text, as tau2 does)
        return [CREATE, CREATE[:-3]][min(turn, 1)]

    with serve_agent(ScriptedCore(answer)) as url:
        observed = evaluate(agent_endpoint=url, task_ids=("create_task_1",))
    (trial,) = observed.result.trials
    assert trial.malformed_tool_calls == 1
    assert trial.tool_calls == 1
    assert trial.reward == 1.0
    assert [r.malformed_tool_calls for r in trial.turn_records] == [0, 1]
    assert trial.messages[-2].content == CREATE[:-3]
    assert sum(p.value for p in observed.metrics["tau2.task.tool_calls.malformed"]) == 1


def test_a_failing_task_is_recorded_and_the_run_goes_on() -> None:
    def answer(text: str, turn: int) -> str:
        return "" if "Important Meeting" in text else "I cannot help with that."

    with serve_agent(ScriptedCore(answer)) as url:
        observed = evaluate(agent_endpoint=url, task_ids=("create_task_1", "update_task_1"))
    broken, fine = observed.result.trials
    assert broken.termination_reason == "agent_error"
    assert broken.error is not None
    assert "no text and no tool call" in broken.error
    assert broken.reward == 0.0
    assert broken.status == "scored"  # the agent's fault: it counts as a failure
    assert broken.cause == "agent_reply_error"
    assert fine.termination_reason == "user_stop"
    assert fine.error is None
    assert observed.result.summary.scored_trials == 2
    root = next(s for s in observed.spans if s.name == "tau2.task create_task_1")
    assert root.status.status_code.name == "ERROR"


def test_a_timeout_is_the_agents_failure_and_scores_zero() -> None:
    """An agent that hangs must not score higher than one that answers wrongly."""
    with serve_agent(ScriptedCore(lambda text, turn: "hello", delay_s=2.0)) as url:
        result = evaluate(
            agent_endpoint=url, task_ids=("create_task_1",), agent_timeout_s=0.3, proxy_mode="none"
        ).result
    (trial,) = result.trials
    assert trial.termination_reason == "agent_error"
    assert trial.status == "scored"
    assert trial.cause == "agent_timeout"
    assert trial.error is not None
    assert "no reply within 0.3 s" in trial.error
    assert result.summary.scored_trials == 1
    assert result.summary.pass_hat_k == {1: 0.0}
    assert result.summary.average_reward == 0.0
    assert result.status == "complete"


def test_unknown_domain_and_task(oracle: RunningAgent) -> None:
    with pytest.raises(UnknownDomain, match=r"'nope'.*airline"):
        evaluate(agent_endpoint=oracle.url, domain="nope")
    with pytest.raises(UnknownTask, match="'no_such_task'"):
        evaluate(agent_endpoint=oracle.url, task_ids=("create_task_1", "no_such_task"))


def test_bearer_token_is_sent_but_never_recorded(
    oracle: RunningAgent, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    recorders: list[HeaderRecorder] = []
    core = ScriptedCore(lambda text, turn: CREATE if turn == 0 else "Done.")
    with serve_agent(core, recorder=recorders) as url:
        observed = evaluate(
            agent_endpoint=url, task_ids=("create_task_1",), auth_token=TOKEN, a2a_debug=True
        )
    assert recorders[0].seen
    assert set(recorders[0].seen) == {f"Bearer {TOKEN}"}
    # the agent under test (the a2a-sdk server) logs its own requests at DEBUG: not ours
    ours = "\n".join(
        r.getMessage()
        for r in caplog.records
        if not r.name.startswith(("a2a.server", "uvicorn", "evaluator.agents"))
    )
    assert "turn 0 -> agent" in ours  # --a2a-debug logged the exchanges...
    assert TOKEN not in ours  # ...without the credentials
    for span in observed.spans:
        assert TOKEN not in span.to_json()
    path = tmp_path / "r.json"
    from evaluator.results import save_results

    save_results(observed.result, path)
    assert TOKEN not in path.read_text()
    assert observed.result.config["auth"] == "bearer"


def test_cli_runs_saves_and_prints_a_summary(
    oracle: RunningAgent, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "out.json"
    code = main(
        [
            "eval",
            "--domain",
            "mock",
            "--agent-a2a-endpoint",
            oracle.url,
            "--task-ids",
            "create_task_1",
            "update_task_1",
            "--num-trials",
            "2",
            "--save-to",
            str(path),
            "--quiet",
            "--agent-a2a-auth-token",
            TOKEN,
        ]
    )
    out = capsys.readouterr()
    assert code == 0
    assert "pass^2" in out.out
    assert f"results written to {path}" in out.out
    result = load_results(path)
    assert [t.task_id for t in result.trials] == ["create_task_1", "update_task_1"] * 2
    assert result.summary.pass_hat_k == {1: 1.0, 2: 1.0}
    assert TOKEN not in path.read_text() + out.out + out.err
    assert json.loads(path.read_text())["agent"]["via_proxy"] is True


def test_cli_reports_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}/"
    assert main(["eval", "--domain", "mock", "--agent-a2a-endpoint", url, "--quiet"]) == 1
    assert "cannot reach the agent" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        main(["eval", "--domain", "nope", "--agent-a2a-endpoint", url])
    assert exited.value.code == 2
    assert "unknown domain" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["eval", "--domain", "mock", "--agent-a2a-endpoint", url, "--user", "llm"])
    assert "--user-llm" in capsys.readouterr().err


# litellm 1.106's response types trip a pydantic warning the first time they are built
@pytest.mark.filterwarnings("ignore:Item .* is using the `ReadOnly` qualifier")
def test_llm_user_runs_through_litellm_and_its_cost_is_counted(oracle: RunningAgent) -> None:
    # litellm's mock_response: the real tau2 user simulator and litellm, no network
    observed = evaluate(
        agent_endpoint=oracle.url,
        task_ids=("create_task_1",),
        user="llm",
        user_llm="openai/gpt-4.1",
        user_llm_args={"mock_response": "###STOP###", "api_key": "sk-not-real"},
    )
    (trial,) = observed.result.trials
    assert trial.termination_reason == "user_stop"
    assert trial.user_cost > 0
    assert trial.user_input_tokens > 0
    assert trial.user_output_tokens > 0
    assert observed.result.user.llm_args == {"mock_response": "###STOP###", "api_key": "***"}
    tokens = {
        p.attributes["gen_ai.token.type"]: p.value
        for p in observed.metrics["tau2.user_simulator.tokens"]
    }
    assert tokens == {"input": trial.user_input_tokens, "output": trial.user_output_tokens}


def test_a_running_sidecar_can_be_used(oracle: RunningAgent) -> None:
    from evaluator.event_loop import BackgroundLoop
    from evaluator.runner import _start_proxy
    from proxy.telemetry import TelemetrySettings, build_telemetry

    telemetry = build_telemetry(TelemetrySettings(service_name="sidecar"))
    with BackgroundLoop() as loop:
        running = loop.run(_start_proxy("oracle", oracle.url, telemetry), timeout=30)
        try:
            url = running.url_for("oracle")
            observed = evaluate(
                agent_endpoint=oracle.url,
                task_ids=("create_task_1",),
                proxy_mode="url",
                proxy_url=url,
            )
        finally:
            loop.run(running.stop(), timeout=10)
    telemetry.shutdown()
    assert observed.result.agent.proxy_url == url
    assert observed.result.agent.via_proxy
    assert observed.result.trials[0].reward == 1.0
