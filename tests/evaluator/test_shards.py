import pytest

from evaluator.shards import check_shard, parse_shard, shard_of
from proxy.errors import SettingsError


@pytest.mark.parametrize("count", [1, 2, 3, 4, 7, 9, 12])
def test_shards_are_disjoint_cover_the_list_and_balanced(count: int) -> None:
    items = [f"task-{i}" for i in range(9)]
    shards = [shard_of(items, i, count) for i in range(count)]
    flat = [item for shard in shards for item in shard]
    assert sorted(flat) == sorted(items)
    assert len(flat) == len(set(flat))
    sizes = [len(s) for s in shards]
    assert max(sizes) - min(sizes) <= 1


def test_a_shard_keeps_the_selected_order_and_is_stable() -> None:
    items = ["b", "a", "d", "c", "e"]
    assert shard_of(items, 0, 2) == ["b", "d", "e"]
    assert shard_of(items, 1, 2) == ["a", "c"]
    assert shard_of(items, 1, 2) == shard_of(list(items), 1, 2)


def test_one_shard_is_everything() -> None:
    assert shard_of(["x", "y"], 0, 1) == ["x", "y"]


@pytest.mark.parametrize(
    ("text", "expected"), [("0/2", (0, 2)), (" 3/4 ", (3, 4)), ("0/1", (0, 1))]
)
def test_parse_shard(text: str, expected: tuple[int, int]) -> None:
    assert parse_shard(text) == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("2", "write INDEX/COUNT"),
        ("a/2", "whole numbers"),
        ("2/2", "0-based: use 0 to 1 for 2 shards"),
        ("-1/2", "0-based"),
        ("0/0", "at least 1"),
    ],
)
def test_bad_shards_are_refused_with_the_reason(text: str, problem: str) -> None:
    with pytest.raises(SettingsError, match="--shard") as caught:
        parse_shard(text)
    assert problem in str(caught.value)


def test_check_shard_names_the_key_and_refuses_non_integers() -> None:
    with pytest.raises(SettingsError, match="shard_index"):
        check_shard(5, 2, key="shard_index")
    with pytest.raises(SettingsError, match="integers"):
        check_shard(True, 2)
