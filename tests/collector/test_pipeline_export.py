"""The whole pipeline as docker-compose wires it, as processes on loopback: a sample
purple agent, the sidecar in front of it and a tau2 evaluation through the sidecar, all
exporting OTLP to the real collector, which ships to the (fake) Datadog intake."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests.collector.conftest import (
    RunningCollector,
    free_port,
    start_collector,
    wait_until_serving,
)
from tests.fakes.datadog_intake import IntakeRecord

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]

CLI = [sys.executable, "-m", "evaluator.cli"]
AUTH_TOKEN = "sk-agent-token-3fJ8qLw2Xc9Rv6Tb"  # given to the evaluator; must go nowhere
EVALUATION_TIMEOUT = 600.0
WAIT = 90.0


def otel_env(collector: RunningCollector, service: str) -> dict[str, str]:
    return {
        **os.environ,
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://{collector.otlp_grpc}",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
        "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE": "delta",
        "OTEL_SERVICE_NAME": service,
        "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment.name=collector-test",
    }


@contextlib.asynccontextmanager
async def serve(
    args: list[str], env: dict[str, str], ready_url: str, log: Path
) -> AsyncIterator[None]:
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            *CLI, *args, env=env, stdout=out, stderr=asyncio.subprocess.STDOUT
        )
    try:
        await wait_until_serving(process, ready_url, log)
        yield
    finally:
        if process.returncode is None:
            process.terminate()  # the sidecar flushes its telemetry on SIGTERM
            try:
                await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                process.kill()
                await process.wait()


def _arrived(record: IntakeRecord) -> bool:
    services = {s.get("service") for s in record.spans()}
    return (
        {"test-proxy", "test-evaluator"} <= services
        # Stats come in 10 s buckets: wait for the one with the sidecar's message exchanges.
        and any(
            g.get("Service") == "test-proxy" and g.get("Resource") == "SendMessage"
            for g in record.stats_groups()
        )
        and any(s.get("metric") == "tau2.task.trials" for s in record.series())
        and any(s.get("metric") == "tau2.task.reward" for s in record.sketches())
    )


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def delivered(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningCollector]:
    tmp = tmp_path_factory.mktemp("pipeline")
    agent_port, proxy_port = free_port(), free_port()
    async with start_collector(tmp) as collector:
        agent_args = ["agent", "oracle", "--host", "127.0.0.1", "--port", str(agent_port)]
        proxy_args = [
            "proxy",
            "--listen",
            f"127.0.0.1:{proxy_port}",
            "--upstream",
            f"http://127.0.0.1:{agent_port}",
        ]
        card = "/.well-known/agent-card.json"
        async with (
            serve(
                agent_args,
                otel_env(collector, "test-agent"),
                f"http://127.0.0.1:{agent_port}{card}",
                tmp / "agent.log",
            ),
            serve(
                proxy_args,
                otel_env(collector, "test-proxy"),
                f"http://127.0.0.1:{proxy_port}{card}",
                tmp / "proxy.log",
            ),
        ):
            evaluation = await asyncio.create_subprocess_exec(
                *CLI,
                "eval",
                "--domain",
                "mock",
                "--num-tasks",
                "2",
                "--agent-a2a-endpoint",
                f"http://127.0.0.1:{proxy_port}",
                "--agent-a2a-auth-token",
                AUTH_TOKEN,
                "--no-proxy",
                "--user",
                "scripted",
                "--quiet",
                "--save-to",
                str(tmp / "results.json"),
                env=otel_env(collector, "test-evaluator"),
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
            output, _ = await asyncio.wait_for(evaluation.communicate(), EVALUATION_TIMEOUT)
            assert evaluation.returncode == 0, output.decode(errors="replace")[-3000:]
        # The sidecar has stopped and flushed; the collector batches, then ships.
        arrived = await collector.intake.wait_for(_arrived, WAIT)
        record = collector.intake.record
        assert arrived, (
            f"paths seen: {sorted({r.path for r in record.accepted})}, "
            f"services: {sorted({str(s.get('service')) for s in record.spans()})}, "
            f"rejected: {record.rejected}\n{collector.log_text()[-3000:]}"
        )
        yield collector


async def test_sidecar_and_evaluator_spans_share_the_task_trace(
    delivered: RunningCollector,
) -> None:
    spans = list(delivered.intake.record.spans())
    exchanges = [
        s
        for s in spans
        if s.get("service") == "test-proxy" and s.get("meta", {}).get("a2a.method.name")
    ]
    assert exchanges
    assert {s["meta"]["a2a.method.name"] for s in exchanges} >= {"SendMessage"}
    tasks = [
        s
        for s in spans
        if s.get("service") == "test-evaluator" and "tau2.reward" in s.get("metrics", {})
    ]
    assert len(tasks) == 2  # one root span per task trial, carrying its reward
    assert all(t["meta"].get("gen_ai.conversation.id") for t in tasks)
    # Every message exchange continues the evaluator's task trace (the agent card fetch,
    # before any task, has a trace of its own).
    task_traces = {t["traceID"] for t in tasks}
    messages = [s for s in exchanges if s["meta"]["a2a.method.name"] == "SendMessage"]
    assert {s["traceID"] for s in messages} == task_traces


async def test_apm_stats_cover_the_sidecar(delivered: RunningCollector) -> None:
    groups = [g for g in delivered.intake.record.stats_groups() if g.get("Service") == "test-proxy"]
    assert sum(g["Hits"] for g in groups) >= 2
    # APM resources are A2A methods (resource.name), not one "POST" for every method.
    server = {g["Resource"] for g in groups if g.get("SpanKind") == "server"}
    assert "SendMessage" in server
    assert "POST" not in server


async def test_evaluation_metrics_reach_datadog(delivered: RunningCollector) -> None:
    record = delivered.intake.record
    trials = [s for s in record.series() if s.get("metric") == "tau2.task.trials"]
    assert sum(p.get("value", 0) for s in trials for p in s["points"]) == 2
    assert all("tau2.domain:mock" in s["tags"] for s in trials)
    rewards = [s for s in record.sketches() if s.get("metric") == "tau2.task.reward"]
    assert sum(int(d["cnt"]) for s in rewards for d in s["dogsketches"]) == 2


async def test_the_auth_token_reaches_no_payload(delivered: RunningCollector) -> None:
    record = delivered.intake.record
    assert not record.rejected, record.rejected
    for path, body in record.bodies():
        assert AUTH_TOKEN.encode() not in body, path
