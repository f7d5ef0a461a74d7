"""What a GenAI ``chat`` client span says about one litellm call: pure functions.

The OpenTelemetry GenAI semantic conventions (semconv 0.66b2 names, which the GenAI
conventions repository keeps) describe an LLM call as a CLIENT span ``chat {model}``
with ``gen_ai.operation.name``, ``gen_ai.provider.name``, the request parameters, the
response model, id and finish reasons, and token usage. Message content goes in
``gen_ai.input.messages`` / ``gen_ai.output.messages`` as JSON ``[{role, parts}]``, and
only when capture is on (it is off by default, as in the sidecar), each text capped.

Nothing here calls litellm: the functions read its request keyword arguments and the
``ModelResponse`` object by attribute, so tests feed them plain values.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as gen_ai
from opentelemetry.semconv.attributes import server_attributes

OPERATION_CHAT = "chat"
# litellm's provider names where they differ from the semantic conventions' values.
_PROVIDERS = {
    "azure": "azure.ai.openai",
    "azure_ai": "azure.ai.inference",
    "bedrock": "aws.bedrock",
    "vertex_ai": "gcp.vertex_ai",
    "vertex_ai_beta": "gcp.vertex_ai",
    "gemini": "gcp.gemini",
    "mistral": "mistral_ai",
    "xai": "x_ai",
    "watsonx": "ibm.watsonx.ai",
    "cohere_chat": "cohere",
    "text-completion-openai": "openai",
}
# Request keyword arguments recorded as gen_ai.request.* (scalars only).
_REQUEST_PARAMETERS = {
    "temperature": gen_ai.GEN_AI_REQUEST_TEMPERATURE,
    "top_p": gen_ai.GEN_AI_REQUEST_TOP_P,
    "top_k": gen_ai.GEN_AI_REQUEST_TOP_K,
    "max_tokens": gen_ai.GEN_AI_REQUEST_MAX_TOKENS,
    "max_completion_tokens": gen_ai.GEN_AI_REQUEST_MAX_TOKENS,
    "seed": gen_ai.GEN_AI_REQUEST_SEED,
    "frequency_penalty": gen_ai.GEN_AI_REQUEST_FREQUENCY_PENALTY,
    "presence_penalty": gen_ai.GEN_AI_REQUEST_PRESENCE_PENALTY,
    "n": gen_ai.GEN_AI_REQUEST_CHOICE_COUNT,
}
TRUNCATED = "…[truncated]"


def provider_name(model: str, litellm_provider: str | None = None) -> str:
    """The semconv provider of ``model``: litellm's own answer when given, else the model's
    ``provider/`` prefix, else a guess from well-known model families."""
    provider = litellm_provider or (model.split("/", 1)[0] if "/" in model else "")
    if not provider:
        lowered = model.lower()
        if lowered.startswith(("gpt-", "o1", "o3", "o4", "chatgpt")):
            provider = "openai"
        elif lowered.startswith("claude"):
            provider = "anthropic"
        elif lowered.startswith("gemini"):
            provider = "gemini"
        else:
            return "unknown"
    return _PROVIDERS.get(provider, provider)


def request_model(model: str) -> str:
    """The model as the provider knows it (litellm's ``provider/`` prefix dropped)."""
    return model.split("/", 1)[1] if "/" in model else model


def span_name(model: str) -> str:
    return f"{OPERATION_CHAT} {request_model(model)}"


def request_attributes(model: str, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """Attributes known before the call: operation, provider, model, parameters, server."""
    attributes: dict[str, Any] = {
        gen_ai.GEN_AI_OPERATION_NAME: OPERATION_CHAT,
        gen_ai.GEN_AI_PROVIDER_NAME: provider_name(model, kwargs.get("custom_llm_provider")),
        gen_ai.GEN_AI_REQUEST_MODEL: request_model(model),
    }
    for key, attribute in _REQUEST_PARAMETERS.items():
        value = kwargs.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            attributes[attribute] = value
    stop = kwargs.get("stop")
    if isinstance(stop, str):
        attributes[gen_ai.GEN_AI_REQUEST_STOP_SEQUENCES] = [stop]
    elif isinstance(stop, list) and all(isinstance(s, str) for s in stop):
        attributes[gen_ai.GEN_AI_REQUEST_STOP_SEQUENCES] = stop
    base = kwargs.get("api_base") or kwargs.get("base_url")
    if isinstance(base, str) and base:
        parts = urlsplit(base)
        if parts.hostname:
            attributes[server_attributes.SERVER_ADDRESS] = parts.hostname
            port = parts.port or (443 if parts.scheme == "https" else 80)
            attributes[server_attributes.SERVER_PORT] = port
    return attributes


def hidden_params(response: Any) -> dict[str, Any]:
    """litellm's ``_hidden_params`` of a response (provider, cost, ...), or {}."""
    params = getattr(response, "_hidden_params", None)
    return params if isinstance(params, dict) else {}


def response_provider(response: Any) -> str | None:
    value = hidden_params(response).get("custom_llm_provider")
    return value if isinstance(value, str) and value else None


def response_cost(response: Any) -> float | None:
    """The cost litellm computed for the call in USD, when it knows the model's prices."""
    value = hidden_params(response).get("response_cost")
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value)
    return None


def usage(response: Any) -> tuple[int | None, int | None]:
    """(input tokens, output tokens) of a response; None where the provider did not say."""
    found = getattr(response, "usage", None)
    if found is None and isinstance(response, Mapping):
        found = response.get("usage")

    def count(name: str) -> int | None:
        value = getattr(found, name, None)
        if value is None and isinstance(found, Mapping):
            value = found.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return int(value)
        return None

    return count("prompt_tokens"), count("completion_tokens")


def finish_reasons(response: Any) -> list[str]:
    return [
        str(reason)
        for choice in getattr(response, "choices", None) or []
        if (reason := getattr(choice, "finish_reason", None))
    ]


def response_attributes(response: Any) -> dict[str, Any]:
    """Attributes known after the call: response id and model, finish reasons, usage."""
    attributes: dict[str, Any] = {}
    if isinstance(response_id := getattr(response, "id", None), str) and response_id:
        attributes[gen_ai.GEN_AI_RESPONSE_ID] = response_id
    if isinstance(model := getattr(response, "model", None), str) and model:
        attributes[gen_ai.GEN_AI_RESPONSE_MODEL] = model
    if reasons := finish_reasons(response):
        attributes[gen_ai.GEN_AI_RESPONSE_FINISH_REASONS] = reasons
    input_tokens, output_tokens = usage(response)
    if input_tokens is not None:
        attributes[gen_ai.GEN_AI_USAGE_INPUT_TOKENS] = input_tokens
    if output_tokens is not None:
        attributes[gen_ai.GEN_AI_USAGE_OUTPUT_TOKENS] = output_tokens
    return attributes


# --- message content (opt-in) ------------------------------------------------------------


def cap(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + TRUNCATED


def _text(content: Any) -> str:
    """A message's content as text: strings as they are, content part lists joined."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(part.get("text", "")) if isinstance(part, Mapping) else str(part)
            for part in content
        )
    return str(content)


def _field(item: Any, name: str) -> Any:
    return item.get(name) if isinstance(item, Mapping) else getattr(item, name, None)


def _tool_call_parts(calls: Any, limit: int) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    for call in calls or []:
        function = _field(call, "function")
        arguments = _field(function, "arguments") if function is not None else None
        parts.append(
            {
                "type": "tool_call",
                "id": _field(call, "id"),
                "name": _field(function, "name") if function is not None else None,
                "arguments": cap(_text(arguments), limit),
            }
        )
    return parts


def message_parts(message: Any, limit: int) -> dict[str, Any]:
    """One chat message (a litellm dict or message object) in the GenAI JSON shape."""
    role = str(_field(message, "role") or "user")
    text = cap(_text(_field(message, "content")), limit)
    if role == "tool":
        response = {"type": "tool_call_response", "id": _field(message, "tool_call_id")}
        return {"role": role, "parts": [{**response, "response": text}]}
    parts: list[dict[str, Any]] = [{"type": "text", "content": text}] if text else []
    parts.extend(_tool_call_parts(_field(message, "tool_calls"), limit))
    return {"role": role, "parts": parts}


def input_messages(messages: Sequence[Any], limit: int) -> tuple[str | None, str]:
    """(system instructions, input messages) as the JSON the conventions give them."""
    system = [cap(_text(_field(m, "content")), limit) for m in messages if _is_system(m)]
    rest = [message_parts(m, limit) for m in messages if not _is_system(m)]
    instructions = (
        json.dumps([{"type": "text", "content": s} for s in system], ensure_ascii=False)
        if system
        else None
    )
    return instructions, json.dumps(rest, ensure_ascii=False)


def _is_system(message: Any) -> bool:
    return _field(message, "role") in ("system", "developer")


def output_messages(response: Any, limit: int) -> str:
    choices = getattr(response, "choices", None) or []
    out = []
    for choice in choices:
        message = getattr(choice, "message", None)
        if message is None:
            continue
        entry = message_parts(message, limit)
        entry["role"] = "assistant"
        entry["finish_reason"] = getattr(choice, "finish_reason", None) or "stop"
        out.append(entry)
    return json.dumps(out, ensure_ascii=False)


def content_attributes(messages: Sequence[Any], response: Any | None, limit: int) -> dict[str, str]:
    instructions, inputs = input_messages(messages, limit)
    attributes = {gen_ai.GEN_AI_INPUT_MESSAGES: inputs}
    if instructions is not None:
        attributes[gen_ai.GEN_AI_SYSTEM_INSTRUCTIONS] = instructions
    if response is not None:
        attributes[gen_ai.GEN_AI_OUTPUT_MESSAGES] = output_messages(response, limit)
    return attributes
