import asyncio
import concurrent.futures
import threading

import pytest

from evaluator.event_loop import BackgroundLoop


async def where() -> str:
    await asyncio.sleep(0)
    return threading.current_thread().name


def test_runs_coroutines_on_its_own_thread() -> None:
    with BackgroundLoop(name="bg-test") as loop:
        assert loop.run(where(), timeout=5) == "bg-test"


def test_timeout_cancels_the_coroutine() -> None:
    cancelled = threading.Event()

    async def slow() -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    with BackgroundLoop() as loop:
        with pytest.raises(concurrent.futures.TimeoutError):
            loop.run(slow(), timeout=0.05)
        assert cancelled.wait(5)


def test_close_is_idempotent_and_safe_unstarted() -> None:
    loop = BackgroundLoop().start()
    assert loop.run(asyncio.sleep(0, result="ran"), timeout=5) == "ran"
    loop.close()
    loop.close()
    assert not loop._thread.is_alive()  # the loop's thread is gone, not left running
    assert loop._loop.is_closed()
    unstarted = BackgroundLoop()
    unstarted.close()
    assert unstarted._loop.is_closed()
    assert not unstarted._thread.is_alive()
