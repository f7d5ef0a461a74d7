"""``tau2observe report``: the HTML report of one or more results files."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from proxy.errors import UsageError

HELP = "write a self-contained HTML report comparing agents from results files and traces"

DESCRIPTION = """\
Write one HTML page (no network needed to view it) from results files of
`tau2observe eval` or `tau2observe demo`, one per run: what the scores cover and their
95% intervals, each run's configuration, pass^k, reward distribution, success by task
and difficulty, failed trials by cause, and every trial's conversation turn by turn.
Several runs are compared side by side, with the tasks whose success differs; a warning
(on the page and here) says when they are not over the same domain, tasks and trials.

With --traces (OTLP JSON lines, as --trace-file and the collector's file exporter write
them) each turn shows the sidecar's span: latency, A2A method, status, tool-call
validity; and the page adds the sidecar's view. Without spans, turn latency is the
evaluator's own timing of each turn.

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
    for warning in report.warnings():
        print(f"tau2observe report: warning: {warning}", file=sys.stderr)
    for s in report.summaries():
        print(f"{s.label}: {s.headline}", file=sys.stderr)
    print(f"report written to {args.output}", flush=True)
    return 0
