"""plan_submission and send: everything planned before the first request; a failure
part-way says how much Datadog already accepted."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from evaluator.datadog.push.errors import MetricsApiError, OutsideTimeWindowError
from evaluator.datadog.push.payloads import ENDPOINT_PATHS, Batch
from evaluator.datadog.push.settings import PushSettings
from evaluator.datadog.push.submission import describe, plan_submission, send
from tests.evaluator.datadog.push.runs import Sleeps, sender, small_submission
from tests.evaluator.runs import synthetic_run, write
from tests.fakes.datadog_metrics_api import API_KEY, FakeMetricsApi


def test_a_failure_after_accepted_requests_says_so(fake: FakeMetricsApi, tmp_path: Path) -> None:
    fake.fail_next("/api/v1/distribution_points", 400, "Invalid payload")
    with sender(fake, Sleeps()) as api, pytest.raises(MetricsApiError) as caught:
        send(small_submission(tmp_path), api)
    message = str(caught.value)
    assert "request 2 of 2" in message
    assert "Invalid payload" in message
    assert "1 of 2 requests were accepted" in message
    assert "twice" in message


class Recorder:
    """A MetricsSender that keeps what it was asked to send; fails from ``fail_at``."""

    def __init__(self, fail_at: int | None = None) -> None:
        self.sent: list[tuple[Batch, str]] = []
        self.fail_at = fail_at

    def send(self, batch: Batch, what: str) -> None:
        if self.fail_at is not None and len(self.sent) + 1 >= self.fail_at:
            raise MetricsApiError(f"{what}: refused", 400)
        self.sent.append((batch, what))


def test_send_sends_every_batch_in_order_and_names_each_request(tmp_path: Path) -> None:
    submission = small_submission(tmp_path)
    recorder = Recorder()
    send(submission, recorder)
    assert [batch for batch, _ in recorder.sent] == list(submission.batches)
    total = len(submission.batches)
    for index, (batch, what) in enumerate(recorder.sent, 1):
        assert what == (
            f"request {index} of {total} (POST {ENDPOINT_PATHS[batch.endpoint]}, "
            f"{len(batch.series)} series)"
        )


def test_a_failure_of_the_first_request_is_raised_as_it_came(tmp_path: Path) -> None:
    with pytest.raises(MetricsApiError) as caught:
        send(small_submission(tmp_path), Recorder(fail_at=1))
    assert caught.value.status == 400
    assert "accepted" not in str(caught.value)


def test_a_stale_file_among_fresh_ones_stops_the_plan_before_any_request(tmp_path: Path) -> None:
    fresh = write(synthetic_run(2), tmp_path, "fresh.json")
    stale = write(
        synthetic_run(2, ended=datetime.now(UTC) - timedelta(hours=2)), tmp_path, "old.json"
    )
    settings = PushSettings.from_env({"DD_API_KEY": API_KEY})
    with pytest.raises(OutsideTimeWindowError, match=r"old\.json"):
        plan_submission([fresh, stale], settings, now=time.time())
    planned = plan_submission([fresh, stale], settings, now=time.time(), at_now=True)
    assert planned.files == (str(fresh), str(stale))
    assert planned.points == sum(len(s["points"]) for b in planned.batches for s in b.series)


def test_describe_says_what_would_be_or_was_sent_and_where(tmp_path: Path) -> None:
    submission = small_submission(tmp_path)
    settings = PushSettings.from_env({"DD_API_KEY": API_KEY, "DD_SITE": "datadoghq.eu"})
    dry = describe(submission, settings, dry_run=True)
    assert dry.startswith(f"would send {submission.points} points of ")
    assert "https://api.datadoghq.eu" in dry
    assert dry.endswith("dry run: nothing was sent")
    sent = describe(submission, settings, dry_run=False)
    assert sent.startswith("sent ")
    assert "dry run" not in sent
    assert f"in {len(submission.batches)} requests" in sent
