"""``tau2observe metrics push`` against a recording stand-in for Datadog's Metrics API.

A real evaluation's results file must arrive with the catalogue's names and tags and the
file's values; synthetic results files cover the options and every way a push can fail.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from evaluator.cli import main
from tests.evaluator.datadog.push.runs import tags_of, values
from tests.evaluator.runs import RealRun, catalogue, synthetic_run, write
from tests.fakes.datadog_metrics_api import (
    API_KEY,
    MAX_COMPRESSED,
    MAX_DECOMPRESSED,
    FakeMetricsApi,
)

WRONG_KEY = "ffffffffffffffffffffffffffffffff"
STANDARD = {"env", "service"}


def push(
    fake: FakeMetricsApi,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    *args: str,
    key: str | None = API_KEY,
    **env: str,
) -> tuple[int, str, str]:
    """Run ``tau2observe metrics push ARGS`` against the fake; (exit code, stdout, stderr)."""
    for name in ("DD_API_KEY", "DD_APP_KEY", "DD_SITE", "DD_HOST", "DD_ENV", "OTEL_SERVICE_NAME",
                 "OTEL_RESOURCE_ATTRIBUTES"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    if key is not None:
        monkeypatch.setenv("DD_API_KEY", key)
    monkeypatch.setenv("DD_HOST", env.pop("DD_HOST", "") or fake.url)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    try:
        code = main(["metrics", "push", *args])
    except SystemExit as exc:  # usage errors exit through argparse
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    assert API_KEY not in out + err
    assert WRONG_KEY not in out + err
    return code, out, err


# --- a real run --------------------------------------------------------------------------


@pytest.mark.slow
def test_a_real_run_arrives_with_the_catalogues_names_tags_and_the_files_values(
    real_run: RealRun,
    fake: FakeMetricsApi,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    result = real_run.result
    code, out, err = push(fake, monkeypatch, capsys, str(real_run.path), "--env", "ci")
    assert code == 0, err
    assert not fake.refused
    assert "sent" in out
    assert fake.url in out

    declared = catalogue()
    series, distributions = list(fake.series()), list(fake.distributions())
    every = series + distributions
    assert {s["metric"] for s in every} == set(declared)  # a real run emits every family
    context_ids = {t.context_id for t in result.trials} | {t.trace_id for t in result.trials}
    for s in every:
        spec = declared[s["metric"]]
        tags = tags_of(s)
        assert set(tags) <= set(spec["tags"]) | STANDARD, (s["metric"], tags)
        assert tags["env"] == "ci"
        assert tags["service"] == "tau2observe-evaluator"
        assert tags["tau2.domain"] == "mock"
        assert tags["gen_ai.agent.name"] == result.agent.name
        assert not context_ids & set(tags.values())
        wanted = {"count": 1, "gauge": 3, "distribution": "distribution"}[spec["datadog"]]
        assert s["type"] == wanted, s["metric"]
    assert all(s["metric"] in declared and s["type"] != "distribution" for s in series)

    def named(name: str, pool: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [s for s in pool if s["metric"] == name]

    trials = named("tau2.task.trials", series)
    assert sum(sum(values(s)) for s in trials) == len(result.trials)
    successes = sum(sum(values(s)) for s in trials if tags_of(s)["tau2.success"] == "true")
    assert successes == sum(t.success for t in result.trials)
    by_task = Counter({tags_of(s)["tau2.task.id"]: 0 for s in trials})
    for s in trials:
        by_task[tags_of(s)["tau2.task.id"]] += int(sum(values(s)))
    assert by_task == Counter(t.task_id for t in result.trials)
    tool_calls = sum(sum(values(s)) for s in named("tau2.task.tool_calls", series))
    assert tool_calls == sum(t.tool_calls for t in result.trials) == result.summary.tool_calls

    # distributions: one value per trial (per turn for turn durations), the file's values
    rewards = [v for s in named("tau2.task.reward", distributions) for v in values(s)]
    assert sorted(rewards) == sorted(t.reward for t in result.trials)
    durations = [v for s in named("tau2.task.duration", distributions) for v in values(s)]
    assert sorted(durations) == sorted(t.duration_s for t in result.trials)
    turns = [v for s in named("tau2.turn.duration", distributions) for v in values(s)]
    assert sorted(turns) == sorted(r.duration_s for t in result.trials for r in t.turn_records)
    assert all(len(s["points"]) <= len(result.trials) for s in distributions)

    pass_hat_k = {tags_of(s)["tau2.k"]: values(s) for s in named("tau2.run.pass_hat_k", series)}
    assert pass_hat_k == {str(k): [v] for k, v in result.summary.pass_hat_k.items()}
    [rate] = named("tau2.run.success_rate", series)
    assert values(rate) == [result.summary.success_rate]

    # each point carries its trial's end time (the run's end for the run gauges)
    ends = {
        int(datetime.fromisoformat(t.started_at).timestamp() + t.duration_s) for t in result.trials
    }
    for s in named("tau2.task.duration", distributions):
        assert {int(p[0]) for p in s["points"]} <= ends
    finished = int(datetime.fromisoformat(result.finished_at).timestamp())
    assert {p["timestamp"] for p in rate["points"]} == {finished}

    for request in fake.accepted:
        assert request.headers["dd-api-key"] == API_KEY
        assert "dd-application-key" not in request.headers
        assert request.headers["content-encoding"] == "deflate"


# --- options: dry run, several files, the time window ------------------------------------


def test_dry_run_describes_the_push_and_sends_nothing(
    fake: FakeMetricsApi,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    path = write(synthetic_run(6, tasks=3), tmp_path)
    code, out, err = push(fake, monkeypatch, capsys, str(path), "--dry-run", key=None)
    assert code == 0, err
    assert fake.attempts() == 0
    assert "dry run: nothing was sent" in out
    lines = {line.split()[0]: line for line in out.splitlines()[2:-1]}
    assert set(lines) == set(catalogue())
    rows = {name: line.split() for name, line in lines.items()}
    # metric, type, series, points, values, tags...
    assert rows["tau2.task.trials"][1] == "count"
    assert rows["tau2.task.reward"][1:3] == ["distribution", "3"]
    assert rows["tau2.task.reward"][4] == "6"  # one value per trial
    assert rows["tau2.run.pass_hat_k"][1] == "gauge"
    assert "tau2.task.id (3 values)" in lines["tau2.task.trials"]
    assert "service:tau2observe-evaluator" in lines["tau2.task.trials"]


def test_a_large_file_goes_in_several_requests_each_within_datadogs_limits(
    fake: FakeMetricsApi,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    # Long task ids make big series: several megabytes of bodies from a quick-to-build file.
    trials = 1800
    path = write(synthetic_run(trials, turns=3, task_suffix="-" + "x" * 400), tmp_path)
    code, _out, err = push(fake, monkeypatch, capsys, str(path))
    assert code == 0, err
    assert not fake.refused
    by_path = Counter(r.path for r in fake.accepted)
    assert by_path["/api/v2/series"] > 1
    assert by_path["/api/v1/distribution_points"] > 1
    assert max(r.sent_bytes for r in fake.accepted) <= MAX_COMPRESSED
    assert max(r.body_bytes for r in fake.accepted) <= MAX_DECOMPRESSED
    trial_series = [s for s in fake.series() if s["metric"] == "tau2.task.trials"]
    assert sum(sum(values(s)) for s in trial_series) == trials
    successes = [s for s in trial_series if tags_of(s)["tau2.success"] == "true"]
    assert sum(sum(values(s)) for s in successes) == trials // 2  # every second trial fails
    assert {tags_of(s)["tau2.termination_reason"] for s in successes} == {"user_stop"}
    rewards = [
        v for s in fake.distributions() if s["metric"] == "tau2.task.reward" for v in values(s)
    ]
    assert len(rewards) == trials
    turn_values = [
        v for s in fake.distributions() if s["metric"] == "tau2.turn.duration" for v in values(s)
    ]
    assert len(turn_values) == trials * 3


def test_a_file_older_than_an_hour_is_refused_unless_at_now(
    fake: FakeMetricsApi,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    path = write(synthetic_run(4, ended=datetime.now(UTC) - timedelta(hours=3)), tmp_path)
    code, _out, err = push(fake, monkeypatch, capsys, str(path))
    assert code == 1
    assert str(path) in err
    assert "--at-now" in err
    assert "1 hour" in err
    assert fake.attempts() == 0  # nothing sent, not even the fresh parts

    before = int(time.time())
    code, _out, err = push(fake, monkeypatch, capsys, str(path), "--at-now")
    assert code == 0, err
    stamps = {p["timestamp"] for s in fake.series() for p in s["points"]}
    stamps |= {int(p[0]) for s in fake.distributions() for p in s["points"]}
    assert min(stamps) >= before
    assert max(stamps) <= time.time()


def test_a_file_from_the_future_is_refused(
    fake: FakeMetricsApi,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    path = write(synthetic_run(2, ended=datetime.now(UTC) + timedelta(hours=1)), tmp_path)
    code, _out, err = push(fake, monkeypatch, capsys, str(path))
    assert code == 1
    assert str(path) in err
    assert "future" in err
    assert "--at-now" in err
    assert fake.attempts() == 0


def test_several_files_go_in_one_push_with_their_own_tags(
    fake: FakeMetricsApi,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    first = write(synthetic_run(3), tmp_path, "a.json")
    other = synthetic_run(5)
    other = replace(other, agent=replace(other.agent, name="other-agent"))
    second = write(other, tmp_path, "b.json")
    code, _out, err = push(fake, monkeypatch, capsys, str(first), str(second), DD_ENV="staging",
                           OTEL_SERVICE_NAME="bench")  # fmt: skip
    assert code == 0, err
    per_agent: Counter[str] = Counter()
    for s in fake.series():
        tags = tags_of(s)
        assert tags["env"] == "staging"
        assert tags["service"] == "bench"
        if s["metric"] == "tau2.task.trials":
            per_agent[tags["gen_ai.agent.name"]] += int(sum(values(s)))
    assert per_agent == {"sample-agent": 3, "other-agent": 5}


# --- failures ----------------------------------------------------------------------------


def test_no_api_key_is_a_clear_error(
    fake: FakeMetricsApi,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    path = write(synthetic_run(1), tmp_path)
    code, _out, err = push(fake, monkeypatch, capsys, str(path), key=None)
    assert code == 2
    assert "DD_API_KEY" in err
    assert "not set" in err
    assert "--dry-run" in err
    assert fake.attempts() == 0


def test_a_wrong_api_key_is_named_and_never_shown(
    fake: FakeMetricsApi,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    path = write(synthetic_run(1), tmp_path)
    code, _out, err = push(fake, monkeypatch, capsys, str(path), key=WRONG_KEY)
    assert code == 1
    assert "403" in err
    assert "refused the API key" in err
    assert "DD_API_KEY" in err
    assert fake.attempts() == 1  # a bad key is not retried


@pytest.mark.parametrize(
    ("setting", "value"),
    [("DD_SITE", "not a site"), ("DD_HOST", "api.datadoghq.com"), ("DD_HOST", "ftp://x")],
)
def test_bad_site_or_host_is_a_usage_error(
    fake: FakeMetricsApi,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    setting: str,
    value: str,
) -> None:
    path = write(synthetic_run(1), tmp_path)
    code, _out, err = push(fake, monkeypatch, capsys, str(path), **{setting: value})
    assert code == 2
    assert setting in err
    assert value in err


def test_payload_too_large_is_explained(
    fake: FakeMetricsApi,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    fake.fail_next("/api/v2/series", 413, "Payload too large")
    path = write(synthetic_run(2), tmp_path)
    code, _out, err = push(fake, monkeypatch, capsys, str(path))
    assert code == 1
    assert "413" in err
    assert "too large" in err
    assert "bytes" in err


def test_unreachable_host_is_explained(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with FakeMetricsApi() as gone:
        url = gone.url  # a port that was just closed
    path = write(synthetic_run(1), tmp_path)
    code, _out, err = push(gone, monkeypatch, capsys, str(path), DD_HOST=url)
    assert code == 1
    assert "cannot reach Datadog at" in err
    assert url in err


def test_a_file_that_is_not_a_results_file_is_named(
    fake: FakeMetricsApi,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    missing = tmp_path / "missing.json"
    code, _out, err = push(fake, monkeypatch, capsys, str(missing))
    assert code == 1
    assert str(missing) in err
    run = synthetic_run(2)
    broken = write(replace(run, tasks=run.tasks[:1]), tmp_path, "broken.json")
    code, _out, err = push(fake, monkeypatch, capsys, str(broken))
    assert code == 1
    assert str(broken) in err
    assert "task_1" in err
    assert fake.attempts() == 0
