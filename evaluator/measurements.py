"""A results file's evaluation metrics as plain measurements, one pure function per family.

The one derivation of the evaluation metrics (``dashboards/metrics.yaml``, source:
evaluator): :class:`evaluator.telemetry.EvaluatorMetrics` records these over OTLP and
``tau2observe metrics push`` sends them to Datadog's API, so both paths put the same series
in Datadog. Tags never carry context, request, span or trace ids.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from evaluator.attributes import (
    ATTR_AGENT,
    ATTR_COMPLEXITY,
    ATTR_COMPONENT,
    ATTR_DOMAIN,
    ATTR_K,
    ATTR_RUN_ID,
    ATTR_SUCCESS,
    ATTR_TASK_ID,
    ATTR_TERMINATION,
    ATTR_TOKEN_TYPE,
)
from evaluator.results import ResultsFileError, RunResult, RunSummary, TrialResult
from proxy import instruments

# What each OTel instrument becomes in Datadog through the collector's exporter:
# delta counters -> count, gauges -> gauge, histograms -> distribution.
Kind = Literal["count", "gauge", "distribution"]
Tags = tuple[tuple[str, str], ...]

TRIALS = instruments.TASK_TRIALS.name
REWARD = instruments.TASK_REWARD.name
REWARD_COMPONENT = instruments.TASK_REWARD_COMPONENT.name
TURNS = instruments.TASK_TURNS.name
DURATION = instruments.TASK_DURATION.name
TURN_DURATION = instruments.TURN_DURATION.name
TOOL_CALLS = instruments.TASK_TOOL_CALLS.name
MALFORMED = instruments.TASK_MALFORMED.name
TOOL_ERRORS = instruments.TASK_TOOL_ERRORS.name
USER_COST = instruments.USER_COST.name
USER_TOKENS = instruments.USER_TOKENS.name
PASS_HAT_K = instruments.RUN_PASS_HAT_K.name
AVERAGE_REWARD = instruments.RUN_AVERAGE_REWARD.name
SUCCESS_RATE = instruments.RUN_SUCCESS_RATE.name


@dataclass(frozen=True)
class Measurement:
    """One value of one metric, with its tags (OTel attributes) as sorted key/value pairs."""

    metric: str
    kind: Kind
    value: float
    tags: Tags


@dataclass(frozen=True)
class RunLabels:
    """What tags every measurement of a run: the domain, the agent under test, the run."""

    domain: str
    agent: str
    run_id: str | None = None

    def tags(self) -> dict[str, str]:
        tags = {ATTR_DOMAIN: self.domain, ATTR_AGENT: self.agent}
        if self.run_id:
            tags[ATTR_RUN_ID] = self.run_id
        return tags

    def task(self, trial: TrialResult) -> dict[str, str]:
        return {**self.tags(), ATTR_TASK_ID: trial.task_id}


def _m(metric: str, kind: Kind, value: float, tags: dict[str, str]) -> Measurement:
    return Measurement(metric, kind, float(value), tuple(sorted(tags.items())))


# --- per trial ---------------------------------------------------------------------------


def trial_outcome(run: RunLabels, complexity: str, trial: TrialResult) -> list[Measurement]:
    """``tau2.task.trials``: one per trial, tagged with success and termination reason."""
    tags = {
        **run.task(trial),
        ATTR_COMPLEXITY: complexity,
        ATTR_SUCCESS: str(trial.success).lower(),
        ATTR_TERMINATION: trial.termination_reason,
    }
    return [_m(TRIALS, "count", 1, tags)]


def trial_duration(run: RunLabels, trial: TrialResult) -> list[Measurement]:
    return [_m(DURATION, "distribution", trial.duration_s, run.task(trial))]


def turn_durations(run: RunLabels, trial: TrialResult) -> list[Measurement]:
    return [_m(TURN_DURATION, "distribution", t.duration_s, run.tags()) for t in trial.turn_records]


def tool_calls(run: RunLabels, trial: TrialResult) -> list[Measurement]:
    """Tool calls made, malformed and rejected; zeros too, as the OTLP counters add them."""
    tags = run.task(trial)
    return [
        _m(TOOL_CALLS, "count", trial.tool_calls, tags),
        _m(MALFORMED, "count", trial.malformed_tool_calls, tags),
        _m(TOOL_ERRORS, "count", trial.tool_errors, tags),
    ]


def user_simulator(run: RunLabels, trial: TrialResult) -> list[Measurement]:
    return [
        _m(USER_COST, "count", trial.user_cost, run.tags()),
        _m(USER_TOKENS, "count", trial.user_input_tokens, {**run.tags(), ATTR_TOKEN_TYPE: "input"}),
        _m(
            USER_TOKENS,
            "count",
            trial.user_output_tokens,
            {**run.tags(), ATTR_TOKEN_TYPE: "output"},
        ),
    ]


def reward(run: RunLabels, complexity: str, trial: TrialResult) -> list[Measurement]:
    return [
        _m(REWARD, "distribution", trial.reward, {**run.task(trial), ATTR_COMPLEXITY: complexity})
    ]


def turns(run: RunLabels, trial: TrialResult) -> list[Measurement]:
    return [_m(TURNS, "distribution", trial.turns, run.task(trial))]


def reward_components(run: RunLabels, trial: TrialResult) -> list[Measurement]:
    return [
        _m(REWARD_COMPONENT, "distribution", value, {**run.tags(), ATTR_COMPONENT: component})
        for component, value in trial.reward_detail.breakdown.items()
    ]


def trial_measurements(run: RunLabels, complexity: str, trial: TrialResult) -> list[Measurement]:
    """Everything one finished trial contributes."""
    found = [
        *trial_outcome(run, complexity, trial),
        *trial_duration(run, trial),
        *turn_durations(run, trial),
        *tool_calls(run, trial),
        *user_simulator(run, trial),
    ]
    if not trial.scored:
        return found  # no reward to speak of: the evaluator's side failed
    return [
        *found,
        *reward(run, complexity, trial),
        *turns(run, trial),
        *reward_components(run, trial),
    ]


# --- per run -----------------------------------------------------------------------------


def pass_hat_k(run: RunLabels, summary: RunSummary) -> list[Measurement]:
    return [
        _m(PASS_HAT_K, "gauge", value, {**run.tags(), ATTR_K: str(k)})
        for k, value in summary.pass_hat_k.items()
    ]


def run_rates(run: RunLabels, summary: RunSummary) -> list[Measurement]:
    """Average reward and success rate, when the run counted any trial."""
    found = []
    if summary.average_reward is not None:
        found.append(_m(AVERAGE_REWARD, "gauge", summary.average_reward, run.tags()))
    if summary.success_rate is not None:
        found.append(_m(SUCCESS_RATE, "gauge", summary.success_rate, run.tags()))
    return found


def run_measurements(run: RunLabels, summary: RunSummary) -> list[Measurement]:
    return [*pass_hat_k(run, summary), *run_rates(run, summary)]


# --- a whole results file ----------------------------------------------------------------


def complexity_of(result: RunResult, where: str) -> Callable[[TrialResult], str]:
    """The complexity tier of a trial's task, from the file's task list."""
    tiers = {task.task_id: task.complexity for task in result.tasks}

    def tier(trial: TrialResult) -> str:
        try:
            return tiers[trial.task_id]
        except KeyError:
            raise ResultsFileError(
                f"{where}: trial {trial.trial} names task {trial.task_id!r}, which is not in "
                "the file's task list"
            ) from None

    return tier


def labels_of(result: RunResult) -> RunLabels:
    return RunLabels(domain=result.domain, agent=result.agent.name, run_id=result.run_id)


def all_trial_measurements(
    result: RunResult, where: str
) -> Iterable[tuple[TrialResult, list[Measurement]]]:
    """Each trial with its measurements, in the file's order."""
    run = labels_of(result)
    tier = complexity_of(result, where)
    for trial in result.trials:
        yield trial, trial_measurements(run, tier(trial), trial)
