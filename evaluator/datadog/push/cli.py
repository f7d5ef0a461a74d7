"""``tau2observe metrics push``: send a results file's evaluation metrics to Datadog."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

HELP = "push the evaluation metrics of results files to Datadog's Metrics API (no collector)"
DESCRIPTION = """\
Send the evaluation metrics of results files (tau2observe eval --save-to) straight to
Datadog's Metrics API, for setups without a collector or an Agent. The metric names,
tags and values are those the evaluator emits over OTLP (dashboards/metrics.yaml):
counters become counts and gauges gauges (POST /api/v2/series), histograms become
distributions (POST /api/v1/distribution_points), as the collector's exporter does.

  push RESULTS... [--dry-run] [--at-now] [--env ENV] [--service NAME]

Each point carries its trial's end time. Datadog drops points more than 1 hour old or
more than 10 minutes ahead, so an older file is refused (nothing is sent) unless
--at-now stamps every point with the current time. Pushing a file twice counts its
counts twice.

Environment: DD_API_KEY (required except for --dry-run), DD_SITE (default
datadoghq.com), DD_HOST (overrides the API base URL: a proxy, a test server), DD_ENV
(the env tag unless --env), OTEL_SERVICE_NAME (the service tag unless --service;
default tau2observe-evaluator, as the evaluator's OTLP metrics).
"""


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    push = sub.add_parser(
        "push",
        help="send the evaluation metrics of results files",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    push.add_argument("results", nargs="+", type=Path, metavar="RESULTS", help="results files")
    push.add_argument(
        "--dry-run", action="store_true", help="show what would be sent; send nothing"
    )
    push.add_argument(
        "--at-now",
        action="store_true",
        help="stamp every point with the current time (for files older than an hour)",
    )
    push.add_argument("--env", metavar="ENV", help="env tag (default: $DD_ENV; none if unset)")
    push.add_argument(
        "--service",
        metavar="NAME",
        help="service tag (default: $OTEL_SERVICE_NAME, else tau2observe-evaluator)",
    )


def run(args: argparse.Namespace) -> int:
    from evaluator.datadog.push.errors import PushError
    from evaluator.results import ResultsFileError

    try:
        return _push(args)
    except (PushError, ResultsFileError) as exc:
        print(f"tau2observe metrics {args.action}: {exc}", file=sys.stderr)
        return 1


def _push(args: argparse.Namespace) -> int:
    from evaluator.datadog.push.api import DatadogMetricsApi
    from evaluator.datadog.push.settings import PushSettings
    from evaluator.datadog.push.submission import describe, plan_submission, send

    settings = PushSettings.from_env(
        os.environ, require_key=not args.dry_run, env_name=args.env, service=args.service
    )
    submission = plan_submission(args.results, settings, now=time.time(), at_now=args.at_now)
    if args.dry_run:
        print(describe(submission, settings, dry_run=True))
        return 0
    with DatadogMetricsApi(settings) as api:
        send(submission, api)
    print(describe(submission, settings, dry_run=False))
    return 0
