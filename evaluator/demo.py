"""``tau2observe demo``: the whole pipeline offline, in one process, in a few minutes.

Sample purple agents (``oracle`` and ``flawed`` by default) serve A2A on free loopback
ports; one in-process sidecar fronts them all (route ``/<kind>``); tau2 evaluates each
agent through it with the scripted user, the agents in parallel. The output folder gets
the spans (``traces.jsonl``, OTLP JSON lines), the metrics (``metrics.jsonl``), one
results file per agent and ``report.html``; OTLP export happens as well when
``OTEL_EXPORTER_OTLP_ENDPOINT`` is set. Ctrl-C stops the evaluations, the sidecar and the
agents, flushes telemetry and exits 130.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evaluator.datadog.llmobs import cli as llmobs_cli
from evaluator.progress import trial_line
from proxy import semconv
from proxy.errors import UsageError

if TYPE_CHECKING:
    from rich.console import Console

    from evaluator.event_loop import BackgroundLoop
    from evaluator.report import AgentSummary
    from evaluator.results import RunResult, TrialResult
    from proxy.server import RunningProxy
    from proxy.telemetry import Telemetry

HELP = "the offline demo: sample agents, the sidecar, tau2 evaluations, traces and the report"
DEMO_KINDS = ("oracle", "flawed", "noop", "always-approve", "always-deny")
TRACES_FILE = "traces.jsonl"
METRICS_FILE = "metrics.jsonl"
REPORT_FILE = "report.html"
INTERRUPTED = 130

DESCRIPTION = f"""\
Run the whole pipeline on this machine, with no network, LLM or Datadog account:
sample purple agents as real A2A servers, the sidecar in front of them, and a tau2
evaluation of each agent through it (scripted user, real tau2 orchestrator and
evaluator). Writes into the output folder (default out/demo-<time>/):

  {TRACES_FILE}     every span (evaluator, HTTP client, sidecar), OTLP JSON lines
  {METRICS_FILE}    the evaluator's and the sidecar's metrics, OTLP JSON lines
  results-<agent>.json  one results file per agent (tau2observe report reads them)
  {REPORT_FILE}       the report: open it in a browser, it needs no network

and prints a summary. With OTEL_EXPORTER_OTLP_ENDPOINT set, spans and metrics also go
to that collector. Progress goes to stderr; Ctrl-C stops everything cleanly.
"""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--domain",
        default="airline",
        help="tau2 domain, by name (airline, vacation_rental, ...) or a domain folder's path "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--num-tasks", type=int, default=5, metavar="N", help="first N tasks (default: 5)"
    )
    parser.add_argument(
        "--num-trials", type=int, default=2, metavar="K", help="trials per task (default: 2)"
    )
    parser.add_argument(
        "--agents",
        nargs="+",
        choices=DEMO_KINDS,
        default=["oracle", "flawed"],
        metavar="KIND",
        help=f"sample agents to compare, of {', '.join(DEMO_KINDS)} (default: oracle flawed)",
    )
    parser.add_argument(
        "--max-concurrency",
        type=int,
        default=2,
        metavar="N",
        help="trials at once per agent (default: %(default)s)",
    )
    parser.add_argument("--output", type=Path, metavar="DIR", help="output folder")
    parser.add_argument(
        "--via-green",
        action="store_true",
        help="ask the green agent (tau2observe serve, in this process) for each evaluation, "
        "over A2A, as AgentBeats would; its tasks and runs go to DIR/green",
    )
    llmobs_cli.add_option(parser)


@dataclass(frozen=True)
class DemoPlan:
    domain: str
    num_tasks: int
    num_trials: int
    kinds: tuple[str, ...]
    max_concurrency: int
    output: Path
    via_green: bool = False


def plan_from(args: argparse.Namespace, now: datetime | None = None) -> DemoPlan:
    for option, value in (
        ("--num-tasks", args.num_tasks),
        ("--num-trials", args.num_trials),
        ("--max-concurrency", args.max_concurrency),
    ):
        if value < 1:
            raise UsageError(f"{option}={value}: must be at least 1")
    kinds = tuple(dict.fromkeys(args.agents))
    if len(kinds) < len(args.agents):
        raise UsageError(
            f"--agents {' '.join(args.agents)}: each agent once; a second run of the same "
            "deterministic agent would show the same numbers"
        )
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    output = args.output or Path("out") / f"demo-{stamp}"
    if output.exists() and not output.is_dir():
        raise UsageError(f"--output {output}: exists and is not a folder")
    return DemoPlan(
        args.domain,
        args.num_tasks,
        args.num_trials,
        kinds,
        args.max_concurrency,
        output,
        getattr(args, "via_green", False),
    )


class Progress:
    """Progress on stderr: bars on a terminal, one line per finished trial otherwise."""

    def __init__(self, console: Console) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, TimeElapsedColumn
        from rich.progress import Progress as Bars

        self._lock = threading.Lock()
        self._console = console
        self._live = console.is_terminal
        self._bars = Bars(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            disable=not self._live,
        )
        self._ids: dict[str, Any] = {}
        self._done: dict[str, int] = {}
        self._total: dict[str, int] = {}

    def __enter__(self) -> Progress:
        self._bars.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bars.__exit__(None, None, None)

    def started(self, agent: str, total: int) -> None:
        with self._lock:
            self._ids[agent] = self._bars.add_task(f"{agent:>8} trials", total=total)
            self._total[agent] = total
            self._done[agent] = 0

    def finished(self, agent: str, trial: TrialResult) -> None:
        with self._lock:
            self._done[agent] += 1
            self._bars.advance(self._ids[agent])
            if not self._live:
                self._console.print(
                    f"{agent}: {self._done[agent]}/{self._total[agent]} {trial_line(trial)}",
                    markup=False,
                    highlight=False,
                )


class Stopped(Exception):
    """Raised from a progress callback to end an evaluation early (Ctrl-C)."""


def run(args: argparse.Namespace) -> int:
    plan = plan_from(args)
    # Before tau2 is imported: see evaluator.datadog.llmobs.session.
    llmobs = llmobs_cli.start_from_args(args, llmobs_cli.DEFAULT_ML_APP)
    try:
        return _run(args, plan)
    finally:
        if llmobs is not None:
            llmobs.shutdown()


def _run(args: argparse.Namespace, plan: DemoPlan) -> int:
    from rich.console import Console

    from evaluator import tau2_adapter

    # a folder's path becomes the name it is registered under, for results and report
    plan = dataclasses.replace(plan, domain=tau2_adapter.use_domain(plan.domain))
    for name in ("httpx", "a2a", "aiohttp.access", "uvicorn", "uvicorn.error"):
        logging.getLogger(name).setLevel(logging.WARNING)
    tau2_adapter.quiet_logs("DEBUG" if args.log_level == "DEBUG" else "ERROR")
    err = Console(stderr=True, soft_wrap=True)
    # piped or captured: wide enough for the summary table to keep one line per agent
    out = Console(file=sys.stdout, width=None if sys.stdout.isatty() else 120)
    stop = threading.Event()
    previous = interrupt_on_signals()
    try:
        return run_demo(plan, err, out, stop)
    except KeyboardInterrupt:
        err.print("demo interrupted: everything was stopped", highlight=False)
        return INTERRUPTED
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def interrupt_on_signals() -> dict[int, Any]:
    """SIGINT and SIGTERM stop the demo cleanly, even when started with SIGINT ignored
    (a background job of a non-interactive shell); returns the handlers it replaced."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {signum: signal.signal(signum, _interrupt) for signum in (signal.SIGINT, signal.SIGTERM)}


def run_demo(plan: DemoPlan, err: Console, out: Console, stop: threading.Event) -> int:
    from evaluator.errors import EvaluationError
    from evaluator.eval_cli import exit_status
    from evaluator.report import build_report
    from evaluator.report.traces import read_spans

    plan.output.mkdir(parents=True, exist_ok=True)
    telemetry = demo_telemetry(plan.output)
    started = time.perf_counter()
    try:
        with demo_services(plan, telemetry, err) as endpoints:
            if plan.via_green:
                from evaluator.green.via import evaluate_via_green

                results = evaluate_via_green(plan, telemetry, endpoints.agents, err)
            else:
                results = evaluate_all(plan, telemetry, endpoints, err, stop)
    except EvaluationError as exc:
        err.print(f"demo: error: {exc}", highlight=False, markup=False)
        return 1
    finally:
        telemetry.shutdown()  # flushes every span and metric to the files
    paths = [plan.output / f"results-{result.agent.name}.json" for result in results]
    traces = plan.output / TRACES_FILE
    report = build_report(results, read_spans([traces]), [p.name for p in [*paths, traces]])
    (plan.output / REPORT_FILE).write_text(report.html(), encoding="utf-8")
    print_summary(report.summaries(), out)
    out.print(f"\nfinished in {time.perf_counter() - started:.0f} s; written to {plan.output}/:")
    for path in (traces, plan.output / METRICS_FILE, *paths, plan.output / REPORT_FILE):
        out.print(f"  {path}", highlight=False)
    out.print(f"open the report: file://{(plan.output / REPORT_FILE).resolve()}", highlight=False)
    unfinished = [r for r in results if r.status != "complete"]
    for result in unfinished:
        err.print(
            f"demo: {result.agent.name}: run {result.status}: {result.status_note}",
            highlight=False,
            markup=False,
        )
    return max((exit_status(r.status) for r in unfinished), default=0)


def demo_telemetry(output: Path) -> Telemetry:
    """The evaluator's providers with the trace and metric files (OTLP too, from OTEL_*)."""
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

    from proxy.telemetry import (
        OtlpJsonFileMetricExporter,
        TelemetrySettings,
        build_telemetry,
    )

    metrics = PeriodicExportingMetricReader(
        OtlpJsonFileMetricExporter(output / METRICS_FILE), export_interval_millis=60_000
    )
    from evaluator.datadog.llmobs import ingestion, session

    settings = TelemetrySettings.from_env(
        semconv.EVALUATOR_SERVICE,
        trace_file=output / TRACES_FILE,
        extra_resource_attributes=ingestion.resource_attributes(
            session.current() is not None, os.environ
        ),
    )
    return build_telemetry(settings, extra_metric_readers=[metrics])


@dataclass(frozen=True)
class Endpoints:
    agents: dict[str, str]  # kind -> the agent's own URL
    proxied: dict[str, str]  # kind -> its route on the sidecar
    stop_sidecar: Callable[[], None]  # idempotent; turns in flight then fail at once


@contextlib.contextmanager
def demo_services(plan: DemoPlan, telemetry: Telemetry, err: Console) -> Iterator[Endpoints]:
    """The sample agents and the sidecar, stopped on the way out whatever happens."""
    from evaluator.agents import AgentSettings, serve_in_thread
    from evaluator.agents.tau2_tasks import DEFAULT_TASK_SETS
    from evaluator.event_loop import BackgroundLoop

    task_sets = tuple(dict.fromkeys([*DEFAULT_TASK_SETS, plan.domain]))
    with contextlib.ExitStack() as stack:
        agents = {
            kind: stack.enter_context(
                serve_in_thread(AgentSettings(kind=kind, task_sets=task_sets))  # type: ignore[arg-type]
            )
            for kind in plan.kinds
        }
        loop = stack.enter_context(BackgroundLoop("tau2observe-demo-sidecar"))
        proxy = start_sidecar(loop, {k: a.url for k, a in agents.items()}, telemetry)
        stopped = threading.Event()

        def stop_sidecar() -> None:
            if not stopped.is_set():
                stopped.set()
                try:
                    loop.run(proxy.stop(), timeout=15)
                except TimeoutError:  # a stuck stop must not turn Ctrl-C into a hang
                    err.print("the sidecar did not stop within 15 s; leaving it", highlight=False)

        stack.callback(stop_sidecar)
        endpoints = Endpoints(
            {k: a.url for k, a in agents.items()},
            {k: proxy.url_for(k) for k in agents},
            stop_sidecar,
        )
        for kind in plan.kinds:
            err.print(
                f"{kind} agent at {endpoints.agents[kind]} · through the sidecar at "
                f"{endpoints.proxied[kind]}",
                highlight=False,
            )
        yield endpoints
    err.print("agents and sidecar stopped", highlight=False)


def start_sidecar(
    loop: BackgroundLoop, upstreams: dict[str, str], telemetry: Telemetry
) -> RunningProxy:
    from proxy.server import start_proxy
    from proxy.settings import ProxySettings, Route

    settings = ProxySettings(
        listen_host="127.0.0.1",
        listen_port=0,
        routes=tuple(Route(name=k, prefix=f"/{k}", upstream=u) for k, u in upstreams.items()),
        shutdown_grace_s=1.0,  # stopping it is what ends an interrupted run's turns
    )
    return loop.run(start_proxy(settings, telemetry.sibling(semconv.PROXY_SERVICE)), timeout=30)


def evaluate_all(
    plan: DemoPlan,
    telemetry: Telemetry,
    endpoints: Endpoints,
    err: Console,
    stop: threading.Event,
) -> list[RunResult]:
    """Every agent's evaluation, in parallel threads; Ctrl-C stops them and re-raises."""
    from evaluator.config import EvalConfig
    from evaluator.runner import run_evaluation
    from evaluator.summary import plural

    results: dict[str, RunResult] = {}
    failures: dict[str, BaseException] = {}

    def evaluate(kind: str, progress: Progress) -> None:
        config = EvalConfig(
            domain=plan.domain,
            agent_endpoint=endpoints.agents[kind],
            num_tasks=plan.num_tasks,
            num_trials=plan.num_trials,
            max_concurrency=plan.max_concurrency,
            agent_name=kind,
            proxy_mode="url",
            proxy_url=endpoints.proxied[kind],
        )

        def on_trial(trial: TrialResult) -> None:
            if stop.is_set():
                raise Stopped
            progress.finished(kind, trial)

        try:
            results[kind] = run_evaluation(
                config,
                telemetry,
                on_start=lambda total, _done: progress.started(kind, total),
                on_trial=on_trial,
                results_path=plan.output / f"results-{kind}.json",
            )
        except BaseException as exc:  # handed to the main thread
            failures[kind] = exc

    err.print(
        f"evaluating {', '.join(plan.kinds)} on {plan.domain}: "
        f"{plural(plan.num_tasks, 'task')} × {plural(plan.num_trials, 'trial')} each, "
        "scripted user",
        highlight=False,
    )
    with Progress(err) as progress:
        threads = [
            threading.Thread(target=evaluate, args=(k, progress), name=f"demo-{k}", daemon=True)
            for k in plan.kinds
        ]
        for thread in threads:
            thread.start()
        try:
            wait_for(threads)
        except KeyboardInterrupt:
            stop.set()
            err.print("stopping: the sidecar first, so that the trials in flight end…")
            endpoints.stop_sidecar()
            wait_for(threads, deadline_s=60)
            raise
    for kind in plan.kinds:
        if kind in failures:
            raise failures[kind]
    return [results[k] for k in plan.kinds]


def wait_for(threads: Sequence[threading.Thread], deadline_s: float | None = None) -> None:
    """Join ``threads`` in short steps, so that Ctrl-C reaches the main thread at once."""
    end = None if deadline_s is None else time.monotonic() + deadline_s
    for thread in threads:
        while thread.is_alive() and (end is None or time.monotonic() < end):
            thread.join(0.2)


def print_summary(summaries: Sequence[AgentSummary], console: Console) -> None:
    """The agents ranked, with what their scores cover and their 95% intervals; the
    figures are the results files' own summaries (evaluator.summary made them)."""
    from rich.table import Table

    from evaluator.report.analysis import INTERVAL_NOTE, ranking
    from evaluator.summary import format_interval

    ks = sorted({k for s in summaries for k in s.pass_hat_k})
    table = Table(title="tau2observe demo")
    for column in ("agent", *(f"pass^{k}" for k in ks), "avg reward"):
        table.add_column(column, no_wrap=True)
    table.add_column("scores cover")
    table.add_column("failed trials by cause")
    table.add_column("turn latency (p50, p95)")
    for s in ranking(summaries):
        failures = ", ".join(f"{cause}: {n}" for cause, n in s.failures.items()) or "none"
        pass_ks = [_fmt(s.pass_hat_k.get(k)) for k in ks]
        if pass_ks and s.figures.pass_hat_1_ci:
            pass_ks[0] += f" {format_interval(s.figures.pass_hat_1_ci)}"
        table.add_row(
            s.label,
            *pass_ks,
            f"{_fmt(s.average_reward)} {format_interval(s.figures.average_reward_ci)}".rstrip(),
            s.covers,
            failures,
            f"{_ms(s.latency_p50_s)}, {_ms(s.latency_p95_s)} "
            + ("(sidecar)" if s.traced_turns else "(evaluator's timing: no sidecar spans)"),
        )
    console.print(table)
    console.print(INTERVAL_NOTE, highlight=False, markup=False)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.0f} ms"
