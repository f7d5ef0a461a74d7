"""Spawned tasks are referenced until done, and a failure nobody awaited is logged."""

from __future__ import annotations

import asyncio
import gc
import logging

import pytest

from proxy import tasks


async def test_a_spawned_task_survives_garbage_collection_and_is_released() -> None:
    started = asyncio.Event()
    release = asyncio.Event()

    async def work() -> str:
        started.set()
        await release.wait()
        return "done"

    before = tasks.running()
    task = tasks.spawn(work(), name="work")
    del task  # only spawn's reference is left
    gc.collect()
    await started.wait()
    assert tasks.running() == before + 1
    release.set()
    for _ in range(10):
        await asyncio.sleep(0)
    assert tasks.running() == before


async def test_an_unawaited_failure_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    async def boom() -> None:
        raise RuntimeError("lost")

    with caplog.at_level(logging.ERROR, logger="proxy.tasks"):
        task = tasks.spawn(boom(), name="boom")
        with pytest.raises(RuntimeError):
            await task
    assert "background task boom failed" in caplog.text
