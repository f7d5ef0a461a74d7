"""The vendor-neutral evaluation overview: a Grafana dashboard over Prometheus, kept honest.

Metrics reach Prometheus through the collector's ``prometheus`` exporter, which names
them with the OpenTelemetry-to-Prometheus rules of its ``UnderscoreEscapingWithSuffixes``
strategy (the default; the prometheus/otlptranslator ``normalizeName`` logic):

1. the name is split into tokens on every character outside ``[A-Za-z0-9:]`` (dots and
   underscores alike) and joined with ``_``;
2. the unit is appended as a token unless it is already one: ``s`` -> ``seconds``,
   ``ms`` -> ``milliseconds``, ``By`` -> ``bytes``, ``%`` -> ``percent``, ...; a unit in
   braces (``{request}``) and the unit ``1`` add nothing; ``a/b`` adds ``a_per_b``;
3. monotonic counters end in ``_total``; gauges with unit ``1`` end in ``_ratio``;
4. histograms are exposed as ``<name>_bucket`` (label ``le``), ``<name>_sum``, ``<name>_count``;
5. attribute keys become labels with invalid characters replaced by ``_``
   (``tau2.domain`` -> ``tau2_domain``). Resource attributes are labels only when the
   exporter copies them (``resource_to_telemetry_conversion`` or ``resource_constant_labels``);
   ``deployment.environment.name`` then becomes ``deployment_environment_name``.
   ``service.name``/``service.instance.id`` always give ``job``/``instance``.

The exporter turns delta sums and histograms into cumulative ones, so ``increase()`` and
``rate()`` work, and forgets a series after ``metric_expiration`` (5m by default) without
updates; gauges written at the end of a run are therefore read with ``last_over_time``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from evaluator.datadog.dashboards.catalogue import Catalogue, MetricSpec
from evaluator.datadog.dashboards.definitions import read_json_object

GRAFANA_FOLDER = "grafana"
_UNITS = {
    "d": "days", "h": "hours", "min": "minutes", "s": "seconds", "ms": "milliseconds",
    "us": "microseconds", "ns": "nanoseconds", "By": "bytes", "KiBy": "kibibytes",
    "MiBy": "mebibytes", "GiBy": "gibibytes", "KBy": "kilobytes", "MBy": "megabytes",
    "GBy": "gigabytes", "m": "meters", "V": "volts", "A": "amperes", "J": "joules",
    "W": "watts", "g": "grams", "Cel": "celsius", "Hz": "hertz", "1": "", "%": "percent",
}  # fmt: skip
_PER_UNITS = {
    "s": "second",
    "m": "minute",
    "h": "hour",
    "d": "day",
    "w": "week",
    "mo": "month",
    "y": "year",
}
# Labels every series may carry besides its attributes (see rule 5 and histogram buckets).
RESOURCE_LABELS = frozenset(
    {"job", "instance", "deployment_environment_name", "otel_scope_name", "otel_scope_version"}
)
_TOKEN_SPLIT = re.compile(r"[^A-Za-z0-9:]+")
_INVALID_LABEL = re.compile(r"[^A-Za-z0-9_]")


def prometheus_name(spec: MetricSpec) -> str:
    tokens = [t for t in _TOKEN_SPLIT.split(spec.name) if t]
    main, _, per = spec.unit.partition("/")
    main_suffix = _unit_token(main.strip(), _UNITS)
    per_suffix = _unit_token(per.strip(), _PER_UNITS)
    if main_suffix and main_suffix not in tokens:
        tokens.append(main_suffix)
    if per_suffix and f"per_{per_suffix}" not in "_".join(tokens):
        tokens.append(f"per_{per_suffix}")
    if spec.instrument == "counter":
        tokens = [t for t in tokens if t != "total"] + ["total"]
    if spec.unit == "1" and spec.instrument == "gauge":
        tokens = [t for t in tokens if t != "ratio"] + ["ratio"]
    name = "_".join(tokens)
    return f"_{name}" if name[:1].isdigit() else name


def prometheus_label(tag: str) -> str:
    label = _INVALID_LABEL.sub("_", tag)
    return f"key_{label}" if label[:1].isdigit() else label


def prometheus_series(spec: MetricSpec) -> dict[str, frozenset[str]]:
    """Series names this metric is exposed as, each with the labels it may carry."""
    labels = frozenset(prometheus_label(t) for t in spec.tags) | RESOURCE_LABELS
    name = prometheus_name(spec)
    if spec.instrument == "histogram":
        return {f"{name}_bucket": labels | {"le"}, f"{name}_sum": labels, f"{name}_count": labels}
    return {name: labels}


def exposed_series(catalogue: Catalogue) -> dict[str, tuple[MetricSpec, frozenset[str]]]:
    return {
        series: (spec, labels)
        for spec in catalogue.emitted()
        for series, labels in prometheus_series(spec).items()
    }


# --- the dashboard ------------------------------------------------------------------------

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_MATCHERS = re.compile(r"(?P<metric>[A-Za-z_:][A-Za-z0-9_:]*)?\s*\{(?P<body>[^{}]*)\}")
_GROUPING = re.compile(
    r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\((?P<labels>[^()]*)\)"
)
_IDENT = re.compile(r"(?<![A-Za-z0-9_:$.])(?P<name>[A-Za-z_:][A-Za-z0-9_:]*)(?P<call>\s*\()?")
_KEYWORDS = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right", "bool",
                       "and", "or", "unless", "offset", "inf", "nan"})  # fmt: skip
_LABEL_VALUES = re.compile(
    r"label_values\(\s*(?:(?P<metric>[A-Za-z_:][A-Za-z0-9_:]*)\s*,\s*)?(?P<label>[A-Za-z_][A-Za-z0-9_]*)\s*\)"
)
_GRAFANA_VARIABLE = re.compile(r"\$(?:\{)?(?P<name>[A-Za-z_][A-Za-z0-9_]*)")


def promql_references(expr: str) -> tuple[set[str], set[str]]:
    """(metric names, label names) an expression uses."""
    labels: set[str] = set()
    text = re.sub(r"\[[^\]]*\]", " ", expr)  # range selectors: [$__rate_interval], [5m]

    def matchers(match: re.Match[str]) -> str:
        body = _STRING.sub('""', match.group("body"))
        labels.update(
            m.group(1) for m in re.finditer(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)", body)
        )
        return f" {match.group('metric') or ''} "

    text = _MATCHERS.sub(matchers, text)
    for grouping in _GROUPING.finditer(text):
        labels.update(t.strip() for t in grouping.group("labels").split(",") if t.strip())
    text = _GROUPING.sub(" ", text)
    metrics = {
        m.group("name")
        for m in _IDENT.finditer(text)
        if not m.group("call") and m.group("name") not in _KEYWORDS
    }
    return metrics, labels


def grafana_problems(root: Path, catalogue: Catalogue) -> list[str]:
    series = exposed_series(catalogue)
    problems: list[str] = []
    for path in sorted((root / GRAFANA_FOLDER).glob("*.json")):
        board = read_json_object(path, problems, "a Grafana dashboard object")
        if board is None:
            continue
        variables = {
            v.get("name")
            for v in (board.get("templating") or {}).get("list", [])
            if isinstance(v, dict)
        }
        for where, expr in grafana_queries(board):
            problems.extend(f"{path}: {p}" for p in _expr_problems(where, expr, series, variables))
    return problems


def grafana_queries(board: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(where, PromQL) for every panel target and query variable."""
    for i, variable in enumerate((board.get("templating") or {}).get("list", [])):
        query = variable.get("query") if isinstance(variable, dict) else None
        if isinstance(query, dict):
            query = query.get("query")
        if (
            isinstance(variable, dict)
            and variable.get("type") == "query"
            and isinstance(query, str)
        ):
            yield f"templating.list[{i}] ({variable.get('name')})", query
    for panel_path, panel in _panels(board.get("panels") or [], "panels"):
        for j, target in enumerate(panel.get("targets") or []):
            if isinstance(target, dict) and isinstance(target.get("expr"), str):
                yield f"{panel_path}.targets[{j}] ({panel.get('title')})", target["expr"]


def grafana_metric_names(board: dict[str, Any], catalogue: Catalogue) -> set[str]:
    """The catalogue metrics (OTel names) a Grafana dashboard reads."""
    series = exposed_series(catalogue)
    names: set[str] = set()
    for _, expr in grafana_queries(board):
        for text in _LABEL_VALUES.findall(expr):
            if text[0] in series:
                names.add(series[text[0]][0].name)
        metrics, _ = promql_references(expr)
        names.update(series[m][0].name for m in metrics if m in series)
    return names


def _expr_problems(
    where: str, expr: str, series: dict[str, tuple[MetricSpec, frozenset[str]]], variables: set[Any]
) -> list[str]:
    problems = [
        f"{where}: ${name} is not a dashboard variable"
        for name in sorted({m.group("name") for m in _GRAFANA_VARIABLE.finditer(expr)})
        if not name.startswith("__") and name not in variables
    ]
    label_values = _LABEL_VALUES.search(expr)
    if label_values:
        metric, label = label_values.group("metric"), label_values.group("label")
        if metric and metric not in series:
            problems.append(f"{where}: {metric!r} is not exposed by any catalogue metric")
        elif metric and label not in series[metric][1]:
            problems.append(f"{where}: {metric} has no label {label!r}")
        return problems
    expr_text = _GRAFANA_VARIABLE.sub("1", expr)
    metrics, labels = promql_references(expr_text)
    if not metrics:
        problems.append(f"{where}: no metric in {expr!r}")
    for metric in sorted(metrics):
        if metric not in series:
            problems.append(
                f"{where}: {metric!r} is not the Prometheus name of any catalogue metric"
            )
            continue
        spec, carried = series[metric]
        for label in sorted(labels - carried):
            problems.append(f"{where}: {metric} ({spec.name}) has no label {label!r}")
    return problems


def _panels(panels: list[Any], path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for i, panel in enumerate(panels):
        if isinstance(panel, dict):
            yield f"{path}[{i}]", panel
            yield from _panels(panel.get("panels") or [], f"{path}[{i}].panels")


def _unit_token(unit: str, table: dict[str, str]) -> str:
    if not unit or "{" in unit or "}" in unit:
        return ""
    token = table.get(unit, unit)
    return re.sub(r"_+", "_", re.sub(r"[^A-Za-z0-9:]", "_", token)).strip("_")
