"""apply, diff and export against the local recording stand-in for Datadog's API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from evaluator.cli import main
from tests.fakes.datadog_api import API_KEY, APP_KEY, FakeDatadog

pytestmark = pytest.mark.usefixtures("datadog_env")


def dashboards(root: Path, *args: str) -> int:
    return main(["dashboards", "--dir", str(root), *args])


def lock(root: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((root / "datadog.lock.json").read_text())
    return data


def locked_ids(root: Path, fake: FakeDatadog) -> dict[str, Any]:
    site: dict[str, Any] = lock(root)["sites"][fake.url]
    return site


def edit(path: Path, change: Any) -> None:
    body = json.loads(path.read_text())
    change(body)
    path.write_text(json.dumps(body, indent=2))


def test_first_apply_creates_everything_with_marker_and_lock(
    definitions: Path, fake: FakeDatadog
) -> None:
    assert dashboards(definitions, "apply") == 0

    writes = fake.writes()
    assert [(r.method, r.path) for r in writes] == [("POST", "/api/v1/dashboard")] * 3 + [
        ("POST", "/api/v1/monitor")
    ] * 3
    assert all(r.headers["dd-api-key"] == API_KEY for r in fake.requests)
    assert all(r.headers["dd-application-key"] == APP_KEY for r in fake.requests)
    ids = locked_ids(definitions, fake)
    assert set(ids["dashboards"]) == {"evaluation-overview", "a2a-traffic", "task-drilldown"}
    assert set(ids["monitors"]) == {"a2a-error-rate", "pass-rate-drop", "turn-latency"}
    overview = fake.dashboards[ids["dashboards"]["evaluation-overview"]]
    assert overview["title"] == "tau2observe · Evaluation overview"
    assert overview["description"].endswith("\n\nmanaged-by:tau2observe key=evaluation-overview")
    monitor = fake.monitors[ids["monitors"]["a2a-error-rate"]]
    assert {"managed-by:tau2observe", "tau2observe-key:a2a-error-rate"} <= set(monitor["tags"])
    assert "{{#is_alert}}@case-agent-evals{{/is_alert}}" in monitor["message"]
    assert "${" not in monitor["message"]


def test_second_apply_makes_no_write(
    definitions: Path, fake: FakeDatadog, capsys: pytest.CaptureFixture[str]
) -> None:
    assert dashboards(definitions, "apply") == 0
    lock_text = (definitions / "datadog.lock.json").read_text()
    first = len(fake.requests)
    capsys.readouterr()

    assert dashboards(definitions, "apply") == 0

    second = fake.requests[first:]
    assert second, "the second apply reads the remote state"
    assert [r for r in second if r.method != "GET"] == []
    assert (definitions / "datadog.lock.json").read_text() == lock_text
    assert "0 to create, 0 to update, 6 unchanged" in capsys.readouterr().out


def test_an_edited_dashboard_updates_only_that_one(
    definitions: Path, fake: FakeDatadog, capsys: pytest.CaptureFixture[str]
) -> None:
    assert dashboards(definitions, "apply") == 0
    ids = locked_ids(definitions, fake)
    edit(
        definitions / "datadog" / "task-drilldown.json",
        lambda b: b.update(title="tau2observe · One task"),
    )
    first = len(fake.requests)
    capsys.readouterr()

    assert dashboards(definitions, "diff") == 0
    diff = capsys.readouterr().out
    assert f"~ update dashboard task-drilldown ({ids['dashboards']['task-drilldown']})" in diff
    assert '-  "title": "tau2observe \u00b7 Task drill-down"' in diff
    assert '+  "title": "tau2observe \u00b7 One task"' in diff
    assert "0 to create, 1 to update, 5 unchanged (dry run: nothing written)" in diff
    assert [r for r in fake.requests[first:] if r.method != "GET"] == []

    assert dashboards(definitions, "apply") == 0
    writes = [r for r in fake.requests[first:] if r.method != "GET"]
    drilldown_id = ids["dashboards"]["task-drilldown"]
    assert [(r.method, r.path) for r in writes] == [("PUT", f"/api/v1/dashboard/{drilldown_id}")]
    assert fake.dashboards[drilldown_id]["title"] == "tau2observe · One task"
    assert locked_ids(definitions, fake) == ids


def test_an_edited_monitor_updates_only_that_one(definitions: Path, fake: FakeDatadog) -> None:
    assert dashboards(definitions, "apply") == 0
    ids = locked_ids(definitions, fake)
    edit(
        definitions / "monitors" / "turn-latency.json",
        lambda b: b["options"]["thresholds"].update(critical=45),
    )
    first = len(fake.requests)

    assert dashboards(definitions, "apply") == 0

    writes = [r for r in fake.requests[first:] if r.method != "GET"]
    monitor_id = ids["monitors"]["turn-latency"]
    assert [(r.method, r.path) for r in writes] == [("PUT", f"/api/v1/monitor/{monitor_id}")]
    assert fake.monitors[monitor_id]["options"]["thresholds"]["critical"] == 45


def test_unmanaged_dashboard_with_the_same_title_is_left_alone(
    definitions: Path, fake: FakeDatadog
) -> None:
    hand_made = fake.add_dashboard(
        {
            "title": "tau2observe · Evaluation overview",
            "description": "made by hand",
            "layout_type": "ordered",
            "widgets": [{"definition": {"type": "note", "content": "mine"}}],
        }
    )
    before = json.dumps(hand_made, sort_keys=True)

    assert dashboards(definitions, "apply") == 0
    assert dashboards(definitions, "apply") == 0

    assert all(hand_made["id"] not in r.path for r in fake.writes())
    assert json.dumps(fake.dashboards[hand_made["id"]], sort_keys=True) == before
    ours = locked_ids(definitions, fake)["dashboards"]["evaluation-overview"]
    assert ours != hand_made["id"]
    titles = [d["title"] for d in fake.dashboards.values()]
    assert titles.count("tau2observe · Evaluation overview") == 2


def test_without_lock_file_apply_finds_its_objects_by_marker(
    definitions: Path, fake: FakeDatadog
) -> None:
    assert dashboards(definitions, "apply") == 0
    ids = locked_ids(definitions, fake)
    (definitions / "datadog.lock.json").unlink()
    first = len(fake.requests)

    assert dashboards(definitions, "apply") == 0

    assert [r for r in fake.requests[first:] if r.method != "GET"] == []
    assert locked_ids(definitions, fake) == ids


def test_lock_entry_for_a_deleted_dashboard_recreates_it(
    definitions: Path, fake: FakeDatadog, capsys: pytest.CaptureFixture[str]
) -> None:
    assert dashboards(definitions, "apply") == 0
    old = locked_ids(definitions, fake)["dashboards"]["a2a-traffic"]
    del fake.dashboards[old]  # deleted in the UI
    first = len(fake.requests)
    capsys.readouterr()

    assert dashboards(definitions, "apply") == 0

    out = capsys.readouterr().out
    assert f"dashboard a2a-traffic -> {old} no longer exists" in out
    writes = [(r.method, r.path) for r in fake.requests[first:] if r.method != "GET"]
    assert writes == [("POST", "/api/v1/dashboard")]
    new = locked_ids(definitions, fake)["dashboards"]["a2a-traffic"]
    assert new != old
    assert new in fake.dashboards


def test_lock_entry_pointing_at_an_unmarked_dashboard_is_refused(
    definitions: Path, fake: FakeDatadog, capsys: pytest.CaptureFixture[str]
) -> None:
    assert dashboards(definitions, "apply") == 0
    theirs = fake.add_dashboard({"title": "Team board", "layout_type": "ordered", "widgets": []})
    data = lock(definitions)
    data["sites"][fake.url]["dashboards"]["a2a-traffic"] = theirs["id"]
    (definitions / "datadog.lock.json").write_text(json.dumps(data))
    edit(definitions / "datadog" / "evaluation-overview.json", lambda b: b.update(title="x"))
    first = len(fake.requests)
    capsys.readouterr()

    assert dashboards(definitions, "apply") == 1

    err = capsys.readouterr().err
    assert f"a2a-traffic -> {theirs['id']}, but that dashboard ('Team board')" in err
    assert "refusing to change it" in err
    assert [r for r in fake.requests[first:] if r.method != "GET"] == []


def test_dry_run_writes_nothing(
    definitions: Path, fake: FakeDatadog, capsys: pytest.CaptureFixture[str]
) -> None:
    assert dashboards(definitions, "apply", "--dry-run") == 0
    out = capsys.readouterr().out
    assert "+ create dashboard evaluation-overview: tau2observe · Evaluation overview" in out
    assert "6 to create, 0 to update, 0 unchanged (dry run: nothing written)" in out
    assert fake.writes() == []
    assert not (definitions / "datadog.lock.json").exists()


def test_bad_credentials_give_a_clear_message(
    definitions: Path,
    fake: FakeDatadog,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DD_APP_KEY", "not-the-right-key")

    assert dashboards(definitions, "apply") == 1

    err = capsys.readouterr().err
    assert "list dashboards: Datadog refused the credentials (403 from http://127.0.0.1:" in err
    assert "Check DD_API_KEY and DD_APP_KEY" in err
    assert "Datadog said: Forbidden" in err
    assert "not-the-right-key" not in err
    assert API_KEY not in err
    assert fake.writes() == []


def test_missing_keys_are_a_usage_error(
    definitions: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("DD_APP_KEY")
    with pytest.raises(SystemExit) as exit_info:
        dashboards(definitions, "diff")
    assert exit_info.value.code == 2
    assert "DD_APP_KEY='': not set" in capsys.readouterr().err


def test_missing_case_project_is_a_usage_error(
    definitions: Path,
    fake: FakeDatadog,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("TAU2OBSERVE_CASE_PROJECT")
    with pytest.raises(SystemExit):
        dashboards(definitions, "apply")
    err = capsys.readouterr().err
    assert "TAU2OBSERVE_CASE_PROJECT='': not set, and a2a-error-rate.json" in err
    assert fake.requests == []


def test_server_error_midway_keeps_what_was_created(
    definitions: Path, fake: FakeDatadog, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.fail_next("POST", "/api/v1/monitor", 503, "Service Unavailable")

    assert dashboards(definitions, "apply") == 1

    err = capsys.readouterr().err
    assert "create monitor: Datadog failed with 503 (Service Unavailable)" in err
    assert "run apply again to finish" in err
    ids = locked_ids(definitions, fake)
    assert len(ids["dashboards"]) == 3
    assert "monitors" not in ids

    assert dashboards(definitions, "apply") == 0
    assert len(locked_ids(definitions, fake)["monitors"]) == 3
    assert len(fake.dashboards) == 3


def test_api_rejection_is_reported_with_datadog_errors(
    definitions: Path, fake: FakeDatadog, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.fail_next("POST", "/api/v1/dashboard", 400, "Invalid widget definition at position 0")
    assert dashboards(definitions, "apply") == 1
    err = capsys.readouterr().err
    assert "create dashboard: Datadog rejected the request (400): Invalid widget" in err


def test_unreachable_host_is_reported(
    definitions: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with FakeDatadog() as gone:
        url = gone.url
    monkeypatch.setenv("DD_HOST", url)
    assert dashboards(definitions, "diff") == 1
    assert f"list dashboards: cannot reach Datadog at {url}" in capsys.readouterr().err


def test_export_returns_the_definition(
    definitions: Path, fake: FakeDatadog, tmp_path: Path
) -> None:
    assert dashboards(definitions, "apply") == 0
    dashboard_id = locked_ids(definitions, fake)["dashboards"]["evaluation-overview"]
    out = tmp_path / "exported.json"

    assert dashboards(definitions, "export", dashboard_id, "--output", str(out)) == 0

    exported = json.loads(out.read_text())
    original = json.loads((definitions / "datadog" / "evaluation-overview.json").read_text())
    assert exported["description"] == original["description"]
    assert "managed-by" not in out.read_text()
    assert "id" not in exported
    assert "author_handle" not in exported
    assert all("id" not in w for w in exported["widgets"])
    # Exported back into the repository, the next apply has nothing to do.
    (definitions / "datadog" / "evaluation-overview.json").write_text(out.read_text())
    first = len(fake.requests)
    assert dashboards(definitions, "apply") == 0
    assert [r for r in fake.requests[first:] if r.method != "GET"] == []


def test_export_of_unknown_dashboard(definitions: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert dashboards(definitions, "export", "abc-def-ghi") == 1
    assert "no dashboard 'abc-def-ghi'" in capsys.readouterr().err


def test_fake_rejects_a_body_the_models_do_not_parse(fake: FakeDatadog) -> None:
    import urllib.request

    body = {
        "title": "t",
        "layout_type": "ordered",
        "widgets": [{"definition": {"type": "piechart", "requests": []}}],
    }
    request = urllib.request.Request(
        f"{fake.url}/api/v1/dashboard",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"DD-API-KEY": API_KEY, "DD-APPLICATION-KEY": APP_KEY},
    )
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request)
    assert error.value.code == 400
    assert "does not fit Dashboard" in json.loads(error.value.read())["errors"][0]
    error.value.close()
    assert fake.dashboards == {}
