"""The oracle recognises tasks from the conversation and replays their reference actions."""

from __future__ import annotations

import pytest

from evaluator.agents.matching import TaskIndex
from evaluator.agents.oracle import (
    ANYTHING_ELSE_REPLY,
    CLARIFY_REPLY,
    DONE_PREFIX,
    UNKNOWN_DOMAIN_REPLY,
    OracleAgent,
)
from evaluator.agents.scripted import UNRECOGNISED_OPENING_REPLY
from tests.evaluator.agents.openings import (
    FORMATS,
    expected_call,
    opening,
    parse_reply,
    task_material,
    tool_result,
    user_says,
)

TASKS = [
    ("mock", "mock", "create_task_1"),
    ("airline", "airline", "14"),
    ("retail", "retail", "40"),
    (
        "telecom",
        "telecom",
        "[mobile_data_issue]data_mode_off|data_usage_exceeded|user_abroad_roaming_disabled_off"
        "[PERSONA:Hard]",
    ),
]


def final_text(fmt: str, reply: str) -> str:
    if fmt == "tau2":
        assert parse_reply(fmt, reply) is None, reply
        return reply
    payload = parse_reply(fmt, reply)
    assert payload["name"] == "respond"
    text: str = payload["arguments"]["content"]
    return text


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(("domain", "task_set", "task_id"), TASKS)
async def test_replays_the_gold_actions_then_states_the_information(
    index: TaskIndex, fmt: str, domain: str, task_set: str, task_id: str
) -> None:
    task = task_material(task_set, task_id)
    assert task.gold, "the chosen task must have assistant actions"
    agent = OracleAgent()
    # telecom scenarios share their instructions across hidden faults; the persona differs
    said = task.scenario if domain == "telecom" else task.user_text
    reply = await agent.reply("ctx", opening(fmt, domain, said))
    for step, (name, arguments) in enumerate(task.gold):
        assert parse_reply(fmt, reply) == expected_call(fmt, name, arguments), step
        reply = await agent.reply("ctx", tool_result(fmt, '{"status": "ok"}'))
    text = final_text(fmt, reply)
    assert text.startswith(DONE_PREFIX)
    for info in task.communicate_info:
        assert info in text
    later = await agent.reply("ctx", user_says(fmt, "thanks"))
    assert final_text(fmt, later) == ANYTHING_ELSE_REPLY


@pytest.mark.parametrize("fmt", FORMATS)
async def test_every_airline_and_retail_task_opens_with_its_first_gold_action(
    index: TaskIndex, fmt: str
) -> None:
    agent = OracleAgent()
    mismatches = []
    for domain in ("airline", "retail"):
        for task in index.domains[domain].tasks:
            said = task_material(domain, task.task_id).user_text
            reply = await agent.reply(f"{domain}-{task.task_id}", opening(fmt, domain, said))
            if task.actions:
                first = task.actions[0]
                ok = parse_reply(fmt, reply) == expected_call(
                    fmt, first.name, dict(first.arguments)
                )
            else:
                ok = final_text(fmt, reply).startswith(DONE_PREFIX)
            if not ok:
                mismatches.append((domain, task.task_id))
    assert mismatches == []


async def test_contexts_are_independent(index: TaskIndex) -> None:
    agent = OracleAgent()
    first = task_material("airline", "14")
    second = task_material("retail", "40")
    reply_a = await agent.reply("a", opening("tau2", "airline", first.user_text))
    reply_b = await agent.reply("b", opening("agentify", "retail", second.user_text))
    assert parse_reply("tau2", reply_a) == expected_call("tau2", *first.gold[0])
    assert parse_reply("agentify", reply_b) == expected_call("agentify", *second.gold[0])
    reply_a = await agent.reply("a", tool_result("tau2", "{}"))
    reply_b = await agent.reply("b", tool_result("agentify", "{}"))
    assert parse_reply("tau2", reply_a) == expected_call("tau2", *first.gold[1])
    assert parse_reply("agentify", reply_b) == expected_call("agentify", *second.gold[1])


async def test_asks_for_details_while_the_task_is_ambiguous(index: TaskIndex) -> None:
    agent = OracleAgent()
    reply = await agent.reply("ctx", opening("tau2", "airline", "Hi, I need some help."))
    assert reply == CLARIFY_REPLY
    task = task_material("airline", "14")
    reply = await agent.reply("ctx", task.user_text)
    assert parse_reply("tau2", reply) == expected_call("tau2", *task.gold[0])


async def test_unknown_tools_get_a_refusal(index: TaskIndex) -> None:
    agent = OracleAgent()
    text = (
        "<available_tools>\n- launch_rocket(target: string)\n</available_tools>\n"
        'Reply with {"tool_call": {"name": ..., "arguments": {...}}}\n\nLaunch it please.'
    )
    assert await agent.reply("ctx", text) == UNKNOWN_DOMAIN_REPLY


async def test_state_is_bounded_and_a_forgotten_context_starts_over(index: TaskIndex) -> None:
    agent = OracleAgent(max_contexts=2)
    task = task_material("airline", "14")
    for context in ("a", "b", "c"):
        await agent.reply(context, opening("tau2", "airline", task.user_text))
    assert len(agent.contexts) == 2
    assert "a" not in agent.contexts
    # "a" was forgotten: its next message is read as an opening, which it is not
    assert await agent.reply("a", tool_result("tau2", "{}")) == UNRECOGNISED_OPENING_REPLY
    # "b" is still remembered and continues with the second action
    reply = await agent.reply("b", tool_result("tau2", "{}"))
    assert parse_reply("tau2", reply) == expected_call("tau2", *task.gold[1])
