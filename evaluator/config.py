"""An evaluation's configuration: typed, frozen, validated in one place.

The bearer token is held here and nowhere else: ``record()`` (what the results file
stores) leaves it out, ``repr`` hides it, and user-LLM arguments that look like
credentials (``api_key``, ``*token*``, ``*secret*``, ``*password*``) are masked.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from evaluator.formats import MESSAGE_FORMAT_CHOICES, MessageFormat, message_format_named
from evaluator.shards import check_shard
from proxy.errors import SettingsError, UsageError

ProxyMode = Literal["in-process", "url", "none"]
UserKind = Literal["scripted", "llm"]

DEFAULT_SEED = 300  # tau2's default
DEFAULT_MAX_STEPS = 200
DEFAULT_MAX_ERRORS = 10
DEFAULT_TIMEOUT_S = 300.0
DEFAULT_MAX_CONCURRENCY = 3
DEFAULT_MAX_RETRIES = 3  # tau2's default for --max-retries
DEFAULT_STOP_AFTER_UNREACHABLE = 3

# What makes two runs the same evaluation: a resumed run must match on all of these.
IDENTITY_KEYS: tuple[str, ...] = (
    "domain",
    "agent_endpoint",
    "task_set",
    "task_split",
    "task_ids",
    "num_tasks",
    "shard",
    "num_trials",
    "seed",
    "max_steps",
    "max_errors",
    "message_format",
    "user",
    "user_llm",
    "user_llm_args",
)

_SECRET_HINTS = ("key", "token", "secret", "password", "authorization")


def mask_secrets(args: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``args`` with credential-looking values replaced by ``***``."""
    masked: dict[str, Any] = {}
    for name, value in args.items():
        if any(h in name.lower() for h in _SECRET_HINTS):
            masked[name] = "***"
        elif isinstance(value, Mapping):
            masked[name] = mask_secrets(value)
        else:
            masked[name] = value
    return masked


@dataclass(frozen=True)
class EvalConfig:
    domain: str
    agent_endpoint: str
    num_tasks: int | None = None
    task_ids: tuple[str, ...] = ()
    task_set: str | None = None  # tau2 task set (default: the domain's own)
    task_split: str | None = None  # a split of the task set (train, test, base, ...)
    num_trials: int = 1
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    seed: int = DEFAULT_SEED
    max_steps: int = DEFAULT_MAX_STEPS
    max_errors: int = DEFAULT_MAX_ERRORS
    agent_timeout_s: float = DEFAULT_TIMEOUT_S
    auth_token: str | None = field(default=None, repr=False)
    a2a_debug: bool = False
    message_format: MessageFormat = MessageFormat.TAU2  # a name or alias is accepted too
    streaming: bool = False
    agent_name: str | None = None
    user: UserKind = "scripted"
    user_llm: str | None = None
    user_llm_args: Mapping[str, Any] = field(default_factory=dict, repr=False)
    proxy_mode: ProxyMode = "in-process"
    proxy_url: str | None = None
    max_retries: int = DEFAULT_MAX_RETRIES  # evaluator-side failures, per trial
    stop_after_unreachable: int = DEFAULT_STOP_AFTER_UNREACHABLE  # 0: never stop early
    shard: tuple[int, int] | None = None  # (index, count) of the selected tasks; shards.py

    def __post_init__(self) -> None:
        if not self.agent_endpoint.startswith(("http://", "https://")):
            raise SettingsError(
                "--agent-a2a-endpoint", self.agent_endpoint, "must be an http:// or https:// URL"
            )
        for name, value in (
            ("--num-trials", self.num_trials),
            ("--max-concurrency", self.max_concurrency),
            ("--max-steps", self.max_steps),
            ("--max-errors", self.max_errors),
        ):
            if value < 1:
                raise SettingsError(name, value, "must be at least 1")
        for name, value in (
            ("--max-retries", self.max_retries),
            ("--stop-after-unreachable", self.stop_after_unreachable),
        ):
            if value < 0:
                raise SettingsError(name, value, "must be 0 or more")
        if self.num_tasks is not None and self.num_tasks < 1:
            raise SettingsError("--num-tasks", self.num_tasks, "must be at least 1")
        if self.shard is not None:
            check_shard(*self.shard)
        if self.agent_timeout_s <= 0:
            raise SettingsError("--agent-a2a-timeout", self.agent_timeout_s, "must be positive")
        if self.message_format not in MESSAGE_FORMAT_CHOICES:
            raise SettingsError(
                "--message-format",
                self.message_format,
                f"use one of {', '.join(MESSAGE_FORMAT_CHOICES)}",
            )
        object.__setattr__(self, "message_format", message_format_named(self.message_format))
        if self.user == "llm" and not self.user_llm:
            raise SettingsError("--user-llm", self.user_llm, "--user llm needs a litellm model")
        if self.user not in ("scripted", "llm"):
            raise SettingsError("--user", self.user, "use scripted or llm")
        if self.proxy_mode == "url" and not (self.proxy_url or "").startswith(
            ("http://", "https://")
        ):
            raise SettingsError("--proxy-url", self.proxy_url, "must be an http:// or https:// URL")

    def record(self) -> dict[str, Any]:
        """What the results file keeps: everything but credentials."""
        return {
            "domain": self.domain,
            "agent_endpoint": self.agent_endpoint,
            "num_tasks": self.num_tasks,
            "task_ids": list(self.task_ids),
            "task_set": self.task_set,
            "task_split": self.task_split,
            "shard": list(self.shard) if self.shard is not None else None,
            "num_trials": self.num_trials,
            "max_concurrency": self.max_concurrency,
            "seed": self.seed,
            "max_steps": self.max_steps,
            "max_errors": self.max_errors,
            "agent_timeout_s": self.agent_timeout_s,
            "auth": "bearer" if self.auth_token else None,
            "a2a_debug": self.a2a_debug,
            "message_format": self.message_format.value,
            "streaming": self.streaming,
            "agent_name": self.agent_name,
            "user": self.user,
            "user_llm": self.user_llm,
            "user_llm_args": mask_secrets(self.user_llm_args),
            "proxy_mode": self.proxy_mode,
            "proxy_url": self.proxy_url,
            "max_retries": self.max_retries,
            "stop_after_unreachable": self.stop_after_unreachable,
        }


def identity_differences(recorded: Mapping[str, Any], config: EvalConfig) -> list[str]:
    """What differs between a results file's configuration and ``config``, as
    ``key: file value -> this run's value`` lines (empty when they are the same run)."""
    now = config.record()
    return [
        f"{key}: {recorded.get(key)!r} -> {now.get(key)!r}"
        for key in IDENTITY_KEYS
        if recorded.get(key) != now.get(key)
    ]


def default_results_path(domain: str, agent: str, stamp: str, root: Path = Path("results")) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in agent) or "agent"
    return root / f"{domain}-{safe}-{stamp}.json"


def json_object_option(text: str, option: str) -> dict[str, Any]:
    """An option's JSON object (litellm arguments). The value is never echoed: it may
    hold an API key."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{option}: not JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(value, dict):
        raise UsageError(f"{option}: must be a JSON object")
    return value
