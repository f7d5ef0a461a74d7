"""``tau2observe merge``: shard files in, one results file out; its arguments, its errors
(every problem listed, nothing written) and its notes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from evaluator.agents import AgentSettings, serve_in_thread
from evaluator.cli import main
from evaluator.config import EvalConfig
from evaluator.merge_cli import selected_order
from evaluator.results import RunResult, load_results, save_results
from tests.evaluator.test_merging import shard
from tests.evaluator.test_runner import identity, run
from tests.evaluator.test_tau2_adapter import MOCK_IDS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def whole() -> Iterator[RunResult]:
    """A flawed agent's run on five mock tasks, twice each (as in test_merging.py)."""
    with serve_in_thread(AgentSettings(kind="flawed")) as agent:
        config = EvalConfig(domain="mock", agent_endpoint=agent.url, num_tasks=5, num_trials=2)
        yield run(config)


def test_merged_shards_equal_the_unsharded_run_trial_by_trial(
    whole: RunResult, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = [save_results(shard(whole, i, 3), tmp_path / f"s{i}.json") for i in (2, 0, 1)]
    out = tmp_path / "merged.json"
    assert main(["merge", *map(str, paths), "--output", str(out)]) == 0
    assert "scored 10 of 10 trials" in capsys.readouterr().out
    merged = load_results(out)
    assert [identity(t) for t in merged.trials] == [identity(t) for t in whole.trials]
    assert [t.task_id for t in merged.tasks] == [t.task_id for t in whole.tasks]
    assert merged.summary.pass_hat_k == pytest.approx(whole.summary.pass_hat_k)
    assert merged.summary.average_reward == pytest.approx(whole.summary.average_reward)
    assert merged.status == "complete"
    assert merged.config["shard"] is None
    assert "merged from 3 runs" in (merged.status_note or "")


def test_the_output_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["merge", "a.json"])
    assert exit_info.value.code == 2
    assert "--output" in capsys.readouterr().err


def test_a_file_that_cannot_be_read_is_named_and_nothing_is_written(
    whole: RunResult, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = save_results(shard(whole, 0, 2), tmp_path / "s0.json")
    bad = tmp_path / "s1.json"
    bad.write_text("{")
    out = tmp_path / "merged.json"
    with pytest.raises(SystemExit) as exit_info:
        main(["merge", str(good), str(bad), "--output", str(out)])
    assert exit_info.value.code == 2
    assert "tau2observe merge: error: " + str(bad) + ": not JSON" in capsys.readouterr().err
    assert not out.exists()


def test_every_problem_is_listed_and_nothing_is_written(
    whole: RunResult, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s0, s2 = shard(whole, 0, 3), shard(whole, 2, 3)
    other = replace(s2, config={**s2.config, "seed": 7})
    paths = [save_results(s0, tmp_path / "a.json"), save_results(other, tmp_path / "c.json")]
    out = tmp_path / "merged.json"
    with pytest.raises(SystemExit) as exit_info:
        main(["merge", *map(str, paths), "--output", str(out)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "tau2observe merge: error: cannot merge:" in err
    assert "missing shard 1/3" in err
    assert "seed is 7" in err
    assert not out.exists()


def test_an_unfinished_shard_is_merged_with_a_note(
    whole: RunResult, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s0, s1 = shard(whole, 0, 2), shard(whole, 1, 2)
    cut = replace(s1, status="interrupted", trials=s1.trials[:-1])
    paths = [save_results(s0, tmp_path / "a.json"), save_results(cut, tmp_path / "b.json")]
    out = tmp_path / "merged.json"
    assert main(["merge", *map(str, paths), "--output", str(out)]) == 0
    captured = capsys.readouterr()
    assert f"merged 2 files into {out}: " in captured.out
    assert "tau2observe merge: note: " in captured.err
    assert load_results(out).status == "interrupted"


def test_the_task_order_is_tau2s_when_it_can_tell(whole: RunResult) -> None:
    assert selected_order(whole) == MOCK_IDS[:5]
    picked = replace(whole, config={**whole.config, "task_ids": ["update_task_1", "create_task_1"]})
    assert selected_order(picked) == ["update_task_1", "create_task_1"]
    assert selected_order(replace(whole, domain="no_such_domain")) == []  # the files' order
