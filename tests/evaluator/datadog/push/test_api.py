"""DatadogMetricsApi against the recording stand-in: bounded retries that wait as Datadog
asks, refusals explained; and the stand-in itself refusing bodies Datadog would refuse."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from evaluator.datadog.push.api import RetryPolicy, retry_delay
from evaluator.datadog.push.errors import MetricsApiError
from evaluator.datadog.push.submission import send
from tests.evaluator.datadog.push.runs import Sleeps, sender, small_submission
from tests.fakes.datadog_metrics_api import FakeMetricsApi, model_problems


def test_rate_limits_are_retried_as_datadog_asks(fake: FakeMetricsApi, tmp_path: Path) -> None:
    fake.fail_next("/api/v2/series", 429, "Too many requests", headers={"Retry-After": "3"})
    fake.fail_next("/api/v2/series", 429, headers={"X-RateLimit-Reset": "7"})
    fake.fail_next("/api/v1/distribution_points", 503, "Service unavailable")
    sleeps = Sleeps()
    with sender(fake, sleeps) as api:
        send(small_submission(tmp_path), api)
    assert sleeps == [3.0, 7.0, 1.0]  # Retry-After, X-RateLimit-Reset, then backoff
    assert [r.status for r in fake.refused] == [429, 429, 503]
    assert {r.path for r in fake.accepted} == {"/api/v2/series", "/api/v1/distribution_points"}


def test_retries_are_bounded_and_then_explained(fake: FakeMetricsApi, tmp_path: Path) -> None:
    fake.fail_next("/api/v2/series", 500, "Internal error", times=10)
    sleeps = Sleeps()
    with sender(fake, sleeps, attempts=3) as api, pytest.raises(MetricsApiError) as caught:
        send(small_submission(tmp_path), api)
    assert fake.attempts() == 3
    assert sleeps == [1.0, 2.0]
    assert caught.value.status == 500
    assert "500" in str(caught.value)
    assert "Gave up after 3 attempts" in str(caught.value)


def test_a_long_requested_wait_fails_instead_of_hanging(
    fake: FakeMetricsApi, tmp_path: Path
) -> None:
    fake.fail_next("/api/v2/series", 429, headers={"X-RateLimit-Reset": "3600"})
    sleeps = Sleeps()
    with sender(fake, sleeps) as api, pytest.raises(MetricsApiError, match="wait 3600 s"):
        send(small_submission(tmp_path), api)
    assert sleeps == []


def test_retry_delay_reads_retry_after_dates_and_falls_back_to_backoff() -> None:
    policy = RetryPolicy(backoff_s=0.5)
    now = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
    assert retry_delay({"Retry-After": "Thu, 01 Jan 2026 00:00:12 GMT"}, 1, policy, now) == 12
    assert retry_delay({"x-ratelimit-reset": "4"}, 1, policy) == 4
    assert retry_delay({}, 3, policy) == 2.0
    assert retry_delay({"Retry-After": "soon"}, 1, policy) == 0.5


# --- the fake refuses what Datadog would -------------------------------------------------


def test_the_fake_refuses_bodies_that_do_not_fit_the_models() -> None:
    now = int(time.time())
    good = {"series": [{"metric": "m", "type": 1, "points": [{"timestamp": now, "value": 1.0}]}]}
    assert model_problems(good, "MetricPayload") == []
    unknown_field = {"series": [{**good["series"][0], "colour": "red"}]}
    assert model_problems(unknown_field, "MetricPayload")
    bad_enum = {"series": [{**good["series"][0], "type": 9}]}
    assert model_problems(bad_enum, "MetricPayload")
    no_points = {"series": [{"metric": "m", "type": 1}]}
    assert model_problems(no_points, "MetricPayload")
    distribution = {"series": [{"metric": "d", "type": "distribution", "points": [[now, [1.0]]]}]}
    assert model_problems(distribution, "DistributionPointsPayload") == []
    bad_point = {"series": [{"metric": "d", "points": [[now, "x"]]}]}
    assert model_problems(bad_point, "DistributionPointsPayload")
    series_as_distribution = {
        "series": [{"metric": "d", "type": "gauge", "points": [[now, [1.0]]]}]
    }
    assert model_problems(series_as_distribution, "DistributionPointsPayload")
