"""DatadogClient against the local recording stand-in for Datadog's dashboards and
monitors API: dicts in and out, pages followed, a 404 as None, and every failure a
DatadogApiError that names the call, the status and what to check."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from evaluator.datadog.dashboards.client import PAGE_SIZE, DatadogClient
from evaluator.datadog.dashboards.definitions import (
    MANAGED_TAG,
    Definition,
    load_definitions,
    marked,
    render,
)
from evaluator.datadog.dashboards.errors import DatadogApiError
from evaluator.datadog.dashboards.settings import DatadogSettings
from tests.evaluator.datadog.dashboards.conftest import REPO_DASHBOARDS
from tests.fakes.datadog_api import API_KEY, APP_KEY, AUTHOR, FakeDatadog


def shipped(kind: str) -> list[Definition]:
    return [d for d in load_definitions(REPO_DASHBOARDS) if d.kind == kind]


def apply_body(definition: Definition) -> dict[str, Any]:
    body: dict[str, Any] = render(marked(definition), {"TAU2OBSERVE_CASE_PROJECT": "evals"})
    return body


@pytest.fixture
def client(fake: FakeDatadog) -> Iterator[DatadogClient]:
    with DatadogClient(DatadogSettings(API_KEY, APP_KEY, host=fake.url)) as running:
        yield running


def test_a_dashboard_is_created_read_updated_and_listed(
    client: DatadogClient, fake: FakeDatadog
) -> None:
    definition = shipped("dashboard")[0]
    created = client.create_dashboard(apply_body(definition))
    dashboard_id = created["id"]
    assert created["title"] == definition.title
    assert created["author_handle"] == AUTHOR  # what Datadog set, as plain data
    assert isinstance(created["created_at"], str)

    found = client.get_dashboard(dashboard_id)
    assert found is not None
    assert found["description"].endswith(f"key={definition.key}")
    assert len(found["widgets"]) == len(definition.body["widgets"])

    changed = apply_body(definition) | {"title": "renamed"}
    assert client.update_dashboard(dashboard_id, changed)["title"] == "renamed"
    assert fake.dashboards[dashboard_id]["title"] == "renamed"
    assert [(d["id"], d["title"]) for d in client.list_dashboards()] == [(dashboard_id, "renamed")]
    sent = [(r.method, r.path) for r in fake.requests]
    assert sent == [
        ("POST", "/api/v1/dashboard"),
        ("GET", f"/api/v1/dashboard/{dashboard_id}"),
        ("PUT", f"/api/v1/dashboard/{dashboard_id}"),
        ("GET", "/api/v1/dashboard"),
    ]
    assert all(r.headers["dd-application-key"] == APP_KEY for r in fake.requests)


def test_listing_dashboards_follows_the_pages(client: DatadogClient, fake: FakeDatadog) -> None:
    for i in range(PAGE_SIZE + 5):
        fake.add_dashboard({"title": f"hand-made {i}", "layout_type": "ordered", "widgets": []})
    found = client.list_dashboards()
    assert len(found) == PAGE_SIZE + 5
    assert len({d["id"] for d in found}) == PAGE_SIZE + 5
    starts = [r.query["start"] for r in fake.requests]
    assert starts == [["0"], [str(PAGE_SIZE)]]


def test_a_missing_dashboard_or_monitor_is_none(client: DatadogClient) -> None:
    assert client.get_dashboard("abc-def-ghi") is None
    assert client.get_monitor(42) is None


def test_monitors_are_created_read_updated_and_only_managed_ones_listed(
    client: DatadogClient, fake: FakeDatadog
) -> None:
    fake.add_monitor({"name": "made by hand", "type": "query alert", "query": "q", "tags": []})
    definition = shipped("monitor")[0]
    created = client.create_monitor(apply_body(definition))
    monitor_id = created["id"]
    assert MANAGED_TAG in created["tags"]
    assert "@case-evals" in created["message"]

    found = client.get_monitor(monitor_id)
    assert found is not None
    assert found["name"] == definition.title
    update = {"name": "renamed", "query": created["query"]}
    assert client.update_monitor(monitor_id, update)["name"] == "renamed"

    managed = client.list_managed_monitors()
    assert [m["id"] for m in managed] == [monitor_id]
    [listing] = [r for r in fake.requests if (r.method, r.path) == ("GET", "/api/v1/monitor")]
    assert listing.query["monitor_tags"] == [MANAGED_TAG]


def test_a_body_that_does_not_fit_the_model_never_leaves(
    client: DatadogClient, fake: FakeDatadog
) -> None:
    body = {"title": "t", "layout_type": "ordered", "widgets": [{"definition": {"type": "pie"}}]}
    with pytest.raises(DatadogApiError, match="create dashboard: the body does not fit"):
        client.create_dashboard(body)
    with pytest.raises(DatadogApiError, match="update monitor 7: the body does not fit"):
        client.update_monitor(7, {"name": "n", "type": "metric-alert"})
    assert fake.requests == []


def test_wrong_credentials_are_explained_without_the_keys(fake: FakeDatadog) -> None:
    wrong = "0" * 32
    settings = DatadogSettings(wrong, APP_KEY, host=fake.url)
    with DatadogClient(settings) as client, pytest.raises(DatadogApiError) as caught:
        client.list_dashboards()
    assert caught.value.status == 403
    message = str(caught.value)
    assert message.startswith(
        f"list dashboards: Datadog refused the credentials (403 from {fake.url})"
    )
    assert "DD_APP_KEY" in message
    assert "Datadog said: Forbidden" in message
    assert wrong not in message
    assert APP_KEY not in message


def test_refusals_and_failures_name_the_call_and_what_to_do(
    client: DatadogClient, fake: FakeDatadog
) -> None:
    fake.fail_next("GET", "/api/v1/dashboard/abc", 500, "Internal error")
    with pytest.raises(DatadogApiError) as failed:
        client.get_dashboard("abc")  # a failure, unlike a 404, is not "missing"
    assert failed.value.status == 500
    assert "get dashboard abc: Datadog failed with 500 (Internal error)" in str(failed.value)
    assert "run apply again to finish" in str(failed.value)

    fake.fail_next("GET", "/api/v1/monitor", 429, "Too many requests")
    with pytest.raises(DatadogApiError, match=r"list monitors: rate limited by Datadog \(429\)"):
        client.list_managed_monitors()

    fake.fail_next("POST", "/api/v1/dashboard", 400, "Invalid widget", "bad query")
    with pytest.raises(DatadogApiError) as rejected:
        client.create_dashboard(apply_body(shipped("dashboard")[0]))
    assert str(rejected.value) == (
        "create dashboard: Datadog rejected the request (400): Invalid widget; bad query"
    )


def test_an_unreachable_host_is_named() -> None:
    with FakeDatadog() as gone:
        url = gone.url  # a port that was just closed
    settings = DatadogSettings(API_KEY, APP_KEY, host=url)
    with DatadogClient(settings) as client, pytest.raises(DatadogApiError) as caught:
        client.get_monitor(1)
    assert caught.value.status is None
    assert str(caught.value).startswith(f"get monitor 1: cannot reach Datadog at {url}: ")
