"""``tau2observe domain check``: is every task of a domain passable, and graded as meant?

For each task it checks, in this order, and reports every problem with the task and the
field it is in:

1. the task fits tau2's task model, and its id is unique;
2. every expected action (and every action in ``guest_request``) names a tool of the
   domain, for the right side (assistant or user), with arguments that fit the tool's
   signature: no unknown names, none missing, values of the declared types;
   ``compare_args`` names parameters of the tool;
3. the reward can be computed offline (no NL assertions) and every ``communicate_info``
   string can be matched (tau2 strips commas from the agent's messages before matching);
4. replaying the expected actions on a fresh environment, through tau2's orchestrator,
   then stating the ``communicate_info`` strings, raises no tool error and gets reward 1.0
   from tau2's own evaluator.

Splits must name existing tasks. A tool that does not exist would otherwise pass step 4
unnoticed: tau2 replays the expected actions for the reference database too and ignores
their errors, so both databases agree.
"""

from __future__ import annotations

import difflib
import json
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from loguru import logger
from pydantic import ValidationError

# before tau2: litellm would fetch its price list, tau2 would log at DEBUG
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
logger.disable("tau2")

from tau2.agent.base import LocalAgent  # noqa: E402
from tau2.data_model.message import AssistantMessage, Message, ToolCall, ToolMessage  # noqa: E402
from tau2.data_model.tasks import RewardType, Task  # noqa: E402
from tau2.evaluator.evaluator import EvaluationType, evaluate_simulation  # noqa: E402
from tau2.orchestrator.orchestrator import Orchestrator  # noqa: E402
from tau2.registry import registry  # noqa: E402

from evaluator.domains.folder import GUEST_REQUEST_KEY, SPLITS_FILE, DomainFolderError  # noqa: E402
from evaluator.domains.registration import loaded_folder, resolve  # noqa: E402
from evaluator.errors import UnknownDomain  # noqa: E402
from evaluator.scripted_user import ScriptedUserScript, UserAction  # noqa: E402
from evaluator.tau2_adapter import ScriptedUser  # noqa: E402

FINAL_PREFIX = "Done."
REPLAY_MAX_STEPS = 200


@dataclass(frozen=True)
class Problem:
    task: str | None  # None: the domain as a whole
    field: str
    message: str

    def __str__(self) -> str:
        where = f"task {self.task}: " if self.task is not None else ""
        return f"{where}{self.field}: {self.message}"


@dataclass
class CheckReport:
    domain: str
    tasks: int = 0
    replayed: int = 0
    splits: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check_domain(spec: str, task_ids: Sequence[str] | None = None) -> CheckReport:
    """Check the domain ``spec`` names (a name or a folder); only ``task_ids`` if given."""
    try:
        name = resolve(spec)
    except (DomainFolderError, UnknownDomain) as exc:
        return CheckReport(spec, problems=[Problem(None, "domain", str(exc))])
    report = CheckReport(name)
    try:
        environment = registry.get_env_constructor(name)()
    except Exception as exc:  # a database that does not fit, a failing constructor
        report.problems.append(Problem(None, "environment", _describe(exc)))
        return report
    tasks = _tasks(name, report)
    report.tasks = len(tasks)
    _check_splits(name, {t.id for t, _ in tasks}, report)
    for task, raw in tasks:
        if task_ids and task.id not in task_ids:
            continue
        before = len(report.problems)
        _check_actions(environment, task, raw, report)
        _check_criteria(task, report)
        if len(report.problems) == before:
            _replay(name, task, report)
            report.replayed += 1
    return report


def _describe(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, DomainFolderError) else f"{type(exc).__name__}: {exc}"


def _tasks(name: str, report: CheckReport) -> list[tuple[Task, Mapping[str, Any]]]:
    """The tasks that fit tau2's model, each with its raw JSON; problems for the rest."""
    folder = loaded_folder(name)
    if folder is None:  # one of tau2's own domains
        return [(t, {}) for t in registry.get_tasks_loader(name)()]
    try:
        raw_tasks = folder.raw_tasks()
    except DomainFolderError as exc:
        report.problems.append(Problem(None, "tasks.json", str(exc)))
        return []
    ids = Counter(str(raw.get("id")) for raw in raw_tasks if isinstance(raw, dict))
    for task_id, count in ids.items():
        if count > 1:
            report.problems.append(Problem(task_id, "id", f"used by {count} tasks"))
    tasks = []
    for position, raw in enumerate(raw_tasks):
        label = str(raw.get("id")) if isinstance(raw, dict) else f"#{position}"
        try:
            tasks.append((Task.model_validate(raw), raw))
        except ValidationError as exc:
            for error in exc.errors():
                where = ".".join(str(part) for part in error["loc"]) or "task"
                report.problems.append(Problem(label, where, error["msg"]))
    return tasks


def _check_splits(name: str, task_ids: set[str], report: CheckReport) -> None:
    loader = registry.get_task_splits_loader(name)
    if loader is None:
        return
    try:
        splits = loader()
    except Exception as exc:
        report.problems.append(Problem(None, SPLITS_FILE, _describe(exc)))
        return
    for split, ids in splits.items():
        report.splits[split] = len(ids)
        for task_id in ids:
            if task_id not in task_ids:
                report.problems.append(
                    Problem(None, f"{SPLITS_FILE}: {split}", f"names no task {task_id!r}")
                )
        for task_id, count in Counter(ids).items():
            if count > 1:
                report.problems.append(
                    Problem(None, f"{SPLITS_FILE}: {split}", f"lists {task_id!r} {count} times")
                )


def _check_actions(
    environment: Any, task: Task, raw: Mapping[str, Any], report: CheckReport
) -> None:
    criteria = task.evaluation_criteria
    for i, action in enumerate((criteria.actions if criteria else None) or []):
        where = f"evaluation_criteria.actions[{i}]"
        _check_call(
            environment,
            task.id,
            where,
            action.name,
            action.arguments,
            action.requestor,
            action.compare_args,
            report,
        )
    request = raw.get(GUEST_REQUEST_KEY)
    if request is None:
        return
    if not isinstance(request, list):
        report.problems.append(Problem(task.id, GUEST_REQUEST_KEY, "must be a list of actions"))
        return
    for i, action in enumerate(request):
        where = f"{GUEST_REQUEST_KEY}[{i}]"
        if not isinstance(action, dict) or not isinstance(action.get("name"), str):
            report.problems.append(Problem(task.id, where, "must be {name, arguments}"))
            continue
        arguments = action.get("arguments", {})
        if not isinstance(arguments, dict):
            report.problems.append(Problem(task.id, f"{where}.arguments", "must be an object"))
            continue
        _check_call(
            environment, task.id, where, action["name"], arguments, "assistant", None, report
        )


def _check_call(
    environment: Any,
    task_id: str,
    where: str,
    name: str,
    arguments: Mapping[str, Any],
    requestor: str,
    compare_args: Sequence[str] | None,
    report: CheckReport,
) -> None:
    toolkit = environment.user_tools if requestor == "user" else environment.tools
    if toolkit is None:
        report.problems.append(Problem(task_id, f"{where}.requestor", f"no {requestor} tools"))
        return
    tools = toolkit.get_tools()
    if name not in tools:
        close = difflib.get_close_matches(name, list(tools), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        report.problems.append(
            Problem(task_id, f"{where}.name", f"no {requestor} tool {name!r}{hint}")
        )
        return
    params = tools[name].params
    known = set(params.model_fields)
    for argument in arguments:
        if argument not in known:
            report.problems.append(
                Problem(
                    task_id,
                    f"{where}.arguments.{argument}",
                    f"{name} has no parameter {argument!r}; it takes {', '.join(sorted(known))}",
                )
            )
    try:
        params.model_validate(dict(arguments), strict=True)
    except ValidationError as exc:
        for error in exc.errors():
            loc = ".".join(str(part) for part in error["loc"])
            report.problems.append(
                Problem(task_id, f"{where}.arguments.{loc}", f"{error['msg']} for {name}")
            )
    for argument in compare_args or []:
        if argument not in known:
            report.problems.append(
                Problem(task_id, f"{where}.compare_args", f"{name} has no parameter {argument!r}")
            )


def _check_criteria(task: Task, report: CheckReport) -> None:
    criteria = task.evaluation_criteria
    if criteria is None:
        return
    if RewardType.NL_ASSERTION in criteria.reward_basis:
        report.problems.append(
            Problem(
                task.id,
                "evaluation_criteria.reward_basis",
                "NL_ASSERTION needs an LLM judge; offline evaluations cannot grade it",
            )
        )
    for i, info in enumerate(criteria.communicate_info or []):
        if "," in info:
            report.problems.append(
                Problem(
                    task.id,
                    f"evaluation_criteria.communicate_info[{i}]",
                    f"{info!r} contains a comma; tau2 removes commas from the agent's "
                    "messages before matching, so it can never be found",
                )
            )


class ReplayAgent(LocalAgent):  # type: ignore[misc]
    """Makes the task's expected assistant actions, one per turn, then states the
    information it must communicate."""

    def __init__(self, tools: Any, domain_policy: str, task: Task) -> None:
        super().__init__(tools=tools, domain_policy=domain_policy)
        criteria = task.evaluation_criteria
        actions = (criteria.actions if criteria else None) or []
        self._actions = [a for a in actions if a.requestor == "assistant"]
        self._say = list((criteria.communicate_info if criteria else None) or [])
        self._calls = 0

    def get_init_state(self, message_history: list[Message] | None = None) -> list[Message]:
        return list(message_history or [])

    def set_seed(self, seed: int) -> None:
        """Deterministic: nothing to seed."""

    def generate_next_message(
        self, message: Any, state: list[Message]
    ) -> tuple[AssistantMessage, list[Message]]:
        if self._calls < len(self._actions):
            action = self._actions[self._calls]
            self._calls += 1
            reply = AssistantMessage(
                role="assistant",
                cost=0.0,
                tool_calls=[
                    ToolCall(
                        id=f"replay_{self._calls}",
                        name=action.name,
                        arguments=dict(action.arguments),
                        requestor="assistant",
                    )
                ],
            )
        else:
            reply = AssistantMessage(
                role="assistant", cost=0.0, content=" ".join([FINAL_PREFIX, *self._say])
            )
        state.append(reply)
        return reply, state


def _replay(name: str, task: Task, report: CheckReport) -> None:
    environment = registry.get_env_constructor(name)()
    criteria = task.evaluation_criteria
    user_actions = tuple(
        UserAction(a.name, dict(a.arguments))
        for a in ((criteria.actions if criteria else None) or [])
        if a.requestor == "user"
    )
    scenario = task.user_scenario
    simulation = Orchestrator(
        domain=name,
        agent=ReplayAgent(environment.get_tools(), environment.get_policy(), task),
        user=ScriptedUser(ScriptedUserScript(str(scenario.instructions), user_actions)),
        environment=environment,
        task=task,
        max_steps=REPLAY_MAX_STEPS,
        max_errors=REPLAY_MAX_STEPS,
        seed=0,
    ).run()
    calls = {
        call.id: call
        for message in simulation.messages
        for call in (getattr(message, "tool_calls", None) or [])
    }
    for message in simulation.messages:
        if isinstance(message, ToolMessage) and message.error:
            call = calls.get(message.id)
            label = f"{call.name}({json.dumps(call.arguments, sort_keys=True)})" if call else "?"
            report.problems.append(
                Problem(
                    task.id,
                    "evaluation_criteria.actions",
                    f"replaying {label} failed: {message.content}",
                )
            )
    info = evaluate_simulation(
        simulation=simulation,
        task=task,
        evaluation_type=EvaluationType.ALL,
        solo_mode=False,
        domain=name,
    )
    if info.reward < 1.0 - 1e-6:
        report.problems.append(
            Problem(task.id, "evaluation_criteria", f"replay scored {info.reward}: {_why(info)}")
        )


def _why(info: Any) -> str:
    reasons = []
    breakdown = {str(getattr(k, "value", k)): v for k, v in (info.reward_breakdown or {}).items()}
    if breakdown:
        reasons.append(", ".join(f"{k} {v}" for k, v in sorted(breakdown.items())))
    for check in info.action_checks or []:
        if not check.action_match:
            reasons.append(f"action {check.action.name} not matched")
    for check in info.communicate_checks or []:
        if not check.met:
            reasons.append(f"communicate_info {check.info!r} not found")
    note = (info.info or {}).get("note") if isinstance(info.info, dict) else None
    if note:
        reasons.append(str(note))
    return "; ".join(reasons) or "no detail from tau2"
