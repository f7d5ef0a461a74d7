"""What the report shows, computed from results files and the sidecar's spans: pure functions.

Each agent is one results file (:class:`AgentRun`), joined to the sidecar's SERVER spans
of its trials' traces. Scores use :mod:`evaluator.scoring`, so they mean what the eval
command's summary means (trials not scored are left out of rates, with their cause).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from evaluator import scoring, summary
from evaluator.report.traces import Span, TraceIndex
from evaluator.results import RunResult, TrialResult, TurnRecord

REWARD_BINS: tuple[str, ...] = ("0", "0 to 0.5", "0.5 to 1", "1")
TIER_ORDER: tuple[str, ...] = ("easy", "medium", "hard", "expert")

# What went wrong in a failed trial, as chart categories.
CAUSE_NOT_SCORED = "not scored"
CAUSE_AGENT_ERROR = "agent error"
CAUSE_MALFORMED = "malformed tool call"
CAUSE_ACTION = "expected action missing"
CAUSE_COMMUNICATE = "information not given"
CAUSE_DB = "database differs"
CAUSE_ASSERTION = "assertion not met"
CAUSE_TERMINATION = "ended early"
CAUSE_OTHER = "reward below 1"
_NORMAL_END = frozenset({"user_stop", "agent_stop"})


@dataclass(frozen=True)
class TurnView:
    """One exchange: the evaluator's record and, when traced, the sidecar's SERVER span."""

    record: TurnRecord
    proxy: Span | None


@dataclass(frozen=True)
class AgentRun:
    label: str  # unique among the report's agents
    result: RunResult
    proxy_spans: tuple[Span, ...]  # the sidecar's SERVER spans in this run's traces

    @property
    def trials(self) -> list[TrialResult]:
        return self.result.trials


def agent_runs(results: Sequence[RunResult], index: TraceIndex) -> list[AgentRun]:
    """One :class:`AgentRun` per results file, labelled by agent name (made unique)."""
    labels = unique_labels([r.agent.name for r in results])
    by_trace: dict[str, list[Span]] = {}
    for span in index.proxy_spans():
        by_trace.setdefault(span.trace_id, []).append(span)
    runs = []
    for label, result in zip(labels, results, strict=True):
        traces = {t.trace_id for t in result.trials if t.trace_id}
        spans = [s for trace in sorted(traces) for s in by_trace.get(trace, [])]
        runs.append(AgentRun(label, result, tuple(sorted(spans, key=lambda s: s.start_ns))))
    return runs


def unique_labels(names: Sequence[str]) -> list[str]:
    counts = Counter(names)
    seen: Counter[str] = Counter()
    labels = []
    for name in names:
        seen[name] += 1
        labels.append(f"{name} #{seen[name]}" if counts[name] > 1 else name)
    return labels


def turn_views(trial: TrialResult, index: TraceIndex) -> list[TurnView]:
    return [
        TurnView(turn, index.server_span_for_turn(trial.trace_id, turn.span_id))
        for turn in trial.turn_records
    ]


# --- scores ---------------------------------------------------------------------------
def _scored(trials: Iterable[TrialResult]) -> list[scoring.Scored]:
    return summary.as_scored(list(trials))


def pass_hat_k_curve(run: AgentRun) -> list[tuple[float, float]]:
    """(k, pass^k) for k = 1 .. the smallest trial count of any task."""
    return [(float(k), v) for k, v in sorted(scoring.pass_hat_ks(_scored(run.trials)).items())]


def reward_bin(reward: float) -> str:
    if scoring.is_successful(reward):
        return REWARD_BINS[3]
    if reward <= 0.0:
        return REWARD_BINS[0]
    return REWARD_BINS[1] if reward < 0.5 else REWARD_BINS[2]


def reward_distribution(run: AgentRun) -> dict[str, float]:
    """Counted trials per reward bin (every bin present)."""
    counts = Counter(reward_bin(t.reward) for t in run.trials if t.scored)
    return {name: float(counts.get(name, 0)) for name in REWARD_BINS}


def success_by_task(run: AgentRun) -> dict[str, float]:
    table = scoring.successes_by_task(_scored(run.trials))
    return {task: c / n for task, (n, c) in table.items()}


def success_by_tier(run: AgentRun) -> dict[str, float]:
    tiers = {t.task_id: t.complexity for t in run.result.tasks}
    totals: dict[str, list[int]] = {}
    for trial in run.trials:
        if not trial.scored:
            continue
        row = totals.setdefault(tiers.get(trial.task_id, "unknown"), [0, 0])
        row[0] += 1
        row[1] += int(trial.success)
    return {tier: c / n for tier, (n, c) in totals.items()}


def ordered_tiers(tiers: Iterable[str]) -> list[str]:
    present = set(tiers)
    known = [t for t in TIER_ORDER if t in present]
    return known + sorted(present - set(TIER_ORDER))


def failures_by_termination(run: AgentRun) -> dict[str, float]:
    """Failed trials (infrastructure errors included) by tau2 termination reason."""
    counts = Counter(t.termination_reason for t in run.trials if not t.success)
    return {reason: float(n) for reason, n in sorted(counts.items())}


def failure_causes(trial: TrialResult) -> list[tuple[str, str]]:
    """Why a trial failed, as (category, explanation); empty for a success."""
    if trial.success:
        return []
    causes: list[tuple[str, str]] = []
    if not trial.scored:
        return [(CAUSE_NOT_SCORED, trial.error or "the trial could not be scored")]
    if trial.termination_reason == "agent_error":
        causes.append((CAUSE_AGENT_ERROR, trial.error or "the agent's turn failed"))
    elif trial.termination_reason not in _NORMAL_END:
        causes.append(
            (CAUSE_TERMINATION, f"the conversation ended with {trial.termination_reason}")
        )
    if trial.malformed_tool_calls:
        n = trial.malformed_tool_calls
        causes.append(
            (CAUSE_MALFORMED, f"{n} malformed tool call{'s' if n != 1 else ''} in agent replies")
        )
    detail = trial.reward_detail
    for check in detail.checks:
        if check.met:
            continue
        if check.kind == "action":
            causes.append((CAUSE_ACTION, f"expected action not taken: {check.description}"))
        elif check.kind == "communicate":
            causes.append((CAUSE_COMMUNICATE, f"the agent never said: {check.description}"))
        else:
            causes.append((CAUSE_ASSERTION, f"{check.kind} not met: {check.description}"))
    if detail.db_match is False:
        causes.append((CAUSE_DB, "the final database differs from the expected one"))
    if trial.error and trial.termination_reason != "agent_error":
        causes.append((CAUSE_OTHER, trial.error))
    if detail.note:
        causes.append((CAUSE_OTHER, detail.note))
    if not causes:
        causes.append((CAUSE_OTHER, f"reward {trial.reward:.3g}"))
    return causes


def failure_cause_counts(run: AgentRun) -> dict[str, float]:
    """Failed trials per cause: each failed trial counts once, under its primary cause."""
    counts = Counter(summary.cause_label(c) for c in map(summary.primary_cause, run.trials) if c)
    return {cause: float(n) for cause, n in sorted(counts.items())}


# --- the sidecar's view --------------------------------------------------------------
def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (``q`` in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def latency_by_method(spans: Iterable[Span]) -> dict[str, list[float]]:
    """Server-span durations (seconds) per A2A method."""
    table: dict[str, list[float]] = {}
    for span in spans:
        table.setdefault(span.method, []).append(span.duration_s)
    return dict(sorted(table.items()))


def errors_by_method(spans: Iterable[Span]) -> dict[str, int]:
    return dict(Counter(s.method for s in spans if s.failed))


def time_to_first_event_s(spans: Iterable[Span]) -> list[float]:
    values = []
    for span in spans:
        ms = span.attributes.get("a2a.proxy.time_to_first_event_ms")
        if isinstance(ms, int | float):
            values.append(ms / 1000)
    return values


def tool_call_validity(spans: Iterable[Span]) -> tuple[int, int]:
    """(well-formed, malformed) replies with a tool call, as the sidecar's tool lens saw them."""
    flags = [s.tool_valid for s in spans if s.tool_valid is not None]
    return sum(1 for f in flags if f), sum(1 for f in flags if not f)


def tool_call_problems(spans: Iterable[Span]) -> Counter[str]:
    return Counter(
        str(s.attributes["a2a.proxy.tool_call.problem"])
        for s in spans
        if s.tool_valid is False and "a2a.proxy.tool_call.problem" in s.attributes
    )


def turn_proxy_latencies(run: AgentRun, index: TraceIndex) -> list[float]:
    """The sidecar's server-span duration of every traced turn of the run."""
    return [
        view.proxy.duration_s
        for trial in run.trials
        for view in turn_views(trial, index)
        if view.proxy is not None
    ]


@dataclass(frozen=True)
class AgentSummary:
    """One row of the comparison table (and of the demo's printed summary)."""

    label: str
    domain: str
    trials: int
    pass_hat_k: dict[int, float]
    average_reward: float | None
    success_rate: float | None
    failures: dict[str, int]  # cause category -> failed trials showing it
    malformed_tool_calls: int
    turns: int
    traced_turns: int
    proxy_p50_s: float | None
    proxy_p95_s: float | None


def summarize(run: AgentRun, index: TraceIndex) -> AgentSummary:
    scored = _scored(run.trials)
    latencies = turn_proxy_latencies(run, index)
    return AgentSummary(
        label=run.label,
        domain=run.result.domain,
        trials=len(run.trials),
        pass_hat_k=scoring.pass_hat_ks(scored),
        average_reward=scoring.average_reward(scored),
        success_rate=scoring.success_rate(scored),
        failures={k: int(v) for k, v in failure_cause_counts(run).items()},
        malformed_tool_calls=sum(t.malformed_tool_calls for t in run.trials),
        turns=sum(len(t.turn_records) for t in run.trials),
        traced_turns=len(latencies),
        proxy_p50_s=percentile(latencies, 50),
        proxy_p95_s=percentile(latencies, 95),
    )


def ranking(summaries: Sequence[AgentSummary]) -> list[AgentSummary]:
    """Best first: pass^1, then average reward."""
    return sorted(
        summaries,
        key=lambda s: (-(s.pass_hat_k.get(1) or 0.0), -(s.average_reward or 0.0), s.label),
    )
