"""What a chat span says about a litellm call, from plain values."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest

from evaluator.genai import chat

GEN_AI_INPUT = "gen_ai.input.messages"
GEN_AI_OUTPUT = "gen_ai.output.messages"


def response(**changes: Any) -> Any:
    message = SimpleNamespace(role="assistant", content="Sure.", tool_calls=None)
    values: dict[str, Any] = {
        "id": "chatcmpl-1",
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [SimpleNamespace(finish_reason="stop", message=message)],
        "usage": SimpleNamespace(prompt_tokens=12, completion_tokens=3),
        "_hidden_params": {"custom_llm_provider": "openai", "response_cost": 0.00042},
    }
    values.update(changes)
    return SimpleNamespace(**values)


@pytest.mark.parametrize(
    ("model", "litellm_provider", "expected"),
    [
        ("openai/gpt-4o-mini", None, "openai"),
        ("anthropic/claude-3-5-sonnet", None, "anthropic"),
        ("bedrock/anthropic.claude-v2", None, "aws.bedrock"),
        ("vertex_ai/gemini-1.5-pro", None, "gcp.vertex_ai"),
        ("gpt-4o", None, "openai"),
        ("claude-3-haiku", None, "anthropic"),
        ("my-local-model", None, "unknown"),
        ("whatever", "azure", "azure.ai.openai"),
    ],
)
def test_provider_names_follow_the_semantic_conventions(
    model: str, litellm_provider: str | None, expected: str
) -> None:
    assert chat.provider_name(model, litellm_provider) == expected


def test_request_attributes_name_the_operation_model_parameters_and_server() -> None:
    attributes = chat.request_attributes(
        "openai/gpt-4o-mini",
        {
            "temperature": 0.0,
            "max_tokens": 256,
            "seed": 7,
            "stop": "###",
            "api_base": "http://127.0.0.1:8123/v1",
            "api_key": "sk-secret-value-0000000000",
            "stream": True,  # not a number: not a gen_ai.request.* scalar
        },
    )
    assert attributes == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.request.temperature": 0.0,
        "gen_ai.request.max_tokens": 256,
        "gen_ai.request.seed": 7,
        "gen_ai.request.stop_sequences": ["###"],
        "server.address": "127.0.0.1",
        "server.port": 8123,
    }
    assert chat.span_name("openai/gpt-4o-mini") == "chat gpt-4o-mini"


def test_response_attributes_carry_id_model_finish_reasons_and_usage() -> None:
    assert chat.response_attributes(response()) == {
        "gen_ai.response.id": "chatcmpl-1",
        "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
        "gen_ai.response.finish_reasons": ["stop"],
        "gen_ai.usage.input_tokens": 12,
        "gen_ai.usage.output_tokens": 3,
    }
    assert chat.response_cost(response()) == pytest.approx(0.00042)
    assert chat.response_provider(response()) == "openai"


def test_a_response_without_usage_or_price_says_nothing_about_them() -> None:
    bare = response(usage=None, _hidden_params={"response_cost": None})
    assert "gen_ai.usage.input_tokens" not in chat.response_attributes(bare)
    assert chat.response_cost(bare) is None
    assert chat.usage({"usage": {"prompt_tokens": 5, "completion_tokens": 1}}) == (5, 1)


def test_messages_take_the_conventions_json_shape_with_system_instructions_apart() -> None:
    messages = [
        {"role": "system", "content": "You are a customer."},
        {"role": "user", "content": "Hello"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "c1", "function": {"name": "get_user", "arguments": '{"id": 1}'}}
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": '{"name": "Ann"}'},
    ]
    attributes = chat.content_attributes(messages, response(), limit=100)
    assert json.loads(attributes["gen_ai.system_instructions"]) == [
        {"type": "text", "content": "You are a customer."}
    ]
    assert json.loads(attributes[GEN_AI_INPUT]) == [
        {"role": "user", "parts": [{"type": "text", "content": "Hello"}]},
        {
            "role": "assistant",
            "parts": [
                {"type": "tool_call", "id": "c1", "name": "get_user", "arguments": '{"id": 1}'}
            ],
        },
        {
            "role": "tool",
            "parts": [{"type": "tool_call_response", "id": "c1", "response": '{"name": "Ann"}'}],
        },
    ]
    assert json.loads(attributes[GEN_AI_OUTPUT]) == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": "Sure."}],
            "finish_reason": "stop",
        }
    ]


def test_each_text_is_capped() -> None:
    attributes = chat.content_attributes([{"role": "user", "content": "x" * 50}], None, limit=10)
    (message,) = json.loads(attributes[GEN_AI_INPUT])
    assert message["parts"][0]["content"] == "x" * 10 + chat.TRUNCATED
    assert GEN_AI_OUTPUT not in attributes
