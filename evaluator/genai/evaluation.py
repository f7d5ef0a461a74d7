"""A trial's reward and outcome as GenAI evaluation results, and a run's as scores.

The GenAI conventions define the event ``gen_ai.evaluation.result`` with
``gen_ai.evaluation.name``, ``gen_ai.evaluation.score.value``,
``gen_ai.evaluation.score.label`` and ``gen_ai.evaluation.explanation``, parented to
the span it evaluates. semconv 0.66b2 (pinned) has those attribute names but no event
constants (the Python package generates attributes and metrics only), so the event name
is ours, spelled as the conventions spell it. It is recorded as a *span event* on the
trial's ``tau2.task`` span rather than through the Logs API: the trace is where the
backends we ship to (Datadog APM and LLM Observability, Jaeger) read evaluations of a
span, and it needs no logs pipeline.

Per trial, three evaluations, with the labels the ddtrace path uses too:
- ``reward``: tau2's reward (score), labelled ``pass``/``fail`` by our success rule;
  not given for a trial that could not be scored (an infrastructure error);
- ``success``: ``pass``, ``fail`` or ``not_scored`` (categorical);
- ``termination``: why the conversation ended (tau2's termination reason, or
  ``agent_error``, ...), explained by the error when there is one.
Per run: ``average_reward`` and ``pass_hat_<k>`` (no dots: Datadog rejects them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as gen_ai
from opentelemetry.trace import Span

from evaluator.results import RunSummary, TrialResult

EVENT_EVALUATION_RESULT = "gen_ai.evaluation.result"
REWARD = "reward"
SUCCESS = "success"
TERMINATION = "termination"
AVERAGE_REWARD = "average_reward"
PASS = "pass"  # noqa: S105 (a verdict)
FAIL = "fail"
NOT_SCORED = "not_scored"
EXPLANATION_MAX_CHARS = 1000


@dataclass(frozen=True)
class Evaluation:
    """One evaluation: a score, a label, or both."""

    name: str
    score: float | None = None
    label: str | None = None
    explanation: str | None = None

    def attributes(self) -> dict[str, Any]:
        attributes: dict[str, Any] = {gen_ai.GEN_AI_EVALUATION_NAME: self.name}
        if self.score is not None:
            attributes[gen_ai.GEN_AI_EVALUATION_SCORE_VALUE] = self.score
        if self.label is not None:
            attributes[gen_ai.GEN_AI_EVALUATION_SCORE_LABEL] = self.label
        if self.explanation:
            attributes[gen_ai.GEN_AI_EVALUATION_EXPLANATION] = self.explanation
        return attributes


def verdict(trial: TrialResult) -> str:
    if not trial.scored:
        return NOT_SCORED
    return PASS if trial.success else FAIL


def trial_evaluations(trial: TrialResult) -> list[Evaluation]:
    label = verdict(trial)
    explanation = trial.error[:EXPLANATION_MAX_CHARS] if trial.error else None
    found = []
    if label != NOT_SCORED:
        found.append(Evaluation(REWARD, score=float(trial.reward), label=label))
    found.append(Evaluation(SUCCESS, label=label))
    found.append(Evaluation(TERMINATION, label=trial.termination_reason, explanation=explanation))
    return found


def pass_hat_label(k: int) -> str:
    return f"pass_hat_{k}"


def run_evaluations(summary: RunSummary) -> list[Evaluation]:
    """The run's headline scores; those that cover no trial are left out."""
    found = []
    if summary.average_reward is not None:
        found.append(Evaluation(AVERAGE_REWARD, score=summary.average_reward))
    for k, value in sorted(summary.pass_hat_k.items()):
        found.append(Evaluation(pass_hat_label(k), score=value))
    return found


def record_trial_evaluations(span: Span, trial: TrialResult) -> None:
    """Add one ``gen_ai.evaluation.result`` event per evaluation to the trial's span."""
    for evaluation in trial_evaluations(trial):
        span.add_event(EVENT_EVALUATION_RESULT, evaluation.attributes())


def by_name(evaluations: list[Evaluation]) -> Mapping[str, Evaluation]:
    return {e.name: e for e in evaluations}
