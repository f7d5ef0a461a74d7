import json

import pytest

from evaluator.agents.wire import WireFormat, parse_opening, parse_turn
from evaluator.formats import (
    ProposedCall,
    ToolResult,
    ToolSpec,
    TurnInput,
    describe_tools,
    read_reply,
    render,
)

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


def test_tau2_first_message_carries_instructions_policy_tools_and_call_syntax() -> None:
    text = render(
        "tau2", TurnInput(user_text="Where is #W1?"), first=True, policy=POLICY, tools=TOOLS
    )
    for block in ("<instructions>", "<policy>", "<available_tools>"):
        assert block in text
    assert '{"tool_call": {"name": "<tool name>", "arguments":' in text
    assert "- get_order(order_id: string, verbose?: boolean)" in text
    assert "- order_id (string, required): The order id, e.g. #W1." in text
    assert "message to the user or make a tool call, not both" in text
    assert text.rstrip().endswith("Where is #W1?")
    # what a third-party agent (our sample agents' reader) gets out of it
    opening = parse_opening(text)
    assert opening is not None
    assert opening.format == WireFormat.TAU2
    assert opening.tool_names == ("get_order", "transfer")
    assert opening.user_text == "Where is #W1?"
    assert "Be helpful." in opening.policy


def test_tau2_later_messages_are_bare_and_tool_results_carry_ids() -> None:
    turn = TurnInput(
        tool_results=(
            ToolResult("call_1", "get_order", '{"status": "shipped"}'),
            ToolResult("call_2", "get_order", "Order not found", error=True),
        )
    )
    text = render("tau2", turn, first=False, policy=POLICY, tools=TOOLS)
    assert text == (
        'Tool result (id=call_1): {"status": "shipped"}\n'
        "Tool result (id=call_2): ERROR: Order not found"
    )
    assert (
        render("tau2", TurnInput(user_text="thanks"), first=False, policy=POLICY, tools=TOOLS)
        == "thanks"
    )


def test_agentbeats_first_message_has_schemas_and_json_tag_rules() -> None:
    text = render("agentbeats", TurnInput(user_text="Hi"), first=True, policy=POLICY, tools=TOOLS)
    assert text.startswith("# Retail policy")
    assert "Here's a list of tools you can use (you can use at most one tool at a time):" in text
    start = text.index("[")
    schemas, _ = json.JSONDecoder().raw_decode(text[start:])
    assert [s["function"]["name"] for s in schemas] == ["get_order", "transfer"]
    assert schemas[0]["function"]["parameters"]["required"] == ["order_id"]
    assert "<json>...</json>" in text
    assert '"respond"' in text
    assert text.endswith("User message: Hi")
    opening = parse_opening(text)
    assert opening is not None
    assert opening.format == WireFormat.AGENTIFY
    assert opening.user_text == "Hi"


def test_agentbeats_observations() -> None:
    turn = TurnInput(tool_results=(ToolResult("c1", "get_order", '{"ok": true}'),))
    text = render("agentbeats", turn, first=False, policy=POLICY, tools=TOOLS)
    assert text == 'tool: {"ok": true}'
    assert parse_turn(WireFormat.AGENTIFY, text).tool_results == ('{"ok": true}',)
    assert (
        render("agentbeats", TurnInput(user_text="ok"), first=False, policy="", tools=())
        == "user: ok"
    )


@pytest.mark.parametrize(
    "reply",
    [
        '{"tool_call": {"name": "get_order", "arguments": {"order_id": "#W1"}}}',
        '```json\n{"tool_call": {"name": "get_order", "arguments": {"order_id": "#W1"}}}\n```',
        'Let me check. {"tool_call": {"name": "get_order", "arguments": {"order_id": "#W1"}}}',
        '<json>{"name": "get_order", "arguments": {"order_id": "#W1"}}</json>',
        'Sure.\n<json>\n```json\n{"name": "get_order", "arguments": {"order_id": "#W1"}}\n```'
        "\n</json>",
    ],
)
def test_tool_calls_are_read_in_both_shapes_leniently(reply: str) -> None:
    action = read_reply(reply)
    assert action.tool_calls == (ProposedCall("get_order", {"order_id": "#W1"}),)
    assert action.text is None
    assert action.malformed_tool_calls == 0


def test_respond_and_plain_text_are_messages() -> None:
    respond = '<json>{"name": "respond", "arguments": {"content": "Your order shipped."}}</json>'
    assert read_reply(respond).text == "Your order shipped."
    assert read_reply("Your order shipped.").text == "Your order shipped."
    assert read_reply("Your order shipped.").tool_calls == ()


def test_malformed_calls_are_counted_and_passed_on_as_text() -> None:
    broken = '{"tool_call": {"name": "get_order", "arguments": {"order_id": "#W1"'
    action = read_reply(broken)
    assert action.tool_calls == ()
    assert action.malformed_tool_calls == 1
    assert action.text == broken
    assert action.problems


def test_describe_tools_handles_nested_types() -> None:
    spec = ToolSpec(
        "book",
        "Book it.",
        {
            "properties": {
                "ids": {"type": "array", "items": {"type": "string"}},
                "pay": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                "who": {"$ref": "#/$defs/Passenger"},
            },
            "required": ["ids"],
        },
    )
    assert "- book(ids: array[string], pay?: string | null, who?: Passenger)" in describe_tools(
        [spec]
    )
