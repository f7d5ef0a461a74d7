"""Agents that decide every request the same way: ``always-approve`` and ``always-deny``.

They recognise the task like the oracle and make the same lookups (the reference
actions that neither write nor transfer), then:

- **always-approve** grants the request as the user asked for it: it makes the actions
  the task records as the user's request (``guest_request`` in a domain folder's
  tasks.json), or, where a task records none, the reference writes and transfers;
- **always-deny** changes nothing and transfers no one.

Both then state the information the task expects, so that the decision alone sets them
apart from the oracle. They measure how much of a domain a yes-man or a no-man passes:
in vacation_rental the same request has opposite right answers for different hosts, so
each should fail a large share.
"""

from __future__ import annotations

from evaluator.agents.oracle import OracleAgent, Plan
from evaluator.agents.tau2_tasks import GoldAction, TaskScript
from evaluator.agents.wire import CallTool, Reply, SayText

APPROVED_PREFIX = "Good news: your request is approved and taken care of."
DENIED_PREFIX = "I'm sorry, but I can't approve this request."


def lookups(task: TaskScript) -> list[GoldAction]:
    return [a for a in task.actions if not (a.writes or a.transfers)]


def approve_plan(task: TaskScript) -> Plan:
    granted = (
        list(task.requested)
        if task.requested is not None
        else [a for a in task.actions if a.writes or a.transfers]
    )
    return _plan([*lookups(task), *granted], APPROVED_PREFIX, task)


def deny_plan(task: TaskScript) -> Plan:
    return _plan(lookups(task), DENIED_PREFIX, task)


def _plan(actions: list[GoldAction], prefix: str, task: TaskScript) -> Plan:
    steps: list[Reply] = [CallTool(a.name, a.arguments) for a in actions]
    return Plan([*steps, SayText(" ".join([prefix, *task.communicate_info]))])


class AlwaysApproveAgent(OracleAgent):
    """Grants every request as asked."""

    def plan(self, task: TaskScript) -> Plan:
        return approve_plan(task)


class AlwaysDenyAgent(OracleAgent):
    """Refuses every request: no change, no transfer."""

    def plan(self, task: TaskScript) -> Plan:
        return deny_plan(task)
