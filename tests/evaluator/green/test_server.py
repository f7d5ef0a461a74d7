"""The green agent end to end: a real a2a-sdk client, the green server, a sample purple agent."""

from __future__ import annotations

from evaluator.agents import RunningAgent
from evaluator.green.client import request_assessment
from tests.evaluator.green.conftest import GreenFactory


async def test_a_structured_request_streams_one_update_per_trial_and_ends_with_the_artifact(
    green_server: GreenFactory, oracle: RunningAgent
) -> None:
    request = {
        "participants": {"agent": oracle.url},
        "config": {"domain": "mock", "num_tasks": 2, "num_trials": 2},
    }
    with green_server() as green:
        followed = await request_assessment(green.url, request)
    print(followed)
    assert followed.state == "completed"
