"""Shard results joined into one run: pure, so it works wherever the shards ran.

A sharded evaluation (``eval --shard I/N``, the green agent's ``shard_index`` and
``num_shards``, a CI matrix, Slurm, Kubernetes jobs) leaves one results file per shard.
:func:`merge_runs` checks that they are one evaluation (the same configuration but for
the shard), that every shard is there once and that no unit of work (task, trial) appears
twice, and joins them into one :class:`~evaluator.results.RunResult` whose figures
:mod:`evaluator.summary` makes afresh. Every problem found is listed, not just the first.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from evaluator import scoring, summary
from evaluator.config import IDENTITY_KEYS
from evaluator.results import RunResult, TaskRecord, TrialResult
from proxy.errors import UsageError

SHARD_KEY = "shard"


class MergeError(UsageError):
    """The files are not the shards of one evaluation; ``problems`` says why."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("cannot merge:\n  " + "\n  ".join(self.problems))


def shard_of(result: RunResult) -> tuple[int, int] | None:
    """(index, count) from the run's configuration, or None for an unsharded run."""
    value = result.config.get(SHARD_KEY)
    if not value:
        return None
    index, count = value
    return int(index), int(count)


def identity(result: RunResult) -> dict[str, Any]:
    return {k: result.config.get(k) for k in IDENTITY_KEYS if k != SHARD_KEY}


def check_shards(named: Sequence[tuple[str, RunResult]]) -> list[str]:
    """Everything that keeps ``named`` (file name, run) from being one evaluation."""
    problems: list[str] = []
    first_name, first = named[0]
    for name, run in named[1:]:
        mine, theirs = identity(first), identity(run)
        for key in (k for k in mine if mine[k] != theirs[k]):
            problems.append(f"{name}: {key} is {theirs[key]!r}, but {first_name} has {mine[key]!r}")
    shards = [(name, shard_of(run)) for name, run in named]
    counts = {s[1] for _, s in shards if s is not None}
    if len(counts) > 1:
        problems.append(f"the files split the tasks into different numbers of shards: {counts}")
    elif counts:
        (count,) = counts
        seen: dict[int, list[str]] = {}
        for name, shard in shards:
            if shard is None:
                problems.append(f"{name}: not a shard, but the others are")
            else:
                seen.setdefault(shard[0], []).append(name)
        for index, names in sorted(seen.items()):
            if len(names) > 1:
                problems.append(f"shard {index}/{count} appears twice: {', '.join(names)}")
        missing = sorted(set(range(count)) - set(seen))
        if missing:
            problems.append(
                f"missing shard{'s' if len(missing) > 1 else ''} "
                + ", ".join(f"{i}/{count}" for i in missing)
            )
    units = Counter((t.task_id, t.trial) for _, run in named for t in run.trials)
    doubled = sorted(unit for unit, n in units.items() if n > 1)
    for task_id, trial in doubled[:20]:
        files = [name for name, run in named if any(
            (t.task_id, t.trial) == (task_id, trial) for t in run.trials
        )]  # fmt: skip
        problems.append(
            f"task {task_id} trial {trial} is in more than one file: {', '.join(files)}"
        )
    if len(doubled) > 20:
        problems.append(f"... and {len(doubled) - 20} more doubled trials")
    return problems


def merge_runs(named: Sequence[tuple[str, RunResult]], order: Sequence[str] = ()) -> RunResult:
    """One run from its shards; ``order`` is the selected task order, if known (otherwise
    the files' order). Raises :class:`MergeError` listing every problem."""
    if not named:
        raise MergeError(["no results files given"])
    problems = check_shards(named)
    if problems:
        raise MergeError(problems)
    runs = [run for _, run in named]
    first = runs[0]
    tasks: dict[str, TaskRecord] = {}
    for run in runs:
        for task in run.tasks:
            tasks.setdefault(task.task_id, task)
    position = {task: i for i, task in enumerate(order)}
    task_ids = sorted(tasks, key=lambda t: position.get(t, len(position)))
    rank = {task: i for i, task in enumerate(task_ids)}
    trials: list[TrialResult] = sorted(
        (t for run in runs for t in run.trials), key=lambda t: (t.trial, rank[t.task_id])
    )
    num_trials = int(first.config.get("num_trials") or 1)
    started = min(run.started_at for run in runs)
    finished = max(run.finished_at for run in runs)
    figures = summary.summarize(trials, task_ids, sum(r.duration_s for r in runs), num_trials)
    interrupted = any(run.status == "interrupted" for run in runs)
    status = summary.run_status(figures, interrupted=interrupted)
    sources = ", ".join(run.run_id[:12] for run in runs)
    scored = summary.as_scored(trials)
    by_task = scoring.successes_by_task(scored)
    failure = scoring.failure_rates(scored)
    return replace(
        first,
        run_id=uuid.uuid4().hex,
        status=status,
        status_note=f"merged from {len(runs)} runs ({sources}); " + summary.headline(figures),
        started_at=started,
        finished_at=finished,
        duration_s=figures.duration_s,
        config={**first.config, SHARD_KEY: None},
        tasks=[
            replace(
                tasks[t],
                trials=by_task.get(t, (0, 0))[0],
                successes=by_task.get(t, (0, 0))[1],
                failure_rate=failure.get(t),
            )
            for t in task_ids
        ],
        trials=trials,
        summary=figures,
    )
