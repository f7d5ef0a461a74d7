"""Progress of a run on stderr: a bar on a terminal, one line per trial anywhere else.

CI logs, ``nohup`` and ``docker logs`` are not terminals; they get lines such as
``[ 3/20] task 5 trial 0: fail, reward 0.00 (agent timed out) in 2.1 s``.
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Any

from evaluator.summary import cause_label, primary_cause

if TYPE_CHECKING:
    from rich.console import Console

    from evaluator.results import TrialResult


def trial_line(result: TrialResult) -> str:
    """One finished trial in words: what happened, the reward, and why it failed."""
    if result.status == "not_scored":
        verdict = "not scored"
    elif result.status == "not_run":
        verdict = "not run"
    else:
        verdict = "pass" if result.success else "fail"
    cause = primary_cause(result)
    why = f" ({cause_label(cause)})" if cause else ""
    retries = f", {result.attempts} attempts" if result.attempts > 1 else ""
    return (
        f"task {result.task_id} trial {result.trial}: {verdict}, reward {result.reward:.2f}"
        f"{why} in {result.duration_s:.1f} s{retries}"
    )


class TrialProgress:
    """``with progress: ...``; ``start(to_run, done)`` then ``trial(result)`` per trial."""

    def __init__(self, console: Console, *, quiet: bool, label: str) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        self._console = console
        self._quiet = quiet
        self._label = label
        self._bar = console.is_terminal and not quiet
        self._progress = Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            disable=not self._bar,
        )
        self._task: Any = None
        self._total = 0
        self._finished = 0

    def __enter__(self) -> TrialProgress:
        self._progress.__enter__()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._progress.__exit__(kind, value, traceback)

    def start(self, to_run: int, done: int) -> None:
        self._total = to_run
        if self._bar:
            self._task = self._progress.add_task(self._label, total=to_run)
        elif not self._quiet:
            kept = f" ({done} kept from the results file)" if done else ""
            self._console.print(f"{self._label}: {to_run} to run{kept}", highlight=False)

    def trial(self, result: TrialResult) -> None:
        self._finished += 1
        if self._bar:
            self._progress.advance(self._task)
        elif not self._quiet:
            width = len(str(self._total))
            self._console.print(
                f"[{self._finished:>{width}}/{self._total}] {trial_line(result)}",
                highlight=False,
                soft_wrap=True,
            )
