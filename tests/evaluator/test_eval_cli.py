"""``tau2observe eval`` as a user runs it: arguments, progress, exit statuses, the LLM user."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from evaluator.agents import AgentSettings, RunningAgent, serve_in_thread
from evaluator.cli import main
from evaluator.eval_cli import EXIT_INCOMPLETE, EXIT_STOPPED, exit_status
from evaluator.results import load_results

pytestmark = pytest.mark.slow

CHECK_WITHOUT_TAU2 = """
import sys
from evaluator.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exc:
    print("exit", exc.code, "tau2 imported:", "tau2" in sys.modules)
"""


@pytest.fixture(scope="module")
def oracle() -> Iterator[RunningAgent]:
    with serve_in_thread(AgentSettings(kind="oracle")) as running:
        yield running


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--num-tasks", "0"], "--num-tasks=0: must be at least 1"),
        (["--max-retries", "-1"], "--max-retries=-1: must be 0 or more"),
        (["--retry-failed"], "--retry-failed continues a run: use it with --resume"),
        (["--resume"], "--resume continues the results file named by --save-to"),
        (["--resume", "--save-to", "/nonexistent/r.json"], "does not exist"),
        (["--shard", "2/2"], "--shard='2/2': the shard index is 0-based: use 0 to 1"),
        (["--shard", "1"], "--shard='1': write INDEX/COUNT"),
        (["--domain", "airlin"], "--domain 'airlin': unknown domain"),
        (
            ["--ray-address", "auto"],
            "--ray-address names a Ray cluster: use it with --executor ray",
        ),
    ],
)
def test_argument_errors_come_before_tau2_is_imported(args: list[str], message: str) -> None:
    command = ["eval", "--domain", "mock", "--agent-a2a-endpoint", "http://127.0.0.1:9/", *args]
    done = subprocess.run(
        [sys.executable, "-c", CHECK_WITHOUT_TAU2, *command],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "exit 2 tau2 imported: False" in done.stdout
    assert message in done.stderr


def test_an_unconfigured_user_llm_is_refused_before_the_run(
    oracle: RunningAgent,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    path = tmp_path / "r.json"
    with pytest.raises(SystemExit) as exit_:
        main(["eval", "--domain", "mock", "--agent-a2a-endpoint", oracle.url, "--user", "llm",
              "--user-llm", "openai/gpt-4.1", "--save-to", str(path)])  # fmt: skip
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "--user-llm openai/gpt-4.1: not configured: set OPENAI_API_KEY" in err
    assert "api_key" in err
    assert not path.exists()


def test_progress_is_one_line_per_trial_off_a_terminal_and_the_summary_says_what_it_covers(
    oracle: RunningAgent, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "r.json"
    code = main(["eval", "--domain", "mock", "--agent-a2a-endpoint", oracle.url,
                 "--task-ids", "create_task_1", "update_task_1", "--num-trials", "2",
                 "--save-to", str(path)])  # fmt: skip
    assert code == 0
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.startswith("[")]
    assert len(lines) == 4
    assert lines[0].startswith("[1/4] task ")
    assert ": pass, reward 1.00" in lines[0]
    assert "scored 4 of 4 trials" in captured.out
    assert "95% intervals (Wilson, n = 2 tasks)" in captured.out
    assert "not tau2 scores" not in captured.err  # the oracle is one of ours
    assert "the spans (the sidecar's per-exchange view) were not kept" in captured.err
    assert json.loads(path.read_text())["status"] == "complete"


def test_a_task_split_and_the_notes_about_the_selection(
    oracle: RunningAgent, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):  # task 1 is in airline's train split, not in test
        main(["eval", "--domain", "airline", "--agent-a2a-endpoint", oracle.url,
              "--task-split-name", "test", "--task-ids", "1", "2"])  # fmt: skip
    assert "--task-ids: domain 'airline' has no task '1'" in capsys.readouterr().err
    path = tmp_path / "r.json"
    code = main(["eval", "--domain", "airline", "--agent-a2a-endpoint", oracle.url,
                 "--task-split-name", "test", "--task-ids", "6", "2", "--num-tasks", "1",
                 "--save-to", str(path)])  # fmt: skip
    assert code == 0
    assert "--num-tasks 1 keeps the first 1 of the 2 --task-ids" in capsys.readouterr().err
    result = load_results(path)
    assert result.config["task_split"] == "test"
    assert [t.task_id for t in result.trials] == ["6"]


def test_two_shards_cover_the_selected_tasks_once_each_and_the_file_records_its_shard(
    oracle: RunningAgent, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ran: list[list[str]] = []
    for index in (0, 1):
        path = tmp_path / f"shard-{index}.json"
        code = main(["eval", "--domain", "mock", "--agent-a2a-endpoint", oracle.url,
                     "--num-tasks", "5", "--num-trials", "2", "--shard", f"{index}/2",
                     "--save-to", str(path), "--quiet"])  # fmt: skip
        assert code == 0
        result = load_results(path)
        assert result.config["shard"] == [index, 2]
        ids = [t.task_id for t in result.tasks]
        ran.append(ids)
        # every trial of a task stays in its shard
        assert sorted(t.task_id for t in result.trials) == sorted(ids * 2)
    assert "--shard 0/2 runs 3 of the 5 selected tasks" in capsys.readouterr().err
    selected = ["create_task_1", "create_task_1_with_env_assertions", "create_task_1_nl_eval",
                "update_task_1", "update_task_with_message_history"]  # fmt: skip
    assert ran == [selected[0::2], selected[1::2]]


def test_a_resumed_run_must_be_the_same_shard(
    oracle: RunningAgent, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "r.json"
    base = ["eval", "--domain", "mock", "--agent-a2a-endpoint", oracle.url, "--num-tasks", "2",
            "--save-to", str(path), "--quiet"]  # fmt: skip
    assert main([*base, "--shard", "0/2"]) == 0
    with pytest.raises(SystemExit) as exit_:
        main([*base, "--shard", "1/2", "--resume"])
    assert exit_.value.code == 2
    assert "shard: [0, 2] -> [1, 2]" in capsys.readouterr().err


def test_an_unknown_split_names_the_splits(
    oracle: RunningAgent, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        main(["eval", "--domain", "airline", "--agent-a2a-endpoint", oracle.url,
              "--task-split-name", "nope"])  # fmt: skip
    assert "task set 'airline' has the splits base, test, train" in capsys.readouterr().err


def test_the_fast_domain_check_knows_every_domain_tau2_has() -> None:
    from evaluator.domains.registration import loaded_folder, tau2_domains
    from evaluator.eval_cli import TAU2_DOMAINS

    assert {d for d in tau2_domains() if loaded_folder(d) is None} == set(TAU2_DOMAINS)


def test_exit_statuses_are_distinct() -> None:
    assert [exit_status(s) for s in ("complete", "incomplete", "stopped", "interrupted")] == [
        0,
        EXIT_INCOMPLETE,
        EXIT_STOPPED,
        130,
    ]
    assert len({0, EXIT_INCOMPLETE, EXIT_STOPPED, 1, 2, 130}) == 6


@pytest.mark.filterwarnings(
    "ignore:Item 'summary' on TypedDict class 'ChatCompletionReasoningItem':UserWarning"
)
def test_the_llm_user_runs_telecom_whose_user_has_tools(
    oracle: RunningAgent, tmp_path: Path
) -> None:
    """litellm needs the mcp package once the simulated user has tools; offline through
    litellm's mock_response, the real user simulator path."""
    path = tmp_path / "r.json"
    code = main(["eval", "--domain", "telecom", "--agent-a2a-endpoint", oracle.url,
                 "--num-tasks", "1", "--user", "llm", "--user-llm", "openai/gpt-4.1",
                 "--user-llm-args", '{"mock_response": "My phone has no service. ###STOP###"}',
                 "--save-to", str(path)])  # fmt: skip
    assert code == 0
    (trial,) = load_results(path).trials
    assert trial.status == "scored", trial.error
    assert trial.messages[0].role in ("assistant", "user")
