"""The flawed agent: seeded, per-task faults with a realistic spread of outcomes."""

from __future__ import annotations

import json
import random
from collections import Counter

import pytest

from evaluator.agents.flawed import (
    GIVE_UP_REPLY,
    OUTCOMES,
    FlawedAgent,
    flawed_plan,
    mutate_arguments,
)
from evaluator.agents.matching import TaskIndex
from evaluator.agents.oracle import OracleAgent
from evaluator.agents.tau2_tasks import TaskScript
from evaluator.agents.wire import CallTool, MalformedCall, SayText
from tests.evaluator.agents.openings import opening, task_material, tool_result

TRANSCRIPT_TASKS = [("airline", t) for t in ("3", "14", "23", "11")] + [
    ("retail", t) for t in ("37", "40", "60", "68", "76", "95", "103")
]


async def transcript(agent: OracleAgent, domain: str, task_id: str, fmt: str) -> list[str]:
    """Everything the agent says in one conversation, with every tool call answered."""
    said = task_material(domain, task_id).user_text
    replies = [await agent.reply(f"{domain}-{task_id}", opening(fmt, domain, said))]
    for _ in range(8):
        replies.append(await agent.reply(f"{domain}-{task_id}", tool_result(fmt, "{}")))
    return replies


def all_tasks(index: TaskIndex) -> list[TaskScript]:
    return [t for d in ("airline", "retail") for t in index.domains[d].tasks]


@pytest.mark.parametrize("fmt", ["tau2", "agentbeats-tutorial", "agentify"])
async def test_same_seed_same_behaviour_other_seed_other_behaviour(
    index: TaskIndex, fmt: str
) -> None:
    runs = {}
    for name, seed in (("first", 7), ("again", 7), ("other", 8)):
        agent = FlawedAgent(seed=seed)
        runs[name] = [await transcript(agent, d, t, fmt) for d, t in TRANSCRIPT_TASKS]
    assert runs["first"] == runs["again"]
    assert runs["first"] != runs["other"]


async def test_behaviour_does_not_depend_on_conversation_order(index: TaskIndex) -> None:
    forward, backward = FlawedAgent(seed=3), FlawedAgent(seed=3)
    ahead = {t: await transcript(forward, d, t, "tau2") for d, t in TRANSCRIPT_TASKS}
    behind = {t: await transcript(backward, d, t, "tau2") for d, t in reversed(TRANSCRIPT_TASKS)}
    assert ahead == behind


def test_outcomes_spread_across_tasks(index: TaskIndex) -> None:
    tasks = all_tasks(index)
    counts = Counter(flawed_plan(task, seed=0)[0] for task in tasks)
    assert set(counts) == {name for name, _ in OUTCOMES}
    clean_share = counts["clean"] / len(tasks)
    assert 0.25 <= clean_share <= 0.5, counts
    differing = sum(flawed_plan(task, seed=0)[0] != flawed_plan(task, seed=1)[0] for task in tasks)
    assert differing > len(tasks) / 4


def test_each_fault_does_what_the_model_says(index: TaskIndex) -> None:
    seen = set()
    for task in all_tasks(index):
        outcome, plan = flawed_plan(task, seed=0)
        calls = [CallTool(a.name, a.arguments) for a in task.actions]
        steps = plan.steps
        made = [s for s in steps if isinstance(s, CallTool)]
        if outcome == "clean":
            assert made == calls
            assert isinstance(steps[-1], SayText)
        elif outcome == "malformed":
            broken = [s for s in steps if isinstance(s, MalformedCall)]
            assert len(broken) == 1
            assert made == calls  # the correct call follows the malformed one
            position = steps.index(broken[0])
            assert steps[position + 1] == CallTool(broken[0].name, broken[0].arguments)
        elif outcome == "wrong_argument":
            assert [c.name for c in made] == [c.name for c in calls]
            assert sum(m != c for m, c in zip(made, calls, strict=True)) <= 1
        elif outcome == "skip":
            assert len(made) == len(calls) - 1
        else:
            assert outcome == "give_up"
            assert steps[-1] == SayText(GIVE_UP_REPLY)
            assert plan.afterwards == SayText(GIVE_UP_REPLY)
            assert made == calls[: len(made)]
        seen.add(outcome)
    assert len(seen) == len(OUTCOMES)


def test_a_wrong_argument_changes_exactly_one_value() -> None:
    arguments = {
        "reservation_id": "EHGLP3",
        "flights": [{"flight_number": "HAT003", "date": "2024-05-19"}],
        "amount": 100,
        "insurance": "no",
    }
    for seed in range(20):
        wrong = mutate_arguments(arguments, random.Random(seed))
        assert wrong != arguments
        assert wrong.keys() == arguments.keys()
        flat_a = json.dumps(arguments, sort_keys=True)
        flat_w = json.dumps(wrong, sort_keys=True)
        assert len(flat_a) <= len(flat_w) <= len(flat_a) + 1
    assert arguments["reservation_id"] == "EHGLP3"  # the original is untouched


def test_faults_land_mostly_on_writes(index: TaskIndex) -> None:
    retail = index.domains["retail"].tasks
    by_name = {a.name: a.writes for t in retail for a in t.actions}
    assert by_name["cancel_pending_order"] is True
    assert by_name["get_order_details"] is False
    hit_writes = hits = 0
    for task in retail:
        outcome, plan = flawed_plan(task, seed=0)
        if outcome != "wrong_argument":
            continue
        made = [s for s in plan.steps if isinstance(s, CallTool)]
        for gold, call in zip(task.actions, made, strict=True):
            if call.arguments != gold.arguments:
                hits += 1
                hit_writes += gold.writes
    assert hits >= 5
    assert hit_writes / hits > 0.5


async def test_each_trial_of_a_task_draws_its_own_faults(index: TaskIndex) -> None:
    """A task's second conversation is a new draw, so pass^k can fall as k grows; the
    draws are the same for the same seed."""

    async def conversation(agent: OracleAgent, domain: str, task_id: str, n: int) -> list[str]:
        said = task_material(domain, task_id).user_text
        context = f"{domain}-{task_id}-{n}"
        replies = [await agent.reply(context, opening("tau2", domain, said))]
        for _ in range(8):
            replies.append(await agent.reply(context, tool_result("tau2", "{}")))
        return replies

    runs = []
    for _ in range(2):
        agent = FlawedAgent(seed=3)
        runs.append(
            [[await conversation(agent, d, t, n) for n in range(2)] for d, t in TRANSCRIPT_TASKS]
        )
    assert runs[0] == runs[1]
    assert any(first != second for first, second in runs[0])
    plans = [flawed_plan(t, 3, n)[0] for t in all_tasks(index)[:40] for n in range(2)]
    assert plans != [flawed_plan(t, 3)[0] for t in all_tasks(index)[:40] for _ in range(2)]
