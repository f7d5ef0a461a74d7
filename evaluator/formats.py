"""The text a purple agent receives, and how its reply becomes an action, per evaluator.

A purple agent cannot call tools natively: it gets the tools as text and answers in
text. Each tau2 evaluator has its own convention (:mod:`proxy.conventions` is the table
of names, :data:`MESSAGE_FORMATS`); ``tau2observe eval --message-format X`` writes and
reads exactly as evaluator X does, so a score here means what it means there:

``tau2`` (the tau2 A2A fork, PR #143 generation)
    First message: ``<instructions>``, ``<policy>``, ``<available_tools>``, the line
    ``To use a tool, respond with JSON: {"tool_call": ...}``, then the user's words.
    Later user messages repeat the tool list and that line. Tool results:
    ``Tool result (id=...): ...`` (``ERROR:`` on failure). Reply: the first code fence,
    else the whole text, must be ``{"tool_call": ...}`` or ``{"tool_calls": [...]}``;
    other JSON and prose go to the user; a broken call ends the turn with an error.
``agentbeats-tutorial`` (the AgentBeats tutorial's tau2 evaluator)
    First message: the policy, the tools' OpenAI schemas, a ``respond`` schema, reply
    rules with ``<json>`` examples, then ``Now here are the user messages:`` and every
    message so far (the greeting included), one per line. Later: the user's text, a
    single tool result bare, several as ``Tool '<name>' result: ...`` lines. Reply:
    ``json.loads`` of the whole text as ``{"name", "arguments"}``; ``respond`` sends
    ``arguments.content`` to the user; anything unparsable goes to the user as it is.
``agentify`` (the upstream tau2-bench agentify example)
    First message: the policy, the tools' schemas (with the gym's ``done``), ``<json>``
    reply rules, ``User message: "<observation>"`` (JSON-quoted). Later: observations,
    ``user: ...`` and ``tool: ...`` lines. Reply: the last ``<json>`` block as ``{"name",
    "arguments"}``; ``respond`` carries text; a reply without one ends the task.

Where the evaluator itself would fail on a reply (a crash, not a message to the user),
:class:`AgentAction` says so in ``fatal`` and the trial ends as the agent's failure.
Malformed calls (attempts the evaluator does not execute) are counted by the sidecar's
lens (:mod:`proxy.toollens`) under the same convention. Everything here is pure.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from proxy.conventions import (
    ALIASES,
    DEPRECATION_NOTES,
    EVALUATORS,
    NAMES,
    Convention,
    convention_named,
)
from proxy.toollens import parse_reply

log = logging.getLogger(__name__)

MessageFormat = Convention
MESSAGE_FORMATS: tuple[str, ...] = NAMES
MESSAGE_FORMAT_CHOICES: tuple[str, ...] = (*NAMES, *ALIASES)
MESSAGE_FORMAT_EVALUATORS = EVALUATORS
RESPOND_TOOL = "respond"
STOP_TOKEN = "###STOP###"  # noqa: S105 (what the gym's ``done`` tool turns into (agentify)
GREETING = "Hi! How can I help you today?"  # tau2's first agent message


def message_format_named(name: str | Convention) -> MessageFormat:
    """The format called ``name``; the deprecated alias logs its note once per call."""
    if isinstance(name, Convention):
        return name
    if name in DEPRECATION_NOTES:
        log.warning("message format %s", DEPRECATION_NOTES[name])
    return convention_named(name)


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
    """A message of the conversation before this turn (role and text)."""

    role: str
    text: str


@dataclass(frozen=True)
class TurnInput:
    """What the agent is told in one turn: the user's words, or the results of its tool calls.

    ``history`` is the task's own message history (tasks that start mid-conversation);
    ``transcript`` is every message the agent's state holds before this one, tau2's
    greeting included (the AgentBeats tutorial's opening lists them all).
    """

    user_text: str | None = None
    tool_results: tuple[ToolResult, ...] = ()
    history: tuple[PriorMessage, ...] = ()
    transcript: tuple[PriorMessage, ...] = ()


@dataclass(frozen=True)
class ProposedCall:
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class AgentAction:
    """What the agent's reply asks for: tool calls, a message to the user, or the end.

    ``fatal`` is set when the evaluator of this format would itself fail on the reply.
    """

    tool_calls: tuple[ProposedCall, ...] = ()
    text: str | None = None
    malformed_tool_calls: int = 0
    problems: tuple[str, ...] = field(default=())
    fatal: str | None = None
    stop: bool = False


# --- writing -----------------------------------------------------------------------

TAU2_INSTRUCTIONS = """\
You are a customer service agent that helps the user according to the <policy> provided below.
In each turn you can either:
- Send a message to the user.
- Make a tool call.
You cannot do both at the same time.

Try to be helpful and always follow the policy."""
TAU2_CALL_LINE = (
    'To use a tool, respond with JSON: {"tool_call": {"name": "tool_name", '
    '"arguments": {"param1": "value"}}}'
)
TOOL_INTRO = "Here's a list of tools you can use (you can use at most one tool at a time):"
TUTORIAL_USER_MESSAGES = "Now here are the user messages:"
RESPOND_SCHEMA: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": RESPOND_TOOL,
        "description": "Respond directly to the user with a message instead of calling a tool.",
        "parameters": {
            "properties": {
                "content": {
                    "description": "The message content to send to the user.",
                    "title": "Content",
                    "type": "string",
                }
            },
            "required": ["content"],
            "title": "parameters",
            "type": "object",
        },
    },
}
DONE_SCHEMA: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "done",
        "description": "Call this function when you are done with the task.",
        "parameters": {"properties": {}, "title": "parameters", "type": "object"},
    },
}
_EXAMPLE_CALL = {
    "name": "find_user_id_by_name_zip",
    "arguments": {"first_name": "Yusuf", "last_name": "Rossi", "zip_code": "19122"},
}


def render(
    message_format: MessageFormat | str,
    turn: TurnInput,
    *,
    first: bool,
    policy: str,
    tools: Sequence[ToolSpec],
) -> str:
    """The text of one A2A message to the purple agent."""
    fmt = message_format_named(message_format)
    if fmt is Convention.TAU2:
        return _render_tau2(turn, first=first, policy=policy, tools=tools)
    if fmt is Convention.AGENTBEATS_TUTORIAL:
        return _render_tutorial(turn, first=first, policy=policy, tools=tools)
    return _render_agentify(turn, first=first, policy=policy, tools=tools)


def _render_tau2(turn: TurnInput, *, first: bool, policy: str, tools: Sequence[ToolSpec]) -> str:
    if turn.tool_results:
        return "\n".join(
            f"Tool result (id={r.call_id}): ERROR: {r.content or 'Unknown error'}"
            if r.error
            else f"Tool result (id={r.call_id}): {r.content}"
            for r in turn.tool_results
        )
    tool_text = describe_tools(tools)
    parts: list[str] = []
    if first:
        context = [
            "<instructions>",
            TAU2_INSTRUCTIONS,
            "</instructions>",
            "",
            "<policy>",
            policy,
            "</policy>",
        ]
        if tools:
            context += ["", tool_text]
        context += ["", TAU2_CALL_LINE]
        parts += ["\n".join(context), ""]
        if turn.history:
            parts += [f"<conversation_so_far>\n{_history(turn.history)}\n</conversation_so_far>"]
    if turn.user_text:
        parts.append(turn.user_text)
    if not first and tools:
        parts += ["", tool_text, TAU2_CALL_LINE]
    return "\n".join(parts)


def _tutorial_prompt(policy: str, tools: Sequence[ToolSpec]) -> str:
    schemas = json.dumps([openai_schema(t) for t in tools], indent=2)
    respond = {"name": RESPOND_TOOL, "arguments": {"content": "Hello, how can I help you today?"}}
    return (
        f"{policy}\n\n{TOOL_INTRO}\n{schemas}\n\nand \n\n{json.dumps(RESPOND_SCHEMA, indent=2)}\n"
        "\n\nPlease respond in JSON format.\nThe JSON should contain:\n"
        '- "name": the tool call function name.\n'
        '- "arguments": the arguments for the tool call.\n\n'
        "You should only use one tool at a time!\n"
        "You cannot respond to user and use a tool at the same time!\n\n"
        f"Examples of responses:\n<json>\n{json.dumps(_EXAMPLE_CALL, indent=2)}\n</json>\n\n"
        f"<json>\n{json.dumps(respond, indent=2)}\n</json>\n"
    )


def _tutorial_text(turn: TurnInput) -> str:
    if len(turn.tool_results) == 1:
        return turn.tool_results[0].content  # a single result goes bare
    if turn.tool_results:
        return "\n".join(f"Tool '{r.name}' result: {r.content}" for r in turn.tool_results)
    return turn.user_text or ""


def _render_tutorial(
    turn: TurnInput, *, first: bool, policy: str, tools: Sequence[ToolSpec]
) -> str:
    text = _tutorial_text(turn)
    if not first:
        return text
    lines = [m.text for m in turn.transcript or turn.history] + [text]
    return f"{_tutorial_prompt(policy, tools)}\n\n{TUTORIAL_USER_MESSAGES}\n" + "\n".join(lines)


def _agentify_observation(turn: TurnInput) -> str:
    if turn.tool_results:
        return "\n".join(f"tool: {r.content}" for r in turn.tool_results)
    return f"user: {turn.user_text or ''}"


def _render_agentify(
    turn: TurnInput, *, first: bool, policy: str, tools: Sequence[ToolSpec]
) -> str:
    observation = _agentify_observation(turn)
    if not first:
        return observation
    schemas = json.dumps([*(openai_schema(t) for t in tools), DONE_SCHEMA], indent=2)
    # the example's name is literally "{RESPOND_ACTION_NAME}" in the evaluator's prompt
    respond = {
        "name": "{RESPOND_ACTION_NAME}",
        "arguments": {"content": "Hello, how can I help you today?"},
    }
    return (
        f"\n{policy}\n{TOOL_INTRO}\n{schemas}\n"
        "Please response in the JSON format. "
        "Please wrap the JSON part with <json>...</json> tags.\n"
        "The JSON should contain:\n"
        f'- "name": the tool call function name, or "{RESPOND_TOOL}" if you want to respond '
        "directly.\n"
        '- "arguments": the arguments for the tool call, or {"content": "your message here"} '
        "if you want to respond directly.\n"
        "You should only use one tool at a time!!\n"
        "You cannot respond to user and use a tool at the same time!!\n\n"
        f"Examples of responses:\n<json>\n{json.dumps(_EXAMPLE_CALL, indent=2)}\n</json>\n\n"
        f"<json>\n{json.dumps(respond, indent=2)}\n</json>\n\n"
        "Next, I'll provide you with the user message and tool call results.\n"
        f"User message: {json.dumps(observation, indent=2)}\n    "
    )


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
    """The fork's ``<available_tools>`` block: signature, description, parameters."""
    lines = ["<available_tools>"]
    for tool in tools:
        properties: Mapping[str, Any] = tool.parameters.get("properties", {}) or {}
        required = tool.parameters.get("required", []) or []
        signature = ", ".join(f"{n}: {s.get('type', 'any')}" for n, s in properties.items())
        lines += [f"- {tool.name}({signature})", f"  Description: {tool.description}"]
        if properties:
            lines.append("  Parameters:")
            for name, spec in properties.items():
                need = "required" if name in required else "optional"
                about = spec.get("description", "No description")
                lines.append(f"    - {name} ({spec.get('type', 'any')}, {need}): {about}")
        lines.append("")
    lines.append("</available_tools>")
    return "\n".join(lines)


# --- reading -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Read:
    """What the evaluator made of a reply: calls, text for the user, or its own failure."""

    calls: tuple[ProposedCall, ...] = ()
    text: str | None = None
    fatal: str | None = None
    stop: bool = False


class _Fatal(Exception):
    pass


def _tool_call(name: Any, arguments: Any, call_id: Any = "") -> ProposedCall:
    """tau2's ToolCall validation: a string name, an object of arguments, a string id."""
    if not isinstance(name, str):
        raise _Fatal(f"tool call name {name!r} is not a string")
    if not isinstance(arguments, dict):
        raise _Fatal(f"arguments of {name!r} is not an object")
    if not isinstance(call_id, str):
        raise _Fatal(f"id of {name!r} is not a string")
    return ProposedCall(name, arguments)


_FORK_FENCE = re.compile(r"```(?:json)?\s*\n?([\s\S]*?)\n?```")


def read_tau2(content: str) -> _Read:
    """The fork's ``parse_a2a_tool_calls``: first fence or whole text, then ``json.loads``."""
    if not content.strip():
        return _Read(text=content)
    fence = _FORK_FENCE.search(content.strip())
    json_content = fence.group(1).strip() if fence else content.strip()
    try:
        data = json.loads(json_content)
    except json.JSONDecodeError:
        return _Read(text=content)
    try:
        if "tool_call" in data:
            td = data["tool_call"]
            td.get("id")  # AttributeError when it is not an object, as in the fork
            calls = [_tool_call(td["name"], td["arguments"], td.get("id", str(uuid.uuid4())))]
        elif "tool_calls" in data:
            calls = []
            for item in data["tool_calls"]:
                if "tool_call" in item:
                    tc = item["tool_call"]
                    tc.get("id")
                    calls.append(_tool_call(tc["name"], tc["arguments"], tc.get("id", "")))
            if not calls:
                return _Read(text=content)
        else:
            return _Read(text=content)
    except (KeyError, TypeError, AttributeError) as exc:
        return _Read(fatal=f"invalid tool call format: {type(exc).__name__}: {exc}")
    except _Fatal as exc:
        return _Read(fatal=str(exc))
    return _Read(calls=tuple(calls))


def read_tutorial(response: str) -> _Read:
    """The tutorial's ``RemoteA2AAgent._parse_response``: ``json.loads`` of the whole text."""
    try:
        action = json.loads(response)
        if action["name"] == RESPOND_TOOL:
            content = action["arguments"]["content"]
            if not isinstance(content, str):
                raise _Fatal(f"respond content {content!r} is not a string")
            return _Read(text=content)
        return _Read(calls=(_tool_call(action["name"], action["arguments"]),))
    except (json.JSONDecodeError, KeyError):
        return _Read(text=response)  # "Failed to parse agent response as JSON"
    except _Fatal as exc:
        return _Read(fatal=str(exc))
    except (TypeError, AttributeError, RecursionError) as exc:
        return _Read(fatal=f"{type(exc).__name__}: {exc}")


_TAGS = re.compile(r"<(.*?)>(.*?)</\1>", re.DOTALL)


def read_agentify(text: str) -> _Read:
    """The agentify green's reading: the ``<json>`` tag, then the gym's action parser."""
    tags = {tag: body.strip() for tag, body in _TAGS.findall(text)}
    if "json" not in tags:
        return _Read(fatal="the reply has no <json>...</json> block")
    try:
        action = json.loads(tags["json"])
        if action["name"] != RESPOND_TOOL:
            action_text = json.dumps(action)
        else:
            action_text = action["arguments"]["content"]
        if not isinstance(action_text, str) or not action_text.strip():
            raise _Fatal("respond content is empty or not a string")
    except _Fatal as exc:
        return _Read(fatal=str(exc))
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        return _Read(fatal=f"the <json> block cannot be read: {type(exc).__name__}: {exc}")
    # tau2's parse_action_string: a ToolCall in JSON, else a message
    try:
        value = json.loads(action_text.strip())
        call = _tool_call(value["name"], value["arguments"], value.get("id", ""))
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError, _Fatal, RecursionError):
        return _Read(text=action_text)
    if call.name == "done":
        return _Read(text=STOP_TOKEN, stop=True)
    return _Read(calls=(call,))


_READERS: dict[Convention, Callable[[str], _Read]] = {
    Convention.TAU2: read_tau2,
    Convention.AGENTBEATS_TUTORIAL: read_tutorial,
    Convention.AGENTIFY: read_agentify,
}


def read_reply(text: str, message_format: MessageFormat | str = Convention.TAU2) -> AgentAction:
    """Turn the agent's reply into an action exactly as ``message_format``'s evaluator does.

    Tool calls the evaluator would execute win; anything it would show the user is text;
    attempts it would not execute are counted as malformed (by the sidecar's lens).
    """
    fmt = message_format_named(message_format)
    read = _READERS[fmt](text)
    lens = parse_reply(text, fmt)
    invalid = [c for c in lens.tool_calls if not c.valid]
    problems = tuple(c.problem or "unparsable tool call" for c in invalid)
    if read.fatal:
        problems = (*problems, f"the {fmt.value} evaluator fails on this reply: {read.fatal}")
    said = read.text if read.text is None else read.text.strip() or None
    return AgentAction(
        tool_calls=read.calls,
        text=None if read.calls else said,
        malformed_tool_calls=len(invalid),
        problems=problems,
        fatal=read.fatal,
        stop=read.stop,
    )
