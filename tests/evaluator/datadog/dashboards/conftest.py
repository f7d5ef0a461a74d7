from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from evaluator.datadog.dashboards.catalogue import Catalogue
from tests.fakes.datadog_api import API_KEY, APP_KEY, FakeDatadog

REPO_DASHBOARDS = Path(__file__).resolve().parents[4] / "dashboards"


@pytest.fixture
def definitions(tmp_path: Path) -> Path:
    """A copy of the repository's dashboards/ folder, without its lock file."""
    root = tmp_path / "dashboards"
    shutil.copytree(REPO_DASHBOARDS, root)
    (root / "datadog.lock.json").unlink(missing_ok=True)
    return root


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    """The repository's metric catalogue (dashboards/metrics.yaml)."""
    return Catalogue.load(REPO_DASHBOARDS / "metrics.yaml")


@pytest.fixture
def fake() -> Iterator[FakeDatadog]:
    with FakeDatadog() as server:
        yield server


@pytest.fixture
def datadog_env(monkeypatch: pytest.MonkeyPatch, fake: FakeDatadog) -> FakeDatadog:
    monkeypatch.setenv("DD_API_KEY", API_KEY)
    monkeypatch.setenv("DD_APP_KEY", APP_KEY)
    monkeypatch.setenv("DD_HOST", fake.url)
    monkeypatch.delenv("DD_SITE", raising=False)
    monkeypatch.setenv("TAU2OBSERVE_CASE_PROJECT", "agent-evals")
    return fake
