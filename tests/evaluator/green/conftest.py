"""A green agent and sample purple agents on loopback, with spans kept in memory."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from evaluator.agents import AgentSettings, RunningAgent, serve_in_thread
from evaluator.green.evaluations import EvaluationSettings
from evaluator.green.server import GreenSettings, RunningGreen
from evaluator.green.server import serve_in_thread as serve_green
from proxy.telemetry import Telemetry, TelemetrySettings, build_telemetry


@pytest.fixture(scope="module")
def oracle() -> Iterator[RunningAgent]:
    with serve_in_thread(AgentSettings(kind="oracle")) as running:
        yield running


@pytest.fixture
def spans() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def telemetry(spans: InMemorySpanExporter) -> Iterator[Telemetry]:
    built = build_telemetry(
        TelemetrySettings(service_name="test-green"), extra_span_exporters=[spans]
    )
    yield built
    built.shutdown()


GreenFactory = Callable[..., AbstractContextManager[RunningGreen]]


@pytest.fixture
def green_server(tmp_path: Path, telemetry: Telemetry) -> GreenFactory:
    """``with green_server(max_running=1, ...) as running:`` a green agent on loopback."""

    @contextmanager
    def start(
        *, data_dir: Path | None = None, auth_token: str | None = None, llm: str | None = None,
        llm_args: dict[str, Any] | None = None, **evaluation: Any,
    ) -> Iterator[RunningGreen]:  # fmt: skip
        settings = GreenSettings(
            evaluation=EvaluationSettings(
                data_dir=data_dir or tmp_path / "green", **{"trial_concurrency": 2, **evaluation}
            ),
            port=0,
            auth_token=auth_token,
            llm=llm,
            llm_args=llm_args or {},
        )
        with serve_green(settings, telemetry) as running:
            yield running

    return start
