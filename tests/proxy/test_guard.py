"""The telemetry boundary: an exception marks the exchange and goes no further."""

from __future__ import annotations

import logging

import pytest

from proxy.guard import guarded
from tests.proxy.test_exchange import _exchange


def test_a_failing_step_marks_the_exchange_and_returns_none(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="tau2observe.proxy")
    ex = _exchange()

    def boom() -> int:
        raise ValueError("Exceeds the limit (4300 digits)")

    assert guarded(ex, "response", boom) is None
    assert ex.telemetry_problem == "response: ValueError"
    assert ex.response.parse_error == "unreadable: ValueError"
    assert guarded(ex, "request", boom) is None
    assert ex.telemetry_problem == "response: ValueError"  # the first problem is kept
    assert ex.request.parse_error == "unreadable: ValueError"
    assert guarded(ex, "response", lambda: 7) == 7
    assert all("\n" not in r.getMessage() for r in caplog.records)
