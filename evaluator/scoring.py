"""Run-level scores from per-trial outcomes: one small pure function per metric.

Definitions follow tau2 (``tau2.metrics.agent_metrics``): a trial succeeds when its
reward is 1 within 1e-6; pass^k of a task with ``n`` trials and ``c`` successes is
C(c, k) / C(n, k), averaged over tasks, for k up to the smallest trial count of any task;
trials that ended in an infrastructure error are left out before anything is computed.
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
    infrastructure_error: bool = False


def is_successful(reward: float) -> bool:
    return abs(reward - 1.0) <= SUCCESS_TOLERANCE


def counted(trials: Iterable[Scored]) -> list[Scored]:
    """The trials that count towards scores: infrastructure errors are excluded."""
    return [t for t in trials if not t.infrastructure_error]


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


def pass_hat_ks(trials: Iterable[Scored]) -> dict[int, float]:
    """pass^k for k = 1 .. the smallest number of counted trials of any task."""
    table = successes_by_task(trials)
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
    """All trials, infrastructure errors included: they are what this count is for."""
    return dict(Counter(t.termination_reason for t in trials))


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
