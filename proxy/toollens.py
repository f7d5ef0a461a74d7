"""The tau2 lens: tool calls in an agent's text reply, judged as the evaluator judges them.

Agents under tau2 answer in text (:mod:`proxy.conventions` names the three ways). The
lens works in two steps:

1. **Attempts.** Where does the reply try to write a tool call? A JSON object or list
   of call shape (``{"tool_call": ...}``, ``{"tool_calls": [...]}``, ``{"name": ...,
   "arguments": ...}``) that is the whole reply (``bare``), inside ``<json>`` tags
   (``tagged``), in a code fence (``fenced``), after prose (``embedded``), or followed by
   a second object (``concatenated``); or JSON of that shape that does not decode.
   Prose that only mentions ``<json>...</json>`` or a tool's name is no attempt at all.
2. **Validity.** Would the convention's evaluator execute it? Each has one rule:

   - ``tau2`` (the fork): the whole reply, or the first code fence, decodes to
     ``{"tool_call": ...}``/``{"tool_calls": [...]}`` with a string name and an object of
     arguments;
   - ``agentbeats-tutorial``: the whole reply decodes to ``{"name", "arguments"}``
     (``json.loads``, nothing stripped), with an object of arguments;
   - ``agentify``: the last ``<json>`` block decodes (nothing stripped inside it) to
     ``{"name", "arguments"}`` with an object of arguments.

   ``respond`` is the tutorial's and agentify's way to talk, never a tool call.

The convention comes from the caller when known (the sidecar learns it from the opening
message); otherwise the reply's own shape names it. An attempt the evaluator would not
execute is a malformed call, with the reason. Pure functions over text; never raises.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal

from proxy.conventions import Convention

RESPOND_TOOL = "respond"

Wrapper = Literal["bare", "tagged", "fenced", "embedded", "concatenated"]
Shape = Literal["tau2", "nameargs", "respond", "list"]

_JSON_TAG = re.compile(r"<json>(.*?)(?:</json>|\Z)", re.DOTALL | re.IGNORECASE)
_FENCE = re.compile(r"```[ \t]*(?:json|JSON)?[ \t]*\n?(.*?)```", re.DOTALL)
# the fork's own fence rule (the first fence anywhere in the reply)
_FORK_FENCE = re.compile(r"```(?:json)?\s*\n?([\s\S]*?)\n?```")
# what a call that failed to decode still shows
_CALL_MARKERS = re.compile(r"\"tool_calls?\"|\"name\"\s*:")
_MAX_EMBEDDED_TRIES = 8


@dataclass(frozen=True)
class ToolCallSeen:
    """One tool call as the agent wrote it; ``valid`` when the evaluator would execute it."""

    name: str | None
    arguments: dict[str, Any] | None
    valid: bool
    format: str  # the convention it was judged by
    problem: str | None = None


@dataclass(frozen=True)
class Reply:
    """An agent reply: plain text, tool calls, or a malformed attempt at a tool call."""

    text: str | None
    tool_calls: tuple[ToolCallSeen, ...] = ()
    malformed: bool = False
    format: Convention | None = None  # the convention the reply was judged by

    @property
    def problems(self) -> tuple[str, ...]:
        return tuple(c.problem for c in self.tool_calls if c.problem)


@dataclass(frozen=True)
class Attempt:
    """Where and how the reply tried to write a call."""

    wrapper: Wrapper
    value: Any = None
    problem: str | None = None  # set when the JSON does not decode
    raw: bool = True  # the evaluator's own extraction sees exactly this JSON
    first_fence: bool = False

    @property
    def shape(self) -> Shape | None:
        return shape_of(self.value) if self.problem is None else None


# A tool call is an object or a list of them; deeper nesting is not a call, and the walk
# below must not recurse as deep as the JSON parser allows.
MAX_DEPTH = 8


def shape_of(value: Any, depth: int = 0) -> Shape | None:
    """The call shape of a decoded JSON value, or None when it is not a call."""
    if depth > MAX_DEPTH:
        return None
    if isinstance(value, list):
        if not value:
            return None
        return "list" if all(shape_of(v, depth + 1) is not None for v in value) else None
    if not isinstance(value, dict):
        return None
    if "tool_call" in value or "tool_calls" in value:
        return "tau2"
    if "name" in value and set(value) <= {"name", "arguments", "id"}:
        return "respond" if value.get("name") == RESPOND_TOOL else "nameargs"
    return None


def find_attempts(text: str) -> list[Attempt]:
    """Every place in ``text`` that tries to write a tool call (see the module docstring)."""
    stripped = text.strip()
    tagged = [a for a in (_tagged(m.group(1)) for m in _JSON_TAG.finditer(stripped)) if a]
    if tagged:
        return tagged
    if stripped.startswith(("{", "[")):
        value, problem = _decode(stripped)
        if problem is None:  # JSON through and through: a call, or the agent talking JSON
            return [Attempt("bare", value)] if shape_of(value) else []
    whole = _whole(stripped)
    if whole is not None:
        return [whole]
    fenced = [
        a
        for a in (_fenced(m.group(1), i == 0) for i, m in enumerate(_FENCE.finditer(stripped)))
        if a
    ]
    if fenced:
        return fenced
    embedded = _embedded(stripped)
    return [embedded] if embedded else []


def _decode(chunk: str) -> tuple[Any, str | None]:
    try:
        return json.loads(chunk), None
    except json.JSONDecodeError as exc:
        return None, f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
    except RecursionError:
        return None, "invalid JSON: nested too deeply"
    except ValueError:  # an integer beyond Python's int-string limit
        return None, "invalid JSON: a number too long to read"


def _tagged(body: str) -> Attempt | None:
    body = body.strip()
    fence = _FENCE.fullmatch(body)
    inner = fence.group(1).strip() if fence else body
    if not inner.startswith(("{", "[")):
        return None  # "<json>...</json>" in prose, or plain words in tags
    value, problem = _decode(inner)
    if problem is None and shape_of(value) is None:
        return Attempt("tagged", value, "<json> block is not a {name, arguments} object")
    return Attempt("tagged", value, problem, raw=fence is None)


def _whole(stripped: str) -> Attempt | None:
    if not stripped.startswith(("{", "[")):
        return None
    _, problem = _decode(stripped)
    try:
        first, end = json.JSONDecoder().raw_decode(stripped)
    except (ValueError, RecursionError):  # JSONDecodeError, or a number too long
        first = None
        end = 0
    if end and shape_of(first):
        rest = stripped[end:].strip()
        second, _ = _decode(rest) if rest.startswith(("{", "[")) else (None, "x")
        wrapper: Wrapper = "concatenated" if second is not None else "embedded"
        return Attempt(wrapper, first, raw=False)
    if _CALL_MARKERS.search(stripped):
        return Attempt("bare", None, problem)
    return None


def _fenced(body: str, first: bool) -> Attempt | None:
    body = body.strip()
    if not body.startswith(("{", "[")):
        return None
    value, problem = _decode(body)
    if problem is None and shape_of(value) is None:
        return None
    if problem is not None and not _CALL_MARKERS.search(body):
        return None
    return Attempt("fenced", value, problem, raw=False, first_fence=first)


def _embedded(stripped: str) -> Attempt | None:
    decoder = json.JSONDecoder()
    start = stripped.find("{")
    tries = 0
    while start >= 0 and tries < _MAX_EMBEDDED_TRIES:
        tries += 1
        try:
            value, _ = decoder.raw_decode(stripped, start)
        except (ValueError, RecursionError):  # JSONDecodeError, or a number too long
            value = None
        if shape_of(value):
            return Attempt("embedded", value, raw=False)
        if value is None and _CALL_MARKERS.search(stripped, start):
            _, problem = _decode(stripped[start:])
            return Attempt("embedded", None, problem or "invalid JSON", raw=False)
        start = stripped.find("{", start + 1)
    return None


def recognise_reply(attempts: list[Attempt]) -> Convention | None:
    """The convention a reply is written in, from the shape of its attempts."""
    if any(a.wrapper == "tagged" for a in attempts):
        return Convention.AGENTIFY
    shapes = {a.shape for a in attempts}
    if "tau2" in shapes:
        return Convention.TAU2
    if shapes & {"nameargs", "respond", "list"}:
        return Convention.AGENTBEATS_TUTORIAL
    return None


def parse_reply(text: str, convention: Convention | None = None) -> Reply:
    """Classify an agent's text reply under ``convention`` (or its own shape); never raises."""
    stripped = text.strip()
    if not stripped:
        return Reply(text="")
    attempts = find_attempts(stripped)
    fmt = convention or recognise_reply(attempts) or _guess_broken(stripped)
    if not attempts or fmt is None:
        return Reply(text=stripped, format=fmt)
    if fmt is Convention.TAU2:
        return _judge_tau2(stripped, attempts)
    if fmt is Convention.AGENTBEATS_TUTORIAL:
        return _judge_single(stripped, attempts, fmt, accept="bare")
    return _judge_single(stripped, attempts, fmt, accept="tagged")


def _guess_broken(stripped: str) -> Convention | None:
    if "<json>" in stripped.lower():
        return Convention.AGENTIFY
    return Convention.TAU2 if "tool_call" in stripped else None


_WRAPPER_PROBLEMS: dict[Wrapper, str] = {
    "tagged": "wrapped in <json> tags",
    "fenced": "inside a code fence",
    "embedded": "with text around the JSON",
    "concatenated": "followed by another JSON value",
    "bare": "a bare JSON object",
}


def _judge_tau2(text: str, attempts: list[Attempt]) -> Reply:
    fmt = Convention.TAU2
    # the fork reads the first code fence anywhere in the reply, else the whole reply
    fork = _FORK_FENCE.search(text)
    readable = [
        a
        for a in attempts
        if (a.wrapper == "bare" and fork is None)
        or (a.wrapper == "fenced" and a.first_fence)
        or (a.wrapper == "tagged" and fork is not None and not a.raw)
    ]
    chosen = readable[0] if readable else attempts[0]
    if chosen.problem is not None:
        return _malformed(text, fmt, None, chosen.problem)
    shape = chosen.shape
    if shape == "respond":
        return Reply(text=text, format=fmt)  # the fork shows it to the user as it is
    if not readable:
        return _malformed(text, fmt, _name(chosen.value), _wrong_wrapper(fmt, chosen))
    if shape != "tau2":
        what = "a {name, arguments} object" if shape == "nameargs" else "a list"
        return _malformed(text, fmt, _name(chosen.value), f"{what}, not a tool_call object")
    calls = _tau2_calls(chosen.value)
    good = tuple(c for c in calls if c.valid)
    bad = tuple(c for c in calls if not c.valid)
    if bad or not calls:
        # the fork fails the whole turn on any broken call in the reply
        bad = bad or (ToolCallSeen(None, None, False, fmt, "tool_calls has no tool_call"),)
        invalid = tuple(
            ToolCallSeen(c.name, c.arguments, False, fmt, c.problem or bad[0].problem)
            for c in (*good, *bad)
        )
        return Reply(text=text, tool_calls=invalid, malformed=True, format=fmt)
    return Reply(text=None, tool_calls=good, format=fmt)


def _tau2_calls(value: dict[str, Any]) -> list[ToolCallSeen]:
    if "tool_call" in value:
        return [_call(value["tool_call"], Convention.TAU2)]
    items = value["tool_calls"]
    if not isinstance(items, list):
        return [ToolCallSeen(None, None, False, Convention.TAU2, "tool_calls is not a list")]
    return [
        _call(item["tool_call"], Convention.TAU2)
        for item in items
        if isinstance(item, dict) and "tool_call" in item
    ]


def _judge_single(text: str, attempts: list[Attempt], fmt: Convention, accept: Wrapper) -> Reply:
    # agentify keeps the last <json> block; the tutorial reads the whole reply
    chosen = attempts[-1] if accept == "tagged" else attempts[0]
    if chosen.problem is not None:
        return _malformed(text, fmt, None, chosen.problem)
    if chosen.wrapper != accept or not chosen.raw:
        if chosen.shape == "respond" and chosen.wrapper == accept:
            return _malformed(text, fmt, None, "respond " + _WRAPPER_PROBLEMS["fenced"])
        if chosen.shape == "respond":
            return Reply(text=text, format=fmt)  # shown to the user as it is
        return _malformed(text, fmt, _name(chosen.value), _wrong_wrapper(fmt, chosen))
    shape = chosen.shape
    if shape == "respond":
        arguments = chosen.value.get("arguments")
        content = arguments.get("content") if isinstance(arguments, dict) else None
        if isinstance(content, str):
            return Reply(text=content, format=fmt)
        return _malformed(text, fmt, RESPOND_TOOL, "respond without a string content")
    if shape != "nameargs":
        what = "a tool_call object" if shape == "tau2" else "a list"
        return _malformed(text, fmt, None, f"{what}, not {{name, arguments}}")
    call = _call(chosen.value, fmt)
    return Reply(
        text=None if call.valid else text, tool_calls=(call,), malformed=not call.valid, format=fmt
    )


def _wrong_wrapper(fmt: Convention, attempt: Attempt) -> str:
    how = _WRAPPER_PROBLEMS[attempt.wrapper]
    if attempt.wrapper == "tagged" and not attempt.raw:
        how = "a code fence inside <json> tags"
    return f"tool call {how}: the {fmt.value} evaluator does not read it"


def _name(value: Any) -> str | None:
    if isinstance(value, dict):
        body = value.get("tool_call", value)
        name = body.get("name") if isinstance(body, dict) else None
        return name if isinstance(name, str) else None
    return None


def _malformed(text: str, fmt: Convention, name: str | None, problem: str) -> Reply:
    call = ToolCallSeen(name, None, False, fmt, problem)
    return Reply(text=text, tool_calls=(call,), malformed=True, format=fmt)


def _call(body: Any, fmt: Convention) -> ToolCallSeen:
    if not isinstance(body, dict):
        return ToolCallSeen(None, None, False, fmt, "tool call is not an object")
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        return ToolCallSeen(None, None, False, fmt, "tool call has no name")
    if "arguments" not in body or body["arguments"] is None:
        return ToolCallSeen(name, None, False, fmt, f"tool call {name!r} has no arguments object")
    arguments = body["arguments"]
    if isinstance(arguments, str):
        return ToolCallSeen(name, None, False, fmt, f"arguments of {name!r} is a string")
    if not isinstance(arguments, dict):
        return ToolCallSeen(name, None, False, fmt, f"arguments of {name!r} is not an object")
    if "id" in body and not isinstance(body["id"], str):
        return ToolCallSeen(name, arguments, False, fmt, f"id of {name!r} is not a string")
    return ToolCallSeen(name, arguments, True, fmt)
