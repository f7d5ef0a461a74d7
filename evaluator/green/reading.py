"""What a requester asked the green agent for, read from an A2A message. Pure.

A request is one of:

    Assessment      evaluate the agent at a URL (AgentBeats' structured request, or words)
    DomainListing   "which domains can you run?"
    ResultsQuery    "show me the results" (of one evaluation, or the latest ones)
    Question        something is missing or ambiguous: ask, never guess (input-required)

and a request that cannot be served raises :class:`Refused`, whose message says what was
wrong and where. ``read_request(parts, earlier, vocabulary)`` decides between the
structured route (a JSON object, as the text of a text part or as a data part) and the
plain-language route (:mod:`evaluator.green.words`). ``earlier`` holds the requester's
previous messages of the same task, when it answers a question.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from evaluator.config import mask_secrets


class Refused(Exception):
    """A request that cannot be served; the message says what was wrong and where."""


@dataclass(frozen=True)
class Vocabulary:
    """What the server can run, for validating requests and wording questions."""

    domains: tuple[str, ...]
    message_formats: tuple[str, ...]
    max_tasks: int | None = None
    max_trials: int | None = None


@dataclass(frozen=True)
class Assessment:
    """One evaluation asked for; the fields AgentBeats' config can carry, and the agent."""

    agent_url: str
    domain: str
    num_tasks: int | None = None
    num_trials: int = 1
    task_ids: tuple[str, ...] = ()
    task_split: str | None = None
    max_steps: int | None = None
    user_llm: str | None = None
    user_llm_args: Mapping[str, Any] = field(default_factory=dict, repr=False)
    message_format: str | None = None
    shard: tuple[int, int] | None = None
    seed: int | None = None
    num_instances: int | None = None
    role: str | None = None  # the participant's role, for a structured request
    participants: Mapping[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        """The request in words (no credentials), for the first status update."""
        tasks = (
            f"tasks {', '.join(self.task_ids)}"
            if self.task_ids
            else ("all tasks" if self.num_tasks is None else f"{self.num_tasks} tasks")
        )
        if self.task_ids and self.num_tasks is not None:
            tasks += f" (the first {self.num_tasks})"
        parts = [f"domain {self.domain}", tasks, f"{self.num_trials} trial(s) each"]
        if self.task_split:
            parts.append(f"split {self.task_split}")
        if self.shard:
            parts.append(f"shard {self.shard[0]} of {self.shard[1]} (0-based)")
        if self.user_llm:
            parts.append(f"user LLM {self.user_llm}")
        return f"agent {self.agent_url}: " + ", ".join(parts)


@dataclass(frozen=True)
class DomainListing:
    """List the domains this server runs."""


@dataclass(frozen=True)
class ResultsQuery:
    """Show one evaluation's results (``task_id``), or the latest ones."""

    task_id: str | None = None


@dataclass(frozen=True)
class Question:
    """Ask the requester (state input-required); they answer in the same task."""

    text: str


Reading = Assessment | DomainListing | ResultsQuery | Question


@dataclass(frozen=True)
class MessageContent:
    """A message's content as plain values: its text parts and its data parts."""

    texts: tuple[str, ...] = ()
    data: tuple[Any, ...] = ()

    @property
    def text(self) -> str:
        return "\n".join(t for t in self.texts if t.strip())


def structured_object(content: MessageContent) -> dict[str, Any] | None:
    """The JSON object of a structured request: a data part, or text that is JSON.

    Raises :class:`Refused` for text that looks like JSON but is not (malformed JSON)."""
    for value in content.data:
        if isinstance(value, dict):
            return value
        raise Refused(
            f"the data part must be a JSON object such as "
            f'{{"participants": {{"agent": URL}}, "config": {{...}}}}, not {type(value).__name__}'
        )
    text = content.text.strip()
    if not text.startswith(("{", "[")):
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise Refused(
            f"malformed JSON in the request: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    if not isinstance(value, dict):
        raise Refused(
            "the request must be a JSON object such as "
            '{"participants": {"agent": URL}, "config": {...}}'
        )
    return value


def read_request(
    content: MessageContent,
    earlier: Sequence[MessageContent],
    vocabulary: Vocabulary,
) -> Reading:
    """What ``content`` asks for (see the module docstring); raises :class:`Refused`."""
    from evaluator.green import structured, words

    value = structured_object(content)
    if value is not None:
        return structured.read(value, vocabulary)
    texts = [c.text for c in earlier if structured_object_or_none(c) is None]
    return words.read([*texts, content.text], vocabulary)


def structured_object_or_none(content: MessageContent) -> dict[str, Any] | None:
    try:
        return structured_object(content)
    except Refused:
        return None


def masked(value: Any) -> Any:
    """A structured request with the user LLM's credentials masked (for storage)."""
    if not isinstance(value, dict):
        return value
    config = value.get("config")
    if not isinstance(config, dict) or not isinstance(config.get("user_llm_args"), dict):
        return value
    return {**value, "config": {**config, "user_llm_args": mask_secrets(config["user_llm_args"])}}
