"""``tau2observe serve``: the evaluator as an A2A green agent (AgentBeats-compatible)."""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path
from typing import Any

from evaluator.config import json_object_option
from proxy.errors import UsageError

HELP = "serve the evaluator as an A2A green agent (AgentBeats-compatible)"
ENV_AUTH_TOKEN = "TAU2OBSERVE_GREEN_AUTH_TOKEN"  # noqa: S105 (a variable name)

DESCRIPTION = f"""\
Serve the evaluator as an A2A agent (protocol 1.0, and 0.3 through a2a-sdk's
compatibility layer; JSON-RPC at /). Requesters ask it to evaluate a purple agent:

  AgentBeats' structured request, as the JSON text of a text part or as a data part:
    {{"participants": {{"agent": "http://127.0.0.1:9019/"}},
     "config": {{"domain": "mock", "num_tasks": 3, "num_trials": 2}}}}
  config keys: domain, num_tasks, num_trials, task_ids, task_split, max_steps,
  user_llm, user_llm_args, message_format, seed, shard_index, num_shards (0-based),
  num_instances (accepted, not used). Structured requests use the agentbeats-tutorial
  message format (AgentBeats' own) unless message_format says otherwise.

  plain language: "Evaluate my agent at http://127.0.0.1:9019 on the mock domain with
  3 tasks and 2 trials"; "which domains can you run?"; "show the latest results".
  What is missing or ambiguous gets a question back (input-required), never a guess;
  with --llm MODEL a litellm model reads what the fixed rules do not.

Each evaluation is an A2A task: one status update per trial, then an artifact with a
summary (text) and the numbers (data: AgentBeats' domain, score, max_score, pass_rate,
task_rewards, time_used, plus pass^k with intervals, what the scores cover, per-task
results with causes, the run id and trace ids). CancelTask stops the trials not yet
started and returns what finished (partial). Tasks and results files live under
--data-dir and survive restarts; a run cut short by a restart ends failed
(interrupted), with what finished. The purple agent is reached through the in-process
sidecar; a requester's traceparent is continued by every trial's spans.

The bearer token (--auth-token or ${ENV_AUTH_TOKEN}) guards everything but the agent
card; it is compared in constant time and never logged. Spans and metrics leave through
OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set, and to --trace-file.

Example:
  tau2observe agent oracle --port 9019 &
  tau2observe serve --port 9009 --data-dir green-data
"""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="listen address (default: %(default)s)")
    parser.add_argument("--port", type=int, default=9009, help="listen port (default: %(default)s)")
    parser.add_argument(
        "--public-url", metavar="URL", help="the URL on the card, when behind a proxy or gateway"
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        required=True,
        metavar="DIR",
        help="where tasks (tasks/) and results files (runs/) are kept",
    )
    parser.add_argument(
        "--auth-token", metavar="TOKEN", help=f"require this bearer token (or ${ENV_AUTH_TOKEN})"
    )
    limits = parser.add_argument_group("limits")
    limits.add_argument(
        "--max-concurrent-evaluations",
        type=int,
        default=2,
        metavar="N",
        help="evaluations running at once; more wait in 'submitted' (default: %(default)s)",
    )
    limits.add_argument(
        "--max-queued-evaluations",
        type=int,
        default=8,
        metavar="N",
        help="evaluations waiting for a slot; beyond, requests are refused (default: %(default)s)",
    )
    limits.add_argument(
        "--trial-concurrency",
        type=int,
        default=3,
        metavar="N",
        help="trials at once within one evaluation (default: %(default)s)",
    )
    limits.add_argument(
        "--max-tasks", type=int, default=120, metavar="N", help="tasks per request (default: 120)"
    )
    limits.add_argument(
        "--max-trials", type=int, default=8, metavar="K", help="trials per task (default: 8)"
    )
    limits.add_argument(
        "--agent-a2a-timeout",
        type=float,
        default=300.0,
        metavar="S",
        help="seconds to wait for each reply of the agent under test (default: 300)",
    )
    defaults = parser.add_argument_group("defaults for requests")
    defaults.add_argument(
        "--message-format",
        default="tau2",
        help="message format of plain-language requests (default: tau2; structured requests "
        "default to agentbeats-tutorial)",
    )
    defaults.add_argument(
        "--user-llm",
        metavar="MODEL",
        help="litellm model of tau2's user simulator when a request names none "
        "(default: the scripted user, a fixture for the sample agents)",
    )
    defaults.add_argument("--user-llm-args", default="{}", metavar="JSON", help="its arguments")
    defaults.add_argument(
        "--llm", metavar="MODEL", help="litellm model that reads plain language the rules do not"
    )
    defaults.add_argument("--llm-args", default="{}", metavar="JSON", help="its arguments")
    parser.add_argument("--trace-file", type=Path, metavar="PATH", help="also write spans here")


def build_settings(args: argparse.Namespace) -> Any:
    from evaluator.formats import MESSAGE_FORMAT_CHOICES
    from evaluator.green.evaluations import EvaluationSettings
    from evaluator.green.server import GreenSettings

    if args.message_format not in MESSAGE_FORMAT_CHOICES:
        raise UsageError(
            f"--message-format {args.message_format!r}: use one of "
            + ", ".join(MESSAGE_FORMAT_CHOICES)
        )
    settings = GreenSettings(
        evaluation=EvaluationSettings(
            data_dir=args.data_dir,
            max_running=args.max_concurrent_evaluations,
            max_queued=args.max_queued_evaluations,
            trial_concurrency=args.trial_concurrency,
            max_tasks=args.max_tasks,
            max_trials=args.max_trials,
            agent_timeout_s=args.agent_a2a_timeout,
            default_message_format=args.message_format,
            user_llm=args.user_llm,
            user_llm_args=json_object_option(args.user_llm_args, "--user-llm-args"),
        ),
        host=args.host,
        port=args.port,
        public_url=args.public_url,
        auth_token=args.auth_token or os.environ.get(ENV_AUTH_TOKEN) or None,
        llm=args.llm,
        llm_args=json_object_option(args.llm_args, "--llm-args"),
    )
    settings.validate()
    return settings


def run(args: argparse.Namespace) -> int:
    settings = build_settings(args)

    from evaluator import tau2_adapter
    from evaluator.green.server import serve_forever
    from evaluator.llm_check import check_llm
    from proxy.telemetry import TelemetrySettings, build_telemetry

    for name in ("httpx", "a2a", "uvicorn.access"):
        logging.getLogger(name).setLevel(logging.WARNING)
    tau2_adapter.quiet_logs("DEBUG" if args.log_level == "DEBUG" else "ERROR")
    if settings.llm:
        check_llm(settings.llm, settings.llm_args, option="--llm")
    if settings.evaluation.user_llm:
        check_llm(
            settings.evaluation.user_llm, settings.evaluation.user_llm_args, option="--user-llm"
        )
    telemetry = build_telemetry(
        TelemetrySettings.from_env("tau2observe-green", trace_file=args.trace_file)
    )
    try:
        serve_forever(settings, telemetry)
    finally:
        telemetry.shutdown()
    return 0
