"""What the report shows, computed from results files and the sidecar's spans: pure functions.

Each run is one results file (:class:`AgentRun`), joined to the sidecar's SERVER spans of
its trials' traces. The run's figures (averages, pass^k, intervals, causes, what they
cover) are the file's own summary, made by :mod:`evaluator.summary`: the report shows
the numbers ``eval`` printed and never recomputes them its own way. What is computed
here is only what the summary does not hold: per-task and per-tier rates for the charts,
latencies, why one trial failed, and whether several runs can be compared at all.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from evaluator import scoring, summary
from evaluator.report.traces import TOOL_PROBLEM, TTFE_MS, Span, TraceIndex
from evaluator.results import (
    NOT_RUN,
    NOT_SCORED,
    SCORED,
    RunResult,
    RunSummary,
    TrialResult,
    TurnRecord,
)
from evaluator.summary import plural

REWARD_BINS: tuple[str, ...] = ("0", "0 to 0.5", "0.5 to 1", "1")
TIER_ORDER: tuple[str, ...] = ("easy", "medium", "hard", "expert")
_NORMAL_END = frozenset({"user_stop", "agent_stop"})
INTERVAL_NOTE = (
    "[low, high]: 95% Wilson interval, with the run's tasks as the sample size (trials of one "
    "task are not independent, so 5 tasks × 2 trials are 5 observations, not 10)."
)
SCRIPTED_USER_NOTE = (
    "The scripted user states the task's hidden scenario in its first message and ends the "
    "conversation at the agent's first text reply. It is a fixture for the deterministic "
    "sample agents: scores of any other agent under it are not tau2 scores (use --user llm)."
)


@dataclass(frozen=True)
class TurnView:
    """One exchange: the evaluator's record and, when traced, the sidecar's SERVER span."""

    record: TurnRecord
    proxy: Span | None


@dataclass(frozen=True)
class AgentRun:
    label: str  # unique among the report's runs
    result: RunResult
    proxy_spans: tuple[Span, ...]  # the sidecar's SERVER spans in this run's traces

    @property
    def trials(self) -> list[TrialResult]:
        return self.result.trials

    @property
    def chart_label(self) -> str:
        """The label without the date, to keep chart legends short."""
        return self.label.replace(f" · {started_label(self.result.started_at)}", "")

    @property
    def figures(self) -> RunSummary:
        """The run's figures as the results file holds them (made by evaluator.summary)."""
        return self.result.summary


def agent_runs(results: Sequence[RunResult], index: TraceIndex) -> list[AgentRun]:
    """One :class:`AgentRun` per results file, labelled by agent name (made unique)."""
    labels = run_labels(results)
    by_trace: dict[str, list[Span]] = {}
    for span in index.proxy_spans():
        by_trace.setdefault(span.trace_id, []).append(span)
    runs = []
    for label, result in zip(labels, results, strict=True):
        traces = {t.trace_id for t in result.trials if t.trace_id}
        spans = [s for trace in sorted(traces) for s in by_trace.get(trace, [])]
        runs.append(AgentRun(label, result, tuple(sorted(spans, key=lambda s: s.start_ns))))
    return runs


def started_label(started_at: str) -> str:
    """'2026-12-01 16:34' from an ISO timestamp (the text itself if it is not one)."""
    try:
        return datetime.fromisoformat(started_at).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return started_at


def run_name(result: RunResult) -> str:
    """A run by agent, date and short run id: 'oracle · 2026-12-01 16:34 · a6d8538f'."""
    return f"{result.agent.name} · {started_label(result.started_at)} · {result.run_id[:8]}"


def run_labels(results: Sequence[RunResult]) -> list[str]:
    """The agent's name when it is the only run of that agent, else agent, date and run id."""
    names = Counter(r.agent.name for r in results)
    labels = [r.agent.name if names[r.agent.name] == 1 else run_name(r) for r in results]
    return unique_labels(labels)


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


# --- what the figures cover ------------------------------------------------------------
def pass1_line(figures: RunSummary) -> str:
    """'pass^1 0.800 [0.38, 0.96] · scored 18 of 20 trials; 2 not scored; ...'."""
    pass1 = figures.pass_hat_k.get(1)
    shown = "–" if pass1 is None else f"{pass1:.3f}"
    interval = summary.format_interval(figures.pass_hat_1_ci)
    return f"pass^1 {shown}{' ' + interval if interval else ''} · {summary.headline(figures)}"


def comparability_warnings(runs: Sequence[AgentRun]) -> list[str]:
    """Why the runs' scores cannot be set side by side, if they cannot (empty when they can)."""
    if len(runs) < 2:
        return []
    warnings = []
    domains = {run.result.domain for run in runs}
    if len(domains) > 1:
        by_domain = "; ".join(
            f"{d}: {', '.join(r.label for r in runs if r.result.domain == d)}"
            for d in sorted(domains)
        )
        warnings.append(
            f"The runs are on different domains ({by_domain}): their scores do not compare."
        )
    task_sets = [task_ids(run) for run in runs]
    if any(ids != task_sets[0] for ids in task_sets[1:]):
        common = set.intersection(*task_sets)
        each = ", ".join(
            f"{r.label}: {plural(len(ids), 'task')}" for r, ids in zip(runs, task_sets, strict=True)
        )
        extra = [
            f"only in {r.label}: {_some(sorted(ids - common, key=task_key))}"
            for r, ids in zip(runs, task_sets, strict=True)
            if ids - common
        ]
        warnings.append(
            f"The runs cover different tasks ({each}; {len(common)} in common; "
            f"{'; '.join(extra)}): their averages and pass^k are over different task sets."
        )
    trial_counts = [trials_per_task(run) for run in runs]
    if len(set(trial_counts)) > 1:
        each = ", ".join(
            f"{r.label}: {plural(n, 'trial')}" for r, n in zip(runs, trial_counts, strict=True)
        )
        warnings.append(
            f"The runs have different trials per task ({each}): pass^k for k above "
            f"{min(trial_counts)} exists only for some of them."
        )
    users = {user_description(run.result) for run in runs}
    if len(users) > 1:
        each = ", ".join(f"{r.label}: {user_description(r.result)}" for r in runs)
        warnings.append(f"The runs used different simulated users ({each}).")
    return warnings


def _some(ids: Sequence[str], limit: int = 6) -> str:
    shown = ", ".join(ids[:limit])
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def task_ids(run: AgentRun) -> set[str]:
    """The tasks the run selected (its trials' tasks too, for a file without a task list)."""
    return {t.task_id for t in run.result.tasks} | {t.task_id for t in run.trials}


def trials_per_task(run: AgentRun) -> int:
    configured = run.result.config.get("num_trials")
    if isinstance(configured, int) and not isinstance(configured, bool):
        return configured
    return max(Counter(t.task_id for t in run.trials).values(), default=0)


def user_description(result: RunResult) -> str:
    return result.user.kind + (f" ({result.user.model})" if result.user.model else "")


@dataclass(frozen=True)
class TaskDifference:
    """One task's successes in each run: (successes, scored trials), (0, 0) when none of
    its trials was scored, or None when the run did not select the task."""

    task_id: str
    rates: tuple[tuple[int, int] | None, ...]


def task_differences(runs: Sequence[AgentRun]) -> list[TaskDifference]:
    """The tasks whose success rate differs between runs (or that some runs lack)."""
    if len(runs) < 2:
        return []
    tables = [scoring.successes_by_task(summary.as_scored(run.trials)) for run in runs]
    selected = [task_ids(run) for run in runs]
    every = sorted(set().union(*selected), key=task_key)
    rows = []
    for task in every:
        rates = tuple(
            None
            if task not in ids
            else (table[task][1], table[task][0])
            if task in table
            else (0, 0)
            for table, ids in zip(tables, selected, strict=True)
        )
        shares = {r if r is None or not r[1] else r[0] / r[1] for r in rates}
        if len(shares) > 1:
            rows.append(TaskDifference(task, rates))
    return rows


def task_key(task_id: str) -> tuple[int, int, str]:
    return (0, int(task_id), "") if task_id.isdigit() else (1, 0, task_id)


# --- scores for the charts --------------------------------------------------------------
def pass_hat_k_curve(run: AgentRun) -> list[tuple[float, float]]:
    """(k, pass^k) as the run's summary has them."""
    return [(float(k), v) for k, v in sorted(run.figures.pass_hat_k.items())]


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
    table = scoring.successes_by_task(summary.as_scored(run.trials))
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


# --- why trials failed ---------------------------------------------------------------------
def cause_of(trial: TrialResult) -> str | None:
    """The trial's one cause (summary.primary_cause), labelled, and saying when the trial
    was not scored or not run; None for a success."""
    cause = summary.primary_cause(trial)
    if cause is None:
        return None
    label = summary.cause_label(cause)
    if trial.status == NOT_SCORED and "not scored" not in label:
        return f"{label} (not scored)"
    if trial.status == NOT_RUN and "not run" not in label:
        return f"not run: {label}"
    return label


@dataclass(frozen=True)
class FailureExplanation:
    """Why one trial failed: the cause it is counted under, what decided its reward, and
    what was observed but did not count (outside the task's reward basis)."""

    cause: str
    decided: list[str]
    observed: list[str]


def explain_failure(trial: TrialResult) -> FailureExplanation | None:
    """None for a success. Each explanation appears once (tau2's evaluator crash is in both
    the error and the reward note)."""
    cause = cause_of(trial)
    if cause is None:
        return None
    detail = trial.reward_detail
    decided: list[str] = []
    observed: list[str] = []
    if trial.error:
        decided.append(trial.error)
    if trial.status != SCORED:
        if detail.note:
            decided.append(detail.note)
        return FailureExplanation(cause, _unique(decided), [])
    if trial.termination_reason not in _NORMAL_END and trial.termination_reason != "agent_error":
        decided.append(f"the conversation ended with {trial.termination_reason}")
    for check in detail.checks:
        if check.met:
            continue
        (decided if check.counted else observed).append(
            check_failure(check.kind, check.description)
        )
    if detail.db_match is False:
        text = "the final database differs from the expected one"
        (decided if "DB" in detail.basis or not detail.basis else observed).append(text)
    if detail.note:
        decided.append(detail.note)
    if trial.malformed_tool_calls:
        n = trial.malformed_tool_calls
        observed.append(f"{plural(n, 'malformed tool call')} in agent replies")
    if not decided:
        decided.append(f"reward {trial.reward:.3g}")
    return FailureExplanation(cause, _unique(decided), _unique(observed))


def check_failure(kind: str, description: str) -> str:
    if kind == "action":
        return f"expected action not taken: {description}"
    if kind == "communicate":
        return f"the agent never said: {description}"
    return f"{kind} not met: {description}"


def _unique(texts: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(texts))


def failure_cause_counts(run: AgentRun) -> dict[str, float]:
    """Failed trials per cause: each failed trial counts once, under its primary cause;
    trials not scored or not run say so in their label."""
    counts = Counter(c for c in map(cause_of, run.trials) if c)
    return {cause: float(n) for cause, n in sorted(counts.items())}


def termination_reasons(runs: Sequence[AgentRun]) -> list[str]:
    return sorted({r for run in runs for r in run.figures.termination_counts})


# --- the sidecar's view, and the evaluator's own timings -------------------------------------
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
        ms = span.attributes.get(TTFE_MS)
        if isinstance(ms, int | float):
            values.append(ms / 1000)
    return values


def tool_call_validity(spans: Iterable[Span]) -> tuple[int, int]:
    """(well-formed, malformed) replies with a tool call, as the sidecar's tool lens saw them."""
    flags = [s.tool_valid for s in spans if s.tool_valid is not None]
    return sum(1 for f in flags if f), sum(1 for f in flags if not f)


def tool_call_problems(spans: Iterable[Span]) -> Counter[str]:
    return Counter(
        str(s.attributes[TOOL_PROBLEM])
        for s in spans
        if s.tool_valid is False and TOOL_PROBLEM in s.attributes
    )


def turn_proxy_latencies(run: AgentRun, index: TraceIndex) -> list[float]:
    """The sidecar's server-span duration of every traced turn of the run."""
    return [
        view.proxy.duration_s
        for trial in run.trials
        for view in turn_views(trial, index)
        if view.proxy is not None
    ]


def turn_evaluator_latencies(run: AgentRun) -> list[float]:
    """The evaluator's own timing of every turn (TurnRecord.duration_s): the fallback when
    no sidecar span was recorded. It includes the sidecar and the evaluator's A2A client."""
    return [turn.duration_s for trial in run.trials for turn in trial.turn_records]


@dataclass(frozen=True)
class AgentSummary:
    """One row of the comparison table (and of the demo's printed summary). The scores
    are ``figures``, the results file's own summary."""

    label: str
    agent: str
    domain: str
    run_id: str
    started_at: str
    status: str
    figures: RunSummary
    failures: dict[str, int]  # cause label -> failed trials, each counted once
    malformed_tool_calls: int
    turns: int
    traced_turns: int
    proxy_p50_s: float | None
    proxy_p95_s: float | None
    evaluator_p50_s: float | None
    evaluator_p95_s: float | None

    @property
    def pass_hat_k(self) -> dict[int, float]:
        return self.figures.pass_hat_k

    @property
    def average_reward(self) -> float | None:
        return self.figures.average_reward

    @property
    def trials(self) -> int:
        return self.figures.trials

    @property
    def headline(self) -> str:
        return pass1_line(self.figures)

    @property
    def covers(self) -> str:
        return summary.headline(self.figures)

    @property
    def latency_source(self) -> str:
        """Whose timing the latency figures are: the sidecar's spans, else the evaluator's."""
        return "sidecar" if self.traced_turns else "evaluator"

    @property
    def latency_p50_s(self) -> float | None:
        return self.proxy_p50_s if self.traced_turns else self.evaluator_p50_s

    @property
    def latency_p95_s(self) -> float | None:
        return self.proxy_p95_s if self.traced_turns else self.evaluator_p95_s


def summarize(run: AgentRun, index: TraceIndex) -> AgentSummary:
    latencies = turn_proxy_latencies(run, index)
    own = turn_evaluator_latencies(run)
    return AgentSummary(
        label=run.label,
        agent=run.result.agent.name,
        domain=run.result.domain,
        run_id=run.result.run_id,
        started_at=run.result.started_at,
        status=run.result.status,
        figures=run.figures,
        failures={k: int(v) for k, v in failure_cause_counts(run).items()},
        malformed_tool_calls=run.figures.malformed_tool_calls,
        turns=len(own),
        traced_turns=len(latencies),
        proxy_p50_s=percentile(latencies, 50),
        proxy_p95_s=percentile(latencies, 95),
        evaluator_p50_s=percentile(own, 50),
        evaluator_p95_s=percentile(own, 95),
    )


def ranking(summaries: Sequence[AgentSummary]) -> list[AgentSummary]:
    """Best first: pass^1, then average reward."""
    return sorted(
        summaries,
        key=lambda s: (-(s.pass_hat_k.get(1) or 0.0), -(s.average_reward or 0.0), s.label),
    )
