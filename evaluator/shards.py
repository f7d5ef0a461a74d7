"""Shards: one evaluation split across several runs, as AgentBeats' gateway splits it.

A shard is ``(index, count)``, 0-based like AgentBeats' ``shard_index`` and
``num_shards``. It applies to the *selected* task list (after the task set, its split,
``task_ids`` and ``num_tasks``): task ``i`` of that list goes to shard ``i % count``, so
the shards are disjoint, cover the list, differ in size by at most one, and keep the
selected order. A task's trials all stay in its shard, so each shard's pass^k is whole.

    check_shard(index, count, key)  raises SettingsError naming ``key`` when out of range
    parse_shard("1/4")              -> (1, 4), for ``tau2observe eval --shard``
    shard_of(items, index, count)   -> the shard's items, in order
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from proxy.errors import SettingsError

T = TypeVar("T")


def check_shard(index: int, count: int, key: str = "--shard") -> None:
    """Raise :class:`SettingsError` unless ``0 <= index < count``."""
    for value in (index, count):
        if isinstance(value, bool) or not isinstance(value, int):
            raise SettingsError(key, f"{index}/{count}", "index and count must be integers")
    if count < 1:
        raise SettingsError(key, f"{index}/{count}", "the number of shards must be at least 1")
    if not 0 <= index < count:
        raise SettingsError(
            key,
            f"{index}/{count}",
            f"the shard index is 0-based: use 0 to {count - 1} for {count} shards",
        )


def parse_shard(text: str, key: str = "--shard") -> tuple[int, int]:
    """``"I/N"`` as ``(I, N)``; raises :class:`SettingsError` naming ``key``."""
    index, slash, count = text.strip().partition("/")
    if not slash:
        raise SettingsError(key, text, "write INDEX/COUNT, e.g. 0/2 (0-based index)")
    try:
        parsed = int(index), int(count)
    except ValueError:
        raise SettingsError(key, text, "write INDEX/COUNT with whole numbers, e.g. 0/2") from None
    check_shard(*parsed, key=key)
    return parsed


def shard_of(items: Sequence[T], index: int, count: int) -> list[T]:
    """The items of shard ``index`` of ``count``: every ``count``-th, from ``index``."""
    check_shard(index, count)
    return list(items[index::count])
