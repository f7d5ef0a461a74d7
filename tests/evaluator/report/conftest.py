"""A real small run for the report tests: the oracle and the flawed agent as A2A servers,
each evaluated on tau2's mock domain through the in-process sidecar, spans to a trace file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from evaluator.agents import AgentSettings, serve_in_thread
from evaluator.config import EvalConfig
from evaluator.results import RunResult, save_results
from evaluator.runner import run_evaluation
from proxy.telemetry import TelemetrySettings, build_telemetry


@dataclass(frozen=True)
class SmallRun:
    results: list[RunResult]  # oracle, flawed
    result_paths: list[Path]
    trace_file: Path


@pytest.fixture(scope="session")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> SmallRun:
    folder = tmp_path_factory.mktemp("small-run")
    trace_file = folder / "traces.jsonl"
    telemetry = build_telemetry(
        TelemetrySettings(service_name="test-evaluator", trace_file=trace_file)
    )
    results, paths = [], []
    try:
        for kind in ("oracle", "flawed"):
            with serve_in_thread(AgentSettings(kind=kind)) as agent:
                config = EvalConfig(
                    domain="mock", agent_endpoint=agent.url, agent_name=kind, max_concurrency=2
                )
                result = run_evaluation(config, telemetry)
            results.append(result)
            paths.append(save_results(result, folder / f"results-{kind}.json"))
    finally:
        telemetry.shutdown()
    return SmallRun(results, paths, trace_file)
