"""tau2's own loader and metrics read our export and agree with our numbers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evaluator.agents import AgentSettings, serve_in_thread
from evaluator.cli import main
from evaluator.config import EvalConfig
from evaluator.results import load_results, save_results
from tests.evaluator.test_runner import run

pytestmark = pytest.mark.slow


def test_tau2_loads_the_export_and_computes_our_average_reward_and_pass_hat_k(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tau2.data_model.simulation import Results
    from tau2.metrics.agent_metrics import compute_metrics

    with serve_in_thread(AgentSettings(kind="flawed")) as agent:
        config = EvalConfig(domain="airline", agent_endpoint=agent.url, num_tasks=5, num_trials=2)
        result = run(config)
    assert 0 < (result.summary.average_reward or 0) < 1  # a spread, or agreement proves little
    assert result.status == "complete"  # every trial scored: tau2 has no other kind
    ours = save_results(result, tmp_path / "ours.json")
    exported = tmp_path / "tau2.json"
    assert main(["export", str(ours), "--format", "tau2", "--output", str(exported)]) == 0
    assert "wrote 10 trials" in capsys.readouterr().out
    loaded = Results.load(exported)
    metrics = compute_metrics(loaded)
    assert metrics.avg_reward == pytest.approx(result.summary.average_reward)
    assert metrics.pass_hat_ks == pytest.approx(result.summary.pass_hat_k)
    assert [s.termination_reason.value for s in loaded.simulations] == [
        t.termination_reason for t in result.trials
    ]
    assert len(loaded.tasks) == 5
    assert loaded.simulations[0].messages  # the conversation goes with it


def test_unscored_trials_are_left_out_and_not_run_ones_are_skipped_samples(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tau2.data_model.simulation import Results

    with serve_in_thread(AgentSettings(kind="oracle")) as agent:
        result = run(EvalConfig(domain="mock", agent_endpoint=agent.url, num_tasks=3))
    data = json.loads(save_results(result, tmp_path / "r.json").read_text())
    data["trials"][1].update(status="not_scored", cause="user_simulator_failed")
    data["trials"][2].update(
        status="not_run", cause="agent_stopped_answering", reward=0.0, success=False,
        termination_reason="agent_error",
    )  # fmt: skip
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(data))
    load_results(edited)  # still a valid results file
    out = tmp_path / "tau2.json"
    assert main(["export", str(edited), "--output", str(out)]) == 0
    assert "1 trials not scored were left out" in capsys.readouterr().err
    loaded = Results.load(out)
    assert [s.task_id for s in loaded.simulations] == [data["trials"][i]["task_id"] for i in (0, 2)]
    assert [s.skipped for s in loaded.simulations] == [False, True]
    assert loaded.simulations[1].reward_info is not None
    assert loaded.simulations[1].reward_info.info == {
        "tau2observe_status": "not_run",
        "tau2observe_cause": "agent_stopped_answering",
    }


def test_a_file_that_is_not_a_results_file_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bogus = tmp_path / "x.json"
    bogus.write_text("{}")
    with pytest.raises(SystemExit) as exit_:
        main(["export", str(bogus), "--output", str(tmp_path / "o.json")])
    assert exit_.value.code == 2
    assert "not a tau2observe results file" in capsys.readouterr().err
