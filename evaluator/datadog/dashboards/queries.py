"""Metric queries in dashboards and monitors, checked against the catalogue.

A Datadog metric query names metrics as ``<aggregator>:<metric>{<scope>} by {<tags>}``
with optional functions after it (``.as_count()``); monitors put a time aggregation in
front (``avg(last_5m):``). Each metric must be in the catalogue, each tag in its scope or
``by`` must be one the metric carries, and each ``$variable`` must be a template variable
of the dashboard whose prefix the metric carries. Aggregators and functions must suit the
metric's Datadog type (percentiles need a distribution, ``.as_count()`` a count).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from evaluator.datadog.dashboards.catalogue import STANDARD_TAGS, Catalogue, MetricSpec

_AGGREGATOR = r"(?:avg|sum|min|max|count|p\d{1,2}(?:\.\d+)?)"
_METRIC_QUERY = re.compile(
    rf"(?P<agg>{_AGGREGATOR}):(?P<metric>[A-Za-z][A-Za-z0-9_.]*)\s*"
    r"\{(?P<scope>[^{}]*)\}(?:\s*by\s*\{(?P<by>[^{}]*)\})?"
    r"(?P<functions>(?:\.[a-z_]+\([^()]*\))*)"
)
_METRIC_WITHOUT_SCOPE = re.compile(
    rf"(?<![\w.]){_AGGREGATOR}:(?P<metric>[A-Za-z][A-Za-z0-9_.]*)(?![A-Za-z0-9_.]|\s*\{{)"
)
_VARIABLE = re.compile(r"\$(?P<name>[A-Za-z_][A-Za-z0-9_-]*)(?:\.value)?")
_BOOLEAN_WORDS = frozenset({"AND", "OR", "NOT", "IN"})
_COUNT_FUNCTIONS = frozenset({"as_count", "as_rate"})
# Keys whose string values are queries (metric queries, span searches, link templates).
_QUERY_KEYS = frozenset({"q", "query", "query_string", "link"})


@dataclass(frozen=True)
class MetricQuery:
    path: str  # JSON path of the string that holds it
    aggregator: str
    metric: str
    scope: str
    by: str
    functions: str


def dashboard_query_problems(body: Mapping[str, Any], catalogue: Catalogue) -> list[str]:
    variables = _template_variables(body)
    problems = [
        f"$.template_variables: prefix {prefix!r} of ${name} is not a tag in the catalogue"
        for name, prefix in variables.items()
        if prefix and prefix not in STANDARD_TAGS and prefix not in catalogue.tag_descriptions
    ]
    for path, text, is_metric_query in _query_strings(body, "$"):
        for name in sorted({m.group("name") for m in _VARIABLE.finditer(text)}):
            if name not in variables:
                problems.append(f"{path}: ${name} is not a template variable of this dashboard")
        if is_metric_query:
            problems.extend(query_problems(path, text, catalogue, variables))
    return problems


def monitor_query_problems(body: Mapping[str, Any], catalogue: Catalogue) -> list[str]:
    if body.get("type") not in ("query alert", "metric alert"):
        return []
    query = body.get("query")
    if not isinstance(query, str):
        return ["$.query: a metric monitor needs a query string"]
    problems = query_problems("$.query", query, catalogue, {})
    if "$" in query:
        problems.append("$.query: monitors have no template variables")
    return problems


def query_problems(
    path: str, text: str, catalogue: Catalogue, variables: Mapping[str, str | None]
) -> list[str]:
    problems = [
        f"{path}: {m.group('metric')!r} has no scope; write {{*}} or {{tag:value}} after it"
        for m in _METRIC_WITHOUT_SCOPE.finditer(text)
    ]
    found = list(parse_metric_queries(path, text))
    if not found and not problems:
        problems.append(f"{path}: no metric query found in {text!r}")
    for query in found:
        problems.extend(_check(query, catalogue, variables))
    return problems


def parse_metric_queries(path: str, text: str) -> Iterator[MetricQuery]:
    for match in _METRIC_QUERY.finditer(text):
        yield MetricQuery(
            path=path,
            aggregator=match.group("agg"),
            metric=match.group("metric"),
            scope=match.group("scope"),
            by=match.group("by") or "",
            functions=match.group("functions") or "",
        )


def metric_names(body: Mapping[str, Any]) -> set[str]:
    """Every metric a dashboard or monitor queries."""
    strings = [(p, t) for p, t, is_metric in _query_strings(body, "$") if is_metric]
    if isinstance(body.get("query"), str) and "widgets" not in body:
        strings.append(("$.query", body["query"]))
    return {q.metric for p, t in strings for q in parse_metric_queries(p, t)}


def _check(
    query: MetricQuery, catalogue: Catalogue, variables: Mapping[str, str | None]
) -> list[str]:
    where = f"{query.path}: {query.metric}"
    spec = catalogue.get(query.metric)
    if spec is None:
        return [f"{where}: metric not in the catalogue (dashboards/metrics.yaml)"]
    problems: list[str] = []
    for tag in _scope_tags(query.scope, variables, where, problems):
        if not spec.carries(tag):
            problems.append(f"{where}: tag {tag!r} is not carried by this metric ({_tags(spec)})")
    for tag in (t.strip() for t in query.by.split(",") if t.strip()):
        if not spec.carries(tag):
            problems.append(
                f"{where}: grouped by {tag!r}, not carried by this metric ({_tags(spec)})"
            )
    if query.aggregator.startswith("p") and spec.datadog != "distribution":
        problems.append(
            f"{where}: percentile {query.aggregator}: needs a distribution, not a {spec.datadog}"
        )
    functions = set(re.findall(r"\.([a-z_]+)\(", query.functions))
    if functions & _COUNT_FUNCTIONS and spec.datadog not in ("count", "rate"):
        problems.append(f"{where}: .as_count()/.as_rate() apply to counts, not to a {spec.datadog}")
    return problems


def _scope_tags(
    scope: str, variables: Mapping[str, str | None], where: str, problems: list[str]
) -> Iterator[str]:
    for raw in re.split(r"[\s,()]+", scope):
        token = raw.lstrip("!-")
        if token in ("", "*") or token in _BOOLEAN_WORDS:
            continue
        variable = _VARIABLE.fullmatch(token)
        if variable:
            prefix = variables.get(variable.group("name"))
            if prefix:
                yield prefix
            continue
        key, colon, _ = token.partition(":")
        if not colon:
            problems.append(f"{where}: scope item {token!r} has no tag key (write key:value)")
            continue
        yield key


def _template_variables(body: Mapping[str, Any]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for variable in body.get("template_variables") or []:
        if isinstance(variable, dict) and isinstance(variable.get("name"), str):
            prefix = variable.get("prefix")
            out[variable["name"]] = prefix if isinstance(prefix, str) else None
    return out


def _query_strings(value: Any, path: str) -> Iterator[tuple[str, str, bool]]:
    """(path, text, is_metric_query) for each query-like string in a dashboard body."""
    if isinstance(value, dict):
        metric_source = value.get("data_source") == "metrics"
        for key, child in value.items():
            child_path = f"{path}.{key}"
            if isinstance(child, str) and key in _QUERY_KEYS:
                yield child_path, child, key == "q" or (key == "query" and metric_source)
            else:
                yield from _query_strings(child, child_path)
    elif isinstance(value, list):
        for i, child in enumerate(value):
            yield from _query_strings(child, f"{path}[{i}]")


def _tags(spec: MetricSpec) -> str:
    return ", ".join(sorted(spec.tags | STANDARD_TAGS))
