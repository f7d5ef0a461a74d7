"""The pure derivation of measurements from a results file (evaluator/measurements.py)
against what the evaluator's own instruments emit over OTLP: the same names, tags and
values, so a metrics push and the collector path agree."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from evaluator.measurements import (
    Measurement,
    all_trial_measurements,
    labels_of,
    run_measurements,
)
from evaluator.results import RunResult
from evaluator.telemetry import EvaluatorMetrics
from tests.evaluator.runs import RealRun, catalogue, synthetic_run


def assert_same_as_otlp(result: RunResult, otlp: dict[str, list[Any]]) -> None:
    """The pure derivation from the file aggregates to exactly the OTLP instruments' points."""
    counts: dict[tuple[str, Any], float] = {}
    histograms: dict[tuple[str, Any], list[float]] = {}
    gauges: dict[tuple[str, Any], float] = {}
    measurements: list[Measurement] = [
        m for _, ms in all_trial_measurements(result, "file") for m in ms
    ]
    measurements += run_measurements(labels_of(result), result.summary)
    for m in measurements:
        key = (m.metric, m.tags)
        if m.kind == "count":
            counts[key] = counts.get(key, 0.0) + m.value
        elif m.kind == "distribution":
            histograms.setdefault(key, []).append(m.value)
        else:
            gauges[key] = m.value

    emitted_counts: dict[tuple[str, Any], float] = {}
    emitted_histograms: dict[tuple[str, Any], tuple[int, float]] = {}
    emitted_gauges: dict[tuple[str, Any], float] = {}
    declared = catalogue()
    for name, points in otlp.items():
        for point in points:
            key = (name, tuple(sorted((k, str(v)) for k, v in point.attributes.items())))
            kind = declared[name]["datadog"]
            if kind == "count":
                emitted_counts[key] = point.value
            elif kind == "distribution":
                emitted_histograms[key] = (point.count, point.sum)
            else:
                emitted_gauges[key] = point.value
    assert set(counts) == set(emitted_counts)
    for key, total in counts.items():
        assert total == pytest.approx(emitted_counts[key]), key
    assert set(histograms) == set(emitted_histograms)
    for key, found in histograms.items():
        count, total = emitted_histograms[key]
        assert count == len(found), key
        assert total == pytest.approx(sum(found)), key
    assert gauges == pytest.approx(emitted_gauges)


@pytest.mark.slow
def test_the_push_derives_exactly_what_the_evaluator_emitted_over_otlp(real_run: RealRun) -> None:
    """Same real run, two paths: the OTLP instruments and the derivation from its file."""
    assert_same_as_otlp(real_run.result, real_run.otlp)


def test_failures_and_unscored_trials_derive_as_over_otlp() -> None:
    """Failed trials and a trial not scored (no reward, turns or components) through
    the evaluator's own instruments and through the push's derivation."""
    run = synthetic_run(6, tasks=3)
    broken = replace(
        run.trials[1], status="not_scored", cause="user_simulator_failed", error="llm down"
    )
    run = replace(run, trials=[run.trials[0], broken, *run.trials[2:]])
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    try:
        metrics = EvaluatorMetrics(provider)
        for trial in run.trials:
            metrics.record_trial(run.domain, run.agent.name, "easy", trial, run.run_id)
        metrics.record_run(run.domain, run.agent.name, run.summary, run.run_id)
        data = reader.get_metrics_data()
    finally:
        provider.shutdown()
    assert data is not None
    otlp: dict[str, list[Any]] = {}
    for rm in data.resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                otlp.setdefault(metric.name, []).extend(metric.data.data_points)
    assert_same_as_otlp(run, otlp)
    rewards = sum(p.count for p in otlp["tau2.task.reward"])
    assert rewards == len(run.trials) - 1  # the check above saw the unscored trial
