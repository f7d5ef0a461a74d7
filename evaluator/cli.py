"""The ``tau2observe`` command: one entry point, one module per subcommand.

Each subcommand module exposes ``HELP`` (one line), ``configure(parser)`` and
``run(args) -> int``, and keeps heavy imports (tau2, litellm, a2a-sdk) inside ``run`` so
that ``tau2observe proxy`` and ``--help`` work with only the sidecar installed.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence
from types import ModuleType

from proxy.errors import UsageError

# name -> module; the order is the order of `tau2observe --help`.
COMMANDS: dict[str, str] = {
    "proxy": "proxy.cli",
    "eval": "evaluator.eval_cli",
    "serve": "evaluator.green.cli",
    "scenario": "evaluator.green.scenario",
    "agent": "evaluator.agents.cli",
    "dashboards": "evaluator.dashboards.cli",
    "metrics": "evaluator.push.cli",
    "report": "evaluator.report.cli",
    "export": "evaluator.export_cli",
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
    parser.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="log verbosity (default: %(default)s)",
    )
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
    logging.basicConfig(
        level=getattr(logging, args.log_level),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    module: ModuleType = args._module
    try:
        code: int = module.run(args)
    except ModuleNotFoundError as exc:
        if exc.name is None or exc.name.split(".")[0] in ("proxy", "evaluator"):
            raise
        parser.exit(
            2,
            f"tau2observe {args.command}: error: this command needs packages that are not "
            f"installed (missing {exc.name!r}); install them with: "
            f"pip install 'tau2observe[all]'\n",
        )
    except UsageError as exc:
        parser.exit(2, f"tau2observe {args.command}: error: {exc}\n")
    except KeyboardInterrupt:
        print(f"tau2observe {args.command}: interrupted", file=sys.stderr)
        return 130
    return code


if __name__ == "__main__":
    raise SystemExit(main())
