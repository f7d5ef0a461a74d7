"""The metric catalogue (``dashboards/metrics.yaml``): which metrics exist, their types and tags.

Every dashboard and monitor query is checked against it. ``metrics`` are what the sidecar
and the evaluator emit (OpenTelemetry instruments); ``apm`` are Datadog trace metrics
derived from the sidecar's spans. The standard tags Datadog adds to every metric from the
resource (``env`` from deployment.environment.name, ``service``, ``version``, ``host``)
are allowed everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evaluator.datadog.dashboards.errors import DefinitionError

STANDARD_TAGS = frozenset({"env", "service", "version", "host"})
INSTRUMENT_TYPES = frozenset({"counter", "histogram", "gauge", "updowncounter"})
DATADOG_TYPES = frozenset({"count", "distribution", "gauge", "rate"})


@dataclass(frozen=True)
class MetricSpec:
    name: str
    datadog: str  # count | distribution | gauge | rate
    unit: str
    tags: frozenset[str]
    description: str
    instrument: str | None = None  # the OTel instrument; None for APM trace metrics
    source: str = "apm"

    def carries(self, tag: str) -> bool:
        return tag in self.tags or tag in STANDARD_TAGS


@dataclass(frozen=True)
class Catalogue:
    metrics: Mapping[str, MetricSpec]
    tag_descriptions: Mapping[str, str]

    def get(self, name: str) -> MetricSpec | None:
        return self.metrics.get(name)

    def emitted(self) -> list[MetricSpec]:
        """The metrics our code emits (not the APM ones Datadog derives)."""
        return [m for m in self.metrics.values() if m.instrument is not None]

    @classmethod
    def load(cls, path: Path) -> Catalogue:
        import yaml

        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise DefinitionError([f"{path}: cannot read the metric catalogue: {exc}"]) from exc
        return cls.from_data(data, str(path))

    @classmethod
    def from_data(cls, data: Any, where: str) -> Catalogue:
        problems: list[str] = []
        if not isinstance(data, dict) or not isinstance(data.get("metrics"), list):
            raise DefinitionError([f"{where}: expected a mapping with a 'metrics' list"])
        metrics: dict[str, MetricSpec] = {}
        for section in ("metrics", "apm"):
            for i, entry in enumerate(data.get(section) or []):
                spec = _metric(entry, f"{where}: {section}[{i}]", section, problems)
                if spec is None:
                    continue
                if spec.name in metrics:
                    problems.append(f"{where}: {section}[{i}]: metric {spec.name!r} listed twice")
                metrics[spec.name] = spec
        tags = data.get("tags") or {}
        if not isinstance(tags, dict):
            problems.append(f"{where}: tags: expected a mapping of tag -> description")
            tags = {}
        for spec in metrics.values():
            if spec.instrument is None:
                continue
            for tag in sorted(spec.tags - tags.keys() - STANDARD_TAGS):
                problems.append(f"{where}: metric {spec.name!r}: tag {tag!r} has no description")
        if problems:
            raise DefinitionError(problems)
        return cls(metrics=metrics, tag_descriptions={str(k): str(v) for k, v in tags.items()})


def _metric(entry: Any, where: str, section: str, problems: list[str]) -> MetricSpec | None:
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        problems.append(f"{where}: expected a mapping with a 'name'")
        return None
    name = entry["name"]
    datadog = entry.get("datadog")
    if datadog not in DATADOG_TYPES:
        problems.append(
            f"{where} ({name}): datadog={datadog!r}, expected one of {sorted(DATADOG_TYPES)}"
        )
        return None
    instrument = entry.get("type")
    if section == "metrics" and instrument not in INSTRUMENT_TYPES:
        problems.append(
            f"{where} ({name}): type={instrument!r}, expected one of {sorted(INSTRUMENT_TYPES)}"
        )
        return None
    tags = entry.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        problems.append(f"{where} ({name}): tags must be a list of strings")
        return None
    return MetricSpec(
        name=name,
        datadog=datadog,
        unit=str(entry.get("unit", "")),
        tags=frozenset(tags),
        description=str(entry.get("description", "")),
        instrument=instrument if section == "metrics" else None,
        source=str(entry.get("source", "apm")),
    )
