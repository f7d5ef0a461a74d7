"""The real collector (build/otelcol-tau2, from `make collector`) against a fake intake.

``collector`` starts the binary with otel-collector.yaml, its receivers and extensions
on free loopback ports and its Datadog endpoints pointed at a recording
:class:`~tests.fakes.datadog_intake.DatadogIntake`, and yields where to send OTLP and
what arrived. Any sender can use it: the OTel SDK directly, or the sidecar and the
evaluator configured with ``OTEL_EXPORTER_OTLP_ENDPOINT``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from tests.fakes.datadog_intake import API_KEY, DatadogIntake

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "otel-collector.yaml"
MANIFEST = REPO / "collector" / "manifest.yaml"
BINARY = REPO / "build" / "otelcol-tau2"
# Lets the datadog exporter compute APM stats (see otel-collector.yaml).
APM_STATS_GATE = "--feature-gates=-exporter.datadogexporter.DisableAPMStats"
# A well-formed key: the exporter rejects keys that are not 32 hex characters.
DUMMY_API_KEY = "0" * 32
STARTUP_TIMEOUT = 60.0
# The datadog exporter looks for a host name by asking every cloud metadata service
# (EC2, GCP, Azure at 169.254.169.254) at once, even when `hostname` is set. Tests keep
# all traffic on loopback: these turn EC2 off and send the others to a closed local port.
NO_CLOUD_PROBES = {
    "AWS_EC2_METADATA_DISABLED": "true",
    "GCE_METADATA_HOST": "127.0.0.1:9",
    "HTTP_PROXY": "http://127.0.0.1:9",
    "http_proxy": "http://127.0.0.1:9",
}


def collector_binary() -> Path:
    """The built collector. Under `make test` (or CI) a missing binary is a failure."""
    if BINARY.exists():
        return BINARY
    message = f"{BINARY.relative_to(REPO)} is missing: `make collector` builds it"
    if os.environ.get("TAU2OBSERVE_REQUIRE_COLLECTOR") or os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def run_collector(
    *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the collector binary to completion (validate, components, ...)."""
    return subprocess.run(
        [str(collector_binary()), *args],
        env={**os.environ, "DD_API_KEY": DUMMY_API_KEY, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@dataclass(frozen=True)
class RunningCollector:
    otlp_grpc: str  # host:port, for gRPC exporters (insecure)
    otlp_http: str  # base URL, for OTLP/HTTP exporters
    health: str
    intake: DatadogIntake
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-4000:]


async def wait_until_serving(process: asyncio.subprocess.Process, url: str, log: Path) -> None:
    """Poll ``url`` until it answers 200; fail with the process's log if it exits or times out."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STARTUP_TIMEOUT
    async with aiohttp.ClientSession() as session:
        while loop.time() < deadline:
            if process.returncode is not None:
                pytest.fail(f"{url}: the process exited with {process.returncode}:\n{_tail(log)}")
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(url) as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.2)
    pytest.fail(f"nothing served at {url} after {STARTUP_TIMEOUT}s:\n{_tail(log)}")


@contextlib.asynccontextmanager
async def start_collector(
    tmp_path: Path, extra_env: dict[str, str] | None = None
) -> AsyncIterator[RunningCollector]:
    """The collector and its fake intake, torn down (and flushed) on exit."""
    binary = collector_binary()
    intake = DatadogIntake(API_KEY)
    await intake.start()
    grpc_port, http_port, health_port = free_port(), free_port(), free_port()
    intake_host = intake.url.removeprefix("http://")
    env = {
        **os.environ,
        **NO_CLOUD_PROBES,
        # The Datadog forwarder matches NO_PROXY against host:port.
        **dict.fromkeys(("NO_PROXY", "no_proxy"), f"127.0.0.1,localhost,{intake_host}"),
        "DD_API_KEY": intake.api_key,
        "DD_TRACES_ENDPOINT": intake.url,
        "DD_METRICS_ENDPOINT": intake.url,
        "COLLECTOR_OTLP_GRPC_ENDPOINT": f"127.0.0.1:{grpc_port}",
        "COLLECTOR_OTLP_HTTP_ENDPOINT": f"127.0.0.1:{http_port}",
        "COLLECTOR_HEALTH_ENDPOINT": f"127.0.0.1:{health_port}",
        "COLLECTOR_PROMETHEUS_ENDPOINT": f"127.0.0.1:{free_port()}",
        "COLLECTOR_TELEMETRY_HOST": "127.0.0.1",
        "COLLECTOR_TELEMETRY_PORT": str(free_port()),
        **(extra_env or {}),
    }
    log = tmp_path / "collector.log"
    with log.open("wb") as log_file:
        process = await asyncio.create_subprocess_exec(
            str(binary),
            "--config",
            str(CONFIG),
            APM_STATS_GATE,
            env=env,
            stdout=log_file,
            stderr=asyncio.subprocess.STDOUT,
        )
    health = f"http://127.0.0.1:{health_port}/"
    try:
        await wait_until_serving(process, health, log)
        yield RunningCollector(
            otlp_grpc=f"127.0.0.1:{grpc_port}",
            otlp_http=f"http://127.0.0.1:{http_port}",
            health=health,
            intake=intake,
            log=log,
        )
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                process.kill()
                await process.wait()
        await intake.stop()


@pytest.fixture
async def collector(tmp_path: Path) -> AsyncIterator[RunningCollector]:
    async with start_collector(tmp_path) as running:
        yield running
