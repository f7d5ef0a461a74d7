from __future__ import annotations

import pytest

from proxy.conventions import Convention
from proxy.toollens import parse_reply
from tests.proxy.reply_table import cases, expected_calls

CASES = cases()


@pytest.mark.parametrize(
    ("convention", "text", "outcome"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_lens_judges_like_the_conventions_evaluator(
    convention: str, text: str, outcome: str
) -> None:
    reply = parse_reply(text, Convention(convention))
    assert reply.format == convention
    assert [c.name for c in reply.tool_calls if c.valid] == expected_calls(outcome)
    assert reply.malformed == outcome.endswith("!"), reply.problems
    if reply.malformed:
        assert reply.problems  # every malformed call says why
    assert all(c.format == convention for c in reply.tool_calls)


@pytest.mark.parametrize(
    ("text", "convention"),
    [
        ('{"tool_call": {"name": "f", "arguments": {}}}', Convention.TAU2),
        ('{"name": "f", "arguments": {}}', Convention.AGENTBEATS_TUTORIAL),
        ('<json>{"name": "f", "arguments": {}}</json>', Convention.AGENTIFY),
    ],
)
def test_without_a_known_convention_the_reply_shape_names_it(
    text: str, convention: Convention
) -> None:
    reply = parse_reply(text)
    assert reply.format is convention
    [call] = reply.tool_calls
    assert call.valid
    assert call.name == "f"


@pytest.mark.parametrize(
    "text",
    [
        "Your flight is booked. Anything else?",
        "Reply with <json>...</json> when you call a tool.",
        "I could call get_user_details or cancel_reservation next.",
        '{"status": "ok"}',
    ],
)
def test_prose_and_plain_json_are_not_tool_calls_at_all(text: str) -> None:
    for convention in (None, *Convention):
        reply = parse_reply(text, convention)
        assert reply.tool_calls == ()
        assert not reply.malformed


def test_the_tutorial_reads_respond_as_text() -> None:
    reply = parse_reply(
        '{"name": "respond", "arguments": {"content": "Hello there"}}',
        Convention.AGENTBEATS_TUTORIAL,
    )
    assert reply.text == "Hello there"
    assert reply.tool_calls == ()


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"tool_call": {"name": "f", "arguments": {"a": 1}', "invalid JSON"),
        ('{"tool_call": {"arguments": {}}}', "no name"),
        ('{"tool_call": {"name": "f"}}', "no arguments object"),
        ('{"tool_call": {"name": "f", "arguments": [1]}}', "not an object"),
        ("<json>{not json at all</json>", "invalid JSON"),
        ('<json>{"foo": 1}</json>', "not a {name, arguments} object"),
        ('{"tool_call": ' + "[" * 100_000, "invalid JSON"),
        ('Sure: {"tool_call": {"name": "f", "arguments": {}}}', "text around the JSON"),
    ],
)
def test_malformed_calls_say_why(text: str, problem: str) -> None:
    reply = parse_reply(text)
    assert reply.malformed
    assert any(problem in p for p in reply.problems), reply.problems
    assert not any(c.valid for c in reply.tool_calls)


def test_empty_reply() -> None:
    assert parse_reply("   ").text == ""


def test_a_tool_call_under_700_nested_lists_is_text_not_a_crash() -> None:
    """M-5: the lens walks at most MAX_DEPTH levels (the probe's reply erased the
    exchange's telemetry with a RecursionError)."""
    nested = "[" * 700 + '{"tool_call": {"name": "x", "arguments": {}}}' + "]" * 700
    reply = parse_reply(nested)
    assert reply.tool_calls == ()


def test_a_number_too_long_for_python_is_a_malformed_call() -> None:
    reply = parse_reply('{"tool_call": {"name": "x", "arguments": {"n": ' + "9" * 5000 + "}}}")
    assert reply.malformed
    assert "too long" in reply.problems[0]
