from __future__ import annotations

import pytest

from proxy.toollens import parse_reply


def test_tau2_tool_call_is_read() -> None:
    reply = parse_reply(
        '{"tool_call": {"name": "get_user_details", "arguments": {"user_id": "u1"}}}'
    )
    assert reply.text is None
    assert not reply.malformed
    [call] = reply.tool_calls
    assert (call.name, call.arguments, call.valid, call.format) == (
        "get_user_details",
        {"user_id": "u1"},
        True,
        "tau2",
    )


def test_tau2_tool_calls_list_is_read() -> None:
    reply = parse_reply(
        '{"tool_calls": [{"tool_call": {"name": "a", "arguments": {}}},'
        ' {"tool_call": {"name": "b", "arguments": {"x": 1}}}]}'
    )
    assert [c.name for c in reply.tool_calls] == ["a", "b"]
    assert all(c.valid for c in reply.tool_calls)


def test_agentbeats_tool_call_in_tags_with_prose() -> None:
    reply = parse_reply('Let me look.\n<json>{"name": "find", "arguments": {"q": "x"}}</json>')
    [call] = reply.tool_calls
    assert (call.name, call.arguments, call.format) == ("find", {"q": "x"}, "agentbeats")


def test_agentbeats_respond_is_text() -> None:
    reply = parse_reply('<json>{"name": "respond", "arguments": {"content": "Hello there"}}</json>')
    assert reply.text == "Hello there"
    assert reply.tool_calls == ()
    assert not reply.malformed


@pytest.mark.parametrize(
    "text",
    [
        '```json\n{"tool_call": {"name": "f", "arguments": {"a": 1}}}\n```',
        'Sure, calling it now: {"tool_call": {"name": "f", "arguments": {"a": 1}}}',
        '<json>\n```json\n{"name": "f", "arguments": {"a": 1}}\n```\n</json>',
        '{"name": "f", "arguments": "{\\"a\\": 1}"}',
    ],
)
def test_lenient_shapes(text: str) -> None:
    [call] = parse_reply(text).tool_calls
    assert call.valid
    assert (call.name, call.arguments) == ("f", {"a": 1})


def test_plain_text_is_text() -> None:
    reply = parse_reply("Your flight is booked. Anything else?")
    assert reply.text == "Your flight is booked. Anything else?"
    assert reply.tool_calls == ()
    assert not reply.malformed


def test_json_that_is_not_a_tool_call_is_text() -> None:
    reply = parse_reply('{"status": "ok"}')
    assert reply.text == '{"status": "ok"}'
    assert not reply.malformed


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"tool_call": {"name": "f", "arguments": {"a": 1}', "invalid JSON"),
        ('{"tool_call": {"arguments": {}}}', "no name"),
        ('{"tool_call": {"name": "f"}}', "no arguments object"),
        ('{"tool_call": {"name": "f", "arguments": [1]}}', "not an object"),
        ("<json>not json at all</json>", "invalid JSON"),
        ('<json>{"foo": 1}</json>', "not a {name, arguments} object"),
        ('{"tool_call": ' + "[" * 100_000, "invalid JSON"),
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
