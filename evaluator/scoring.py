"""Run-level scores from per-trial outcomes: one small pure function per metric.

Definitions follow tau2 (``tau2.metrics.agent_metrics``): a trial succeeds when its
reward is 1 within 1e-6; pass^k of a task with ``n`` trials and ``c`` successes is
C(c, k) / C(n, k), averaged over tasks, for k up to the smallest trial count of any task.

Every trial counts unless it was *not scored*: the evaluator's side failed (the user
simulator, tau2's evaluator, our code) and retries did not help. A failure on the
agent's side is scored, with reward 0. Averages cover the scored trials; pass^k covers
only the tasks whose trials were all scored (a task with a hole would be judged on
fewer trials than the others), and :func:`pass_hat_k_tasks` says how many those are.

Uncertainty: :func:`wilson_interval` gives a 95% Wilson score interval. Trials of one
task are not independent, so the sample size is the number of tasks, not of trials:
5 tasks x 2 trials is 5 observations, and the interval says so.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

SUCCESS_TOLERANCE = 1e-6

# Structural complexity tiers: upper bound of the score (reference actions + checks).
COMPLEXITY_TIERS: tuple[tuple[int, str], ...] = ((2, "easy"), (4, "medium"), (6, "hard"))
TOP_TIER = "expert"


@dataclass(frozen=True)
class Scored:
    """What scoring needs from one task trial."""

    task_id: str
    reward: float
    termination_reason: str
    scored: bool = True  # False: the evaluator's side failed; left out, with its cause


def is_successful(reward: float) -> bool:
    return abs(reward - 1.0) <= SUCCESS_TOLERANCE


def counted(trials: Iterable[Scored]) -> list[Scored]:
    """The trials that count towards scores: all but those not scored."""
    return [t for t in trials if t.scored]


def pass_hat_k(num_trials: int, success_count: int, k: int) -> float:
    if not 0 <= success_count <= num_trials:
        raise ValueError(f"success_count {success_count} outside 0..{num_trials}")
    if not 1 <= k <= num_trials:
        raise ValueError(f"k={k} outside 1..{num_trials}")
    return math.comb(success_count, k) / math.comb(num_trials, k)


def successes_by_task(trials: Iterable[Scored]) -> dict[str, tuple[int, int]]:
    """task id -> (counted trials, successes)."""
    table: dict[str, list[int]] = {}
    for t in counted(trials):
        row = table.setdefault(t.task_id, [0, 0])
        row[0] += 1
        row[1] += int(is_successful(t.reward))
    return {task: (n, c) for task, (n, c) in table.items()}


def whole_tasks(
    trials: Iterable[Scored], num_trials: int | None = None
) -> dict[str, tuple[int, int]]:
    """task id -> (trials, successes), for the tasks whose every trial was scored
    (and, given ``num_trials``, that have that many: an unfinished run has short tasks)."""
    trials = list(trials)
    holes = {t.task_id for t in trials if not t.scored}
    return {
        task: (n, c)
        for task, (n, c) in successes_by_task(trials).items()
        if task not in holes and (num_trials is None or n >= num_trials)
    }


def pass_hat_k_tasks(trials: Iterable[Scored], num_trials: int | None = None) -> tuple[int, int]:
    """(tasks pass^k is computed over, tasks in the run)."""
    trials = list(trials)
    return len(whole_tasks(trials, num_trials)), len({t.task_id for t in trials})


def pass_hat_ks(trials: Iterable[Scored], num_trials: int | None = None) -> dict[int, float]:
    """pass^k over the wholly scored tasks, for k = 1 .. their smallest trial count."""
    table = whole_tasks(trials, num_trials)
    if not table:
        return {}
    max_k = min(n for n, _ in table.values())
    return {
        k: sum(pass_hat_k(n, c, k) for n, c in table.values()) / len(table)
        for k in range(1, max_k + 1)
    }


def average_reward(trials: Iterable[Scored]) -> float | None:
    rewards = [t.reward for t in counted(trials)]
    return sum(rewards) / len(rewards) if rewards else None


def success_rate(trials: Iterable[Scored]) -> float | None:
    kept = counted(trials)
    return sum(is_successful(t.reward) for t in kept) / len(kept) if kept else None


def termination_counts(trials: Iterable[Scored]) -> dict[str, int]:
    """All trials, those not scored included."""
    return dict(Counter(t.termination_reason for t in trials))


Z_95 = 1.959963984540054


def wilson_interval(proportion: float, n: int, z: float = Z_95) -> tuple[float, float] | None:
    """The Wilson score interval of a proportion observed over ``n`` samples (None if n=0).

    Used for average reward too: a reward in [0, 1] has at most the variance of a
    pass/fail outcome with the same mean, so the interval errs on the wide side.
    """
    if n <= 0:
        return None
    p = min(max(proportion, 0.0), 1.0)
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def complexity_score(reference_actions: int, checks: int) -> int:
    return reference_actions + checks


def complexity_tier(score: int) -> str:
    for bound, tier in COMPLEXITY_TIERS:
        if score <= bound:
            return tier
    return TOP_TIER


def failure_rates(trials: Iterable[Scored]) -> dict[str, float]:
    """Empirical difficulty: the share of counted trials of each task that failed."""
    return {task: 1.0 - c / n for task, (n, c) in successes_by_task(trials).items()}


def pooled_failure_rates(runs: Sequence[Iterable[Scored]]) -> dict[str, float]:
    """Empirical difficulty across several runs (agents), every counted trial weighing the same."""
    return failure_rates(t for run in runs for t in run)


def mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def as_int_keys(table: Mapping[str, float]) -> dict[int, float]:
    """JSON object keys are strings; pass^k tables are keyed by k."""
    return {int(k): v for k, v in table.items()}
