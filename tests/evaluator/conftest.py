"""Fixtures shared by the evaluator's tests in more than one package."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.evaluator.runs import RealRun


@pytest.fixture(scope="package")
def real_run(tmp_path_factory: pytest.TempPathFactory) -> RealRun:
    """One real evaluation, run once for every test here that reads it: the metrics push's
    command line (datadog/push/test_cli.py) and the measurements' derivation
    (test_measurements.py) compare against the same run."""
    from tests.evaluator.runs import run_oracle_on_mock

    return run_oracle_on_mock(tmp_path_factory.mktemp("run"))
