"""``tau2observe scenario run`` on the shipped scenario, end to end, with real processes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evaluator.cli import main
from evaluator.green.scenario import load_scenario
from proxy.errors import UsageError
from tests.evaluator.a2a_servers import free_port

SHIPPED = Path(__file__).parents[3] / "scenarios" / "tau2-mock.toml"


def test_the_shipped_scenario_reads_as_agentbeats_writes_it() -> None:
    scenario = load_scenario(SHIPPED)
    assert scenario.green.endpoint == "http://127.0.0.1:9009/"
    assert scenario.request() == {
        "participants": {"agent": "http://127.0.0.1:9019/"},
        "config": {"domain": "mock", "num_tasks": 3, "num_trials": 2},
    }
    assert scenario.green.argv()[1:4] == ["-m", "evaluator.cli", "serve"]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[config]\ndomain = 'mock'\n", "[green_agent] is missing"),
        ("[green_agent]\nendpoint = 'x'\n", "[green_agent].endpoint must be an http(s) URL"),
        ("[green_agent]\nendpoint = 'http://a'\n", "needs at least one [[participants]]"),
        ("[green_agent]\nendpoint = 'http://a'\n[[participants]]\nendpoint = 'http://b'\n",
         "[[participants]] #1 needs a role"),
        ("[green_agent]\nendpoint = 'http://a'\nport = 1\n", "unknown key(s) port"),
        ("[green", "not TOML"),
    ],
)  # fmt: skip
def test_bad_scenarios_say_what_and_where(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "s.toml"
    path.write_text(text)
    with pytest.raises(UsageError) as caught:
        load_scenario(path)
    assert problem in str(caught.value)


@pytest.mark.slow
def test_the_scenario_runner_end_to_end_on_the_shipped_scenario(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    green, agent = free_port(), free_port()
    text = SHIPPED.read_text().replace("9009", str(green)).replace("9019", str(agent))
    scenario = tmp_path / "scenario.toml"
    scenario.write_text(text)
    monkeypatch.chdir(tmp_path)  # the green agent's --data-dir is relative
    code = main(["scenario", "run", str(scenario), "--output", "out/results.json"])
    assert code == 0
    written = json.loads((tmp_path / "out" / "results.json").read_text())
    assert written["status"] == "completed"
    assert written["participants"] == {"agent": f"http://127.0.0.1:{agent}/"}
    (result,) = written["results"]
    assert set(result["task_rewards"]) == {
        "create_task_1", "create_task_1_with_env_assertions", "create_task_1_nl_eval",
    }  # fmt: skip
    assert (result["score"], result["max_score"], result["pass_rate"]) == (3.0, 3, 100.0)
    assert result["pass_hat_k"] == {"1": 1.0, "2": 1.0}
    err = capsys.readouterr().err
    assert err.count("] task ") == 6  # one status line per trial, followed on the stream
    assert list((tmp_path / "out" / "scenario-green" / "runs").glob("*.json"))
