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

from evaluator import measurements as m
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
    """The instruments of ``dashboards/metrics.yaml`` (source: evaluator)."""

    def __init__(self, meter_provider: MeterProvider) -> None:
        meter = meter_provider.get_meter(METER_NAME)
        self.trials = meter.create_counter(
            "tau2.task.trials", unit="{trial}", description="Task trials finished."
        )
        self.reward = meter.create_histogram(
            "tau2.task.reward", unit="1", description="Reward of each task trial."
        )
        self.reward_component = meter.create_histogram(
            "tau2.task.reward_component", unit="1", description="Reward breakdown components."
        )
        self.turns = meter.create_histogram(
            "tau2.task.turns", unit="{turn}", description="Agent turns per task trial."
        )
        self.duration = meter.create_histogram(
            "tau2.task.duration", unit="s", description="Wall time of one task trial."
        )
        self.turn_duration = meter.create_histogram(
            "tau2.turn.duration", unit="s", description="Wall time of one agent turn."
        )
        self.tool_calls = meter.create_counter(
            "tau2.task.tool_calls", unit="{call}", description="Tool calls the agent made."
        )
        self.malformed = meter.create_counter(
            "tau2.task.tool_calls.malformed",
            unit="{call}",
            description="Replies that looked like a tool call but could not be parsed.",
        )
        self.tool_errors = meter.create_counter(
            "tau2.task.tool_errors",
            unit="{call}",
            description="Tool calls the environment rejected.",
        )
        self.user_cost = meter.create_counter(
            "tau2.user_simulator.cost", unit="{USD}", description="User-simulator LLM cost."
        )
        self.user_tokens = meter.create_counter(
            "tau2.user_simulator.tokens", unit="{token}", description="User-simulator LLM tokens."
        )
        self.pass_hat_k = meter.create_gauge(
            "tau2.run.pass_hat_k", unit="1", description="pass^k of the run."
        )
        self.average_reward = meter.create_gauge(
            "tau2.run.average_reward", unit="1", description="Average reward of the run."
        )
        self.success_rate = meter.create_gauge(
            "tau2.run.success_rate", unit="1", description="Share of task trials with reward 1."
        )
        self._counters: dict[str, Counter] = {
            m.TRIALS: self.trials,
            m.TOOL_CALLS: self.tool_calls,
            m.MALFORMED: self.malformed,
            m.TOOL_ERRORS: self.tool_errors,
            m.USER_COST: self.user_cost,
            m.USER_TOKENS: self.user_tokens,
        }
        self._histograms: dict[str, Histogram] = {
            m.REWARD: self.reward,
            m.REWARD_COMPONENT: self.reward_component,
            m.TURNS: self.turns,
            m.DURATION: self.duration,
            m.TURN_DURATION: self.turn_duration,
        }
        self._gauges = {
            m.PASS_HAT_K: self.pass_hat_k,
            m.AVERAGE_REWARD: self.average_reward,
            m.SUCCESS_RATE: self.success_rate,
        }

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
