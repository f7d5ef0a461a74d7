"""Opening messages rendered from real tau2 data, as an evaluator would send them.

The tau2 and agentify wordings approximate those evaluators' (the agents under test must
key on their markers only); the AgentBeats tutorial's opening is the evaluator's own
rendering (:func:`evaluator.formats.render`), greeting line included.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import cache
from typing import Any

TAU2_INSTRUCTIONS = """\
You are a customer service agent that helps the user according to the <policy> below.
In each turn you can either send a message to the user or make a tool call, not both."""

TAU2_CALL_CONVENTION = (
    "To use a tool, respond with JSON: "
    '{"tool_call": {"name": "tool_name", "arguments": {"param1": "value"}}}'
)

AGENTBEATS_ANSWER_RULES = """\
Please respond in the JSON format. Please wrap the JSON part with <json>...</json> tags.
The JSON should contain:
- "name": the tool call function name, or "respond" if you want to respond directly.
- "arguments": the arguments for the tool call, or {"content": "your message here"} if you \
want to respond directly.

Next, I'll provide you with the user message and tool call results."""


@dataclass(frozen=True)
class DomainMaterial:
    policy: str
    schemas: list[dict[str, Any]]  # OpenAI function schemas


@dataclass(frozen=True)
class TaskMaterial:
    task_id: str
    user_text: str  # what a scripted user would say first: the user's instructions
    scenario: str  # the instructions with the persona, as an LLM user would be briefed
    gold: list[tuple[str, dict[str, Any]]]  # assistant actions
    communicate_info: list[str]


@cache
def domain_material(domain: str) -> DomainMaterial:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    from tau2.registry import registry

    environment = registry.get_env_constructor(domain)()
    schemas = [tool.openai_schema for tool in environment.get_tools()]
    return DomainMaterial(environment.get_policy(), schemas)


@cache
def _tasks(task_set: str) -> dict[str, Any]:
    from tau2.registry import registry

    return {task.id: task for task in registry.get_tasks_loader(task_set)()}


@cache
def task_material(task_set: str, task_id: str) -> TaskMaterial:
    task = _tasks(task_set)[task_id]
    criteria = task.evaluation_criteria
    gold = [
        (a.name, json.loads(json.dumps(a.arguments)))
        for a in criteria.actions or []
        if a.requestor == "assistant"
    ]
    return TaskMaterial(
        task_id,
        str(task.user_scenario.instructions),
        str(task.user_scenario),
        gold,
        list(criteria.communicate_info or []),
    )


def _signature(schema: dict[str, Any]) -> str:
    function = schema["function"]
    parameters = function.get("parameters", {})
    required = set(parameters.get("required", []))
    params = ", ".join(
        f"{name}: {spec.get('type', 'any')}"
        for name, spec in parameters.get("properties", {}).items()
    )
    lines = [f"- {function['name']}({params})", f"  Description: {function.get('description', '')}"]
    for name, spec in parameters.get("properties", {}).items():
        need = "required" if name in required else "optional"
        lines.append(
            f"    - {name} ({spec.get('type', 'any')}, {need}): {spec.get('description', '')}"
        )
    return "\n".join(lines)


def tau2_opening(domain: str, user_text: str) -> str:
    material = domain_material(domain)
    tools = "\n".join(_signature(schema) for schema in material.schemas)
    return (
        f"<instructions>\n{TAU2_INSTRUCTIONS}\n</instructions>\n"
        f"<policy>\n{material.policy}\n</policy>\n"
        f"<available_tools>\n{tools}\n</available_tools>\n"
        f"{TAU2_CALL_CONVENTION}\n\n{user_text}"
    )


def agentbeats_opening(domain: str, user_text: str) -> str:
    material = domain_material(domain)
    return (
        f"{material.policy}\n"
        "Here's a list of tools you can use (you can use at most one tool at a time):\n"
        f"{json.dumps(material.schemas, indent=2)}\n"
        f"{AGENTBEATS_ANSWER_RULES}\n"
        f"User message: {user_text}"
    )


FORMATS = ["tau2", "agentbeats-tutorial", "agentify"]


def tutorial_opening(domain: str, user_text: str) -> str:
    from evaluator.formats import PriorMessage, ToolSpec, TurnInput, render

    material = domain_material(domain)
    tools = [
        ToolSpec(s["function"]["name"], s["function"]["description"], s["function"]["parameters"])
        for s in material.schemas
    ]
    turn = TurnInput(
        user_text=user_text,
        transcript=(PriorMessage("assistant", "Hi! How can I help you today?"),),
    )
    return render("agentbeats-tutorial", turn, first=True, policy=material.policy, tools=tools)


def opening(fmt: str, domain: str, user_text: str) -> str:
    if fmt == "tau2":
        return tau2_opening(domain, user_text)
    if fmt == "agentbeats-tutorial":
        return tutorial_opening(domain, user_text)
    return agentbeats_opening(domain, user_text)


def tool_result(fmt: str, content: str, call_id: str = "call_1") -> str:
    if fmt == "tau2":
        return f"Tool result (id={call_id}): {content}"
    if fmt == "agentbeats-tutorial":
        return content  # a single result arrives bare
    return f"tool: {content}"


def user_says(fmt: str, text: str) -> str:
    return f"user: {text}" if fmt in ("agentify", "agentbeats") else text


def expected_call(fmt: str, name: str, arguments: dict[str, Any]) -> Any:
    """The parsed JSON an agent's tool-call reply must equal in ``fmt``."""
    call = {"name": name, "arguments": arguments}
    return {"tool_call": call} if fmt == "tau2" else call


def parse_reply(fmt: str, text: str) -> Any:
    """The JSON payload of a reply (``<json>`` body in agentify), or None for plain text."""
    if fmt in ("agentify", "agentbeats"):
        assert text.startswith("<json>"), text
        assert text.endswith("</json>"), text
        text = text[len("<json>") : -len("</json>")]
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None
