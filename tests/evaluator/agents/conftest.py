from __future__ import annotations

import pytest

from evaluator.agents.matching import TaskIndex
from evaluator.agents.oracle import task_index


@pytest.fixture(scope="session")
def index() -> TaskIndex:
    """The default task sets, loaded from tau2 once per test session."""
    return task_index()
