"""Measurements as request bodies: time stamps, series and batches within any limits. Pure."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest

from evaluator.datadog.push.payloads import Limits, Stamped, batches, stamp, to_series
from tests.evaluator.datadog.push.runs import values
from tests.evaluator.runs import synthetic_run


def test_batches_respect_any_limits_and_lose_nothing() -> None:
    stamped = stamp("f", synthetic_run(300, turns=5), now=time.time(), at_now=True)
    whole = list(to_series(stamped, Limits()))
    limits = Limits(max_raw_bytes=4_000, max_compressed_bytes=600, max_points_per_series=3,
                    max_values_per_series=7)  # fmt: skip
    found = batches(stamped, limits)
    assert len(found) > 10
    for batch in found:
        assert batch.compressed_bytes <= 600 or len(batch.series) == 1
        assert batch.raw_bytes == len(batch.body())
        for s in batch.series:
            assert len(s["points"]) <= 3 if batch.endpoint == "series" else len(values(s)) <= 7

    # the same values per metric and tags, however they were cut
    def totals(series: list[dict[str, Any]]) -> dict[tuple[str, tuple[str, ...]], float]:
        total: dict[tuple[str, tuple[str, ...]], float] = {}
        for s in series:
            key = (s["metric"], tuple(s["tags"]))
            total[key] = total.get(key, 0.0) + sum(values(s))
            counted = (s["metric"] + "#values", key[1])
            total[counted] = total.get(counted, 0.0) + len(values(s))
        return total

    assert totals([s for b in found for s in b.series]) == pytest.approx(
        totals([s for _, s in whole])
    )


def test_the_payloads_are_stamped_with_each_trials_end() -> None:
    ended = datetime.now(UTC).replace(microsecond=0)
    run = synthetic_run(2, ended=ended)
    stamped: list[Stamped] = stamp("f", run, now=time.time(), at_now=False)
    trial_end = {
        int(datetime.fromisoformat(t.started_at).timestamp() + t.duration_s) for t in run.trials
    }
    assert {s.timestamp for s in stamped if s.measurement.metric == "tau2.task.trials"} == trial_end
    assert {s.timestamp for s in stamped if s.measurement.metric.startswith("tau2.run.")} == {
        int(ended.timestamp())
    }
