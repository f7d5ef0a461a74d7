"""AgentBeats' structured request: ``{"participants": {ROLE: URL}, "config": {...}}``. Pure.

As the AgentBeats client, gateway and tutorial send it: the purple agent is the
participant with role ``agent``, or the only participant; its URL may end with a slash
(pydantic's ``HttpUrl`` adds one). The config keys are the reference green's (``domain``,
``num_tasks``, ``task_ids``, ``max_steps``, ``user_llm``, ``user_llm_args``), the tau2 fork's
(``num_trials``, ``task_split``), ours (``message_format``, ``seed``) and the gateway's
(``shard_index``, ``num_shards``, ``num_instances``). Any other key is refused with the
list of accepted ones: a misspelt key must not silently run a different evaluation.
Numbers may arrive as floats (a data part stores every number as a double).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from evaluator.green.reading import Assessment, Refused, Vocabulary

AGENT_ROLE = "agent"
CONFIG_KEYS: tuple[str, ...] = (
    "domain",
    "num_tasks",
    "num_trials",
    "task_ids",
    "task_split",
    "max_steps",
    "user_llm",
    "user_llm_args",
    "message_format",
    "seed",
    "shard_index",
    "num_shards",
    "num_instances",
)
TOP_KEYS: tuple[str, ...] = ("participants", "config")


def read(value: Mapping[str, Any], vocabulary: Vocabulary) -> Assessment:
    """The assessment ``value`` asks for; raises :class:`Refused` naming the key at fault."""
    unknown = sorted(set(value) - set(TOP_KEYS))
    if unknown:
        raise Refused(
            f"unknown key(s) {', '.join(map(repr, unknown))} in the request; a structured "
            f"request has {' and '.join(TOP_KEYS)}"
        )
    role, url = agent_participant(value.get("participants"))
    config = value.get("config", {})
    if not isinstance(config, Mapping):
        raise Refused(f"config must be an object, not {type(config).__name__}")
    unknown = sorted(set(config) - set(CONFIG_KEYS))
    if unknown:
        raise Refused(
            f"unknown config key(s) {', '.join(map(repr, unknown))}; accepted: "
            + ", ".join(CONFIG_KEYS)
        )
    domain = config.get("domain")
    if domain is None:
        raise Refused("config.domain is required: one of " + ", ".join(vocabulary.domains))
    shard = _shard(config)
    fmt = _optional_str(config, "message_format")
    if fmt is not None and fmt not in vocabulary.message_formats:
        raise Refused(
            f"config.message_format {fmt!r}: use one of {', '.join(vocabulary.message_formats)}"
        )
    user_llm_args = config.get("user_llm_args", {})
    if not isinstance(user_llm_args, Mapping):
        raise Refused("config.user_llm_args must be an object of litellm arguments")
    assessment = Assessment(
        agent_url=url,
        domain=check_domain(_str(domain, "config.domain"), vocabulary, "config.domain"),
        num_tasks=_count(config, "num_tasks"),
        num_trials=_count(config, "num_trials") or 1,
        task_ids=_task_ids(config.get("task_ids")),
        task_split=_optional_str(config, "task_split"),
        max_steps=_count(config, "max_steps"),
        user_llm=_optional_str(config, "user_llm"),
        user_llm_args=dict(user_llm_args),
        message_format=fmt,
        shard=shard,
        seed=_integer(config, "seed"),
        num_instances=_count(config, "num_instances"),
        role=role,
        participants={str(k): str(v) for k, v in value["participants"].items()},
    )
    check_limits(assessment, vocabulary, "config.")
    return assessment


def agent_participant(participants: Any) -> tuple[str, str]:
    """``(role, url)`` of the agent under test; raises :class:`Refused` when there is none."""
    if not isinstance(participants, Mapping) or not participants:
        raise Refused(
            'no agent URL: the request needs "participants": {"agent": "http://host:port"}'
        )
    if AGENT_ROLE in participants:
        role = AGENT_ROLE
    elif len(participants) == 1:
        role = str(next(iter(participants)))
    else:
        raise Refused(
            f"participants {', '.join(map(repr, participants))}: name the agent under test "
            f"with the role {AGENT_ROLE!r}"
        )
    url = participants[role]
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise Refused(f"participants.{role}: {url!r} is not an http:// or https:// URL")
    return role, url


def check_domain(domain: str, vocabulary: Vocabulary, where: str) -> str:
    if domain not in vocabulary.domains:
        raise Refused(
            f"{where} {domain!r}: unknown domain; this server runs " + ", ".join(vocabulary.domains)
        )
    return domain


def check_limits(assessment: Assessment, vocabulary: Vocabulary, prefix: str = "") -> None:
    """Refuse more trials (or explicitly more tasks) than this server allows."""
    if vocabulary.max_trials is not None and assessment.num_trials > vocabulary.max_trials:
        raise Refused(
            f"too many trials: {prefix}num_trials {assessment.num_trials} is over this "
            f"server's limit of {vocabulary.max_trials}"
        )
    asked = len(assessment.task_ids) or assessment.num_tasks
    if vocabulary.max_tasks is not None and asked is not None and asked > vocabulary.max_tasks:
        raise Refused(
            f"too many tasks: {asked} asked for, over this server's limit of "
            f"{vocabulary.max_tasks} (ask for fewer, or split the run with shard_index "
            "and num_shards)"
        )


def _shard(config: Mapping[str, Any]) -> tuple[int, int] | None:
    index, count = _integer(config, "shard_index"), _integer(config, "num_shards")
    if index is None and count is None:
        return None
    if count is None:
        raise Refused("config.shard_index needs config.num_shards (how many shards)")
    if index is None:
        raise Refused("config.num_shards needs config.shard_index (0-based)")
    if count < 1:
        raise Refused(f"config.num_shards {count}: must be at least 1")
    if not 0 <= index < count:
        raise Refused(
            f"config.shard_index {index}: 0-based, so 0 to {count - 1} for {count} shards"
        )
    return index, count


def _integer(config: Mapping[str, Any], key: str) -> int | None:
    value = config.get(key)
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise Refused(f"config.{key} must be a whole number, not {value!r}")
    return value


def _count(config: Mapping[str, Any], key: str) -> int | None:
    value = _integer(config, key)
    if value is not None and value < 1:
        raise Refused(f"config.{key} {value}: must be at least 1")
    return value


def _str(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Refused(f"{where} must be a non-empty string, not {value!r}")
    return value.strip()


def _optional_str(config: Mapping[str, Any], key: str) -> str | None:
    value = config.get(key)
    return None if value is None else _str(value, f"config.{key}")


def _task_ids(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise Refused(f"config.task_ids must be a list of task ids, not {value!r}")
    ids = []
    for item in value:
        if isinstance(item, float) and item.is_integer():
            item = int(item)
        if isinstance(item, bool) or not isinstance(item, str | int):
            raise Refused(f"config.task_ids: {item!r} is not a task id")
        ids.append(str(item))
    return tuple(ids)
