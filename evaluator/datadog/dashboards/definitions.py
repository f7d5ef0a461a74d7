"""Dashboard and monitor definitions on disk, and the marker that says "tau2observe manages this".

Layout under the definitions root (the repository's ``dashboards/``)::

    metrics.yaml             the metric catalogue
    datadog/<key>.json       dashboards, as the Datadog API takes them (POST /api/v1/dashboard)
    monitors/<key>.json      monitors (POST /api/v1/monitor)
    datadog.lock.json        logical key -> Datadog id, per site (written by apply)

The file name (without ``.json``) is the logical key. ``apply`` adds the marker: a line
``managed-by:tau2observe key=<key>`` at the end of a dashboard's description, the tags
``managed-by:tau2observe`` and ``tau2observe-key:<key>`` on a monitor. Definitions may use
``${TAU2OBSERVE_CASE_PROJECT}``, replaced at apply time (see :func:`render`).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from evaluator.datadog.dashboards.errors import DefinitionError

Kind = Literal["dashboard", "monitor"]
FOLDERS: dict[Kind, str] = {"dashboard": "datadog", "monitor": "monitors"}
LOCK_FILE = "datadog.lock.json"
CATALOGUE_FILE = "metrics.yaml"

MANAGED_TAG = "managed-by:tau2observe"
KEY_TAG_PREFIX = "tau2observe-key:"
_KEY = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_MARKER = re.compile(r"\n*managed-by:tau2observe key=(?P<key>[a-z0-9][a-z0-9-]*)\s*$")
PLACEHOLDER = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)\}")
CASE_PLACEHOLDER = "TAU2OBSERVE_CASE_PROJECT"
KNOWN_PLACEHOLDERS = frozenset({CASE_PLACEHOLDER})


@dataclass(frozen=True)
class Definition:
    kind: Kind
    key: str
    path: Path
    body: dict[str, Any]

    @property
    def title(self) -> str:
        return str(self.body.get("title" if self.kind == "dashboard" else "name", ""))


def read_json_object(path: Path, problems: list[str], expected: str) -> dict[str, Any] | None:
    """The JSON object in ``path``, or None with the problem appended (the file named)."""
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        problems.append(f"{path}: not valid JSON: {exc}")
        return None
    if not isinstance(body, dict):
        problems.append(f"{path}: expected {expected}")
        return None
    return body


def load_definitions(root: Path) -> list[Definition]:
    """Every definition under ``root``, dashboards first (sorted by key), then monitors."""
    if not root.is_dir():
        raise DefinitionError([f"{root}: definitions folder not found (use --dir)"])
    problems: list[str] = []
    found: list[Definition] = []
    for kind, folder in FOLDERS.items():
        for path in sorted((root / folder).glob("*.json")):
            key = path.stem
            if not _KEY.match(key):
                problems.append(f"{path}: file name must be a key of a-z, 0-9 and '-'")
                continue
            body = read_json_object(path, problems, "a JSON object")
            if body is None:
                continue
            found.append(Definition(kind=kind, key=key, path=path, body=body))
    if problems:
        raise DefinitionError(problems)
    return found


# --- the marker ---------------------------------------------------------------------------


def dashboard_marker(key: str) -> str:
    return f"managed-by:tau2observe key={key}"


def marked(definition: Definition) -> dict[str, Any]:
    """The body apply sends: the definition plus the marker."""
    body = copy.deepcopy(definition.body)
    if definition.kind == "dashboard":
        description = strip_dashboard_marker(str(body.get("description") or ""))
        marker = dashboard_marker(definition.key)
        body["description"] = f"{description}\n\n{marker}" if description else marker
    else:
        tags = [t for t in body.get("tags") or [] if not _is_marker_tag(t)]
        body["tags"] = [*tags, MANAGED_TAG, f"{KEY_TAG_PREFIX}{definition.key}"]
    return body


def marker_key(kind: Kind, body: Mapping[str, Any]) -> str | None:
    """The key a remote dashboard or monitor was created under, or None if it is not ours."""
    if kind == "dashboard":
        match = _MARKER.search(str(body.get("description") or ""))
        return match.group("key") if match else None
    tags = [str(t) for t in body.get("tags") or []]
    if MANAGED_TAG not in tags:
        return None
    keys = [t.removeprefix(KEY_TAG_PREFIX) for t in tags if t.startswith(KEY_TAG_PREFIX)]
    return keys[0] if len(keys) == 1 else None


def strip_dashboard_marker(description: str) -> str:
    return _MARKER.sub("", description).rstrip()


def unmarked(kind: Kind, body: dict[str, Any]) -> dict[str, Any]:
    """The body without our marker (what export writes back to the repository)."""
    body = copy.deepcopy(body)
    if kind == "dashboard":
        description = strip_dashboard_marker(str(body.get("description") or ""))
        if description:
            body["description"] = description
        else:
            body.pop("description", None)
    else:
        body["tags"] = [t for t in body.get("tags") or [] if not _is_marker_tag(t)]
    return body


def _is_marker_tag(tag: object) -> bool:
    return isinstance(tag, str) and (tag == MANAGED_TAG or tag.startswith(KEY_TAG_PREFIX))


# --- placeholders -------------------------------------------------------------------------


def placeholders(value: Any) -> set[str]:
    """Names of every ``${NAME}`` in the strings of ``value``."""
    if isinstance(value, str):
        return {m.group("name") for m in PLACEHOLDER.finditer(value)}
    if isinstance(value, dict):
        return set().union(*(placeholders(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(placeholders(v) for v in value)) if value else set()
    return set()


def render(value: Any, variables: Mapping[str, str]) -> Any:
    """``value`` with each ``${NAME}`` replaced; a name without a value is an error."""
    if isinstance(value, str):

        def substitute(match: re.Match[str]) -> str:
            name = match.group("name")
            if name not in variables:
                raise KeyError(name)
            return variables[name]

        return PLACEHOLDER.sub(substitute, value)
    if isinstance(value, dict):
        return {k: render(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v, variables) for v in value]
    return value
