"""One push: results files in, batches planned, then sent in order (or only described).

Everything is planned (files read, times checked, bodies built and sized) before the
first request, so a bad file or a stale run sends nothing at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from evaluator.datadog.push.errors import MetricsApiError
from evaluator.datadog.push.payloads import (
    ENDPOINT_PATHS,
    Batch,
    Limits,
    SeriesSummary,
    Stamped,
    stamp,
    summarize,
)
from evaluator.datadog.push.settings import PushSettings
from evaluator.results import load_results


class MetricsSender(Protocol):
    def send(self, batch: Batch, what: str) -> None: ...


@dataclass(frozen=True)
class Submission:
    files: tuple[str, ...]
    batches: tuple[Batch, ...]

    def summary(self) -> list[SeriesSummary]:
        return summarize(self.batches)

    @property
    def points(self) -> int:
        return sum(b.points for b in self.batches)


def plan_submission(
    paths: Sequence[Path | str],
    settings: PushSettings,
    *,
    now: float,
    at_now: bool = False,
    limits: Limits | None = None,
) -> Submission:
    from evaluator.datadog.push.payloads import batches

    stamped: list[Stamped] = []
    for path in paths:
        result = load_results(path)
        stamped.extend(
            stamp(str(path), result, now=now, at_now=at_now, extra=settings.extra_tags())
        )
    return Submission(tuple(str(p) for p in paths), tuple(batches(stamped, limits)))


def send(submission: Submission, sender: MetricsSender) -> None:
    """Send every batch in order; a failure says how many were accepted before it."""
    total = len(submission.batches)
    for index, batch in enumerate(submission.batches, 1):
        what = (
            f"request {index} of {total} (POST {ENDPOINT_PATHS[batch.endpoint]}, "
            f"{len(batch.series)} series)"
        )
        try:
            sender.send(batch, what)
        except MetricsApiError as exc:
            if index == 1:
                raise
            raise MetricsApiError(
                f"{exc}\n{index - 1} of {total} requests were accepted before this one; pushing "
                "the same files again would count their counts twice.",
                exc.status,
            ) from None


def describe(submission: Submission, settings: PushSettings, *, dry_run: bool) -> str:
    """What a push sends (or sent): per metric, type, series, points, values and tags."""
    rows = submission.summary()
    requests = {
        endpoint: sum(b.endpoint == endpoint for b in submission.batches)
        for endpoint in ENDPOINT_PATHS
    }
    verb = "would send" if dry_run else "sent"
    head = (
        f"{verb} {submission.points} points of {len(rows)} metrics from "
        f"{len(submission.files)} results file(s) to {settings.base_url} in "
        f"{len(submission.batches)} requests ({requests['series']} to "
        f"{ENDPOINT_PATHS['series']}, {requests['distribution_points']} to "
        f"{ENDPOINT_PATHS['distribution_points']})"
    )
    width = max([len(r.metric) for r in rows] + [6])
    lines = [head, f"  {'metric':<{width}}  {'type':<12} series points values  tags"]
    for r in rows:
        lines.append(
            f"  {r.metric:<{width}}  {r.kind:<12} {r.series:>6} {r.points:>6} {r.values:>6}  "
            f"{_tags_summary(r.tags)}"
        )
    if dry_run:
        lines.append("dry run: nothing was sent")
    return "\n".join(lines)


def _tags_summary(tags: dict[str, set[str]]) -> str:
    parts = []
    for key in sorted(tags):
        values = tags[key]
        parts.append(
            f"{key}:{next(iter(values))}" if len(values) == 1 else f"{key} ({len(values)} values)"
        )
    return ", ".join(parts)
