from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.datadog_metrics_api import FakeMetricsApi


@pytest.fixture
def fake() -> Iterator[FakeMetricsApi]:
    with FakeMetricsApi() as running:
        yield running
