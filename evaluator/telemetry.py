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

from opentelemetry.metrics import MeterProvider
from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as gen_ai

from evaluator.results import RunSummary, TrialResult

METER_NAME = "tau2observe.evaluator"
TRACER_NAME = "tau2observe.evaluator"

ATTR_DOMAIN = "tau2.domain"
ATTR_TASK_ID = "tau2.task.id"
ATTR_TRIAL = "tau2.trial"
ATTR_REWARD = "tau2.reward"
ATTR_SUCCESS = "tau2.success"
ATTR_TERMINATION = "tau2.termination_reason"
ATTR_COMPLEXITY = "tau2.task.complexity"
ATTR_COMPONENT = "tau2.reward.component"
ATTR_K = "tau2.k"
ATTR_TOKEN_TYPE = gen_ai.GEN_AI_TOKEN_TYPE
ATTR_AGENT = gen_ai.GEN_AI_AGENT_NAME
ATTR_OPERATION = gen_ai.GEN_AI_OPERATION_NAME
ATTR_CONVERSATION = gen_ai.GEN_AI_CONVERSATION_ID

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
        "tau2.turns": trial.turns,
        "tau2.tool_calls": trial.tool_calls,
        "tau2.tool_calls.malformed": trial.malformed_tool_calls,
        "tau2.tool_errors": trial.tool_errors,
    }
    if trial.context_id:
        attributes[ATTR_CONVERSATION] = trial.context_id
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

    def record_trial(self, domain: str, agent: str, complexity: str, trial: TrialResult) -> None:
        base = {ATTR_DOMAIN: domain, ATTR_AGENT: agent}
        task = {**base, ATTR_TASK_ID: trial.task_id}
        self.trials.add(
            1,
            {
                **task,
                ATTR_COMPLEXITY: complexity,
                ATTR_SUCCESS: str(trial.success).lower(),
                ATTR_TERMINATION: trial.termination_reason,
            },
        )
        self.duration.record(trial.duration_s, task)
        for turn in trial.turn_records:
            self.turn_duration.record(turn.duration_s, base)
        self.tool_calls.add(trial.tool_calls, task)
        self.malformed.add(trial.malformed_tool_calls, task)
        self.tool_errors.add(trial.tool_errors, task)
        self.user_cost.add(trial.user_cost, base)
        self.user_tokens.add(trial.user_input_tokens, {**base, ATTR_TOKEN_TYPE: "input"})
        self.user_tokens.add(trial.user_output_tokens, {**base, ATTR_TOKEN_TYPE: "output"})
        if trial.infrastructure_error:
            return  # no reward to speak of: the agent was never fully evaluated
        self.reward.record(trial.reward, {**task, ATTR_COMPLEXITY: complexity})
        self.turns.record(trial.turns, task)
        for component, value in trial.reward_detail.breakdown.items():
            self.reward_component.record(value, {**base, ATTR_COMPONENT: component})

    def record_run(self, domain: str, agent: str, summary: RunSummary) -> None:
        base = {ATTR_DOMAIN: domain, ATTR_AGENT: agent}
        for k, value in summary.pass_hat_k.items():
            self.pass_hat_k.set(value, {**base, ATTR_K: str(k)})
        if summary.average_reward is not None:
            self.average_reward.set(summary.average_reward, base)
        if summary.success_rate is not None:
            self.success_rate.set(summary.success_rate, base)
