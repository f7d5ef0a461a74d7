from __future__ import annotations

import json

import pytest

from evaluator.agents.noop import NOOP_REPLY, NoopAgent
from tests.evaluator.agents.openings import opening, task_material, tool_result, user_says


@pytest.mark.parametrize("fmt", ["tau2", "agentbeats-tutorial", "agentify"])
async def test_never_calls_a_tool(fmt: str) -> None:
    agent = NoopAgent()
    task = task_material("airline", "14")
    replies = [await agent.reply("ctx", opening(fmt, "airline", task.user_text))]
    replies.append(await agent.reply("ctx", user_says(fmt, "please, just cancel it")))
    replies.append(await agent.reply("ctx", tool_result(fmt, "{}")))
    for reply in replies:
        if fmt == "tau2":
            assert reply == NOOP_REPLY
            assert "tool_call" not in reply
        else:
            assert json.loads(reply.removeprefix("<json>").removesuffix("</json>")) == {
                "name": "respond",
                "arguments": {"content": NOOP_REPLY},
            }
