"""A2A tasks kept on disk: a2a-sdk's ``TaskStore`` backed by one JSON file per task.

``<data-dir>/tasks/<task id>.json`` holds the task as the A2A JSON mapping of its
protobuf message, written atomically (temporary file, fsync, rename) on every save, so
a reader or a crash sees the old task or the new one, never half of each. An in-memory
copy answers reads and ``ListTasks``; ``FileTaskStore.open`` loads the folder at start.

The green agent is single-tenant (one optional bearer token), so every task has the
same owner. A user's request may carry the user LLM's credentials
(``config.user_llm_args.api_key``): they are masked before a task is kept, in memory
and on disk, so neither GetTask nor the files ever show them.
"""

from __future__ import annotations

import asyncio
import builtins
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

from a2a.server.context import ServerCallContext
from a2a.server.tasks import InMemoryTaskStore, TaskStore
from a2a.types import ListTasksRequest, ListTasksResponse, Message, Part, Role, Task
from google.protobuf import json_format, struct_pb2

from evaluator.green.reading import masked

log = logging.getLogger(__name__)

OWNER = "green"
SYSTEM = ServerCallContext()  # the server's own reads and writes (startup, recovery)


def _single_owner(_context: ServerCallContext) -> str:
    return OWNER


class FileTaskStore(TaskStore):
    """``TaskStore`` on files; see the module docstring."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._memory = InMemoryTaskStore(owner_resolver=_single_owner)
        self._write_lock = asyncio.Lock()  # saves land on disk in the order they were made

    @classmethod
    async def open(cls, data_dir: Path) -> FileTaskStore:
        """The store of ``data_dir``, with every task kept there loaded."""
        store = cls(data_dir / "tasks")
        store.folder.mkdir(parents=True, exist_ok=True)
        for path in sorted(store.folder.glob("*.json")):
            try:
                task = json_format.Parse(path.read_text(encoding="utf-8"), Task())
            except (OSError, json_format.ParseError) as exc:
                log.warning("skipping %s: not a readable task (%s)", path, exc)
                continue
            await store._memory.save(task, SYSTEM)
        return store

    def path_for(self, task_id: str) -> Path:
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in task_id) or "task"
        return self.folder / f"{safe}.json"

    async def save(self, task: Task, context: ServerCallContext) -> None:
        kept = without_credentials(task)
        await self._memory.save(kept, context)
        text = json_format.MessageToJson(kept, indent=1)
        async with self._write_lock:
            await asyncio.to_thread(_write_atomically, self.path_for(task.id), text)

    async def get(self, task_id: str, context: ServerCallContext) -> Task | None:
        return await self._memory.get(task_id, context)

    async def list(self, params: ListTasksRequest, context: ServerCallContext) -> ListTasksResponse:
        return await self._memory.list(params, context)

    async def delete(self, task_id: str, context: ServerCallContext) -> None:
        await self._memory.delete(task_id, context)
        async with self._write_lock:
            self.path_for(task_id).unlink(missing_ok=True)

    async def all(self) -> builtins.list[Task]:
        """Every task, newest first."""
        tasks: builtins.list[Task] = []
        token = ""
        while True:
            page = await self.list(
                ListTasksRequest(page_size=100, page_token=token, include_artifacts=True), SYSTEM
            )
            tasks.extend(page.tasks)
            token = page.next_page_token
            if not token:
                return tasks


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("w", encoding="utf-8") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    tmp.replace(path)


def without_credentials(task: Task) -> Task:
    """A copy of ``task`` whose user messages have structured requests' secrets masked."""
    kept = Task()
    kept.CopyFrom(task)
    for message in _user_messages(kept):
        for part in message.parts:
            _mask_part(part)
    return kept


def _user_messages(task: Task) -> Iterator[Message]:
    for message in task.history:
        if message.role == Role.ROLE_USER:
            yield message
    if task.status.HasField("message") and task.status.message.role == Role.ROLE_USER:
        yield task.status.message


def _mask_part(part: Part) -> None:
    if part.HasField("data"):
        value = json_format.MessageToDict(part.data)
        hidden = masked(value)
        if hidden is not value:
            part.data.CopyFrom(json_format.ParseDict(hidden, struct_pb2.Value()))
    elif part.HasField("text") and part.text.lstrip().startswith("{"):
        try:
            value = json.loads(part.text)
        except json.JSONDecodeError:
            return
        hidden = masked(value)
        if hidden is not value:
            part.text = json.dumps(hidden)
