"""``tau2observe merge``: shard results files joined into one run."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from proxy.errors import UsageError

if TYPE_CHECKING:
    from evaluator.results import RunResult

HELP = "join the results files of a sharded evaluation into one run"

DESCRIPTION = """\
Join the results files of the shards of one evaluation (eval --shard I/N, the green
agent's shard_index/num_shards, a CI matrix, Slurm or Kubernetes jobs) into one
results file, as if one process had run every trial.

The files must share one configuration (but for the shard) and cover every shard
exactly once, with no trial in two files; every problem is listed, and nothing is
written then (exit status 2). The merged figures are computed afresh over all trials,
with the same rules as eval: a shard that did not finish leaves its missing trials
out, and the summary says so.

Example:
  tau2observe merge shard-0.json shard-1.json shard-2.json --output run.json
"""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", nargs="+", type=Path, metavar="RESULTS", help="shard files")
    parser.add_argument("--output", type=Path, required=True, metavar="FILE", help="merged file")


def run(args: argparse.Namespace) -> int:
    from evaluator.merging import merge_runs
    from evaluator.results import ResultsFileError, load_results, save_results
    from evaluator.summary import headline

    try:
        named = [(str(path), load_results(path)) for path in args.results]
    except ResultsFileError as exc:
        raise UsageError(str(exc)) from None
    merged = merge_runs(named, selected_order(named[0][1]))
    save_results(merged, args.output)
    print(f"merged {len(named)} files into {args.output}: {headline(merged.summary)}")
    if merged.status != "complete":
        print(f"tau2observe merge: note: {merged.status_note}", file=sys.stderr)
    return 0


def selected_order(first: RunResult) -> list[str]:
    """The unsharded task order, from tau2 when it can tell (else the files' order)."""
    config = first.config
    try:
        from evaluator import tau2_adapter

        tasks = tau2_adapter.load_tasks(
            first.domain,
            config.get("task_ids") or None,
            config.get("num_tasks"),
            task_set=config.get("task_set"),
            task_split=config.get("task_split"),
        )
    except Exception:  # tau2 or the domain folder is not here: keep the files' order
        return []
    return [t.id for t in tasks]
