"""catalogue: dashboards/metrics.yaml read into metric specs, every problem listed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from evaluator.datadog.dashboards.catalogue import STANDARD_TAGS, Catalogue
from evaluator.datadog.dashboards.errors import DefinitionError


def test_catalogue_lists_each_metric_once_with_described_tags(catalogue: Catalogue) -> None:
    emitted = catalogue.emitted()
    assert len(emitted) == len({m.name for m in emitted}) >= 19
    for spec in emitted:
        assert spec.description, spec.name
        assert spec.tags <= set(catalogue.tag_descriptions), spec.name


def test_the_repository_catalogue_has_both_sections_and_their_types(catalogue: Catalogue) -> None:
    trials = catalogue.get("tau2.task.trials")
    assert trials is not None
    assert (trials.instrument, trials.datadog, trials.source) == ("counter", "count", "evaluator")
    assert "tau2.task.id" in trials.tags
    reward = catalogue.get("tau2.task.reward")
    assert reward is not None
    assert reward.datadog == "distribution"
    hits = catalogue.get("trace.http.server.request.hits")
    assert hits is not None
    assert hits.instrument is None  # an APM trace metric: Datadog derives it
    assert hits not in catalogue.emitted()
    assert catalogue.get("tau2.task.rewards") is None


def test_a_metric_carries_its_own_tags_and_the_standard_ones(catalogue: Catalogue) -> None:
    duration = catalogue.get("tau2.turn.duration")
    assert duration is not None
    assert duration.carries("gen_ai.agent.name")
    assert all(duration.carries(tag) for tag in STANDARD_TAGS)
    assert not duration.carries("tau2.task.id")


def good_entry(**change: Any) -> dict[str, Any]:
    entry = {"name": "m", "type": "counter", "datadog": "count", "tags": ["t"]}
    return {**entry, **change}


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ([], "here: expected a mapping with a 'metrics' list"),
        ({"metrics": "m"}, "here: expected a mapping with a 'metrics' list"),
        ({"metrics": [{"datadog": "count"}]}, "here: metrics[0]: expected a mapping with a 'name'"),
        (
            {"metrics": [good_entry(datadog="histogram")], "tags": {"t": "d"}},
            "here: metrics[0] (m): datadog='histogram', expected one of "
            "['count', 'distribution', 'gauge', 'rate']",
        ),
        (
            {"metrics": [good_entry(type="summary")], "tags": {"t": "d"}},
            "here: metrics[0] (m): type='summary', expected one of "
            "['counter', 'gauge', 'histogram', 'updowncounter']",
        ),
        (
            {"metrics": [good_entry(tags="t")], "tags": {"t": "d"}},
            "here: metrics[0] (m): tags must be a list of strings",
        ),
        (
            {"metrics": [good_entry(), good_entry()], "tags": {"t": "d"}},
            "here: metrics[1]: metric 'm' listed twice",
        ),
        ({"metrics": [good_entry()]}, "here: metric 'm': tag 't' has no description"),
        (
            {"metrics": [good_entry(tags=[])], "tags": ["t"]},
            "here: tags: expected a mapping of tag -> description",
        ),
    ],
)
def test_a_broken_catalogue_names_where_and_what(data: Any, problem: str) -> None:
    with pytest.raises(DefinitionError) as caught:
        Catalogue.from_data(data, "here")
    assert caught.value.problems == [problem]


def test_apm_metrics_need_no_instrument_type_nor_tag_descriptions() -> None:
    data = {"metrics": [], "apm": [{"name": "trace.x.hits", "datadog": "count", "tags": ["r"]}]}
    found = Catalogue.from_data(data, "here")
    assert found.emitted() == []
    spec = found.get("trace.x.hits")
    assert spec is not None
    assert spec.source == "apm"
    assert spec.tags == {"r"}


def test_an_unreadable_catalogue_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "metrics.yaml"
    with pytest.raises(DefinitionError, match="cannot read the metric catalogue") as caught:
        Catalogue.load(missing)
    assert str(missing) in caught.value.problems[0]
    missing.write_text("metrics: [unclosed\n")
    with pytest.raises(DefinitionError, match="cannot read the metric catalogue"):
        Catalogue.load(missing)
