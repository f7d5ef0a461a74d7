"""``tau2observe agent``: help, bad command lines, and a real server that stops on SIGINT."""

from __future__ import annotations

import re
import signal
import subprocess
import sys

import httpx
import pytest

from evaluator.cli import build_parser, main


def test_help_explains_the_kinds(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["agent", "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    for kind in ("llm", "oracle", "flawed", "noop"):
        assert re.search(rf"^  {kind}\s", out, re.M), kind
    for option in ("--protocol", "--reply", "--seed", "--model", "--llm-args", "--public-url"):
        assert option in out


@pytest.mark.parametrize(
    ("argv", "problem"),
    [
        (["agent", "llm"], "model=None: the llm agent needs a litellm model name"),
        (["agent", "llm", "--model", "m", "--llm-args", "[1"], "--llm-args: not JSON"),
        (["agent", "llm", "--model", "m", "--llm-args", "[1]"], "must be a JSON object"),
        (["agent", "noop", "--model", "m"], "only the llm agent uses a model"),
        (["agent", "noop", "--public-url", "example.com"], "public_url='example.com'"),
    ],
)
def test_bad_command_lines_exit_2_naming_the_problem(
    argv: list[str], problem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert problem in capsys.readouterr().err


def test_serves_until_interrupted() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "evaluator.cli", "agent", "noop", "--port", "0", "--reply", "task"],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        url = None
        for line in process.stderr:
            found = re.search(r"serving A2A at (http://127\.0\.0\.1:\d+/)", line)
            if found:
                url = found.group(1)
                break
        assert url, "the agent never said where it listens"
        card = httpx.get(url + ".well-known/agent-card.json").json()
        assert card["name"] == "tau2observe-noop"
        process.send_signal(signal.SIGINT)
        rest = process.stderr.read()  # until the process closes it on exit
        assert process.wait(timeout=60) == 130  # graceful stop, then the usual SIGINT status
        assert "Finished server process" in rest
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stderr is not None:
            process.stderr.close()
