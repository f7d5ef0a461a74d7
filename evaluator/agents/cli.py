"""``tau2observe agent KIND``: a sample purple agent as a real A2A server."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from evaluator.config import json_object_option
from evaluator.datadog.llmobs import cli as llmobs_cli
from proxy.errors import UsageError

if TYPE_CHECKING:
    from evaluator.agents.server import AgentSettings

HELP = "run a sample purple agent (llm, oracle, flawed, noop, always-approve/deny) as A2A"

DESCRIPTION = """\
Run a sample purple agent, the agent under test in a tau2 evaluation, as a real A2A
server (a2a-sdk). They give traffic for demos, tests and load.

kinds:
  llm     an agent backed by any litellm model (--model, --llm-args); the model is
          expected to follow the evaluator's format instructions
  oracle  recognises the task from the conversation (the domain from the tools on
          offer, the task from what the user says) and replays its reference actions,
          then states the information the task expects: full marks
  flawed  the oracle with seeded, per-task faults (malformed tool calls, wrong
          arguments, skipped actions, giving up): a realistic spread of results,
          reproducible with --seed
  noop    never calls a tool: the negative control
  always-approve, always-deny
          recognise the task like the oracle, make its lookups, then grant every
          request as the user asked (approve) or change nothing (deny); both state the
          information the task expects. A domain whose right answers depend on who
          decides (vacation_rental) fails each of them on a large share of tasks

Every agent reads the three tau2 evaluators' conventions, recognised from the first
message of a context, and answers in it: tau2 (<available_tools>, {"tool_call": ...}
replies), agentbeats-tutorial (the AgentBeats tutorial's evaluator: bare {"name": ...,
"arguments": ...} replies) and agentify (<json>{"name": ..., "arguments": ...}</json>
replies). It keeps per-context state for the most recent --max-contexts conversations.
"""

KIND_NAMES = ("llm", "oracle", "flawed", "noop", "always-approve", "always-deny")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("kind", choices=KIND_NAMES, metavar="KIND", help=", ".join(KIND_NAMES))
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    parser.add_argument(
        "--port", type=int, default=9009, help="port; 0 picks a free one (default: %(default)s)"
    )
    parser.add_argument(
        "--public-url",
        help="base URL the agent card advertises (default: http://HOST:PORT/)",
    )
    parser.add_argument(
        "--protocol",
        choices=("both", "1.0", "0.3"),
        default="both",
        help="A2A versions the card advertises; 'both' serves 1.0 and the 0.3 compatibility "
        "layer, '0.3' makes a 1.x client use the 0.3 methods (default: %(default)s)",
    )
    parser.add_argument(
        "--reply",
        choices=("message", "task"),
        default="message",
        help="answer with one Message, or with a Task that completes with the reply as its "
        "one artifact (default: %(default)s)",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="the flawed agent's seed (default: %(default)s)"
    )
    parser.add_argument("--name", help="agent name on the card (default: tau2observe-KIND)")
    parser.add_argument("--model", help="litellm model for the llm agent, e.g. openai/gpt-4.1")
    parser.add_argument(
        "--llm-args",
        default="{}",
        metavar="JSON",
        help="keyword arguments for litellm.acompletion, e.g. '{\"temperature\": 0}'",
    )
    parser.add_argument(
        "--max-contexts",
        type=int,
        default=1000,
        help="conversations remembered at once; the least recently used are forgotten "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--task-set",
        action="append",
        dest="task_sets",
        metavar="NAME",
        help="tau2 task set, domain name or domain folder the oracle-based agents recognise "
        "(repeatable; default: mock, airline, retail, telecom, vacation_rental and the "
        "domains on TAU2OBSERVE_DOMAINS)",
    )
    parser.add_argument(
        "--trace-file",
        type=Path,
        metavar="PATH",
        help="write the llm agent's GenAI chat spans here too (OTLP JSON lines); they also "
        "leave through OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set",
    )
    llmobs_cli.add_option(parser)


def settings_from_args(args: argparse.Namespace) -> AgentSettings:
    from evaluator.agents.server import AgentSettings
    from evaluator.agents.tau2_tasks import default_task_sets

    settings = AgentSettings(
        kind=args.kind,
        host=args.host,
        port=args.port,
        public_url=args.public_url,
        protocol=args.protocol,
        reply=args.reply,
        seed=args.seed,
        name=args.name,
        model=args.model,
        llm_args=json_object_option(args.llm_args, "--llm-args"),
        max_contexts=args.max_contexts,
        task_sets=tuple(args.task_sets or default_task_sets()),
    )
    settings.validate()
    return settings


def run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    # tau2 logs through loguru, at DEBUG by default: errors only, as in eval, unless
    # --log-level DEBUG asks for everything. Set before anything imports tau2.
    from loguru import logger

    logger.remove()
    logger.add(sys.stderr, level="DEBUG" if args.log_level == "DEBUG" else "ERROR")
    # Before litellm (and tau2) are imported: see evaluator.datadog.llmobs.session.
    llmobs = llmobs_cli.start_from_args(args, llmobs_cli.DEFAULT_ML_APP)
    try:
        if settings.kind == "llm":  # refuse to serve a model that cannot answer
            from evaluator.llm_check import check_llm

            check_llm(settings.model, settings.llm_args, option="--model")
        return _serve(args, settings, llmobs is not None)
    finally:
        if llmobs is not None:
            llmobs.shutdown()


def _serve(args: argparse.Namespace, settings: AgentSettings, llmobs_on: bool) -> int:
    from evaluator.agents.server import serve_forever
    from evaluator.datadog.llmobs.ingestion import resource_attributes
    from evaluator.genai.instrument import ChatInstrumentation, ContentCapture
    from proxy.telemetry import TelemetrySettings, build_telemetry

    telemetry = build_telemetry(
        TelemetrySettings.from_env(
            "tau2observe-agent",
            trace_file=args.trace_file,
            extra_resource_attributes=resource_attributes(llmobs_on, os.environ),
        )
    )
    chat = ChatInstrumentation(
        telemetry.tracer_provider, telemetry.meter_provider, ContentCapture.from_env()
    )
    try:
        serve_forever(settings, chat)
    except ValueError as exc:  # an unknown --task-set, found while loading tau2
        raise UsageError(str(exc)) from exc
    finally:
        telemetry.shutdown()
    return 0
