"""Helpers of the metrics push tests: reading pushed series, and sending without the
command line."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from evaluator.datadog.push.api import DatadogMetricsApi, RetryPolicy
from evaluator.datadog.push.settings import PushSettings
from evaluator.datadog.push.submission import Submission, plan_submission
from tests.evaluator.runs import synthetic_run, write
from tests.fakes.datadog_metrics_api import API_KEY, FakeMetricsApi


def tags_of(series: dict[str, Any]) -> dict[str, str]:
    pairs = [t.partition(":") for t in series["tags"]]
    assert all(sep for _, sep, _ in pairs), series["tags"]
    found = {k: v for k, _, v in pairs}
    assert len(found) == len(pairs), f"a tag key repeats: {series['tags']}"
    return found


def values(series: dict[str, Any]) -> list[float]:
    """A series' values: one per count/gauge point, all of each distribution point."""
    if series.get("type") == "distribution":
        return [v for _, vs in series["points"] for v in vs]
    return [p["value"] for p in series["points"]]


# --- sending without the command line ------------------------------------------------------


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def sender(fake: FakeMetricsApi, sleeps: Sleeps, attempts: int = 4) -> DatadogMetricsApi:
    settings = PushSettings.from_env({"DD_API_KEY": API_KEY, "DD_HOST": fake.url})
    return DatadogMetricsApi(settings, retry=RetryPolicy(attempts=attempts), sleep=sleeps)


def small_submission(tmp_path: Path) -> Submission:
    settings = PushSettings.from_env({"DD_API_KEY": API_KEY})
    return plan_submission([write(synthetic_run(2), tmp_path)], settings, now=time.time())
