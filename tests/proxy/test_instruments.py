"""The one table of instruments against the metric catalogue, and what it creates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from proxy import instruments

CATALOGUE = Path(__file__).resolve().parents[2] / "dashboards" / "metrics.yaml"


def catalogued() -> dict[str, dict[str, Any]]:
    entries = yaml.safe_load(CATALOGUE.read_text())["metrics"]
    return {m["name"]: m for m in entries if m["source"] in ("proxy", "evaluator", "genai")}


def test_the_table_and_the_catalogue_name_the_same_instruments() -> None:
    assert {i.name for i in instruments.ALL} == set(catalogued())
    assert len({i.name for i in instruments.ALL}) == len(instruments.ALL)
    defined = {v for v in vars(instruments).values() if isinstance(v, instruments.Instrument)}
    assert defined == set(instruments.ALL)  # none defined and left out of the table


@pytest.mark.parametrize("instrument", instruments.ALL, ids=lambda i: i.name)
def test_kind_unit_and_source_match_the_catalogue(instrument: instruments.Instrument) -> None:
    entry = catalogued()[instrument.name]
    assert (instrument.kind, instrument.unit, instrument.source) == (
        entry["type"],
        entry["unit"],
        entry["source"],
    )
    assert instrument.description.strip()
    assert (instrument.buckets is None) or instrument.kind == "histogram"


def test_created_instruments_carry_the_tables_name_unit_description_and_buckets() -> None:
    reader = InMemoryMetricReader()
    meter = MeterProvider(metric_readers=[reader]).get_meter("test")
    for each in instruments.ALL:
        made = instruments.create(meter, each)
        if each.kind == "gauge":
            made.set(2.0)  # type: ignore[union-attr]
        elif each.kind == "counter":
            made.add(2.0)  # type: ignore[union-attr]
        else:
            made.record(2.0)  # type: ignore[union-attr]
    data = reader.get_metrics_data()
    assert data is not None
    seen = {
        metric.name: metric
        for rm in data.resource_metrics
        for sm in rm.scope_metrics
        for metric in sm.metrics
    }
    assert set(seen) == {i.name for i in instruments.ALL}
    for each in instruments.ALL:
        metric = seen[each.name]
        assert (metric.unit, metric.description) == (each.unit, each.description)
        (point,) = metric.data.data_points
        if each.buckets is not None:
            assert tuple(point.explicit_bounds) == each.buckets  # type: ignore[union-attr]


def test_asking_for_the_wrong_kind_is_refused_by_name() -> None:
    meter = MeterProvider().get_meter("test")
    with pytest.raises(TypeError, match=r"tau2\.task\.reward is a histogram, not a counter"):
        instruments.counter(meter, instruments.TASK_REWARD)
