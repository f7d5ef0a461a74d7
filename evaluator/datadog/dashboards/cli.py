"""``tau2observe dashboards validate|diff|apply|export``: dashboards and monitors as code."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

HELP = "validate, diff and apply the Datadog dashboards and monitors kept in dashboards/"
DESCRIPTION = """\
Datadog dashboards and monitors as code.

  validate          check every definition in dashboards/ against datadog-api-client's models
                    and the metric catalogue (dashboards/metrics.yaml); no network
  diff              show what apply would change
  apply [--dry-run] create what is missing, update what changed, leave everything else
  export ID         write an existing dashboard as a definition (to bring hand-made changes back)

The definitions folder is --dir, else the nearest dashboards/ (with metrics.yaml) in the
current folder or above it, else the checkout this package runs from.

Environment: DD_API_KEY and DD_APP_KEY (required except for validate), DD_SITE (default
datadoghq.com), DD_HOST (overrides the API base URL), TAU2OBSERVE_CASE_PROJECT (the Case
Management project handle that monitors notify on alert, as @case-<handle>).

apply finds what it created before through dashboards/datadog.lock.json and a marker
(managed-by:tau2observe key=<key> in dashboard descriptions, tags on monitors), never by
title, and never touches a dashboard or monitor without that marker. Commit the lock file.
"""


DIR_HELP = (
    "the definitions folder, which holds metrics.yaml (default: the nearest dashboards/ "
    "with a metrics.yaml in the current folder or above it, else the checkout this "
    "package runs from)"
)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dir", type=Path, default=None, help=DIR_HELP)
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions = [
        sub.add_parser("validate", help="check every definition, offline"),
        sub.add_parser("diff", help="show what apply would change"),
    ]
    apply = sub.add_parser("apply", help="create and update dashboards and monitors")
    apply.add_argument("--dry-run", action="store_true", help="show the plan, write nothing")
    actions.append(apply)
    for action in actions:  # --dir after the action works too
        action.add_argument("--dir", type=Path, default=argparse.SUPPRESS, help=DIR_HELP)
    export = sub.add_parser("export", help="write an existing dashboard as a definition")
    export.add_argument("id", metavar="ID", help="dashboard id, e.g. abc-def-ghi")
    export.add_argument("--output", type=Path, help="file to write (default: standard output)")


def run(args: argparse.Namespace) -> int:
    from evaluator.datadog.dashboards.errors import DashboardsError

    try:
        if args.action != "export" and args.dir is None:
            args.dir = definitions_folder(None, Path.cwd(), PACKAGE_CHECKOUT)
            print(f"tau2observe dashboards: definitions from {args.dir}", file=sys.stderr)
        elif args.action != "export":
            args.dir = definitions_folder(args.dir, Path.cwd(), PACKAGE_CHECKOUT)
        if args.action == "validate":
            return _validate(args)
        if args.action == "export":
            return _export(args)
        return _apply(args, dry_run=args.action == "diff" or args.dry_run)
    except DashboardsError as exc:
        print(f"tau2observe dashboards {args.action}: {exc}", file=sys.stderr)
        return 1


# Where an editable install (pip install -e .) keeps the definitions: beside the package.
PACKAGE_CHECKOUT = Path(__file__).resolve().parents[3]


def definitions_folder(given: Path | None, cwd: Path, checkout: Path) -> Path:
    """``--dir`` when given; else the nearest ``dashboards/`` holding the metric catalogue
    in ``cwd`` or a folder above it; else the one of the checkout the package runs from.
    The definitions are not in the wheel: they are the repository's dashboards/ folder."""
    from evaluator.datadog.dashboards.definitions import CATALOGUE_FILE
    from evaluator.datadog.dashboards.errors import DashboardsError

    if given is not None:
        if not (given / CATALOGUE_FILE).is_file():
            raise DashboardsError(
                f"--dir {given}: no {CATALOGUE_FILE} there; pass the dashboards/ folder of "
                "a tau2observe checkout"
            )
        return given
    for folder in (cwd, *cwd.parents):
        candidate = folder / "dashboards"
        if (candidate / CATALOGUE_FILE).is_file():
            return candidate
    candidate = checkout / "dashboards"
    if (candidate / CATALOGUE_FILE).is_file():
        return candidate
    raise DashboardsError(
        f"no dashboards/{CATALOGUE_FILE} in {cwd} or any folder above it. The definitions "
        "are the dashboards/ folder of a tau2observe checkout: run from inside the checkout, "
        "or pass the folder with --dir, e.g. tau2observe dashboards --dir "
        "PATH/TO/tau2observe/dashboards validate"
    )


def _validate(args: argparse.Namespace) -> int:
    from evaluator.datadog.dashboards.validation import validate_folder

    definitions = validate_folder(args.dir, os.environ)
    kinds = {k: sum(d.kind == k for d in definitions) for k in ("dashboard", "monitor")}
    print(f"{kinds['dashboard']} dashboards and {kinds['monitor']} monitors are valid")
    return 0


def _apply(args: argparse.Namespace, *, dry_run: bool) -> int:
    from evaluator.datadog.dashboards.apply import desired_bodies, execute, make_plan
    from evaluator.datadog.dashboards.client import DatadogClient
    from evaluator.datadog.dashboards.definitions import CASE_PLACEHOLDER, LOCK_FILE
    from evaluator.datadog.dashboards.lock import LockFile
    from evaluator.datadog.dashboards.plan import describe
    from evaluator.datadog.dashboards.settings import DatadogSettings, case_project_from_env
    from evaluator.datadog.dashboards.validation import validate_folder

    definitions = validate_folder(args.dir, os.environ)
    settings = DatadogSettings.from_env(os.environ)
    case_project = case_project_from_env(os.environ)
    variables = {CASE_PLACEHOLDER: case_project} if case_project else {}
    desired = desired_bodies(definitions, variables)
    lock = LockFile.load(args.dir / LOCK_FILE)
    with DatadogClient(settings) as client:
        plan = make_plan(desired, client, lock, settings.scope)
        print(describe(plan, dry_run=dry_run))
        if dry_run:
            return 0
        for line in execute(plan, client, lock, settings.scope):
            print(line)
    return 0


def _export(args: argparse.Namespace) -> int:
    from evaluator.datadog.dashboards.client import DatadogClient
    from evaluator.datadog.dashboards.errors import DatadogApiError
    from evaluator.datadog.dashboards.export import export_dashboard
    from evaluator.datadog.dashboards.settings import DatadogSettings

    settings = DatadogSettings.from_env(os.environ)
    with DatadogClient(settings) as client:
        remote = client.get_dashboard(args.id)
    if remote is None:
        raise DatadogApiError(f"export: no dashboard {args.id!r} at {settings.base_url}", 404)
    text = json.dumps(export_dashboard(remote), indent=2, ensure_ascii=False) + "\n"
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {args.output}", file=sys.stderr)
    return 0
