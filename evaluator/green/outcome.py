"""What the green agent reports: an evaluation's artifact and its progress lines. Pure.

The artifact's data part is a superset of the AgentBeats reference green's
``{domain, score, max_score, pass_rate, task_rewards, time_used}``, with its meanings:

    task_rewards  task id -> its reward: the mean over its scored trials
    score         the sum of task_rewards
    max_score     the number of tasks in task_rewards (every selected task, once each
                  has a scored trial: a run that is complete, stopped or not partial)
    pass_rate     score / max_score * 100
    time_used     seconds

and adds what those lack, all read from :mod:`evaluator.summary` (so the numbers are
``tau2observe eval``'s): pass^k with its interval, the scored and unscored counts, what
the numbers cover, the per-task results with each failure's cause, the run id, the
trace ids, the shard, and ``partial`` for a run that was canceled or interrupted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from evaluator.progress import trial_line
from evaluator.results import INTERRUPTED, RunResult, TrialResult
from evaluator.summary import cause_label, format_interval, headline, primary_cause

ARTIFACT_NAME = "Result"  # as the AgentBeats reference names it
SCRIPTED_NOTE = (
    "the scripted user drove this run: its scores are tau2 scores only for tau2observe's "
    "sample agents (ask with user_llm for tau2's LLM user simulator)"
)


def task_rewards(result: RunResult) -> dict[str, float]:
    """Each task's mean reward over its scored trials, in the selected order."""
    rewards: dict[str, float] = {}
    for task in result.tasks:
        scored = [t.reward for t in result.trials if t.task_id == task.task_id and t.scored]
        if scored:
            rewards[task.task_id] = sum(scored) / len(scored)
    return rewards


def numbers(result: RunResult, *, partial: bool | None = None) -> dict[str, Any]:
    """The artifact's data part (see the module docstring)."""
    s = result.summary
    rewards = task_rewards(result)
    score = sum(rewards.values())
    max_score = len(rewards)
    partial = result.status == INTERRUPTED if partial is None else partial
    shard = result.config.get("shard")
    trace_ids = list(dict.fromkeys(t.trace_id for t in result.trials if t.trace_id))
    data: dict[str, Any] = {
        "domain": result.domain,
        "score": score,
        "max_score": max_score,
        "pass_rate": score / max_score * 100 if max_score else 0.0,
        "task_rewards": rewards,
        "time_used": result.duration_s,
        "status": result.status,
        "partial": partial,
        "covers": headline(s),
        "tasks": s.tasks,
        "num_trials": result.config.get("num_trials"),
        "trials": s.trials,
        "scored_trials": s.scored_trials,
        "not_scored": s.not_scored,
        "not_run": s.not_run,
        "unfinished": s.trials - s.scored_trials - s.not_scored,
        "average_reward": s.average_reward,
        "average_reward_ci": s.average_reward_ci,
        "success_rate": s.success_rate,
        "pass_hat_k": {str(k): v for k, v in sorted(s.pass_hat_k.items())},
        "pass_hat_1_ci": s.pass_hat_1_ci,
        "pass_hat_k_tasks": s.pass_hat_k_tasks,
        "causes": dict(sorted(s.causes.items())),
        "task_results": [_task_result(result, task_id) for task_id in _task_order(result)],
        "run_id": result.run_id,
        "trace_ids": trace_ids,
        "shard": {"index": shard[0], "count": shard[1]} if shard else None,
        "agent": {
            "url": result.agent.endpoint,
            "name": result.agent.name,
            "card_name": result.agent.card_name,
            "via_proxy": result.agent.via_proxy,
        },
        "user": {"kind": result.user.kind, "model": result.user.model},
        "tau2": {"package": result.tau2.package, "version": result.tau2.version},
        "notes": _notes(result),
    }
    return data


def _task_order(result: RunResult) -> list[str]:
    return [t.task_id for t in result.tasks]


def _task_result(result: RunResult, task_id: str) -> dict[str, Any]:
    trials = [t for t in result.trials if t.task_id == task_id]
    scored = [t for t in trials if t.scored]
    causes = Counter(c for c in map(primary_cause, trials) if c is not None)
    return {
        "task_id": task_id,
        "reward": sum(t.reward for t in scored) / len(scored) if scored else None,
        "trials": len(trials),
        "passed": sum(t.success for t in trials),
        "causes": dict(causes),
        "results": [_trial(t) for t in sorted(trials, key=lambda t: t.trial)],
    }


def _trial(trial: TrialResult) -> dict[str, Any]:
    cause = primary_cause(trial)
    return {
        "trial": trial.trial,
        "reward": trial.reward,
        "success": trial.success,
        "status": trial.status,
        "cause": cause,
        "cause_label": cause_label(cause) if cause else None,
        "error": trial.error,
        "termination_reason": trial.termination_reason,
        "turns": trial.turns,
        "duration_s": trial.duration_s,
        "trace_id": trial.trace_id,
    }


def _notes(result: RunResult) -> list[str]:
    notes = [result.tau2.note]
    if result.user.kind == "scripted":
        notes.append(SCRIPTED_NOTE)
    if result.status_note:
        notes.append(result.status_note)
    return notes


def summary_text(result: RunResult, data: dict[str, Any], *, why_partial: str = "") -> str:
    """The artifact's text part: the figures a person reads first."""
    s = result.summary
    lines = [
        f"tau2 evaluation of {result.agent.name} ({result.agent.endpoint}) on {result.domain}"
        + (
            f", shard {data['shard']['index']} of {data['shard']['count']}" if data["shard"] else ""
        ),
    ]
    if data["partial"]:
        lines.append(f"PARTIAL: {why_partial or 'the run did not finish'}; {data['covers']}")
    lines.append(
        f"Score {data['score']:.2f} / {data['max_score']} tasks "
        f"(pass rate {data['pass_rate']:.1f}%) in {data['time_used']:.1f} s"
    )
    ks = [
        f"pass^{k} {v:.3f}" + (f" {format_interval(s.pass_hat_1_ci)}" if k == 1 else "")
        for k, v in sorted(s.pass_hat_k.items())
    ]
    if s.average_reward is not None:
        ks.append(f"average reward {s.average_reward:.3f} {format_interval(s.average_reward_ci)}")
    if ks:
        lines.append(" · ".join(ks))
    lines.append(f"Covers: {data['covers']}")
    if s.causes:
        lines.append(
            "Failures by cause: "
            + ", ".join(f"{cause_label(c)}: {n}" for c, n in sorted(s.causes.items()))
        )
    failed = [t for t in data["task_results"] if t["causes"]]
    if failed:
        lines.append(
            "Tasks with failures: "
            + "; ".join(
                f"{t['task_id']} ({', '.join(_times(c, n) for c, n in t['causes'].items())})"
                for t in failed
            )
        )
    lines.append(f"Run {result.run_id}; {len(data['trace_ids'])} trace(s)")
    lines.extend(f"Note: {note}" for note in data["notes"][1:])
    return "\n".join(lines)


def _times(cause: str, n: int) -> str:
    return cause_label(cause) + (f" ×{n}" if n > 1 else "")


def progress_line(trial: TrialResult, finished: int, total: int) -> str:
    """One status update per trial: ``[3/10] task 3 trial 1: pass, reward 1.00 in 0.4 s``."""
    width = len(str(total))
    return f"[{finished:>{width}}/{total}] {trial_line(trial)}"


def progress_data(trial: TrialResult, finished: int, total: int) -> dict[str, Any]:
    """The same update as data, for clients that read numbers rather than words."""
    return {"finished": finished, "total": total, **_trial(trial), "task_id": trial.task_id}


def trace_ids(trials: Sequence[TrialResult]) -> list[str]:
    return list(dict.fromkeys(t.trace_id for t in trials if t.trace_id))
