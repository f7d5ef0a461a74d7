"""Measurements as Datadog Metrics API request bodies: time stamps, series, batches. Pure.

Counts and gauges go to ``POST /api/v2/series`` (``MetricPayload``; type 1 is count, 3 is
gauge); distributions go to ``POST /api/v1/distribution_points``
(``DistributionPointsPayload``), which is what the collector's exporter turns histograms
into. Bodies are the JSON the client sends, so their sizes are known before sending.

Datadog drops points more than an hour old or more than ten minutes ahead, so every point
carries its trial's end time (the run's end for the run gauges) and a file whose times fall
outside that window is refused before anything is sent, unless ``at_now`` stamps every
point with the current time.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from evaluator.datadog.push.errors import OutsideTimeWindowError
from evaluator.measurements import (
    Kind,
    Measurement,
    Tags,
    all_trial_measurements,
    labels_of,
    run_measurements,
)
from evaluator.results import ResultsFileError, RunResult, TrialResult

Endpoint = Literal["series", "distribution_points"]
ENDPOINT_PATHS: dict[Endpoint, str] = {
    "series": "/api/v2/series",
    "distribution_points": "/api/v1/distribution_points",
}
SERIES_TYPES = {"count": 1, "gauge": 3}  # MetricIntakeType on the wire

MAX_AGE_S = 3600  # Datadog's window: at most one hour behind ...
MAX_AHEAD_S = 600  # ... and ten minutes ahead
WINDOW_MARGIN_S = 120  # time to batch and send, and some clock skew


@dataclass(frozen=True)
class Limits:
    """Request size limits, below Datadog's (512 000 bytes compressed and 5 MiB raw for
    /api/v2/series; the v1 endpoints allow more) so that a body never reaches them."""

    max_raw_bytes: int = 3_000_000
    max_compressed_bytes: int = 450_000  # deflate, as the requests are sent
    max_points_per_series: int = 1_000
    max_values_per_series: int = 5_000


@dataclass(frozen=True)
class Stamped:
    measurement: Measurement
    timestamp: int


@dataclass
class Batch:
    """One request: the body's ``series`` list, with the body's raw and deflated sizes."""

    endpoint: Endpoint
    series: list[dict[str, Any]]
    raw_bytes: int = 0
    compressed_bytes: int = 0

    def body(self) -> bytes:
        return json.dumps({"series": self.series}).encode("utf-8")

    @property
    def points(self) -> int:
        return sum(len(s["points"]) for s in self.series)


@dataclass(frozen=True)
class SeriesSummary:
    """What a push sends for one metric (for ``--dry-run`` and the final report)."""

    metric: str
    kind: Kind
    series: int
    points: int
    values: int
    tags: dict[str, set[str]] = field(default_factory=dict)


# --- time --------------------------------------------------------------------------------


def parse_time(text: str, where: str) -> float:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ResultsFileError(f"{where}: {text!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise ResultsFileError(f"{where}: {text!r} has no time zone")
    return moment.timestamp()


def trial_end(trial: TrialResult, where: str) -> float:
    """When the trial finished: the moment the OTLP path records its measurements."""
    label = f"{where}: trial {trial.trial} of task {trial.task_id!r}: started_at"
    return parse_time(trial.started_at, label) + trial.duration_s


def check_window(where: str, what: str, moment: float, now: float) -> None:
    age = now - moment
    if age > MAX_AGE_S - WINDOW_MARGIN_S:
        raise OutsideTimeWindowError(
            f"{where}: {what} ended {_ago(age)} ago; Datadog's Metrics API drops points more "
            "than 1 hour old. Push results soon after the run, or pass --at-now to stamp "
            "every point with the current time."
        )
    if -age > MAX_AHEAD_S - WINDOW_MARGIN_S:
        raise OutsideTimeWindowError(
            f"{where}: {what} ends {_ago(-age)} in the future (is this machine's clock "
            "right?); Datadog's Metrics API drops points more than 10 minutes ahead. Pass "
            "--at-now to stamp every point with the current time."
        )


def _ago(seconds: float) -> str:
    if seconds >= 2 * 86400:
        return f"{seconds / 86400:.0f} days"
    if seconds >= 2 * 3600:
        return f"{seconds / 3600:.0f} hours"
    return f"{seconds / 60:.0f} minutes"


def stamp(
    where: str, result: RunResult, *, now: float, at_now: bool, extra: Tags = ()
) -> list[Stamped]:
    """Every measurement of one results file with its time stamp (and the ``extra`` tags)."""
    found: list[Stamped] = []

    def add(measurements: Iterable[Measurement], moment: float) -> None:
        ts = int(now if at_now else moment)
        for m in measurements:
            tags = tuple(sorted({*m.tags, *extra})) if extra else m.tags
            found.append(Stamped(Measurement(m.metric, m.kind, m.value, tags), ts))

    for trial, measurements in all_trial_measurements(result, where):
        moment = trial_end(trial, where)
        if not at_now:
            check_window(where, f"trial {trial.trial} of task {trial.task_id!r}", moment, now)
        add(measurements, moment)
    finished = parse_time(result.finished_at, f"{where}: finished_at")
    if not at_now:
        check_window(where, "the run", finished, now)
    add(run_measurements(labels_of(result), result.summary), finished)
    return found


# --- series ------------------------------------------------------------------------------


def datadog_tags(tags: Tags) -> list[str]:
    return [f"{key}:{value}" for key, value in tags]


def _grouped(stamped: Iterable[Stamped]) -> dict[tuple[str, Kind, Tags], dict[int, list[float]]]:
    groups: dict[tuple[str, Kind, Tags], dict[int, list[float]]] = {}
    for s in stamped:
        m = s.measurement
        groups.setdefault((m.metric, m.kind, m.tags), {}).setdefault(s.timestamp, []).append(
            m.value
        )
    return groups


def _point_value(kind: Kind, values: list[float]) -> float:
    # One point per series and second: counts add up (as a delta counter would over an
    # export interval); a gauge keeps its last value.
    return sum(values) if kind == "count" else values[-1]


def to_series(
    stamped: Iterable[Stamped], limits: Limits
) -> Iterator[tuple[Endpoint, dict[str, Any]]]:
    """Series bodies, each small enough for a request of its own."""
    for (metric, kind, tags), by_time in sorted(_grouped(stamped).items(), key=_series_order):
        times = sorted(by_time)
        if kind == "distribution":
            for points in _distribution_pieces(times, by_time, limits.max_values_per_series):
                yield (
                    "distribution_points",
                    {
                        "metric": metric,
                        "type": "distribution",
                        "points": points,
                        "tags": datadog_tags(tags),
                    },
                )
            continue
        step = limits.max_points_per_series
        for start in range(0, len(times), step):
            yield (
                "series",
                {
                    "metric": metric,
                    "type": SERIES_TYPES[kind],
                    "points": [
                        {"timestamp": ts, "value": _point_value(kind, by_time[ts])}
                        for ts in times[start : start + step]
                    ],
                    "tags": datadog_tags(tags),
                },
            )


def _series_order(item: tuple[tuple[str, Kind, Tags], Any]) -> tuple[str, Tags]:
    (metric, _kind, tags), _ = item
    return metric, tags


def _distribution_pieces(
    times: Sequence[int], by_time: dict[int, list[float]], max_values: int
) -> Iterator[list[list[Any]]]:
    """``[timestamp, [values]]`` points, at most ``max_values`` values per piece; a point
    with more values is split (Datadog merges a distribution's values per timestamp)."""
    piece: list[list[Any]] = []
    count = 0
    for ts in times:
        values = by_time[ts]
        while values:
            room = max_values - count
            if room == 0:
                yield piece
                piece, count = [], 0
                room = max_values
            taken, values = values[:room], values[room:]
            piece.append([float(ts), [float(v) for v in taken]])
            count += len(taken)
    if piece:
        yield piece


# --- batches -----------------------------------------------------------------------------


def batches(stamped: Iterable[Stamped], limits: Limits | None = None) -> list[Batch]:
    """Requests for ``stamped``, each body within ``limits`` (raw and deflated)."""
    limits = limits or Limits()
    open_batches: dict[Endpoint, Batch] = {}
    done: list[Batch] = []
    for endpoint, series in to_series(stamped, limits):
        size = len(json.dumps(series).encode("utf-8")) + 2  # ", " between items
        batch = open_batches.get(endpoint)
        if batch is not None and batch.raw_bytes + size > limits.max_raw_bytes:
            done.append(batch)
            batch = None
        if batch is None:
            batch = open_batches[endpoint] = Batch(endpoint, [], len(b'{"series": []}'))
        batch.series.append(series)
        batch.raw_bytes += size
    done.extend(open_batches.values())
    return [fitted for batch in done for fitted in _fit(batch, limits)]


def _fit(batch: Batch, limits: Limits) -> list[Batch]:
    """``batch`` with exact sizes, halved until each part compresses within the limit."""
    body = batch.body()
    compressed = len(zlib.compress(body))  # deflate, as the requests go out
    if compressed <= limits.max_compressed_bytes or len(batch.series) == 1:
        return [Batch(batch.endpoint, batch.series, len(body), compressed)]
    half = len(batch.series) // 2
    return [
        *_fit(Batch(batch.endpoint, batch.series[:half]), limits),
        *_fit(Batch(batch.endpoint, batch.series[half:]), limits),
    ]


# --- summaries ---------------------------------------------------------------------------


def summarize(batches: Iterable[Batch]) -> list[SeriesSummary]:
    """Per metric: series, points and values sent, and the tag values seen."""
    rows: dict[str, dict[str, Any]] = {}
    for batch in batches:
        for series in batch.series:
            kind: Kind = (
                "distribution"
                if batch.endpoint == "distribution_points"
                else ("count" if series["type"] == SERIES_TYPES["count"] else "gauge")
            )
            row = rows.setdefault(
                series["metric"],
                {"kind": kind, "series": set(), "points": 0, "values": 0, "tags": {}},
            )
            row["series"].add(tuple(series["tags"]))
            row["points"] += len(series["points"])
            row["values"] += (
                sum(len(p[1]) for p in series["points"])
                if kind == "distribution"
                else len(series["points"])
            )
            for tag in series["tags"]:
                key, _, value = tag.partition(":")
                row["tags"].setdefault(key, set()).add(value)
    return [
        SeriesSummary(name, r["kind"], len(r["series"]), r["points"], r["values"], r["tags"])
        for name, r in sorted(rows.items())
    ]
