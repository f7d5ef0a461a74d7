"""The litellm-backed agent, offline through litellm's ``mock_response``."""

from __future__ import annotations

import pytest

from evaluator.agents.llm import FALLBACK_SYSTEM_PROMPT, LlmAgent
from evaluator.agents.scripted import NO_TEXT_REPLY
from tests.evaluator.agents.openings import opening, task_material, tool_result

# pydantic warns once, the first time litellm's response types are built; not ours to fix
pytestmark = pytest.mark.filterwarnings(
    "ignore:Item 'summary' on TypedDict class 'ChatCompletionReasoningItem':UserWarning"
)

MOCKED = '{"tool_call": {"name": "get_user_details", "arguments": {"user_id": "u1"}}}'


async def test_returns_the_model_answer_and_keeps_the_history() -> None:
    agent = LlmAgent("gpt-4.1", {"mock_response": MOCKED})
    said = task_material("airline", "14").user_text
    first = opening("tau2", "airline", said)
    assert await agent.reply("ctx", first) == MOCKED
    assert await agent.reply("ctx", tool_result("tau2", '{"name": "x"}')) == MOCKED
    history = agent.contexts.get("ctx")
    assert history is not None
    assert [m["role"] for m in history] == ["system", "user", "assistant", "user", "assistant"]
    # the opening is split: policy and tools become the system prompt
    assert "<available_tools>" in history[0]["content"]
    assert said not in history[0]["content"]
    assert history[1]["content"] == said
    assert history[3]["content"].startswith("Tool result (id=call_1)")


async def test_plain_openings_get_a_generic_system_prompt() -> None:
    agent = LlmAgent("gpt-4.1", {"mock_response": "Hello!"})
    assert await agent.reply("ctx", "hi there") == "Hello!"
    history = agent.contexts.get("ctx")
    assert history is not None
    assert history[0] == {"role": "system", "content": FALLBACK_SYSTEM_PROMPT}


async def test_provider_errors_become_a_json_rpc_error_and_leave_no_trace() -> None:
    from a2a.utils.errors import InternalError

    agent = LlmAgent("gpt-4.1", {"mock_response": "litellm.RateLimitError"})
    with pytest.raises(InternalError, match=r"model gpt-4\.1 failed: RateLimitError"):
        await agent.reply("ctx", "hi there")
    assert "ctx" not in agent.contexts


async def test_empty_input_is_explained_without_calling_the_model() -> None:
    agent = LlmAgent("no-such-provider/model")  # would fail if it were called
    assert await agent.reply("ctx", "  ") == NO_TEXT_REPLY


async def test_bounded_history() -> None:
    agent = LlmAgent("gpt-4.1", {"mock_response": "ok"}, max_contexts=1)
    await agent.reply("a", "hi")
    await agent.reply("b", "hi")
    assert "a" not in agent.contexts
    assert "b" in agent.contexts
