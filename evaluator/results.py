"""The results file: the whole record of one evaluation run, as JSON, and back.

``save_results(result, path)`` writes it, ``load_results(path)`` reads it into the same
typed dataclasses. Everything a later step needs is here: the configuration (without
credentials), each trial's transcript with per-turn timings and the trace and span ids
that join it to the sidecar's spans, the reward and its breakdown, and the run summary.
``schema_version`` changes whenever a field changes meaning or disappears.

Layout (field names as in the dataclasses below)::

    {schema_version, run_id, started_at, finished_at, duration_s, domain,
     tau2: {package, version, note},
     agent: {name, endpoint, card_name, protocol_version, message_format, via_proxy, proxy_url},
     user: {kind, model, llm_args},
     config: {...},
     tasks: [{task_id, complexity, complexity_score, reference_actions, checks,
              trials, successes, failure_rate}],
     trials: [{task_id, trial, seed, reward, success, termination_reason,
               infrastructure_error, error, reward_detail: {reward, basis, breakdown,
               db_match, checks: [{kind, description, met, reward}], note},
               turns, tool_calls, malformed_tool_calls, tool_errors, duration_s,
               mean_turn_duration_s, user_cost, user_input_tokens, user_output_tokens,
               context_id, trace_id, started_at,
               turn_records: [{index, started_at, duration_s, request_text, reply_text,
                               tool_calls, malformed_tool_calls, span_id, error}],
               messages: [{role, content, tool_calls: [{id, name, arguments, requestor}],
                           tool_call_id, error, turn_idx, timestamp, cost, usage}]}],
     summary: {trials, counted_trials, infrastructure_errors, average_reward,
               success_rate, pass_hat_k: {"1": ..}, termination_counts, tool_calls,
               malformed_tool_calls, tool_errors, user_cost, user_input_tokens,
               user_output_tokens, duration_s}}
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1


class ResultsFileError(ValueError):
    """A results file that cannot be read; the message names the file and the field."""


@dataclass
class ToolCallRecord:
    id: str
    name: str
    arguments: dict[str, Any]
    requestor: str


@dataclass
class MessageRecord:
    """One message of tau2's trajectory (assistant, user or tool)."""

    role: str
    content: str | None = None
    tool_calls: list[ToolCallRecord] = field(default_factory=list)
    tool_call_id: str | None = None
    error: bool = False
    turn_idx: int | None = None
    timestamp: str | None = None
    cost: float | None = None
    usage: dict[str, Any] | None = None


@dataclass
class TurnRecord:
    """One A2A exchange with the agent under test."""

    index: int
    started_at: str
    duration_s: float
    request_text: str
    reply_text: str | None
    tool_calls: list[str] = field(default_factory=list)
    malformed_tool_calls: int = 0
    span_id: str | None = None
    error: str | None = None


@dataclass
class CheckRecord:
    kind: str  # action, communicate, env_assertion, nl_assertion
    description: str
    met: bool
    reward: float | None = None


@dataclass
class RewardRecord:
    reward: float
    basis: list[str] = field(default_factory=list)
    breakdown: dict[str, float] = field(default_factory=dict)
    db_match: bool | None = None
    checks: list[CheckRecord] = field(default_factory=list)
    note: str | None = None


@dataclass
class TrialResult:
    task_id: str
    trial: int
    seed: int
    reward: float
    success: bool
    termination_reason: str
    infrastructure_error: bool
    error: str | None
    reward_detail: RewardRecord
    turns: int
    tool_calls: int
    malformed_tool_calls: int
    tool_errors: int
    duration_s: float
    mean_turn_duration_s: float | None
    user_cost: float
    user_input_tokens: int
    user_output_tokens: int
    context_id: str | None
    trace_id: str | None
    started_at: str
    turn_records: list[TurnRecord] = field(default_factory=list)
    messages: list[MessageRecord] = field(default_factory=list)


@dataclass
class TaskRecord:
    task_id: str
    complexity: str
    complexity_score: int
    reference_actions: int
    checks: int
    trials: int
    successes: int
    failure_rate: float | None


@dataclass
class RunSummary:
    trials: int
    counted_trials: int
    infrastructure_errors: int
    average_reward: float | None
    success_rate: float | None
    pass_hat_k: dict[int, float]
    termination_counts: dict[str, int]
    tool_calls: int
    malformed_tool_calls: int
    tool_errors: int
    user_cost: float
    user_input_tokens: int
    user_output_tokens: int
    duration_s: float


@dataclass
class Tau2Info:
    package: str
    version: str
    note: str


@dataclass
class AgentRecord:
    name: str
    endpoint: str
    card_name: str | None
    protocol_version: str | None
    message_format: str
    via_proxy: bool
    proxy_url: str | None


@dataclass
class UserRecord:
    kind: str
    model: str | None = None
    llm_args: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunResult:
    schema_version: int
    run_id: str
    started_at: str
    finished_at: str
    duration_s: float
    domain: str
    tau2: Tau2Info
    agent: AgentRecord
    user: UserRecord
    config: dict[str, Any]
    tasks: list[TaskRecord]
    trials: list[TrialResult]
    summary: RunSummary


def to_json_dict(result: RunResult) -> dict[str, Any]:
    return dataclasses.asdict(result)


def save_results(result: RunResult, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(to_json_dict(result), indent=2, default=str), encoding="utf-8")
    tmp.replace(path)
    return path


def load_results(path: Path | str) -> RunResult:
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ResultsFileError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except json.JSONDecodeError as exc:
        raise ResultsFileError(f"{path}: not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ResultsFileError(f"{path}: expected a JSON object at the top level")
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        raise ResultsFileError(
            f"{path}: schema_version {version!r} is not supported (this version reads "
            f"{SCHEMA_VERSION})"
        )
    result: RunResult = _build(RunResult, data, f"{path}:")
    return result


def _build(cls: type[Any], data: Any, where: str) -> Any:
    """A dataclass from its ``asdict`` form, checking types field by field."""
    if not isinstance(data, dict):
        raise ResultsFileError(f"{where} expected an object for {cls.__name__}")
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ResultsFileError(f"{where} {cls.__name__}.{f.name} is missing")
            continue
        values[f.name] = _convert(hints[f.name], data[f.name], f"{where} {f.name}")
    return cls(**values)


def _convert(hint: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _convert(inner[0], value, where)
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return _build(hint, value, where)
    if origin is list:
        if not isinstance(value, list):
            raise ResultsFileError(f"{where}: expected a list")
        return [_convert(args[0], v, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ResultsFileError(f"{where}: expected an object")
        key_type = args[0] if args else str
        try:
            return {key_type(k): _convert(args[1], v, f"{where}.{k}") for k, v in value.items()}
        except ValueError as exc:
            raise ResultsFileError(f"{where}: bad key: {exc}") from exc
    if hint is Any:
        return value
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(hint, type) and not isinstance(value, hint):
        raise ResultsFileError(f"{where}: expected {hint.__name__}, got {type(value).__name__}")
    return value
