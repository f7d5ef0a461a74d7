"""Shards joined into one run: the same trials and figures as the unsharded run."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from evaluator.agents import AgentSettings, serve_in_thread
from evaluator.config import EvalConfig
from evaluator.merging import MergeError, merge_runs
from evaluator.results import RunResult
from tests.evaluator.test_runner import run

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def whole() -> Iterator[RunResult]:
    with serve_in_thread(AgentSettings(kind="flawed")) as agent:
        config = EvalConfig(domain="mock", agent_endpoint=agent.url, num_tasks=5, num_trials=2)
        yield run(config)


def shard(result: RunResult, index: int, count: int) -> RunResult:
    """What a shard's own run records: its tasks (i % count == index) and their trials."""
    ids = [t.task_id for t in result.tasks][index::count]
    return replace(
        result,
        run_id=f"shard{index}-{result.run_id}",
        config={**result.config, "shard": [index, count]},
        tasks=[t for t in result.tasks if t.task_id in ids],
        trials=[t for t in result.trials if t.task_id in ids],
    )


def test_a_missing_or_doubled_shard_and_another_configuration_are_reported(
    whole: RunResult,
) -> None:
    s0, s1, s2 = (shard(whole, i, 3) for i in range(3))
    with pytest.raises(MergeError, match=r"missing shard 1/3"):
        merge_runs([("a", s0), ("c", s2)])
    with pytest.raises(MergeError) as doubled:
        merge_runs([("a", s0), ("b", s1), ("b2", s1), ("c", s2)])
    assert "shard 1/3 appears twice: b, b2" in str(doubled.value)
    assert any("is in more than one file: b, b2" in p for p in doubled.value.problems)
    other = replace(s1, config={**s1.config, "seed": 7})
    with pytest.raises(MergeError, match=r"b: seed is 7, but a has 300"):
        merge_runs([("a", s0), ("b", other), ("c", s2)])


def test_an_unfinished_shard_leaves_the_merged_run_incomplete(whole: RunResult) -> None:
    s0, s1 = shard(whole, 0, 2), shard(whole, 1, 2)
    cut = replace(s1, status="interrupted", trials=s1.trials[:-1])
    merged = merge_runs([("a", s0), ("b", cut)])
    assert merged.status == "interrupted"
    assert merged.summary.trials == 10
    assert len(merged.trials) == 9
    assert merged.summary.pass_hat_k_tasks == 4  # the cut task is not whole
