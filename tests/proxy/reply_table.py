"""Tricky agent replies, and what each evaluator's own parser makes of them.

Outcomes per convention: ``call:f,g`` (the evaluator executes these calls), ``text``
(shown to the user), ``fatal`` (the evaluator itself fails on the reply); a trailing
``!`` means the reply attempted a tool call that was not executed (a malformed call).
Shared by the lens's tests and the evaluator's parser tests, which must agree row by row.
"""

from __future__ import annotations

C = '{"name": "f", "arguments": {"a": 1}}'
G = '{"name": "g", "arguments": {}}'
T = '{"tool_call": {"name": "f", "arguments": {"a": 1}}}'
RESPOND = '{"name": "respond", "arguments": {"content": "Hello"}}'

# (id, reply, tau2, agentbeats-tutorial, agentify)
ROWS: list[tuple[str, str, str, str, str]] = [
    ("bare-tool_call", T, "call:f", "text!", "fatal!"),
    ("bare-name-arguments", C, "text!", "call:f", "fatal!"),
    ("bare-with-whitespace", f"\n  {C}\n", "text!", "call:f", "fatal!"),
    ("json-tagged", f"<json>{C}</json>", "text!", "text!", "call:f"),
    ("json-tagged-prose", f"Let me check.\n<json>\n{C}\n</json>", "text!", "text!", "call:f"),
    ("fenced-tool_call", f"```json\n{T}\n```", "call:f", "text!", "fatal!"),
    ("fenced-name-arguments", f"```json\n{C}\n```", "text!", "text!", "fatal!"),
    ("prose-then-tool_call", f"Sure, calling it now: {T}", "text!", "text!", "fatal!"),
    ("prose-then-name-arguments", f"Sure: {C}", "text!", "text!", "fatal!"),
    ("prose-then-fenced-tool_call", f"Sure:\n```json\n{T}\n```", "call:f", "text!", "fatal!"),
    ("two-tool_call-objects", T + T, "text!", "text!", "fatal!"),
    ("two-name-arguments-objects", C + G, "text!", "text!", "fatal!"),
    (
        "string-arguments",
        '{"name": "f", "arguments": "{\\"a\\": 1}"}',
        "text!",
        "fatal!",
        "fatal!",
    ),
    (
        "tool_call-string-arguments",
        '{"tool_call": {"name": "f", "arguments": "{\\"a\\": 1}"}}',
        "fatal!",
        "text!",
        "fatal!",
    ),
    (
        "tagged-string-arguments",
        '<json>{"name": "f", "arguments": "{\\"a\\": 1}"}</json>',
        "text!",
        "text!",
        "text!",
    ),
    ("respond-bare", RESPOND, "text", "text", "fatal"),
    ("respond-tagged", f"<json>{RESPOND}</json>", "text", "text", "text"),
    (
        "prose-mentions-json-tags",
        "I will answer in <json>...</json> tags.",
        "text",
        "text",
        "fatal",
    ),
    ("prose-mentions-tool-name", "I'll look up get_user_details for you.", "text", "text", "fatal"),
    ("plain-text", "Your flight is booked. Anything else?", "text", "text", "fatal"),
    ("json-not-a-call", '{"status": "ok"}', "text", "text", "fatal"),
    (
        "tool_calls-list",
        '{"tool_calls": [{"tool_call": {"name": "f", "arguments": {}}},'
        ' {"tool_call": {"name": "g", "arguments": {"x": 1}}}]}',
        "call:f,g",
        "text!",
        "fatal!",
    ),
    ("broken-json", T[:-2], "text!", "text!", "fatal!"),
    ("tool_call-without-arguments", '{"tool_call": {"name": "f"}}', "fatal!", "text!", "fatal!"),
    ("name-without-arguments", '{"name": "f"}', "text!", "text!", "fatal!"),
    ("fence-inside-json-tags", f"<json>\n```json\n{C}\n```\n</json>", "text!", "text!", "fatal!"),
    ("tool_call-inside-json-tags", f"<json>{T}</json>", "text!", "text!", "fatal!"),
    (
        "two-json-blocks-last-wins",
        f"<json>{C}</json> or <json>{G}</json>",
        "text!",
        "text!",
        "call:g",
    ),
    ("list-of-calls", f"[{C}]", "text!", "fatal!", "fatal!"),
    ("a-number", "42", "fatal", "fatal", "fatal"),
    (
        "tool_call-integer-id",
        '{"tool_call": {"id": 5, "name": "f", "arguments": {}}}',
        "fatal!",
        "text!",
        "fatal!",
    ),
]

CONVENTIONS = ("tau2", "agentbeats-tutorial", "agentify")


def cases() -> list[tuple[str, str, str, str]]:
    """(id, convention, reply, outcome) for every row and convention."""
    return [
        (f"{row[0]}@{name}", name, row[1], row[2 + i])
        for row in ROWS
        for i, name in enumerate(CONVENTIONS)
    ]


def expected_calls(outcome: str) -> list[str]:
    return (
        outcome.removesuffix("!").removeprefix("call:").split(",")
        if outcome.startswith("call:")
        else []
    )
