"""Reading the report's HTML in tests: a trial's block, a section, a leaderboard row; and a
run result with other trials, its summary made again as the runner makes it."""

from __future__ import annotations

import dataclasses
import html
from typing import Any

from evaluator import summary
from evaluator.results import RunResult, TrialResult


def trial_block(page: str, agent: str, task_id: str, trial: int) -> str:
    start = page.index(
        f'data-agent="{agent}" data-task="{html.escape(task_id)}" data-trial="{trial}"'
    )
    ends = [page.find(m, start) for m in ('<details class="trial', "</section>")]
    return page[start : min(e for e in ends if e > 0)]


def section(page: str, marker: str, end: str = "</div>") -> str:
    start = page.index(marker)
    return page[start : page.index(end, start)]


def leaderboard_row(page: str, label: str) -> str:
    return section(page, f'<tr data-agent="{html.escape(label)}">', "</tr>")


def with_trials(result: RunResult, trials: list[TrialResult], **changes: Any) -> RunResult:
    """``result`` with other trials, its summary made again as the runner makes it."""
    tasks = [t for t in result.tasks if any(x.task_id == t.task_id for x in trials)]
    figures = summary.summarize(
        trials, [t.task_id for t in tasks], 1.0, result.config["num_trials"]
    )
    return dataclasses.replace(result, tasks=tasks, trials=trials, summary=figures, **changes)
