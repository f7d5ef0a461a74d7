"""The `tau2observe domain` command, and a domain from a folder through eval, the sample
agents, the demo and the report."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from evaluator.agents import AgentSettings, serve_in_thread
from evaluator.agents.tau2_tasks import DEFAULT_TASK_SETS
from evaluator.cli import main
from evaluator.results import load_results
from tests.evaluator.domains.copies import copy_domain, task

ROOT = Path(__file__).parents[3]


def test_list_names_the_built_in_domain(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["domain", "list"]) == 0
    assert "vacation_rental" in capsys.readouterr().out.split()


def test_check_exits_1_and_prints_each_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def wrong_tool(tasks: list[dict[str, Any]]) -> None:
        criteria = task(tasks, "refund_quote_only")["evaluation_criteria"]
        criteria["actions"][0]["name"] = "get_reservation"

    folder = copy_domain(tmp_path, "cli_broken", wrong_tool)
    argv = ["domain", "check", str(folder), "--task-ids", "refund_quote_only"]
    assert main(argv) == 1
    out = capsys.readouterr().out
    assert (
        "problem: task refund_quote_only: evaluation_criteria.actions[0].name: "
        "no assistant tool 'get_reservation'"
    ) in out
    assert "1 problem(s)" in out


def test_check_passes_a_sound_copy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = copy_domain(tmp_path, "cli_sound")
    assert main(["domain", "check", str(folder), "--task-ids", "host_cancelled_stay"]) == 0
    out = capsys.readouterr().out
    assert f"{folder.name}: 35 tasks, 1 replayed; splits: base 35, train 20, test 15" in out
    assert "OK" in out


@pytest.mark.slow
def test_eval_and_report_take_a_domain_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = copy_domain(tmp_path, "eval_folder")
    results = tmp_path / "results.json"
    settings = AgentSettings(kind="oracle", task_sets=(*DEFAULT_TASK_SETS, str(folder)))
    with serve_in_thread(settings) as oracle:
        argv = ["eval", "--domain", str(folder), "--agent-a2a-endpoint", oracle.url]
        argv += ["--num-tasks", "3", "--save-to", str(results), "--quiet"]
        assert main(argv) == 0
    result = load_results(results)
    assert result.domain == folder.name  # the folder's name, not its path
    assert [t.reward for t in result.trials] == [1.0, 1.0, 1.0]
    page = tmp_path / "report.html"
    assert main(["report", str(results), "--output", str(page)]) == 0
    assert folder.name in page.read_text()
    capsys.readouterr()


@pytest.mark.slow
def test_the_demo_runs_a_domain_from_the_search_path(tmp_path: Path) -> None:
    folder = copy_domain(tmp_path / "domains", "demo_folder")
    output = tmp_path / "demo"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env["TAU2OBSERVE_DOMAINS"] = str(folder.parent)
    command = [sys.executable, "-m", "evaluator.cli", "demo", "--domain", folder.name]
    command += ["--agents", "always-approve", "always-deny", "--num-tasks", "4"]
    command += ["--num-trials", "1", "--output", str(output)]
    done = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    approve = load_results(output / "results-always-approve.json")
    deny = load_results(output / "results-always-deny.json")
    assert approve.domain == deny.domain == folder.name
    # the first four tasks are cancellations: approving in full is right for the 1st and 3rd
    assert [t.success for t in approve.trials] == [True, False, True, False]
    assert not any(t.success for t in deny.trials)
    assert folder.name in (output / "report.html").read_text()
