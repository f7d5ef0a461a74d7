"""The evaluator's numbers, made in one place: what each trial's outcome is, and the run's.

Pure functions over plain records; the runner, the console, the metrics and the report
all read their figures from here, so they cannot disagree.

    classify(run, crash)       -> Outcome     one trial: scored, not scored, and why
    primary_cause(trial)       -> str | None  the one cause a failed trial is counted under
    summarize(trials, tasks)   -> RunSummary  the run: averages, pass^k, intervals, causes
    run_status(summary, ...)   -> str         complete, incomplete, stopped or interrupted

Who is to blame decides what a failure does to the score:

    agent side       the agent timed out, refused the connection, answered with an
                     error or with nothing to act on        -> scored, reward 0
    evaluator side   the user simulator, tau2's evaluator or our own code failed
                                                             -> retried, then not scored
    not run          the run stopped because the agent stopped answering
                                                             -> scored, reward 0
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from evaluator import scoring
from evaluator.errors import EvaluationError
from evaluator.results import (
    COMPLETE,
    INCOMPLETE,
    INTERRUPTED,
    NOT_RUN,
    NOT_SCORED,
    SCORED,
    STOPPED,
    RunSummary,
    TrialResult,
)

if TYPE_CHECKING:
    from evaluator.tau2_adapter import TrialRun

# tau2's TerminationReason values that a trial can end with here.
AGENT_ERROR = "agent_error"
USER_ERROR = "user_error"

# Causes of failures that are not the conversation's own verdict.
CAUSE_AGENT_TURN = "agent_turn_failed"
CAUSE_USER = "user_simulator_failed"
CAUSE_TAU2_EVALUATOR = "tau2_evaluator_failed"
CAUSE_CRASH = "evaluator_crash"
CAUSE_NOT_RUN = "agent_stopped_answering"
CAUSE_WORKER_LOST = "worker_lost"  # a Ray worker died mid-trial, after Ray's retries
# Causes of a scored failure, read from tau2's checks.
CAUSE_DB = "database_differs"
CAUSE_COMMUNICATE = "information_not_given"
CAUSE_ACTION = "expected_action_missing"
CAUSE_ASSERTION = "assertion_not_met"
CAUSE_ENDED = "conversation_ended_early"
CAUSE_REWARD = "reward_below_1"

# Agent-side causes that mean "nobody is answering": consecutive ones stop the run.
UNREACHABLE_CAUSES = frozenset({"agent_unreachable", "not_an_a2a_agent"})

CAUSE_LABELS: dict[str, str] = {
    "agent_timeout": "agent timed out",
    "agent_unreachable": "agent unreachable",
    "not_an_a2a_agent": "not an A2A agent",
    "agent_protocol_error": "agent answered with an error",
    "agent_reply_error": "reply with nothing to act on",
    CAUSE_AGENT_TURN: "agent's turn failed",
    CAUSE_USER: "user simulator failed (not scored)",
    CAUSE_TAU2_EVALUATOR: "tau2's evaluator failed (not scored)",
    CAUSE_CRASH: "evaluator crashed (not scored)",
    CAUSE_NOT_RUN: "not run: agent stopped answering",
    CAUSE_WORKER_LOST: "Ray worker lost (not scored)",
    CAUSE_DB: "database differs",
    CAUSE_COMMUNICATE: "information not given",
    CAUSE_ACTION: "expected action missing",
    CAUSE_ASSERTION: "assertion not met",
    CAUSE_ENDED: "conversation ended early",
    CAUSE_REWARD: "reward below 1",
}

_NORMAL_END = frozenset({"user_stop", "agent_stop"})
_CHECK_CAUSES = {
    "DB": CAUSE_DB,
    "COMMUNICATE": CAUSE_COMMUNICATE,
    "ACTION": CAUSE_ACTION,
    "ENV_ASSERTION": CAUSE_ASSERTION,
    "NL_ASSERTION": CAUSE_ASSERTION,
}


def cause_label(cause: str) -> str:
    return CAUSE_LABELS.get(cause, cause.replace("_", " "))


@dataclass(frozen=True)
class Outcome:
    """How one attempt at a trial ended, and what it does to the score."""

    status: str  # SCORED or NOT_SCORED
    termination_reason: str
    cause: str | None
    error: str | None

    @property
    def retry(self) -> bool:
        """An evaluator-side failure: another attempt may succeed."""
        return self.status == NOT_SCORED


def classify(run: TrialRun | None, crash: BaseException | None) -> Outcome:
    """Whose failure, if any, ended this attempt (see the module docstring)."""
    if run is None:
        error = f"the trial could not run: {type(crash).__name__}: {crash}"
        return Outcome(NOT_SCORED, AGENT_ERROR, CAUSE_CRASH, error)
    if isinstance(run.error, EvaluationError):
        return Outcome(SCORED, AGENT_ERROR, run.error.error_type, str(run.error))
    if run.error is not None and run.error_side == "user":
        error = f"the user simulator failed: {type(run.error).__name__}: {run.error}"
        return Outcome(NOT_SCORED, USER_ERROR, CAUSE_USER, error)
    if run.error is not None:
        error = f"the agent's turn failed: {type(run.error).__name__}: {run.error}"
        return Outcome(SCORED, AGENT_ERROR, CAUSE_AGENT_TURN, error)
    if run.evaluation_error is not None:
        return Outcome(
            NOT_SCORED, run.termination_reason, CAUSE_TAU2_EVALUATOR, run.evaluation_error
        )
    return Outcome(SCORED, run.termination_reason, None, None)


def primary_cause(trial: TrialResult) -> str | None:
    """The one cause a failed (or unscored) trial is counted under; None for a success."""
    if trial.success:
        return None
    if trial.cause:
        return trial.cause
    if trial.termination_reason not in _NORMAL_END:
        return CAUSE_ENDED
    detail = trial.reward_detail
    for component in detail.basis:
        if detail.breakdown.get(component, 1.0) < 1.0 - scoring.SUCCESS_TOLERANCE:
            return _CHECK_CAUSES.get(component, CAUSE_REWARD)
    return CAUSE_REWARD


def as_scored(trials: Sequence[TrialResult]) -> list[scoring.Scored]:
    return [scoring.Scored(t.task_id, t.reward, t.termination_reason, t.scored) for t in trials]


def summarize(
    trials: Sequence[TrialResult],
    task_ids: Sequence[str],
    duration_s: float,
    num_trials: int | None = None,
) -> RunSummary:
    """The run's figures over every selected trial (``len(task_ids) * num_trials``)."""
    kept = as_scored(trials)
    per_task = num_trials or max(
        (sum(t.task_id == task for t in trials) for task in task_ids), default=0
    )
    selected = max(len(task_ids) * per_task, len(trials))
    scored_trials = scoring.counted(kept)
    scored_tasks = {t.task_id for t in scored_trials}
    average = scoring.average_reward(kept)
    success = scoring.success_rate(kept)
    pass_ks = scoring.pass_hat_ks(kept, per_task or None)
    whole, _ = scoring.pass_hat_k_tasks(kept, per_task or None)
    return RunSummary(
        trials=selected,
        scored_trials=len(scored_trials),
        not_scored=sum(t.status == NOT_SCORED for t in trials),
        not_run=sum(t.status == NOT_RUN for t in trials),
        tasks=len(task_ids),
        average_reward=average,
        average_reward_ci=_interval(average, len(scored_tasks)),
        success_rate=success,
        pass_hat_k=pass_ks,
        pass_hat_k_tasks=whole,
        pass_hat_1_ci=_interval(pass_ks.get(1), whole),
        termination_counts=scoring.termination_counts(kept),
        causes=dict(Counter(c for c in map(primary_cause, trials) if c is not None)),
        tool_calls=sum(t.tool_calls for t in trials),
        malformed_tool_calls=sum(t.malformed_tool_calls for t in trials),
        tool_errors=sum(t.tool_errors for t in trials),
        user_cost=sum(t.user_cost for t in trials),
        user_input_tokens=sum(t.user_input_tokens for t in trials),
        user_output_tokens=sum(t.user_output_tokens for t in trials),
        duration_s=duration_s,
    )


def _interval(value: float | None, n: int) -> list[float] | None:
    if value is None:
        return None
    interval = scoring.wilson_interval(value, n)
    return list(interval) if interval is not None else None


def run_status(summary: RunSummary, *, interrupted: bool) -> str:
    if interrupted:
        return INTERRUPTED
    if summary.not_run:
        return STOPPED
    if summary.not_scored:
        return INCOMPLETE
    return COMPLETE


def headline(summary: RunSummary) -> str:
    """What the scores cover, in words: 'scored 18 of 20 trials; pass^k over 8 of 10 tasks'."""
    parts = [f"scored {summary.scored_trials} of {plural(summary.trials, 'trial')}"]
    if summary.not_scored:
        parts.append(f"{summary.not_scored} not scored")
    if summary.not_run:
        parts.append(f"{summary.not_run} not run (counted as 0)")
    unfinished = summary.trials - summary.scored_trials - summary.not_scored
    if unfinished > 0:
        parts.append(f"{unfinished} not finished")
    if summary.pass_hat_k_tasks != summary.tasks:
        parts.append(f"pass^k over {summary.pass_hat_k_tasks} of {plural(summary.tasks, 'task')}")
    return "; ".join(parts)


def plural(count: int, noun: str) -> str:
    """'1 trial', '2 trials', '0 tasks': a count with its noun."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def format_interval(interval: Sequence[float] | None) -> str:
    return "" if not interval else f"[{interval[0]:.2f}, {interval[1]:.2f}]"
