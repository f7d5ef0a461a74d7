import json

import pytest

from evaluator.agents.wire import WireFormat, parse_opening, parse_turn
from evaluator.formats import (
    MessageFormat,
    PriorMessage,
    ToolResult,
    ToolSpec,
    TurnInput,
    message_format_named,
    read_reply,
    render,
)
from proxy.conventions import Convention
from proxy.toollens import parse_reply
from tests.proxy import reply_table

TOOLS = (
    ToolSpec(
        name="get_order",
        description="Look an order up.",
        parameters={
            "type": "object",
            "properties": {
                "order_id": {"type": "string", "description": "The order id, e.g. #W1."},
                "verbose": {"type": "boolean"},
            },
            "required": ["order_id"],
        },
    ),
    ToolSpec(name="transfer", description="Hand over to a human.", parameters={}),
)
POLICY = "# Retail policy\nBe helpful."


def test_tau2_first_message_is_the_forks_system_context_then_the_user() -> None:
    text = render(
        "tau2", TurnInput(user_text="Where is #W1?"), first=True, policy=POLICY, tools=TOOLS
    )
    assert text.startswith("<instructions>\nYou are a customer service agent that helps")
    assert "<policy>\n# Retail policy\nBe helpful.\n</policy>" in text
    assert (
        "- get_order(order_id: string, verbose: boolean)\n  Description: Look an order up." in text
    )
    assert "    - order_id (string, required): The order id, e.g. #W1." in text
    assert "    - verbose (boolean, optional): No description" in text
    assert text.endswith(
        '\n\nTo use a tool, respond with JSON: {"tool_call": {"name": "tool_name", '
        '"arguments": {"param1": "value"}}}\n\nWhere is #W1?'
    )
    opening = parse_opening(text)
    assert opening is not None
    assert opening.format == WireFormat.TAU2
    assert opening.tool_names == ("get_order", "transfer")
    assert opening.user_text == "Where is #W1?"
    assert "Be helpful." in opening.policy


def test_tau2_later_messages_repeat_the_tools_and_results_carry_ids() -> None:
    turn = TurnInput(
        tool_results=(
            ToolResult("call_1", "get_order", '{"status": "shipped"}'),
            ToolResult("call_2", "get_order", "", error=True),
        )
    )
    text = render("tau2", turn, first=False, policy=POLICY, tools=TOOLS)
    assert text == (
        'Tool result (id=call_1): {"status": "shipped"}\n'
        "Tool result (id=call_2): ERROR: Unknown error"
    )
    later = render("tau2", TurnInput(user_text="thanks"), first=False, policy=POLICY, tools=TOOLS)
    assert later.startswith("thanks\n\n<available_tools>\n")
    assert later.endswith('{"param1": "value"}}}')
    assert parse_turn(WireFormat.TAU2, later).user_texts == ("thanks",)


def test_tutorial_opening_lists_every_message_so_far_after_its_marker() -> None:
    turn = TurnInput(
        user_text="Where is #W1?",
        transcript=(PriorMessage("assistant", "Hi! How can I help you today?"),),
    )
    text = render("agentbeats-tutorial", turn, first=True, policy=POLICY, tools=TOOLS)
    assert text.startswith("# Retail policy\nBe helpful.\n\nHere's a list of tools")
    assert "\n\nand \n\n" in text  # the respond schema follows, as in the evaluator
    assert "Please respond in JSON format.\n" in text
    assert text.endswith(
        "\n\nNow here are the user messages:\nHi! How can I help you today?\nWhere is #W1?"
    )
    opening = parse_opening(text)
    assert opening is not None
    assert opening.format == WireFormat.AGENTBEATS_TUTORIAL
    assert opening.tool_names == ("get_order", "transfer")
    assert opening.user_text == "Where is #W1?"


def test_tutorial_results_arrive_bare_alone_and_labelled_together() -> None:
    one = TurnInput(tool_results=(ToolResult("c1", "get_order", '{"ok": true}'),))
    two = TurnInput(
        tool_results=(ToolResult("c1", "get_order", "A"), ToolResult("c2", "transfer", "B"))
    )
    fmt = "agentbeats-tutorial"
    assert render(fmt, one, first=False, policy="", tools=()) == '{"ok": true}'
    labelled = render(fmt, two, first=False, policy="", tools=())
    assert labelled == "Tool 'get_order' result: A\nTool 'transfer' result: B"
    tutorial = WireFormat.AGENTBEATS_TUTORIAL
    assert parse_turn(tutorial, labelled).tool_results == (
        "Tool 'get_order' result: A",
        "Tool 'transfer' result: B",
    )
    assert parse_turn(tutorial, '{"ok": true}', after_call=True).tool_results == ('{"ok": true}',)
    assert parse_turn(tutorial, "thanks").user_texts == ("thanks",)


def test_agentify_opening_quotes_the_observation_and_offers_done() -> None:
    text = render("agentify", TurnInput(user_text="Hi"), first=True, policy=POLICY, tools=TOOLS)
    assert text.startswith("\n# Retail policy\nBe helpful.\nHere's a list of tools")
    start = text.index("[")
    schemas, _ = json.JSONDecoder().raw_decode(text[start:])
    assert [s["function"]["name"] for s in schemas] == ["get_order", "transfer", "done"]
    assert "Please wrap the JSON part with <json>...</json> tags." in text
    assert text.endswith('User message: "user: Hi"\n    ')
    opening = parse_opening(text)
    assert opening is not None
    assert opening.format == WireFormat.AGENTIFY
    assert opening.user_text == "Hi"
    assert opening.tool_names == ("get_order", "transfer")


def test_agentify_observations() -> None:
    turn = TurnInput(tool_results=(ToolResult("c1", "get_order", '{"ok": true}'),))
    text = render("agentify", turn, first=False, policy=POLICY, tools=TOOLS)
    assert text == 'tool: {"ok": true}'
    assert parse_turn(WireFormat.AGENTIFY, text).tool_results == ('{"ok": true}',)
    assert render("agentify", TurnInput(user_text="ok"), first=False, policy="", tools=()) == (
        "user: ok"
    )


def test_agentbeats_is_a_deprecated_alias_of_agentify(caplog: pytest.LogCaptureFixture) -> None:
    assert message_format_named("agentbeats") is MessageFormat.AGENTIFY
    assert "deprecated" not in caplog.text
    assert "old name of 'agentify'" in caplog.text
    with pytest.raises(ValueError, match="use one of tau2, agentbeats-tutorial, agentify"):
        message_format_named("agentbeat")


def test_agentify_done_ends_the_conversation() -> None:
    action = read_reply('<json>{"name": "done", "arguments": {}}</json>', "agentify")
    assert action.stop
    assert action.tool_calls == ()


REPLY_CASES = reply_table.cases()


@pytest.mark.parametrize(
    ("convention", "text", "outcome"),
    [c[1:] for c in REPLY_CASES],
    ids=[c[0] for c in REPLY_CASES],
)
def test_each_evaluators_parser_and_the_lens_agree_row_by_row(
    convention: str, text: str, outcome: str
) -> None:
    action = read_reply(text, convention)
    executed = [c.name for c in action.tool_calls]
    assert executed == reply_table.expected_calls(outcome)
    assert bool(action.fatal) == outcome.startswith("fatal"), action
    assert (action.malformed_tool_calls > 0) == outcome.endswith("!"), action
    if outcome.startswith("text"):
        assert action.text
    lens = parse_reply(text, Convention(convention))
    assert [c.name for c in lens.tool_calls if c.valid] == executed
