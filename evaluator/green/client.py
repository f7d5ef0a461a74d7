"""Ask a green agent for an assessment and follow it to the end, as AgentBeats' client does.

``request_assessment(url, request)`` sends the structured request as one text part
(JSON, as the AgentBeats client and gateway send it), streaming by default, and
collects what a results file needs: the final state, the status lines, and the
artifacts' data (a data part, or a text part that parses as a JSON object, as
AgentBeats' ``parse_parts`` reads them). The bearer token, if any, goes in a header
and nowhere else.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from a2a.client import ClientConfig, create_client
from a2a.helpers import new_text_message
from a2a.types import Artifact, Message, Role, SendMessageRequest, StreamResponse, Task, TaskState
from google.protobuf import json_format

TERMINAL = frozenset(
    {
        TaskState.TASK_STATE_COMPLETED,
        TaskState.TASK_STATE_FAILED,
        TaskState.TASK_STATE_CANCELED,
        TaskState.TASK_STATE_REJECTED,
    }
)


def state_name(state: int) -> str:
    """``TASK_STATE_INPUT_REQUIRED`` -> ``input-required`` (the 0.3 spelling)."""
    name: str = TaskState.Name(state)
    return name.removeprefix("TASK_STATE_").lower().replace("_", "-")


def message_text(message: Message) -> str:
    return "\n".join(p.text for p in message.parts if p.HasField("text"))


def artifact_data(artifact: Artifact) -> list[dict[str, Any]]:
    """The artifact's results: data parts, and text parts that are JSON objects."""
    found: list[dict[str, Any]] = []
    for part in artifact.parts:
        if part.HasField("data"):
            value = json_format.MessageToDict(part.data)
        elif part.HasField("text"):
            try:
                value = json.loads(part.text)
            except json.JSONDecodeError:
                continue
        else:
            continue
        if isinstance(value, dict):
            found.append(value)
    return found


@dataclass
class Followed:
    """What came back: the task's final state, its status lines, artifacts and results."""

    task_id: str = ""
    context_id: str = ""
    state: str = "unknown"
    updates: list[str] = field(default_factory=list)
    results: list[dict[str, Any]] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    message: str = ""

    def take(self, event: StreamResponse) -> None:
        kind = event.WhichOneof("payload")
        if kind == "task":
            self.take_task(event.task)
        elif kind == "status_update":
            self._status(event.status_update.task_id, event.status_update.status)
        elif kind == "artifact_update":
            self._artifact(event.artifact_update.artifact)
        elif kind == "message":
            self.message = message_text(event.message)
            self.state = "message"

    def take_task(self, task: Task) -> None:
        self.task_id, self.context_id = task.id, task.context_id
        self._status(task.id, task.status)
        if task.artifacts and not self.results:
            for artifact in task.artifacts:
                self._artifact(artifact)

    def _status(self, task_id: str, status: Any) -> None:
        self.task_id = task_id or self.task_id
        self.state = state_name(status.state)
        if status.HasField("message"):
            text = message_text(status.message)
            self.message = text
            if not self.updates or self.updates[-1] != text:
                self.updates.append(text)

    def _artifact(self, artifact: Artifact) -> None:
        self.results.extend(artifact_data(artifact))
        self.texts.extend(p.text for p in artifact.parts if p.HasField("text"))


async def request_assessment(
    url: str,
    request: Mapping[str, Any] | str,
    *,
    token: str | None = None,
    streaming: bool = True,
    timeout_s: float = 3600.0,
    on_update: Callable[[Followed], None] | None = None,
    headers: Mapping[str, str] | None = None,
    task_id: str | None = None,
    context_id: str | None = None,
) -> Followed:
    """Send ``request`` (an object, sent as JSON text; or plain words) and follow it."""
    sent_headers = dict(headers or {})
    if token:
        sent_headers["Authorization"] = f"Bearer {token}"
    text = request if isinstance(request, str) else json.dumps(dict(request))
    message = new_text_message(text, role=Role.ROLE_USER, task_id=task_id, context_id=context_id)
    followed = Followed()
    async with httpx.AsyncClient(timeout=httpx.Timeout(timeout_s), headers=sent_headers) as http:
        client = await create_client(url, ClientConfig(streaming=streaming, httpx_client=http))
        try:
            async for event in client.send_message(SendMessageRequest(message=message)):
                followed.take(event)
                if on_update is not None:
                    on_update(followed)
        finally:
            await client.close()
    return followed
