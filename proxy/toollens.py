"""The tau2 lens: recognise tool calls in an agent's text reply.

Agents under tau2 cannot call tools natively; they answer in text, in one of two shapes:

- tau2 A2A format: ``{"tool_call": {"name": "...", "arguments": {...}}}`` (or a
  ``{"tool_calls": [...]}`` list of those);
- AgentBeats format: ``<json>{"name": "...", "arguments": {...}}</json>``, where the
  pseudo-tool ``respond`` carries a plain message in ``arguments.content``.

Agents wrap these in code fences or prose, so parsing is lenient. What looked like a tool
call but could not be read is reported as malformed with the reason, never guessed at.
Pure functions over text: used by the sidecar for spans and by the evaluator for turns.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal

Format = Literal["tau2", "agentbeats"]

RESPOND_TOOL = "respond"

_JSON_TAG = re.compile(r"<json>(.*?)(?:</json>|$)", re.DOTALL | re.IGNORECASE)
_FENCE = re.compile(r"```[ \t]*(?:json|JSON)?[ \t]*\n?(.*?)```", re.DOTALL)
# Markers that say the agent meant to call a tool, even if what follows is broken.
_TOOL_MARKERS = ('"tool_call"', "'tool_call'", "<json>", '"arguments"')
# A tool call is an object or a list of them; deeper nesting is not a tool call, and the
# walk below must not recurse as deep as the JSON parser allows.
MAX_DEPTH = 8


@dataclass(frozen=True)
class ToolCallSeen:
    """One tool call as the agent wrote it; ``valid`` when name and arguments are usable."""

    name: str | None
    arguments: dict[str, Any] | None
    valid: bool
    format: Format
    problem: str | None = None


@dataclass(frozen=True)
class Reply:
    """An agent reply: plain text, tool calls, or a malformed attempt at a tool call."""

    text: str | None
    tool_calls: tuple[ToolCallSeen, ...] = ()
    malformed: bool = False

    @property
    def problems(self) -> tuple[str, ...]:
        return tuple(c.problem for c in self.tool_calls if c.problem)


def parse_reply(text: str) -> Reply:
    """Classify an agent's text reply; never raises."""
    stripped = text.strip()
    if not stripped:
        return Reply(text="")
    tagged = _JSON_TAG.findall(stripped)
    if tagged:
        return _from_candidates([_unfence(t) for t in tagged], "agentbeats", stripped)
    candidates = [_unfence(f) for f in _FENCE.findall(stripped)] or [stripped]
    if not _FENCE.findall(stripped) and not stripped.startswith(("{", "[")):
        # Prose around a JSON object: read from the first brace.
        brace = stripped.find("{")
        if brace < 0:
            return Reply(text=stripped)
        candidates = [stripped[brace:]]
    return _from_candidates(candidates, None, stripped)


def _unfence(chunk: str) -> str:
    fenced = _FENCE.search(chunk)
    return (fenced.group(1) if fenced else chunk).strip()


def _from_candidates(candidates: list[str], fmt: Format | None, original: str) -> Reply:
    calls: list[ToolCallSeen] = []
    texts: list[str] = []
    for candidate in candidates:
        value, problem = _load_json(candidate)
        if problem is not None:
            if fmt is not None or _looks_like_tool_call(candidate):
                calls.append(
                    ToolCallSeen(None, None, False, fmt or _guess_format(candidate), problem)
                )
                continue
            return Reply(text=original)
        found = _calls_in(value, fmt)
        if found is None:
            if fmt == "agentbeats":
                calls.append(
                    ToolCallSeen(
                        None, None, False, fmt, "<json> block is not a {name, arguments} object"
                    )
                )
                continue
            # JSON, but not a tool call: the agent is talking (in JSON).
            return Reply(text=original)
        for call in found:
            if call.valid and call.name == RESPOND_TOOL and call.format == "agentbeats":
                assert call.arguments is not None
                content = call.arguments.get("content")
                if isinstance(content, str):
                    texts.append(content)
                    continue
                calls.append(
                    ToolCallSeen(
                        call.name, call.arguments, False, call.format, "respond without content"
                    )
                )
                continue
            calls.append(call)
    good = tuple(c for c in calls if c.valid)
    bad = tuple(c for c in calls if not c.valid)
    text = "\n".join(texts) if texts else None
    return Reply(text=text, tool_calls=good + bad, malformed=bool(bad))


def _load_json(candidate: str) -> tuple[Any, str | None]:
    try:
        value, end = json.JSONDecoder().raw_decode(candidate)
    except json.JSONDecodeError as exc:
        return None, f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
    except RecursionError:
        return None, "invalid JSON: nested too deeply"
    except ValueError:  # an integer beyond Python's int-string limit
        return None, "invalid JSON: a number too long to read"
    if candidate[end:].strip() and not candidate.lstrip().startswith(("{", "[")):
        return None, "invalid JSON: trailing text"
    return value, None


def _calls_in(value: Any, fmt: Format | None, depth: int = 0) -> list[ToolCallSeen] | None:
    """Tool calls in a decoded JSON value, or None when it is not a tool-call shape."""
    if depth > MAX_DEPTH:
        return None
    if isinstance(value, list):
        found = [_calls_in(item, fmt, depth + 1) for item in value]
        if not value or any(f is None for f in found):
            return None
        return [call for group in found if group for call in group]
    if not isinstance(value, dict):
        return None
    if "tool_call" in value:
        return [_call(value["tool_call"], "tau2")]
    if "tool_calls" in value:
        items = value["tool_calls"]
        if not isinstance(items, list) or not items:
            return [ToolCallSeen(None, None, False, "tau2", "tool_calls is not a non-empty list")]
        return [
            _call(item.get("tool_call", item) if isinstance(item, dict) else item, "tau2")
            for item in items
        ]
    if "name" in value and ("arguments" in value or fmt == "agentbeats"):
        return [_call(value, fmt or "agentbeats")]
    return None


def _call(body: Any, fmt: Format) -> ToolCallSeen:
    if not isinstance(body, dict):
        return ToolCallSeen(None, None, False, fmt, "tool call is not an object")
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        return ToolCallSeen(None, None, False, fmt, "tool call has no name")
    arguments = body.get("arguments")
    if isinstance(arguments, str):
        # OpenAI-style arguments serialised as a JSON string.
        decoded, problem = _load_json(arguments)
        if problem is None and isinstance(decoded, dict):
            arguments = decoded
    if arguments is None:
        return ToolCallSeen(name, None, False, fmt, f"tool call {name!r} has no arguments object")
    if not isinstance(arguments, dict):
        return ToolCallSeen(name, None, False, fmt, f"arguments of {name!r} is not an object")
    return ToolCallSeen(name, arguments, True, fmt)


def _looks_like_tool_call(candidate: str) -> bool:
    return any(marker in candidate for marker in _TOOL_MARKERS)


def _guess_format(candidate: str) -> Format:
    return "tau2" if "tool_call" in candidate else "agentbeats"
