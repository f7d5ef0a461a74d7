from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import web
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from proxy.server import RunningProxy, start_proxy
from proxy.settings import ProxySettings, Route
from proxy.telemetry import Telemetry, TelemetrySettings, build_telemetry
from tests.proxy.peers import GATES, a2a_agent_app, raw_upstream_app, serve_aiohttp, serve_asgi


@dataclass
class Recorded:
    """In-memory telemetry with helpers to read what the sidecar recorded."""

    telemetry: Telemetry
    spans_exporter: InMemorySpanExporter
    metrics_reader: InMemoryMetricReader

    def spans(self) -> list[ReadableSpan]:
        self.telemetry.tracer_provider.force_flush()
        return list(self.spans_exporter.get_finished_spans())

    def server_spans(self) -> list[ReadableSpan]:
        from opentelemetry.trace import SpanKind

        return [s for s in self.spans() if s.kind is SpanKind.SERVER]

    def metric_points(self, name: str) -> list[Any]:
        return metric_points(self.metrics_reader, name)


def metric_points(reader: InMemoryMetricReader, name: str) -> list[Any]:
    """Data points of one metric collected by an in-memory reader."""
    data = reader.get_metrics_data()
    if data is None:
        return []
    return [
        point
        for rm in data.resource_metrics
        for sm in rm.scope_metrics
        for metric in sm.metrics
        if metric.name == name
        for point in metric.data.data_points
    ]


@pytest.fixture
def recorded() -> Iterator[Recorded]:
    exporter = InMemorySpanExporter()
    reader = InMemoryMetricReader()
    telemetry = build_telemetry(
        TelemetrySettings(service_name="tau2observe-proxy-test", span_schedule_delay_ms=50),
        extra_span_exporters=[exporter],
        extra_metric_readers=[reader],
    )
    yield Recorded(telemetry, exporter, reader)
    telemetry.shutdown()


@pytest.fixture
async def agent_url() -> AsyncIterator[str]:
    async with serve_asgi(a2a_agent_app) as url:
        yield url


@dataclass
class RawUpstream:
    url: str
    app: web.Application

    def gate(self, key: str) -> asyncio.Event:
        gates: dict[str, asyncio.Event] = self.app[GATES]
        return gates.setdefault(key, asyncio.Event())


@pytest.fixture
async def raw() -> AsyncIterator[RawUpstream]:
    app = raw_upstream_app()
    async with serve_aiohttp(app) as url:
        yield RawUpstream(url, app)


ProxyFactory = Callable[..., Awaitable[RunningProxy]]


@pytest.fixture
async def start(recorded: Recorded) -> AsyncIterator[ProxyFactory]:
    """Start a sidecar: ``await start(upstream_url, **settings)`` or ``start(routes=(...))``."""
    running: list[RunningProxy] = []

    async def factory(upstream: str | None = None, **overrides: Any) -> RunningProxy:
        routes = overrides.pop("routes", None) or (
            Route(name="agent", prefix="/", upstream=upstream or ""),
        )
        settings = ProxySettings(listen_port=0, routes=routes, **overrides)
        proxy = await start_proxy(settings, recorded.telemetry)
        running.append(proxy)
        return proxy

    yield factory
    for proxy in running:
        await proxy.stop()
