"""``tau2observe domain``: list the domains an evaluation can use, and check one."""

from __future__ import annotations

import argparse
import sys
import time

from evaluator.domains.folder import ENV_DOMAINS

HELP = "list the tau2 domains (built in and from folders), and check a domain's tasks"

DESCRIPTION = f"""\
tau2 domains come from tau2 itself (airline, retail, telecom, mock), from tau2observe
(vacation_rental), from the folders on ${ENV_DOMAINS} (separated by ':'), or from a
folder given as a path (--domain ./my_domain).

  list          the domains --domain accepts by name
  check D       validate domain D (a name or a folder): task ids unique, every expected
                action a real tool with arguments that fit it, every task passable by
                replaying its expected actions (tau2's evaluator gives 1.0), splits
                naming existing tasks. Exit status 1 when a problem is found.

Example:
  tau2observe domain check vacation_rental
"""


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    sub.add_parser("list", help="the domains --domain accepts by name")
    check = sub.add_parser("check", help="validate a domain (a name or a folder)")
    check.add_argument("domain", metavar="NAME|PATH", help="domain name, or a domain folder")
    check.add_argument("--task-ids", nargs="+", metavar="ID", help="check only these tasks")


def run(args: argparse.Namespace) -> int:
    from evaluator import tau2_adapter

    tau2_adapter.quiet_logs(None)
    if args.action == "list":
        for name in tau2_adapter.known_domains():
            print(name)
        return 0
    from evaluator.domains.check import check_domain

    started = time.perf_counter()
    report = check_domain(args.domain, args.task_ids)
    elapsed = time.perf_counter() - started
    splits = ", ".join(f"{name} {count}" for name, count in report.splits.items()) or "none"
    print(
        f"{report.domain}: {report.tasks} tasks, {report.replayed} replayed; "
        f"splits: {splits} ({elapsed:.1f} s)"
    )
    for problem in report.problems:
        print(f"  problem: {problem}", file=sys.stdout)
    if report.ok:
        print("OK: every task is passable and graded offline")
        return 0
    print(f"{len(report.problems)} problem(s)")
    return 1
