"""``tau2observe report``: the HTML report of one or more results files."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from proxy.errors import UsageError

HELP = "write a self-contained HTML report comparing agents from results files and traces"

DESCRIPTION = """\
Write one HTML page (no network needed to view it) from results files of
`tau2observe eval` or `tau2observe demo`, one per agent: pass^k curves, reward
distribution, success by task and difficulty, failures and their reasons, and every
trial's conversation turn by turn. With --traces (OTLP JSON lines, as --trace-file and
the collector's file exporter write them) each turn shows the sidecar's span: latency,
A2A method, status, tool-call validity; and the page adds the sidecar's view.

Example:
  tau2observe report results/airline-oracle.json results/airline-flawed.json \\
      --traces traces.jsonl --output report.html
"""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", nargs="+", type=Path, metavar="RESULTS", help="results files")
    parser.add_argument(
        "--traces",
        nargs="+",
        type=Path,
        default=[],
        metavar="TRACES",
        help="OTLP JSON lines trace files with the sidecar's spans",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=Path("report.html"),
        metavar="PATH",
        help="where to write the page (default: %(default)s)",
    )


def run(args: argparse.Namespace) -> int:
    from evaluator.report import TraceFileError, write_report
    from evaluator.results import ResultsFileError

    try:
        report = write_report(args.results, args.traces, args.output)
    except (ResultsFileError, TraceFileError) as exc:
        raise UsageError(str(exc)) from None
    for s in report.summaries():
        pass1 = s.pass_hat_k.get(1)
        shown = "-" if pass1 is None else f"{pass1:.3f}"
        print(f"{s.label}: pass^1 {shown} over {s.trials} trials", file=sys.stderr)
    print(f"report written to {args.output}", flush=True)
    return 0
