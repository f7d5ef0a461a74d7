"""The Ray executor on a real two-node Ray cluster, on loopback only.

One cluster for the module (a head and a second node, each with its own ports and one
CPU), started with ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`` in the environment of every
Ray process so that none of them leaves 127.0.0.1 (without it Ray swaps 127.0.0.1 for
the machine's routable address).
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'tau2observe[ray]'")

import psutil  # noqa: E402  (shipped with ray)
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (  # noqa: E402
    InMemorySpanExporter,
)

from evaluator.agents import AgentSettings, RunningAgent, serve_in_thread  # noqa: E402
from evaluator.config import EvalConfig  # noqa: E402
from evaluator.executors.ray import RaySettings, ray_executor  # noqa: E402
from evaluator.results import RunResult  # noqa: E402
from evaluator.runner import run_evaluation  # noqa: E402
from proxy.telemetry import TelemetrySettings, build_telemetry  # noqa: E402
from tests.evaluator.a2a_servers import ScriptedCore, serve_agent  # noqa: E402
from tests.evaluator.executors.otlp_files import otlp_spans  # noqa: E402

pytestmark = pytest.mark.slow

LOOPBACK_ONLY = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    from ray._private import ray_constants
    from ray.cluster_utils import Cluster

    # set by this folder's conftest before Ray was imported; inherited by every Ray process
    assert os.environ.get(LOOPBACK_ONLY) == "0"
    assert not ray_constants.ENABLE_RAY_CLUSTER
    nodes: Any = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 1, "include_dashboard": False},
    )
    try:
        nodes.add_node(num_cpus=1)
        nodes.wait_for_nodes()
        ray.init(address=nodes.address, log_to_driver=False)
        yield nodes
    finally:
        ray.shutdown()
        nodes.shutdown()


@pytest.fixture(scope="module")
def oracle() -> Iterator[RunningAgent]:
    with serve_in_thread(AgentSettings(kind="oracle")) as running:
        yield running


def evaluate(config: EvalConfig, settings: RaySettings | None = None, **kwargs: Any) -> RunResult:
    telemetry = build_telemetry(TelemetrySettings(service_name="test-driver"))
    try:
        factory = ray_executor(settings) if settings is not None else None
        return run_evaluation(config, telemetry, executor=factory, **kwargs)
    finally:
        telemetry.shutdown()


@dataclass
class RayRun:
    local: RunResult
    ray: RunResult
    spans_by_file: dict[Path, list[dict[str, Any]]]


@pytest.fixture(scope="module")
def ray_run(cluster: Any, oracle: RunningAgent, tmp_path_factory: pytest.TempPathFactory) -> RayRun:
    config = EvalConfig(
        domain="mock", agent_endpoint=oracle.url, num_tasks=3, num_trials=2, max_concurrency=2
    )
    trace_dir = tmp_path_factory.mktemp("spans")
    on_ray = evaluate(config, RaySettings(trace_file=trace_dir / "spans.jsonl"))
    local = evaluate(config)
    return RayRun(local, on_ray, {p: otlp_spans(p) for p in sorted(trace_dir.iterdir())})


def test_rewards_on_the_cluster_equal_the_local_run_trial_by_trial(ray_run: RayRun) -> None:
    def rewards(result: RunResult) -> dict[tuple[str, int], tuple[float, int]]:
        return {(t.task_id, t.trial): (t.reward, t.seed) for t in result.trials}

    assert len(ray_run.ray.trials) == 6
    assert rewards(ray_run.ray) == rewards(ray_run.local)
    assert all(t.reward == 1.0 for t in ray_run.ray.trials)
    assert ray_run.ray.status == "complete"
    assert ray_run.ray.summary.pass_hat_k == ray_run.local.summary.pass_hat_k


def test_each_trial_is_one_trace_written_by_the_worker_that_ran_it(ray_run: RayRun) -> None:
    workers = {p: s for p, s in ray_run.spans_by_file.items() if ".worker-" in p.name}
    assert workers, list(ray_run.spans_by_file)
    trace_ids = [t.trace_id for t in ray_run.ray.trials]
    assert len(set(trace_ids)) == len(trace_ids)  # one trace per trial
    for trial in ray_run.ray.trials:
        holders = [
            p for p, spans in workers.items() if any(s["traceId"] == trial.trace_id for s in spans)
        ]
        assert len(holders) == 1, (trial.task_id, trial.trial, holders)
        spans = [s for s in workers[holders[0]] if s["traceId"] == trial.trace_id]
        (root,) = [s for s in spans if s["name"].startswith("tau2.task ")]
        assert not root.get("parentSpanId")
        assert root["attrs"]["tau2.task.id"] == trial.task_id
        assert int(root["attrs"]["tau2.trial"]) == trial.trial
        ids = {s["spanId"] for s in spans}
        assert all(s["spanId"] == root["spanId"] or s.get("parentSpanId") in ids for s in spans)
        # the worker's own sidecar continued the trace: evaluator and proxy in one tree
        assert {s["service"] for s in spans} == {"tau2observe-evaluator", "tau2observe-proxy"}
        assert any(s["name"] == "SendMessage" for s in spans)
        assert {s["attrs"].get("tau2.run.id") for s in spans} == {ray_run.ray.run_id}


def test_every_ray_process_stays_on_loopback(ray_run: RayRun) -> None:
    me = psutil.Process()
    ray_processes = [p for p in me.children(recursive=True) if _is_ray(p)]
    names = {p.name() for p in ray_processes}
    assert {"gcs_server", "raylet"} <= names, names
    assert any(_cmdline(p).startswith("ray::") for p in ray_processes), names  # workers
    outside = []
    for process in [me, *ray_processes]:
        try:
            connections = process.net_connections(kind="inet")
        except psutil.NoSuchProcess:
            continue
        for c in connections:
            if any(a and not _loopback(a.ip) for a in (c.laddr, c.raddr)):
                outside.append(f"{_cmdline(process)[:60]} {c.status} {c.laddr} -> {c.raddr}")
    assert outside == []


def _loopback(ip: str) -> bool:
    address = ipaddress.ip_address(ip)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def _cmdline(process: psutil.Process) -> str:
    try:
        return " ".join(process.cmdline())
    except psutil.NoSuchProcess:
        return ""


def _is_ray(process: psutil.Process) -> bool:
    try:
        name = process.name()
    except psutil.NoSuchProcess:
        return False
    return name in ("gcs_server", "raylet") or "ray" in _cmdline(process)


def test_the_drivers_trace_context_travels_with_the_unit(
    cluster: Any, oracle: RunningAgent, tmp_path: Path
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    config = EvalConfig(domain="mock", agent_endpoint=oracle.url, num_tasks=1)
    with provider.get_tracer("test").start_as_current_span("green agent request") as parent:
        result = evaluate(config, RaySettings(trace_file=tmp_path / "spans.jsonl"))
    (trial,) = result.trials
    expected = f"{parent.get_span_context().trace_id:032x}"
    assert trial.trace_id == expected
    spans = [s for p in tmp_path.iterdir() if ".worker-" in p.name for s in otlp_spans(p)]
    (root,) = [s for s in spans if s["name"].startswith("tau2.task ")]
    assert root["parentSpanId"] == f"{parent.get_span_context().span_id:016x}"
    provider.shutdown()


def test_a_worker_killed_mid_trial_leaves_the_trial_not_scored_with_its_cause(
    cluster: Any,
) -> None:
    """With Ray's reruns off, the killed unit is recorded; the others still run."""
    first_turn = threading.Event()

    def answer(text: str, turn: int) -> str:
        first_turn.set()
        return "I cannot help with that."

    def kill_a_busy_worker() -> list[int]:
        first_turn.wait(timeout=120)
        busy = [
            p for p in psutil.Process().children(recursive=True) if "ray::run_unit" in _cmdline(p)
        ]
        for process in busy[:1]:
            process.kill()
        return [p.pid for p in busy[:1]]

    killed: list[list[int]] = []
    killer = threading.Thread(target=lambda: killed.append(kill_a_busy_worker()))
    with serve_agent(ScriptedCore(answer, delay_s=2.0)) as url:
        killer.start()
        config = EvalConfig(domain="mock", agent_endpoint=url, num_tasks=3, max_concurrency=2)
        result = evaluate(config, RaySettings(max_retries=0))
        killer.join(timeout=30)
    assert [len(pids) for pids in killed] == [1]
    lost = [t for t in result.trials if t.cause == "worker_lost"]
    assert len(lost) == 1
    assert lost[0].status == "not_scored"
    assert lost[0].error is not None
    assert "Ray worker running this trial was lost" in lost[0].error
    others = [t for t in result.trials if t not in lost]
    assert len(others) == 2
    assert all(t.status == "scored" for t in others)
    assert result.status == "incomplete"


def test_eval_with_executor_ray_streams_trials_to_the_results_file(
    cluster: Any, oracle: RunningAgent, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from evaluator.cli import main
    from evaluator.results import load_results

    args = ["eval", "--domain", "mock", "--agent-a2a-endpoint", oracle.url, "--num-tasks", "2"]
    args += ["--executor", "ray", "--save-to", str(tmp_path / "r.json")]
    args += ["--trace-file", str(tmp_path / "spans.jsonl")]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "[1/2] task " in err
    assert "[2/2] task " in err
    result = load_results(tmp_path / "r.json")
    assert [t.reward for t in result.trials] == [1.0, 1.0]
    assert any(".worker-" in p.name for p in tmp_path.iterdir())


def test_the_driver_stops_submitting_once_the_agent_stops_answering(cluster: Any) -> None:
    """As with the local executor: the agent dies after two trials, three more find it
    unreachable, and the trials never submitted are recorded as not run."""
    seen: list[Any] = []
    with contextlib.ExitStack() as stack:
        agent = stack.enter_context(serve_in_thread(AgentSettings(kind="oracle")))
        config = EvalConfig(domain="mock", agent_endpoint=agent.url, max_concurrency=1)

        def on_trial(trial: Any) -> None:
            seen.append(trial)
            if len(seen) == 2:
                stack.close()  # the agent goes away

        result = evaluate(config, RaySettings(), on_trial=on_trial)
    statuses = [t.status for t in result.trials]
    assert statuses == ["scored"] * 5 + ["not_run"] * 4
    assert [t.cause for t in result.trials[2:5]] == ["agent_unreachable"] * 3
    assert {t.cause for t in result.trials[5:]} == {"agent_stopped_answering"}
    assert result.status == "stopped"
