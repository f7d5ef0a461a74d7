"""What a requester does with a green agent on loopback, for the green agent's tests:
send a request (structured, as a data part or in words), follow a task with GetTask,
read its artifact; and a slow oracle, to have time to cancel or queue."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from a2a.client import Client, ClientConfig, create_client
from a2a.helpers import new_message, new_text_message
from a2a.types import (
    GetTaskRequest,
    Role,
    SendMessageConfiguration,
    SendMessageRequest,
    Task,
)

from evaluator.agents.oracle import OracleAgent
from evaluator.green.client import artifact_data

# pydantic warns when litellm first builds its response models (as in test_evaluation_edges)
LITELLM_READONLY_WARNING = pytest.mark.filterwarnings(
    "ignore:Item .* is using the `ReadOnly` qualifier"
)
MOCK_TASKS = [
    "create_task_1", "create_task_1_with_env_assertions", "create_task_1_nl_eval",
    "update_task_1", "update_task_with_message_history", "update_task_with_initialization_data",
    "update_task_with_initialization_actions", "update_task_with_history_and_env_assertions",
    "impossible_task_1",
]  # fmt: skip


@asynccontextmanager
async def a2a_client(
    url: str, *, streaming: bool = False, token: str | None = None
) -> AsyncIterator[Client]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(timeout=120, headers=headers) as http:
        client = await create_client(url, ClientConfig(streaming=streaming, httpx_client=http))
        try:
            yield client
        finally:
            await client.close()


def structured(url: str, **config: Any) -> dict[str, Any]:
    return {"participants": {"agent": url}, "config": {"domain": "mock", **config}}


async def send(
    url: str, parts: list[Any], *, immediately: bool = False, task: Task | None = None
) -> Task:
    """A blocking SendMessage (or one that returns at once); the task it returns."""
    message = new_message(parts, role=Role.ROLE_USER)
    if task is not None:
        message.task_id, message.context_id = task.id, task.context_id
    request = SendMessageRequest(
        message=message, configuration=SendMessageConfiguration(return_immediately=immediately)
    )
    async with a2a_client(url) as client:
        async for event in client.send_message(request):
            assert event.WhichOneof("payload") == "task"
            return event.task
    raise AssertionError("no task came back")


async def get_task(url: str, task_id: str) -> Task:
    async with a2a_client(url) as client:
        return await client.get_task(GetTaskRequest(id=task_id))


async def until(
    url: str, task_id: str, condition: Callable[[Task], bool], timeout_s: float = 60
) -> Task:
    """GetTask until ``condition`` holds."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        task = await get_task(url, task_id)
        if condition(task):
            return task
        assert asyncio.get_running_loop().time() < deadline, task
        await asyncio.sleep(0.05)


def data_of(task: Task) -> dict[str, Any]:
    (artifact,) = task.artifacts
    (data,) = artifact_data(artifact)
    return data


def text_part(value: Any) -> Any:
    return new_text_message(value if isinstance(value, str) else json.dumps(value)).parts[0]


class SlowOracle:
    """The oracle, ``delay_s`` slower per reply: time to cancel or queue."""

    def __init__(self, delay_s: float) -> None:
        self.inner = OracleAgent(("mock",))
        self.delay_s = delay_s

    async def reply(self, context_id: str, text: str) -> str:
        await asyncio.sleep(self.delay_s)
        return await self.inner.reply(context_id, text)


async def wait_for_card(url: str, timeout_s: float = 90.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    async with httpx.AsyncClient() as http:
        while True:
            try:
                if (await http.get(f"{url}.well-known/agent-card.json")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"no agent card at {url}")
            await asyncio.sleep(0.2)
