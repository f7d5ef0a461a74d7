"""The evaluator's spans and metrics (meter ``tau2observe.evaluator``).

Each task trial is one trace: a root ``tau2.task <task id>`` span (INTERNAL,
``gen_ai.operation.name=invoke_workflow``) carrying the task, trial, reward and outcome,
and one ``invoke_agent <agent>`` CLIENT span per turn (see
:mod:`evaluator.a2a_conversation`), under which the HTTP client span and the sidecar's
spans nest through ``traceparent``.

Metric names, units and tags are those of ``dashboards/metrics.yaml``; tags never carry
context, request, span or trace ids.
"""

from __future__ import annotations

from typing import Any

from opentelemetry.metrics import Counter, Histogram, MeterProvider
from opentelemetry.metrics import _Gauge as Gauge

from evaluator.attributes import (
    ATTR_AGENT,
    ATTR_CAUSE,
    ATTR_CONVERSATION,
    ATTR_DOMAIN,
    ATTR_OPERATION,
    ATTR_REWARD,
    ATTR_STATUS,
    ATTR_SUCCESS,
    ATTR_TASK_ID,
    ATTR_TERMINATION,
    ATTR_TRIAL,
)
from evaluator.measurements import Measurement, RunLabels, run_measurements, trial_measurements
from evaluator.results import RunSummary, TrialResult
from proxy import instruments

METER_NAME = "tau2observe.evaluator"
TRACER_NAME = "tau2observe.evaluator"

TASK_SPAN_PREFIX = "tau2.task"


def task_span_attributes(domain: str, task_id: str, trial: int, agent: str) -> dict[str, Any]:
    return {
        ATTR_OPERATION: "invoke_workflow",
        ATTR_DOMAIN: domain,
        ATTR_TASK_ID: task_id,
        ATTR_TRIAL: trial,
        ATTR_AGENT: agent,
    }


def outcome_attributes(trial: TrialResult) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        ATTR_REWARD: trial.reward,
        ATTR_SUCCESS: trial.success,
        ATTR_TERMINATION: trial.termination_reason,
        ATTR_STATUS: trial.status,
        "tau2.turns": trial.turns,
        "tau2.tool_calls": trial.tool_calls,
        "tau2.tool_calls.malformed": trial.malformed_tool_calls,
        "tau2.tool_errors": trial.tool_errors,
    }
    if trial.context_id:
        attributes[ATTR_CONVERSATION] = trial.context_id
    if trial.cause:
        attributes[ATTR_CAUSE] = trial.cause
    return attributes


class EvaluatorMetrics:
    """The evaluator's instruments (:mod:`proxy.instruments`, source ``evaluator``)."""

    def __init__(self, meter_provider: MeterProvider) -> None:
        meter = meter_provider.get_meter(METER_NAME)
        made = {i.name: instruments.create(meter, i) for i in instruments.of("evaluator")}
        self._counters = {n: i for n, i in made.items() if isinstance(i, Counter)}
        self._histograms = {n: i for n, i in made.items() if isinstance(i, Histogram)}
        self._gauges = {n: i for n, i in made.items() if isinstance(i, Gauge)}

    def record_trial(
        self,
        domain: str,
        agent: str,
        complexity: str,
        trial: TrialResult,
        run_id: str | None = None,
    ) -> None:
        self._record(trial_measurements(RunLabels(domain, agent, run_id), complexity, trial))

    def record_run(
        self, domain: str, agent: str, summary: RunSummary, run_id: str | None = None
    ) -> None:
        self._record(run_measurements(RunLabels(domain, agent, run_id), summary))

    def _record(self, measurements: list[Measurement]) -> None:
        """One derivation (:mod:`evaluator.measurements`) feeds both OTLP and the direct push."""
        for each in measurements:
            attributes = dict(each.tags)
            if each.kind == "count":
                self._counters[each.metric].add(each.value, attributes)
            elif each.kind == "distribution":
                self._histograms[each.metric].record(each.value, attributes)
            else:
                self._gauges[each.metric].set(each.value, attributes)
