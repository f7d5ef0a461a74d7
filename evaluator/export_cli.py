"""``tau2observe export``: a results file in tau2's own results format."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from proxy.errors import UsageError

HELP = "write a results file in tau2's own format (tau2 view, tau2's compute_metrics)"

DESCRIPTION = """\
Write a tau2observe results file as tau2's own results JSON, which tau2's
Results.load reads: `tau2 view` browses it, and tau2's compute_metrics gives the
same average reward and pass^k as tau2observe when every trial was scored.

Termination reasons are tau2's own (agent_error, user_stop, ...); tau2observe's
cause of each failure (agent_timeout, ...) goes beside them in reward_info.info.
Trials that were not scored (the evaluator's side failed) are left out: tau2 has no
way to mark them, and would count them as 0. Trials not run (the agent stopped
answering) become tau2's skipped samples with reward 0.

Example:
  tau2observe export results/run.json --format tau2 --output run.tau2.json
"""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", type=Path, metavar="RESULTS", help="a tau2observe results file")
    parser.add_argument(
        "--format", choices=["tau2"], default="tau2", help="the format to write (default: tau2)"
    )
    parser.add_argument("--output", type=Path, required=True, metavar="FILE", help="where to write")


def run(args: argparse.Namespace) -> int:
    from evaluator.results import ResultsFileError, load_results

    try:
        result = load_results(args.results)
    except ResultsFileError as exc:
        raise UsageError(str(exc)) from None
    from evaluator.tau2_adapter import to_tau2_results

    text, left_out = to_tau2_results(result)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    exported = len(result.trials) - left_out
    print(f"wrote {exported} trials of run {result.run_id[:12]} to {args.output}")
    if left_out:
        print(
            f"tau2observe export: note: {left_out} trials not scored were left out "
            "(tau2 would count them as 0)",
            file=sys.stderr,
        )
    return 0
