"""The ``tau2observe`` command: one entry point, one module per subcommand.

Each subcommand module exposes ``HELP`` (one line), ``configure(parser)`` and
``run(args) -> int``, and keeps heavy imports (tau2, litellm, a2a-sdk) inside ``run`` so
that ``tau2observe proxy`` and ``--help`` work with only the sidecar installed.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Sequence

from proxy.cli import add_log_level, run_command

# name -> module; the order is the order of `tau2observe --help`.
COMMANDS: dict[str, str] = {
    "proxy": "proxy.cli",
    "eval": "evaluator.eval_cli",
    "serve": "evaluator.green.cli",
    "scenario": "evaluator.green.scenario",
    "agent": "evaluator.agents.cli",
    "dashboards": "evaluator.datadog.dashboards.cli",
    "metrics": "evaluator.datadog.push.cli",
    "report": "evaluator.report.cli",
    "export": "evaluator.export_cli",
    "merge": "evaluator.merge_cli",
    "demo": "evaluator.demo",
    "domain": "evaluator.domains.cli",
}

DESCRIPTION = """\
Observe A2A agent benchmarks with OpenTelemetry.

The sidecar (`proxy`) sits between a tau2-bench evaluator and the agent under test,
forwards every byte unchanged and records every JSON-RPC exchange as spans. Standard
OTEL_* variables choose where telemetry goes (OTEL_EXPORTER_OTLP_ENDPOINT, ...).
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tau2observe",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_log_level(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(module_name)
        command = sub.add_parser(
            name,
            help=module.HELP,
            description=getattr(module, "DESCRIPTION", module.HELP),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.configure(command)
        command.set_defaults(_module=module)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return run_command(parser, args, f"tau2observe {args.command}")


if __name__ == "__main__":
    raise SystemExit(main())
