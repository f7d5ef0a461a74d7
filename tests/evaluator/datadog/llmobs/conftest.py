from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.llmobs_intake import API_KEY, LLMObsIntake, LLMObsRecord

REPO = Path(__file__).resolve().parents[4]


@dataclass
class TracedRun:
    """What tests/evaluator/datadog/llmobs/traced_run.py reported, and what the intake got."""

    report: dict[str, Any]
    record: LLMObsRecord
    stderr: str


def traced_run(
    *args: str, intake: LLMObsIntake | None = None, **env: str
) -> tuple[dict[str, Any], str]:
    """Run traced_run.py in a child process; (its JSON report, its stderr)."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("DD_", "OTEL_"))}
    environ["PYTHONPATH"] = str(REPO)
    if intake is not None:
        environ |= {"DD_API_KEY": API_KEY, "DD_LLMOBS_OVERRIDE_ORIGIN": intake.url}
    environ |= env
    done = subprocess.run(
        [sys.executable, "-m", "tests.evaluator.datadog.llmobs.traced_run", *args],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return report, done.stderr


def traced_to_intake(**env: str) -> Iterator[TracedRun]:
    with LLMObsIntake() as intake:
        report, stderr = traced_run("--llmobs", intake=intake, **env)
        # spans and evaluations go out on ddtrace's writer threads; shutdown flushed them
        intake.wait_for(lambda r: len(r.spans) >= 5 and len(r.evaluations) >= 8, within=10)
        yield TracedRun(report, intake.record, stderr)


@pytest.fixture(scope="package")
def traced() -> Iterator[TracedRun]:
    """One traced run (two trials, one turn each) sent to the recording intake."""
    yield from traced_to_intake()


@pytest.fixture(scope="package")
def traced_with_content() -> Iterator[TracedRun]:
    """The same, with message content capture on."""
    yield from traced_to_intake(OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT="true")
