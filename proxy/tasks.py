"""Background asyncio tasks that cannot vanish.

The event loop keeps only a weak reference to a task: one created and forgotten can be
garbage-collected mid-flight, and its exception is never seen. :func:`spawn` is the one
way this code base starts a task (ruff bans a bare ``asyncio.create_task``): it keeps a
strong reference until the task is done, and logs an exception nobody awaited.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

log = logging.getLogger("proxy.tasks")

_running: set[asyncio.Task[Any]] = set()


def spawn(coro: Coroutine[Any, Any, T], *, name: str) -> asyncio.Task[T]:
    """``coro`` as a task on the running loop, referenced until it is done."""
    task = asyncio.create_task(coro, name=name)  # noqa: TID251 (the one allowed use)
    _running.add(task)
    task.add_done_callback(_finished)
    return task


def _finished(task: asyncio.Task[Any]) -> None:
    _running.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.error("background task %s failed", task.get_name(), exc_info=task.exception())


def running() -> int:
    """How many spawned tasks are still running (for tests and shutdown checks)."""
    return len(_running)
