"""``dashboards/datadog.lock.json``: which Datadog id each logical key was created as.

Datadog assigns ids, so, unlike Grafana's client-chosen uid, the mapping must be stored.
One section per destination (the site, or ``DD_HOST`` when set)::

    {"version": 1,
     "sites": {"datadoghq.com": {"dashboards": {"evaluation-overview": "abc-def-ghi"},
                                 "monitors": {"a2a-error-rate": 1234567}}}}

Commit it after ``apply``. It is a cache with a safety net: an id that no longer exists
(404) is forgotten and the marker search takes over; an id whose object lacks our marker
is refused, never overwritten.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from evaluator.datadog.dashboards.definitions import Kind
from evaluator.datadog.dashboards.errors import DefinitionError

_SECTION: dict[Kind, str] = {"dashboard": "dashboards", "monitor": "monitors"}
VERSION = 1


@dataclass
class LockFile:
    path: Path
    sites: dict[str, dict[str, dict[str, str | int]]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> LockFile:
        if not path.exists():
            return cls(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise DefinitionError([f"{path}: cannot read the lock file: {exc}"]) from exc
        if not isinstance(data, dict) or data.get("version") != VERSION:
            raise DefinitionError([f"{path}: expected {{'version': {VERSION}, 'sites': ...}}"])
        sites = data.get("sites", {})
        if not isinstance(sites, dict):
            raise DefinitionError([f"{path}: 'sites' must be a mapping"])
        return cls(path, sites)

    def get(self, scope: str, kind: Kind, key: str) -> str | int | None:
        return self.sites.get(scope, {}).get(_SECTION[kind], {}).get(key)

    def set(self, scope: str, kind: Kind, key: str, remote_id: str | int) -> None:
        site = self.sites.setdefault(scope, {})
        site.setdefault(_SECTION[kind], {})[key] = remote_id

    def forget(self, scope: str, kind: Kind, key: str) -> None:
        self.sites.get(scope, {}).get(_SECTION[kind], {}).pop(key, None)

    def save(self) -> None:
        text = json.dumps({"version": VERSION, "sites": self.sites}, indent=2, sort_keys=True)
        self.path.write_text(text + "\n", encoding="utf-8")
