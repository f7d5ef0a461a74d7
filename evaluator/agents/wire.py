"""The text a purple agent reads and writes: the three tau2-over-A2A conventions.

Pure functions over strings; no I/O. A sample agent sees exactly what any third-party
agent would see, so it reads the evaluator's wording leniently and keys on markers only.

``tau2`` (the tau2 A2A fork)
    In: the first message carries ``<instructions>``, ``<policy>``, ``<available_tools>``
    and the tool-call convention ``{"tool_call": {"name": ..., "arguments": {...}}}``,
    followed by the user's text. Later messages are user text or tool results
    (``Tool result (id=...): ...``, possibly with ``ERROR:``).
    Out: a tool call is the bare JSON ``{"tool_call": {"name": N, "arguments": {...}}}``;
    anything else is plain text addressed to the user.

``agentbeats-tutorial`` (the AgentBeats tutorial's tau2 evaluator)
    In: the policy, the tools' JSON schemas, a ``respond`` schema, reply rules, then
    ``Now here are the user messages:`` and every message so far, one per line (tau2's
    greeting first). Later messages are the user's text, or tool results: a single
    result arrives bare, several as ``Tool '<name>' result: ...`` lines.
    Out: the bare JSON ``{"name": N, "arguments": {...}}``, and
    ``{"name": "respond", "arguments": {"content": TEXT}}`` for text.

``agentify`` (the upstream agentify example; formerly called ``agentbeats``)
    In: the policy, the tools' schemas, instructions to answer inside
    ``<json>...</json>``, and ``User message: <observation>`` (JSON-quoted by that
    evaluator). Later messages are observations: ``user: ...`` and ``tool: ...`` lines.
    Out: ``<json>{"name": N, "arguments": {...}}</json>`` for a tool call and
    ``<json>{"name": "respond", "arguments": {"content": TEXT}}</json>`` for text.

Which convention an opening uses is :func:`proxy.conventions.recognise_opening`, the sidecar's
own reading.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from proxy.conventions import Convention, recognise_opening

WireFormat = Convention
GREETING = "Hi! How can I help you today?"  # tau2's first agent message


RESPOND_TOOL = "respond"


# --- what the agent says ------------------------------------------------------------


@dataclass(frozen=True)
class SayText:
    """A message to the user."""

    text: str


@dataclass(frozen=True)
class CallTool:
    """One well-formed tool call."""

    name: str
    arguments: Mapping[str, Any]


Defect = Literal["broken_json", "missing_arguments"]


@dataclass(frozen=True)
class MalformedCall:
    """A tool call the evaluator cannot parse as one (for the ``flawed`` agent)."""

    name: str
    arguments: Mapping[str, Any]
    defect: Defect


Reply = SayText | CallTool | MalformedCall


def render(fmt: WireFormat, reply: Reply) -> str:
    """The exact text sent back for ``reply`` in ``fmt``."""
    if isinstance(reply, SayText):
        if fmt is WireFormat.TAU2:
            return reply.text
        return _wrap(fmt, {"name": RESPOND_TOOL, "arguments": {"content": reply.text}})
    if isinstance(reply, CallTool):
        call = {"name": reply.name, "arguments": dict(reply.arguments)}
        if fmt is WireFormat.TAU2:
            return json.dumps({"tool_call": call})
        return _wrap(fmt, call)
    return _render_malformed(fmt, reply)


def _wrap(fmt: WireFormat, payload: Mapping[str, Any]) -> str:
    if fmt is WireFormat.AGENTIFY:
        return f"<json>{json.dumps(payload)}</json>"
    return json.dumps(payload)


def _render_malformed(fmt: WireFormat, call: MalformedCall) -> str:
    if call.defect == "missing_arguments":
        body: dict[str, Any] = {"name": call.name}
        return json.dumps({"tool_call": body}) if fmt is WireFormat.TAU2 else _wrap(fmt, body)
    # broken JSON: the closing braces never come, as when a model stops mid-object
    well_formed = render(fmt, CallTool(call.name, call.arguments))
    if fmt is WireFormat.AGENTIFY:
        return well_formed.removesuffix("}</json>") + "</json>"
    return well_formed[:-2]


# --- what the agent reads -------------------------------------------------------------


@dataclass(frozen=True)
class Opening:
    """The first message of a conversation, taken apart."""

    format: WireFormat
    tool_names: tuple[str, ...]
    policy: str
    instructions: str  # everything that is not the user's text: the system prompt
    user_text: str


@dataclass(frozen=True)
class Turn:
    """One later message: what the user said and which tool results came back."""

    user_texts: tuple[str, ...] = ()
    tool_results: tuple[str, ...] = ()


def detect_format(text: str) -> WireFormat | None:
    """Which convention an opening message uses, or None when it carries no markers."""
    found = recognise_opening(text)
    if found is not None:
        return found
    lowered = text.lower()
    if "list of tools" in lowered and "<json>" in lowered:
        return WireFormat.AGENTIFY
    return None


def parse_opening(text: str) -> Opening | None:
    """Take an opening message apart; None when it is in no known convention."""
    fmt = detect_format(text)
    if fmt is WireFormat.TAU2:
        return _parse_tau2_opening(text)
    if fmt is WireFormat.AGENTBEATS_TUTORIAL:
        return _parse_tutorial_opening(text)
    if fmt is WireFormat.AGENTIFY:
        return _parse_agentify_opening(text)
    return None


def parse_turn(fmt: WireFormat, text: str, *, after_call: bool = False) -> Turn:
    """Split a later message into user text and tool results.

    ``after_call``: the agent's last reply was a tool call, so in the tutorial's
    convention an unlabelled message is that call's result.
    """
    if fmt is WireFormat.AGENTIFY:
        return _parse_observation(text)
    if fmt is WireFormat.AGENTBEATS_TUTORIAL:
        return _parse_tutorial_turn(text, after_call)
    if _TOOL_RESULT.match(text):
        return Turn(tool_results=tuple(_split_tool_results(text)))
    # The fork may repeat the tool list with every user message: keep only the user's words.
    user_text = _tau2_user_text(text) if _TAGGED_BLOCK.search(text) else text.strip()
    return Turn(user_texts=(user_text,) if user_text else ())


_TAGGED_BLOCK = re.compile(r"<(?P<tag>[A-Za-z_][\w-]*)>(?P<body>.*?)</(?P=tag)>", re.DOTALL)
_USER_TAGS = ("user_message", "user_request", "user", "message", "customer_message", "request")
_TOOL_RESULT = re.compile(r"\s*tool(?:\s+'[^']*'|\s+\"[^\"]*\")?\s+result\b", re.IGNORECASE)
_USER_LABEL = re.compile(
    r"^\s*(?:the\s+)?(?:user|customer)(?:'s)?(?:\s+(?:message|says|request))?\s*:\s*",
    re.IGNORECASE | re.MULTILINE,
)
# a tool's signature line in the fork's listing: "- name(param: type, ...)" or "name(...)";
# parameter lines ("- user_id (string, required)") have a space before the parenthesis
_SIGNATURE = re.compile(r"^[ \t]*(?:[-*•][ \t]*|\d+[.)][ \t]*|#+[ \t]*)?`?([A-Za-z_]\w*)`?\(", re.M)
_JSON_NAME = re.compile(r"\"name\"\s*:\s*\"([A-Za-z_]\w*)\"")


def _block(text: str, tag: str) -> str | None:
    """The body of ``<tag>...</tag>``; an unclosed block runs to the next tag or the end.

    A mention of ``<tag>`` in prose before the real block (``follow the <policy> below``)
    is skipped: a body never contains another opening of the same tag.
    """
    closed = re.search(rf"<{tag}>((?:(?!<{tag}>).)*?)</{tag}>", text, re.S | re.I)
    if closed:
        return closed.group(1).strip()
    unclosed = re.search(rf"<{tag}>(.*?)(?=<[A-Za-z_][\w-]*>|\Z)", text, re.S | re.I)
    return unclosed.group(1).strip() if unclosed else None


def _unique(names: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(n for n in names if n not in ("tool_name", "done", RESPOND_TOOL)))


def _parse_tau2_opening(text: str) -> Opening:
    tools = _block(text, "available_tools") or _block(text, "tools") or ""
    names = _SIGNATURE.findall(tools) + _JSON_NAME.findall(tools)
    user_text = _tau2_user_text(text)
    instructions = text.replace(user_text, "").strip() if user_text else text
    return Opening(
        format=WireFormat.TAU2,
        tool_names=_unique(names),
        policy=_block(text, "policy") or "",
        instructions=instructions,
        user_text=user_text,
    )


def _tau2_user_text(text: str) -> str:
    """The user's words in a tau2-format message: a user tag, else what no block claims."""
    for tag in _USER_TAGS:
        body = _block(text, tag)
        if body:
            return body
    rest = _TAGGED_BLOCK.sub("\n", text)
    # unclosed blocks (a sloppy renderer) run to the next tag or the end; drop them too
    rest = re.sub(r"<[A-Za-z_][\w-]*>.*", "", rest, flags=re.S)
    lines = [line for line in rest.splitlines() if "tool_call" not in line]
    rest = "\n".join(lines)
    labels = list(_USER_LABEL.finditer(rest))
    if labels:
        rest = rest[labels[-1].end() :]
    return rest.strip()


_TUTORIAL_LABEL = re.compile(r"now here are the user messages\s*:[ \t]*\n?", re.I)
_TUTORIAL_RESULT = re.compile(r"^Tool '([^'\n]*)' result: ?", re.M)


def _parse_tutorial_opening(text: str) -> Opening:
    marker = re.search(r"here'?s a list of tools|list of tools", text, re.I)
    policy = text[: marker.start()].strip() if marker else ""
    labels = list(_TUTORIAL_LABEL.finditer(text))
    label = labels[-1] if labels else None
    names = _schema_names(text[marker.end() if marker else 0 : label.start() if label else None])
    said = text[label.end() :] if label else ""
    # every message so far, one per line: drop tau2's greeting, keep the user's words
    lines = said.split("\n")
    if lines and lines[0].strip() == GREETING:
        lines = lines[1:]
    return Opening(
        format=WireFormat.AGENTBEATS_TUTORIAL,
        tool_names=names,
        policy=policy,
        instructions=text[: label.start()].strip() if label else text,
        user_text="\n".join(lines).strip(),
    )


def _parse_tutorial_turn(text: str, after_call: bool) -> Turn:
    starts = list(_TUTORIAL_RESULT.finditer(text))
    if starts and starts[0].start() == 0:
        bounds = [m.start() for m in starts] + [len(text)]
        return Turn(tool_results=tuple(text[a:b].strip() for a, b in itertools.pairwise(bounds)))
    if after_call:
        return Turn(tool_results=(text.strip(),))
    stripped = text.strip()
    return Turn(user_texts=(stripped,) if stripped else ())


def _parse_agentify_opening(text: str) -> Opening:
    marker = re.search(r"here'?s a list of tools|list of tools", text, re.I)
    policy = text[: marker.start()].strip() if marker else ""
    names = _schema_names(text[marker.end() :] if marker else text)
    labels = list(re.finditer(r"user message\s*:\s*", text, re.I))
    label = labels[-1] if labels else None
    said = text[label.end() :].strip() if label else ""
    if said.startswith('"'):
        # the agentify evaluator JSON-quotes its observation
        try:
            decoded, _ = json.JSONDecoder().raw_decode(said)
        except json.JSONDecodeError:
            decoded = None
        if isinstance(decoded, str):
            said = decoded
    observed = _parse_observation(said)
    user_text = "\n".join(observed.user_texts) if observed.user_texts else said
    instructions = text[: label.start()].strip() if label else text
    return Opening(
        format=WireFormat.AGENTIFY,
        tool_names=names,
        policy=policy,
        instructions=instructions,
        user_text=user_text,
    )


def _schema_names(text: str) -> tuple[str, ...]:
    """Tool names from the first JSON list of OpenAI tool schemas in ``text``."""
    start = text.find("[")
    if start >= 0:
        try:
            schemas, _ = json.JSONDecoder().raw_decode(text[start:])
        except json.JSONDecodeError:
            schemas = None
        if isinstance(schemas, list):
            names = []
            for schema in schemas:
                if isinstance(schema, dict):
                    function = schema.get("function", schema)
                    if isinstance(function, dict) and isinstance(function.get("name"), str):
                        names.append(function["name"])
            if names:
                return _unique(names)
    return _unique(_JSON_NAME.findall(text))


_OBSERVATION_LINE = re.compile(r"^\s*(user|tool)\s*:\s?", re.IGNORECASE)


def _parse_observation(text: str) -> Turn:
    segments: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        match = _OBSERVATION_LINE.match(line)
        if match:
            segments.append((match.group(1).lower(), [line[match.end() :]]))
        elif segments:
            segments[-1][1].append(line)
    if not segments:
        stripped = text.strip()
        return Turn(user_texts=(stripped,) if stripped else ())
    users = tuple("\n".join(body).strip() for role, body in segments if role == "user")
    tools = tuple("\n".join(body).strip() for role, body in segments if role == "tool")
    return Turn(user_texts=tuple(u for u in users if u), tool_results=tools)


def _split_tool_results(text: str) -> list[str]:
    starts = [m.start() for m in re.finditer(r"(?im)^\s*tool(?:\s+\S+)?\s+result\b", text)]
    if not starts:
        return [text.strip()]
    bounds = [*starts, len(text)]
    return [text[a:b].strip() for a, b in itertools.pairwise(bounds)]
