"""``tau2observe serve`` and ``scenario`` on the command line: bad options before tau2 loads."""

from __future__ import annotations

import subprocess
import sys

import pytest

CHECK_WITHOUT_TAU2 = """
import sys
from evaluator.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exc:
    print("exit", exc.code, "tau2 imported:", "tau2" in sys.modules)
"""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["serve", "--data-dir", "d", "--port", "70000"], "--port=70000: must be between 0"),
        (["serve", "--data-dir", "d", "--max-concurrent-evaluations", "0"],
         "--max-concurrent-evaluations=0: must be at least 1"),
        (["serve", "--data-dir", "d", "--message-format", "xml"], "--message-format 'xml'"),
        (["serve", "--data-dir", "d", "--llm-args", "[1]"], "--llm-args: must be a JSON object"),
        (["serve", "--data-dir", "d", "--public-url", "host:1"], "--public-url='host:1'"),
        (["scenario", "run", "/nonexistent.toml"], "/nonexistent.toml: cannot read"),
    ],
)  # fmt: skip
def test_bad_options_are_refused_before_tau2_is_imported(args: list[str], message: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHECK_WITHOUT_TAU2, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "exit 2 tau2 imported: False" in done.stdout, done.stderr
    assert message in done.stderr
