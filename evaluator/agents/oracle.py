"""The oracle: recognises the task from the conversation and replays its reference actions.

Evaluation traffic never names the task. The oracle finds the domain from the tools on
offer and the task from the user's words (:mod:`evaluator.agents.matching`). If the
words fit several tasks that need different actions, it asks for details and tries
again with everything the user has said, up to ``MAX_CLARIFICATIONS`` times, then goes
with the best match. (Tasks whose scenarios are identical word for word are not worth
waiting on: it takes the fullest of their plans at once.)

Once it knows the task it answers each incoming message (tool result or user text) with
the next gold assistant action as a tool call, one per turn, then one text message
carrying every ``communicate_info`` string. Actions the task assigns to the user (tau2's
dual-control telecom tasks) are left to the user.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from evaluator.agents.matching import TaskIndex
from evaluator.agents.scripted import DEFAULT_MAX_CONTEXTS, Conversation, ScriptedAgent
from evaluator.agents.tau2_tasks import DEFAULT_TASK_SETS, TaskScript, load_domains
from evaluator.agents.wire import CallTool, Opening, Reply, SayText, Turn

MAX_CLARIFICATIONS = 2

CLARIFY_REPLY = (
    "Could you give me a few more details about your request, such as your user id "
    "and the reservation or order it concerns?"
)
GREETING_REPLY = "Hello! How can I help you today?"
UNKNOWN_DOMAIN_REPLY = "I'm sorry, I don't recognise these tools, so I can't help with this."
UNKNOWN_TASK_REPLY = "I'm sorry, I couldn't work out what you need, so I can't help with this."
DONE_PREFIX = "Thank you for your patience: your request has been taken care of."
ANYTHING_ELSE_REPLY = "Is there anything else I can help you with?"


@dataclass
class Plan:
    """The replies for a recognised task, in order, then one reply for any later message."""

    steps: list[Reply]
    afterwards: Reply = field(default_factory=lambda: SayText(ANYTHING_ELSE_REPLY))

    def next(self) -> Reply:
        return self.steps.pop(0) if self.steps else self.afterwards


def final_message(task: TaskScript) -> str:
    return " ".join([DONE_PREFIX, *task.communicate_info])


def reference_plan(task: TaskScript) -> Plan:
    calls: list[Reply] = [CallTool(a.name, a.arguments) for a in task.actions]
    return Plan([*calls, SayText(final_message(task))])


_index_lock = threading.Lock()
_indexes: dict[tuple[str, ...], TaskIndex] = {}


def task_index(task_sets: Sequence[str] = DEFAULT_TASK_SETS) -> TaskIndex:
    """The process-wide index for ``task_sets`` (built once: loading tau2 takes seconds)."""
    key = tuple(task_sets)
    with _index_lock:
        if key not in _indexes:
            _indexes[key] = TaskIndex(load_domains(key))
        return _indexes[key]


class OracleConversation:
    def __init__(self, index: TaskIndex, domain: str | None, agent: OracleAgent) -> None:
        self.index = index
        self.domain = domain
        self.agent = agent
        self.user_words: list[str] = []
        self.clarifications = 0
        self.task: TaskScript | None = None
        self.plan: Plan | None = None

    def respond(self, turn: Turn) -> Reply:
        self.user_words.extend(turn.user_texts)
        if self.plan is None:
            if self.domain is None:
                return SayText(UNKNOWN_DOMAIN_REPLY)
            if not self.user_words:
                return SayText(GREETING_REPLY)
            if not turn.user_texts:
                return SayText(CLARIFY_REPLY)
            match = self.index.identify_task(self.domain, "\n".join(self.user_words))
            if match.ambiguous and self.clarifications < MAX_CLARIFICATIONS:
                self.clarifications += 1
                return SayText(CLARIFY_REPLY)
            if match.task is None:
                return SayText(UNKNOWN_TASK_REPLY)
            self.task = match.task
            self.plan = self.agent.plan(match.task)
        return self.plan.next()


class OracleAgent(ScriptedAgent):
    """Scores full marks on every task it recognises (reference actions replayed)."""

    def __init__(
        self,
        task_sets: Sequence[str] = DEFAULT_TASK_SETS,
        max_contexts: int = DEFAULT_MAX_CONTEXTS,
    ) -> None:
        super().__init__(max_contexts)
        self.task_sets = tuple(task_sets)

    async def load(self) -> TaskIndex:
        """The task index, loaded off the event loop the first time."""
        return await asyncio.to_thread(task_index, self.task_sets)

    async def open(self, opening: Opening) -> Conversation:
        index = await self.load()
        domain = index.identify_domain(opening.tool_names, opening.instructions)
        return OracleConversation(index, domain, self)

    def plan(self, task: TaskScript) -> Plan:
        return reference_plan(task)
