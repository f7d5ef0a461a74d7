"""The text a purple agent receives, and how its reply becomes an action.

A purple agent cannot call tools natively: it gets the tools as text and answers with
JSON. Two formats are in use:

- ``tau2`` (the tau2 A2A fork, the default): the first message carries
  ``<instructions>``, the domain ``<policy>`` and ``<available_tools>``; a tool call is
  ``{"tool_call": {"name": ..., "arguments": {...}}}``; tool results come back as
  ``Tool result (id=...): ...``.
- ``agentbeats`` (the AgentBeats / Sierra "agentify" green agent): the policy and the
  tools' JSON schemas in the first message; every reply is
  ``<json>{"name": ..., "arguments": {...}}</json>``, with ``respond`` for plain messages.

Everything here is pure: rendering takes plain data, parsing delegates to the sidecar's
lenient tool-call lens (:mod:`proxy.toollens`), which accepts both shapes in either format.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from proxy.toollens import parse_reply

MessageFormat = Literal["tau2", "agentbeats"]
MESSAGE_FORMATS: tuple[MessageFormat, ...] = ("tau2", "agentbeats")


@dataclass(frozen=True)
class ToolSpec:
    """A tool offered to the agent: name, description and JSON schema of its parameters."""

    name: str
    description: str
    parameters: Mapping[str, Any]


@dataclass(frozen=True)
class ToolResult:
    call_id: str
    name: str
    content: str
    error: bool = False


@dataclass(frozen=True)
class PriorMessage:
    """A message of the conversation before the evaluation started (task message history)."""

    role: str
    text: str


@dataclass(frozen=True)
class TurnInput:
    """What the agent is told in one turn: the user's words, or the results of its tool calls."""

    user_text: str | None = None
    tool_results: tuple[ToolResult, ...] = ()
    history: tuple[PriorMessage, ...] = ()


@dataclass(frozen=True)
class ProposedCall:
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class AgentAction:
    """What the agent's reply asks for: tool calls, or a message to the user."""

    tool_calls: tuple[ProposedCall, ...] = ()
    text: str | None = None
    malformed_tool_calls: int = 0
    problems: tuple[str, ...] = field(default=())


TAU2_INSTRUCTIONS = """\
You are a customer service agent. Help the user according to the <policy> below.
In each turn, either send a message to the user or make a tool call, not both.
To make a tool call, reply with only this JSON and nothing else:
{"tool_call": {"name": "<tool name>", "arguments": {"<parameter>": <value>}}}
Tool results come back as: Tool result (id=<call id>): <result>
Any other reply is sent to the user as your message."""

AGENTBEATS_TOOL_INTRO = (
    "Here's a list of tools you can use (you can use at most one tool at a time):"
)
AGENTBEATS_REPLY_RULES = """\
Please respond in the JSON format. Please wrap the JSON part with <json>...</json> tags.
The JSON should contain:
- "name": the tool call function name, or "respond" if you want to respond directly.
- "arguments": the arguments for the tool call, or {"content": "your message here"} \
if you want to respond directly.

Next, I'll provide you with the user message and tool call results."""


def render(
    message_format: MessageFormat,
    turn: TurnInput,
    *,
    first: bool,
    policy: str,
    tools: Sequence[ToolSpec],
) -> str:
    """The text of one A2A message to the purple agent."""
    if message_format == "tau2":
        return _render_tau2(turn, first=first, policy=policy, tools=tools)
    if message_format == "agentbeats":
        return _render_agentbeats(turn, first=first, policy=policy, tools=tools)
    raise ValueError(f"unknown message format {message_format!r}")


def _render_tau2(turn: TurnInput, *, first: bool, policy: str, tools: Sequence[ToolSpec]) -> str:
    body = _tau2_body(turn)
    if not first:
        return body
    parts = [
        f"<instructions>\n{TAU2_INSTRUCTIONS}\n</instructions>",
        f"<policy>\n{policy.strip()}\n</policy>",
        f"<available_tools>\n{describe_tools(tools)}\n</available_tools>",
    ]
    if turn.history:
        parts.append(f"<conversation_so_far>\n{_history(turn.history)}\n</conversation_so_far>")
    parts.append(body)
    return "\n\n".join(parts)


def _tau2_body(turn: TurnInput) -> str:
    if turn.tool_results:
        return "\n".join(
            f"Tool result (id={r.call_id}): {'ERROR: ' if r.error else ''}{r.content}"
            for r in turn.tool_results
        )
    return turn.user_text or ""


def _render_agentbeats(
    turn: TurnInput, *, first: bool, policy: str, tools: Sequence[ToolSpec]
) -> str:
    if turn.tool_results:
        body = "\n".join(f"tool: {r.content}" for r in turn.tool_results)
    else:
        body = f"user: {turn.user_text or ''}"
    if not first:
        return body
    schemas = json.dumps([openai_schema(t) for t in tools], indent=2)
    parts = [policy.strip(), f"{AGENTBEATS_TOOL_INTRO}\n{schemas}", AGENTBEATS_REPLY_RULES]
    if turn.history:
        parts.append(f"Conversation so far:\n{_history(turn.history)}")
    first_body = f"User message: {turn.user_text or ''}" if not turn.tool_results else body
    parts.append(first_body)
    return "\n\n".join(parts)


def _history(history: Sequence[PriorMessage]) -> str:
    return "\n".join(f"{m.role}: {m.text}" for m in history)


def openai_schema(tool: ToolSpec) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": tool.name,
            "description": tool.description,
            "parameters": dict(tool.parameters),
        },
    }


def describe_tools(tools: Sequence[ToolSpec]) -> str:
    """Each tool as ``- name(p: type, q?: type)``, its description and its parameters."""
    return "\n\n".join(_describe_tool(t) for t in tools)


def _describe_tool(tool: ToolSpec) -> str:
    properties: Mapping[str, Any] = tool.parameters.get("properties", {}) or {}
    required = set(tool.parameters.get("required", []) or [])
    signature = ", ".join(
        f"{name}{'' if name in required else '?'}: {_type_name(spec)}"
        for name, spec in properties.items()
    )
    lines = [f"- {tool.name}({signature})", f"  {tool.description.strip()}"]
    if properties:
        lines.append("  Parameters:")
        for name, spec in properties.items():
            need = "required" if name in required else "optional"
            about = str(spec.get("description") or "").strip()
            lines.append(
                f"    - {name} ({_type_name(spec)}, {need})" + (f": {about}" if about else "")
            )
    return "\n".join(lines)


def _type_name(spec: Mapping[str, Any]) -> str:
    if "type" in spec:
        kind = spec["type"]
        if kind == "array" and isinstance(spec.get("items"), Mapping):
            return f"array[{_type_name(spec['items'])}]"
        return str(kind)
    for key in ("anyOf", "oneOf"):
        if key in spec:
            return " | ".join(_type_name(s) for s in spec[key] if isinstance(s, Mapping))
    if "$ref" in spec:
        return str(spec["$ref"]).rsplit("/", 1)[-1]
    return "any"


def read_reply(text: str) -> AgentAction:
    """Turn the agent's reply text into an action, leniently (either format, fences, prose).

    Well-formed tool calls win; a reply that only looked like a tool call is counted as
    malformed and passed to the user as text, which is what tau2 does with such output.
    """
    reply = parse_reply(text)
    calls = tuple(
        ProposedCall(name=c.name, arguments=dict(c.arguments))
        for c in reply.tool_calls
        if c.valid and c.name and c.arguments is not None
    )
    invalid = [c for c in reply.tool_calls if not (c.valid and c.name and c.arguments is not None)]
    malformed = len(invalid) or int(reply.malformed)
    problems = tuple(c.problem or "unparsable tool call" for c in invalid)
    if calls:
        return AgentAction(tool_calls=calls, malformed_tool_calls=malformed, problems=problems)
    said = reply.text if reply.text is not None and reply.text.strip() else text.strip()
    return AgentAction(text=said or None, malformed_tool_calls=malformed, problems=problems)
