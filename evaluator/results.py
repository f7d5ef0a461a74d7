"""The results file: the whole record of one evaluation run, as JSON, and back.

``save_results(result, path)`` writes it, ``load_results(path)`` reads it into the same
typed dataclasses. Everything a later step needs is here: the configuration (without
credentials), each trial's transcript with per-turn timings and the trace and span ids
that join it to the sidecar's spans, the reward and its breakdown, and the run summary.
``schema_version`` changes whenever a field changes meaning or disappears.

The file is created when the run starts and rewritten atomically (a temporary file,
fsync, rename) each time a trial ends, as tau2 does with its own results: an interrupted
or crashed run keeps every finished trial, ``status`` says how far it got, and
``tau2observe eval --resume`` continues it.

Layout (field names as in the dataclasses below)::

    {schema_version, run_id, status, status_note, started_at, finished_at, duration_s,
     domain, tau2: {package, version, note},
     agent: {name, endpoint, card_name, protocol_version, message_format, via_proxy, proxy_url},
     user: {kind, model, llm_args},
     config: {...},
     tasks: [{task_id, complexity, complexity_score, reference_actions, checks,
              trials, successes, failure_rate}],
     trials: [{task_id, trial, seed, reward, success, termination_reason, status, cause,
               attempts, error, reward_detail: {reward, basis, breakdown,
               db_match, checks: [{kind, description, met, reward, counted}], note},
               turns, tool_calls, malformed_tool_calls, tool_errors, duration_s,
               mean_turn_duration_s, user_cost, user_input_tokens, user_output_tokens,
               context_id, trace_id, started_at,
               turn_records: [{index, started_at, duration_s, request_text, reply_text,
                               tool_calls, malformed_tool_calls, span_id, error}],
               messages: [{role, content, tool_calls: [{id, name, arguments, requestor}],
                           tool_call_id, error, turn_idx, timestamp, cost, usage}]}],
     summary: {trials, scored_trials, not_scored, not_run, tasks, average_reward,
               average_reward_ci, success_rate, pass_hat_k: {"1": ..}, pass_hat_k_tasks,
               pass_hat_1_ci, termination_counts, causes, tool_calls, malformed_tool_calls,
               tool_errors, user_cost, user_input_tokens, user_output_tokens, duration_s}}

A trial's ``status`` is ``scored`` (it ran; a failure on the agent's side scores 0),
``not_scored`` (the evaluator's side failed after retries; left out of the scores, with
its ``cause``) or ``not_run`` (the run stopped because the agent stopped answering; it
scores 0, since the agent could not be evaluated on it). A run's ``status`` is
``running``, ``complete``, ``incomplete`` (some trials not scored), ``stopped`` (the
agent stopped answering) or ``interrupted`` (Ctrl-C or SIGTERM; resumable).
Version 1 files (before trial statuses) are read and upgraded.
"""

from __future__ import annotations

import dataclasses
import json
import os
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 2
READABLE_VERSIONS = (1, 2)

# Trial statuses.
SCORED = "scored"
NOT_SCORED = "not_scored"
NOT_RUN = "not_run"

# Run statuses.
RUNNING = "running"
COMPLETE = "complete"
INCOMPLETE = "incomplete"
STOPPED = "stopped"
INTERRUPTED = "interrupted"


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
    counted: bool = True  # in the task's reward basis: it decided the reward


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
    termination_reason: str  # tau2's TerminationReason value
    status: str  # SCORED, NOT_SCORED or NOT_RUN
    cause: str | None  # why it failed or was not scored, as an id (agent_timeout, ...)
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
    attempts: int = 1

    @property
    def scored(self) -> bool:
        """Whether the trial counts in the scores (not-run trials count as 0)."""
        return self.status != NOT_SCORED


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
    trials: int  # every selected trial: tasks x trials
    scored_trials: int  # in the averages (not-run trials included, as 0)
    not_scored: int
    not_run: int
    tasks: int
    average_reward: float | None
    average_reward_ci: list[float] | None  # 95% Wilson interval over tasks
    success_rate: float | None
    pass_hat_k: dict[int, float]
    pass_hat_k_tasks: int  # the tasks whose trials were all scored
    pass_hat_1_ci: list[float] | None
    termination_counts: dict[str, int]
    causes: dict[str, int]  # failed or unscored trials by cause, each counted once
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
    status: str
    status_note: str | None
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
    """Write ``result`` atomically: a reader sees the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("w", encoding="utf-8") as out:
        json.dump(to_json_dict(result), out, indent=2, default=str)
        out.flush()
        os.fsync(out.fileno())
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
    if "schema_version" not in data or "trials" not in data:
        raise ResultsFileError(
            f"{path}: not a tau2observe results file (no schema_version or trials); "
            "results files are written by 'tau2observe eval --save-to'"
        )
    version = data.get("schema_version")
    if version not in READABLE_VERSIONS:
        raise ResultsFileError(
            f"{path}: schema_version {version!r} is not supported (this version reads "
            f"{', '.join(map(str, READABLE_VERSIONS))})"
        )
    if version == 1:
        data = _upgrade_v1(data)
    result: RunResult = _build(RunResult, data, f"{path}:")
    return result


def _upgrade_v1(data: dict[str, Any]) -> dict[str, Any]:
    """Version 1 left infrastructure errors out silently; they become not-scored trials."""
    from evaluator.summary import summarize  # the one place run summaries are made

    data = dict(data)
    data["schema_version"] = SCHEMA_VERSION
    data.setdefault("status", COMPLETE)
    data.setdefault("status_note", "read from a version 1 results file")
    trials = []
    for trial in data.get("trials") or []:
        if not isinstance(trial, dict):
            raise ResultsFileError("trials: expected objects")
        trial = dict(trial)
        broken = bool(trial.pop("infrastructure_error", False))
        trial.setdefault("status", NOT_SCORED if broken else SCORED)
        trial.setdefault("cause", "infrastructure_error" if broken else None)
        trials.append(trial)
    data["trials"] = trials
    built = [_build(TrialResult, t, "trials:") for t in trials]
    duration = float((data.get("summary") or {}).get("duration_s") or 0.0)
    task_ids = [t["task_id"] for t in data.get("tasks") or [] if isinstance(t, dict)]
    data["summary"] = dataclasses.asdict(summarize(built, task_ids, duration))
    return data


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
