"""``tau2observe demo --via-green``: the demo's evaluations asked of the green agent."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from evaluator.results import load_results

ROOT = Path(__file__).parents[3]


@pytest.mark.slow
def test_the_demo_runs_its_evaluations_through_the_green_agent(tmp_path: Path) -> None:
    output = tmp_path / "demo"
    done = subprocess.run(
        [sys.executable, "-m", "evaluator.cli", "demo", "--via-green", "--domain", "mock",
         "--num-tasks", "2", "--num-trials", "1", "--output", str(output)],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    names = sorted(p.name for p in output.iterdir())
    assert "report.html" in names
    assert "green" in names
    runs = sorted((output / "green" / "runs").glob("*.json"))
    assert len(runs) == 2  # one A2A task per agent
    for kind in ("oracle", "flawed"):
        result = load_results(output / f"results-tau2observe-{kind}.json")
        assert result.run_id in {p.stem for p in runs}  # the green agent's run, copied
        assert len(result.trials) == 2
    assert "green agent at http://127.0.0.1:" in done.stderr
    assert "oracle: [1/2] task" in done.stderr
    assert "pass^1" in done.stdout
