from __future__ import annotations

import pytest

from evaluator.agents.contexts import ContextBook


def test_least_recently_used_context_is_forgotten_first() -> None:
    book: ContextBook[int] = ContextBook(2)
    book.put("a", 1)
    book.put("b", 2)
    assert book.get("a") == 1  # "a" is now the most recent
    book.put("c", 3)
    assert "b" not in book
    assert book.get("a") == 1
    assert book.get("c") == 3
    assert len(book) == 2
    assert book.evicted == 1


def test_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError, match="capacity=0"):
        ContextBook[int](0)
