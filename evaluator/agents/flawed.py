"""A realistic weak agent: the oracle's plan with seeded, per-task faults.

Fault model. For the n-th conversation (n = 0, 1, ...) about a recognised task,
``random.Random(f"{seed}:{domain}:{task_id}")`` (n = 0) or ``...:{task_id}:{n}`` draws
one outcome. A seed always yields the same behaviours for the same task, whatever the
order or concurrency of conversations (the trials of one task may swap outcomes, but
their set is fixed), and another seed a different mix. Trials of one task differ, as a
real agent's do, so pass^k falls as k grows:

============== ====== ==================================================================
outcome        chance what the agent does
============== ====== ==================================================================
clean          35 %   replays the reference actions exactly (like the oracle)
malformed      15 %   before one action, sends a tool call the evaluator cannot parse:
                      broken JSON (closing braces missing) or a call without
                      ``arguments``; on the next turn it sends the correct call
wrong_argument 20 %   one action goes out with one value changed (the last digit of an
                      id bumped, or a letter appended; numbers off by one)
skip           15 %   one action is never made
give_up        15 %   stops before one action (or before the final message) and tells
                      the user it cannot help; later messages get the same apology
============== ====== ==================================================================

A fault hits one of the task's write actions (those that change the database, which
decide the reward) 75 % of the time, otherwise any action, uniformly. A task
without reference actions can only be ``clean`` or ``give_up``. A malformed call reaches
the user as text; a scripted user then ends the conversation, a patient one lets the
agent correct it. A wrong value or a skipped lookup often still earns the reward. With
the scripted user about half of the tasks pass, and malformed-call, tool-error and
termination metrics vary from task to task.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from evaluator.agents.oracle import OracleAgent, Plan, reference_plan
from evaluator.agents.scripted import DEFAULT_MAX_CONTEXTS
from evaluator.agents.tau2_tasks import DEFAULT_TASK_SETS, TaskScript
from evaluator.agents.wire import CallTool, Defect, MalformedCall, Reply, SayText

# (outcome, cumulative probability), checked in order
OUTCOMES: tuple[tuple[str, float], ...] = (
    ("clean", 0.35),
    ("malformed", 0.50),
    ("wrong_argument", 0.70),
    ("skip", 0.85),
    ("give_up", 1.0),
)
DEFECTS: tuple[Defect, ...] = ("broken_json", "missing_arguments")
WRITE_BIAS = 0.75
GIVE_UP_REPLY = "I'm sorry, but I'm not able to complete this request. Please try again later."


def task_rng(seed: int, task: TaskScript, occurrence: int = 0) -> random.Random:
    key = f"{seed}:{task.domain}:{task.task_id}"
    return random.Random(key if occurrence == 0 else f"{key}:{occurrence}")


def draw_outcome(rng: random.Random) -> str:
    roll = rng.random()
    return next(name for name, bound in OUTCOMES if roll < bound)


def flawed_plan(task: TaskScript, seed: int, occurrence: int = 0) -> tuple[str, Plan]:
    """The outcome drawn for the ``occurrence``-th conversation about ``task`` under
    ``seed``, and the plan that carries it out."""
    rng = task_rng(seed, task, occurrence)
    outcome = draw_outcome(rng)
    plan = reference_plan(task)
    calls = len(task.actions)  # the plan's first ``calls`` steps are the tool calls
    if outcome == "give_up":
        at = rng.randrange(calls + 1)
        return outcome, Plan([*plan.steps[:at], SayText(GIVE_UP_REPLY)], SayText(GIVE_UP_REPLY))
    if calls == 0:
        return "clean", plan
    at = pick_action(task, rng)
    action = task.actions[at]
    steps: list[Reply] = list(plan.steps)
    if outcome == "malformed":
        steps.insert(at, MalformedCall(action.name, action.arguments, rng.choice(DEFECTS)))
    elif outcome == "wrong_argument":
        steps[at] = CallTool(action.name, mutate_arguments(action.arguments, rng))
    elif outcome == "skip":
        del steps[at]
    return outcome, Plan(steps)


def pick_action(task: TaskScript, rng: random.Random) -> int:
    """The index of the action a fault hits: a write ``WRITE_BIAS`` of the time, if any."""
    writes = [i for i, action in enumerate(task.actions) if action.writes]
    if writes and rng.random() < WRITE_BIAS:
        return rng.choice(writes)
    return rng.randrange(len(task.actions))


def mutate_arguments(arguments: Mapping[str, Any], rng: random.Random) -> dict[str, Any]:
    """A copy of ``arguments`` with one scalar value changed, chosen by ``rng``."""
    copied: dict[str, Any] = _copy(arguments)
    leaves = list(_leaves(copied))
    if leaves:
        container, key = rng.choice(leaves)
        container[key] = _wrong(container[key])
    return copied


def _copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _leaves(value: Any) -> list[tuple[Any, Any]]:
    """(container, key) for each string or number inside ``value``, in a stable order."""
    found: list[tuple[Any, Any]] = []
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in items:
        if isinstance(item, dict | list):
            found.extend(_leaves(item))
        elif isinstance(item, str) or (
            isinstance(item, int | float) and not isinstance(item, bool)
        ):
            found.append((value, key))
    return found


def _wrong(value: str | float) -> str | float:
    if isinstance(value, str):
        for i in range(len(value) - 1, -1, -1):
            if value[i].isdigit():
                return value[:i] + str((int(value[i]) + 1) % 10) + value[i + 1 :]
        return value + "x"
    return value + 1


class FlawedAgent(OracleAgent):
    """Recognises tasks like the oracle, then makes the mistakes its seed dictates."""

    def __init__(
        self,
        seed: int = 0,
        task_sets: Sequence[str] = DEFAULT_TASK_SETS,
        max_contexts: int = DEFAULT_MAX_CONTEXTS,
    ) -> None:
        super().__init__(task_sets, max_contexts)
        self.seed = seed
        self._conversations: Counter[tuple[str, str]] = Counter()

    def plan(self, task: TaskScript) -> Plan:
        key = (task.domain, task.task_id)
        occurrence = self._conversations[key]
        self._conversations[key] += 1
        return flawed_plan(task, self.seed, occurrence)[1]
