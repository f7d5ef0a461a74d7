"""Reading openings and turns in each convention, and the exact text of every reply kind."""

from __future__ import annotations

import json

import pytest

from evaluator.agents.wire import (
    CallTool,
    MalformedCall,
    SayText,
    WireFormat,
    detect_format,
    parse_opening,
    parse_turn,
    render,
)
from tests.evaluator.agents.openings import agentbeats_opening, domain_material, tau2_opening

USER = "Hi, I'm emma_kim_9957 and I want to cancel reservation EHGLP3."
AIRLINE_TOOLS = {
    "book_reservation",
    "calculate",
    "cancel_reservation",
    "get_reservation_details",
    "get_user_details",
    "list_all_airports",
    "search_direct_flight",
    "search_onestop_flight",
    "send_certificate",
    "transfer_to_human_agents",
    "update_reservation_baggages",
    "update_reservation_flights",
    "update_reservation_passengers",
    "get_flight_status",
}


def test_tau2_opening_yields_tools_policy_and_user_text() -> None:
    opening = parse_opening(tau2_opening("airline", USER))
    assert opening is not None
    assert opening.format is WireFormat.TAU2
    assert set(opening.tool_names) == AIRLINE_TOOLS  # parameter lines are not tools
    assert opening.policy == domain_material("airline").policy.strip()
    assert opening.user_text == USER
    assert USER not in opening.instructions
    assert "<available_tools>" in opening.instructions


def test_agentbeats_opening_yields_tools_policy_and_user_text() -> None:
    opening = parse_opening(agentbeats_opening("airline", USER))
    assert opening is not None
    assert opening.format is WireFormat.AGENTIFY
    assert set(opening.tool_names) == AIRLINE_TOOLS
    assert opening.policy == domain_material("airline").policy.strip()
    assert opening.user_text == USER


def test_policy_mentioned_in_prose_before_the_block_is_not_the_block() -> None:
    text = (
        "<instructions>\nFollow the <policy> below.\nReply with "
        '{"tool_call": {"name": "x", "arguments": {}}}\n</instructions>\n\n'
        "<policy>\nBe kind.\n</policy>\n\n<available_tools>\n- get_user_details(user_id: string)"
        "\n</available_tools>\n\nhello there"
    )
    opening = parse_opening(text)
    assert opening is not None
    assert opening.policy == "Be kind."
    assert opening.tool_names == ("get_user_details",)
    assert opening.user_text == "hello there"


def test_tagged_user_text_and_history_blocks() -> None:
    text = (
        "<available_tools>\n- f(a: int)\n</available_tools>\n"
        "<conversation_so_far>\nassistant: hi\n</conversation_so_far>\n"
        "<user_message>I need help</user_message>"
    )
    opening = parse_opening(text)
    assert opening is not None
    assert opening.user_text == "I need help"


@pytest.mark.parametrize(
    "text",
    ["", "hello", "Please book a flight for me.", "<b>bold</b> text"],
)
def test_plain_text_is_no_opening(text: str) -> None:
    assert detect_format(text) is None
    assert parse_opening(text) is None


def test_tau2_turns() -> None:
    result = parse_turn(WireFormat.TAU2, 'Tool result (id=call_1): {"a": 1}')
    assert result.tool_results == ('Tool result (id=call_1): {"a": 1}',)
    assert result.user_texts == ()
    several = parse_turn(
        WireFormat.TAU2, "Tool result (id=1): ok\nTool result (id=2): ERROR: no such order"
    )
    assert len(several.tool_results) == 2
    assert several.tool_results[1].endswith("ERROR: no such order")
    assert parse_turn(WireFormat.TAU2, "thanks!").user_texts == ("thanks!",)
    # the fork repeats the tools with each user message: only the words are the user's
    repeated = parse_turn(
        WireFormat.TAU2, "yes please\n\n<available_tools>\n- f()\n</available_tools>"
    )
    assert repeated.user_texts == ("yes please",)


def test_agentbeats_observations() -> None:
    result = parse_turn(WireFormat.AGENTIFY, 'tool: {"ok": true}\nuser: fine,\nthanks')
    assert result.tool_results == ('{"ok": true}',)
    assert result.user_texts == ("fine,\nthanks",)
    assert parse_turn(WireFormat.AGENTIFY, "no prefix at all").user_texts == ("no prefix at all",)


def test_rendered_replies() -> None:
    call = CallTool("cancel_reservation", {"reservation_id": "EHGLP3"})
    assert json.loads(render(WireFormat.TAU2, call)) == {
        "tool_call": {"name": "cancel_reservation", "arguments": {"reservation_id": "EHGLP3"}}
    }
    agentbeats = render(WireFormat.AGENTIFY, call)
    assert agentbeats.startswith("<json>")
    assert agentbeats.endswith("</json>")
    assert json.loads(agentbeats[6:-7]) == {
        "name": "cancel_reservation",
        "arguments": {"reservation_id": "EHGLP3"},
    }
    assert render(WireFormat.TAU2, SayText("Hello")) == "Hello"
    assert json.loads(render(WireFormat.AGENTIFY, SayText("Hello"))[6:-7]) == {
        "name": "respond",
        "arguments": {"content": "Hello"},
    }


@pytest.mark.parametrize("fmt", list(WireFormat))
def test_malformed_calls_do_not_parse_as_calls(fmt: WireFormat) -> None:
    arguments = {"reservation_id": "EHGLP3"}
    broken = render(fmt, MalformedCall("cancel_reservation", arguments, "broken_json"))
    body = broken[6:-7] if fmt is WireFormat.AGENTIFY else broken
    with pytest.raises(json.JSONDecodeError):
        json.loads(body)
    assert "cancel_reservation" in broken
    missing = render(fmt, MalformedCall("cancel_reservation", arguments, "missing_arguments"))
    parsed = json.loads(missing[6:-7] if fmt is WireFormat.AGENTIFY else missing)
    call = parsed["tool_call"] if fmt is WireFormat.TAU2 else parsed
    assert call == {"name": "cancel_reservation"}


def test_tutorial_replies_are_bare_json_the_evaluator_reads_whole() -> None:
    from evaluator.formats import read_reply

    call = CallTool("cancel_reservation", {"reservation_id": "EHGLP3"})
    text = render(WireFormat.AGENTBEATS_TUTORIAL, call)
    assert json.loads(text) == {
        "name": "cancel_reservation",
        "arguments": {"reservation_id": "EHGLP3"},
    }
    action = read_reply(text, "agentbeats-tutorial")
    assert [c.name for c in action.tool_calls] == ["cancel_reservation"]
    said = read_reply(render(WireFormat.AGENTBEATS_TUTORIAL, SayText("Hello")), "agentbeats")
    assert said.fatal is not None  # "agentbeats" is agentify: bare JSON is not its shape
    said = read_reply(
        render(WireFormat.AGENTBEATS_TUTORIAL, SayText("Hello")), "agentbeats-tutorial"
    )
    assert said.text == "Hello"


def test_tutorial_opening_drops_the_greeting_and_finds_the_tools() -> None:
    from tests.evaluator.agents.openings import tutorial_opening

    opening = parse_opening(tutorial_opening("airline", USER))
    assert opening is not None
    assert opening.format is WireFormat.AGENTBEATS_TUTORIAL
    assert set(opening.tool_names) == AIRLINE_TOOLS  # not respond
    assert opening.user_text == USER
    assert opening.policy == domain_material("airline").policy.strip()
    assert detect_format(tutorial_opening("airline", USER)) is WireFormat.AGENTBEATS_TUTORIAL
