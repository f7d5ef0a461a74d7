"""``validate``: every definition fits the API models and queries only catalogued metrics.

Checks, each reported with the file and the JSON path:
- the body deserializes into datadog-api-client's model with nothing unparsed or dropped
  (unknown widget types, enum values, fields);
- every metric query names a catalogued metric, with tags that metric carries, and
  template variables the dashboard defines;
- ``${...}`` placeholders are known ones, and ``@case-`` notifications sit inside
  ``{{#is_alert}}`` (a case is opened on alert, not on every transition).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from evaluator.datadog.dashboards.catalogue import Catalogue
from evaluator.datadog.dashboards.definitions import (
    CATALOGUE_FILE,
    KNOWN_PLACEHOLDERS,
    Definition,
    load_definitions,
    placeholders,
)
from evaluator.datadog.dashboards.errors import DefinitionError
from evaluator.datadog.dashboards.queries import dashboard_query_problems, monitor_query_problems
from evaluator.datadog.dashboards.schema import model_problems
from evaluator.datadog.dashboards.settings import case_project_from_env
from proxy.errors import SettingsError

_ALERT_BLOCK = re.compile(r"\{\{#is_alert\}\}.*?\{\{/is_alert\}\}", re.DOTALL)


def validate_folder(root: Path, env: Mapping[str, str]) -> list[Definition]:
    """Load and check everything under ``root``; raise DefinitionError listing every problem."""
    catalogue = Catalogue.load(root / CATALOGUE_FILE)
    definitions = load_definitions(root)
    problems = definition_problems(definitions, catalogue)
    try:
        case_project_from_env(env)
    except SettingsError as exc:
        problems.append(str(exc))
    from evaluator.datadog.dashboards.grafana import grafana_problems

    problems.extend(grafana_problems(root, catalogue))
    if problems:
        raise DefinitionError(problems)
    return definitions


def definition_problems(definitions: Sequence[Definition], catalogue: Catalogue) -> list[str]:
    problems: list[str] = []
    seen: dict[str, Path] = {}
    for definition in definitions:
        where = str(definition.path)
        title = definition.title
        if not title:
            problems.append(
                f"{where}: $: needs a {'title' if definition.kind == 'dashboard' else 'name'}"
            )
        previous = seen.get(f"{definition.kind}:{title}")
        if title and previous is not None:
            problems.append(f"{where}: same {definition.kind} title as {previous}: {title!r}")
        seen[f"{definition.kind}:{title}"] = definition.path
        problems.extend(f"{where}: {p}" for p in check_definition(definition, catalogue))
    return problems


def check_definition(definition: Definition, catalogue: Catalogue) -> list[str]:
    body = definition.body
    if definition.kind == "dashboard":
        problems = model_problems(body, "dashboard")
        problems += dashboard_query_problems(body, catalogue)
    else:
        problems = model_problems(body, "monitor")
        problems += monitor_query_problems(body, catalogue)
        message = body.get("message")
        if isinstance(message, str) and "@case-" in _ALERT_BLOCK.sub("", message):
            problems.append(
                "$.message: put @case-... inside {{#is_alert}}...{{/is_alert}} so a case is "
                "opened on alert only"
            )
    for name in sorted(placeholders(body) - KNOWN_PLACEHOLDERS):
        problems.append(f"${{{name}}}: unknown placeholder (known: {sorted(KNOWN_PLACEHOLDERS)})")
    return problems
