"""An OTLP endpoint that is down costs one warning, not tracebacks and a slow shutdown.

The OTLP exporters retry a refused connection with back-off for up to their timeout on
every batch, log each retry, and do the same again in the final flush: a demo pointed at
a collector that is not running took 20 s longer and printed pages of gRPC errors. A
:class:`Reachability` probe (a TCP connect, at most every ``RECHECK_S``) lets the
wrapped exporters skip a batch at once while the endpoint refuses connections; they
say so once, and once more when it answers again. Skipped batches are dropped, as a
failed export's would be.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, MetricsData
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

log = logging.getLogger("proxy.telemetry")

RECHECK_S = 10.0
CONNECT_TIMEOUT_S = 0.5
DEFAULT_PORTS = {"grpc": 4317, "http/protobuf": 4318}
# The exporters' own logs of each retry and failure: our one line replaces them.
EXPORTER_LOGGERS = (
    "opentelemetry.exporter.otlp.proto.grpc.exporter",
    "opentelemetry.exporter.otlp.proto.http.trace_exporter",
    "opentelemetry.exporter.otlp.proto.http.metric_exporter",
    "opentelemetry.exporter.otlp.proto.http._common",
)


def endpoint_address(url: str | None, protocol: str) -> tuple[str, int]:
    """(host, port) of an OTLP endpoint URL (``localhost`` and the protocol's port if unset)."""
    default = DEFAULT_PORTS.get(protocol, 4317)
    if not url:
        return "localhost", default
    parts = urlsplit(url if "://" in url else f"http://{url}")
    return parts.hostname or "localhost", parts.port or default


def signal_endpoint(env: Mapping[str, str], signal: str) -> str | None:
    """The endpoint the SDK's exporter for ``signal`` (traces, metrics) will use."""
    return env.get(f"OTEL_EXPORTER_OTLP_{signal.upper()}_ENDPOINT") or env.get(
        "OTEL_EXPORTER_OTLP_ENDPOINT"
    )


class Reachability:
    """Whether a TCP endpoint accepts connections, probed at most every ``recheck_s``."""

    def __init__(self, host: str, port: int, *, recheck_s: float = RECHECK_S) -> None:
        self.address = (host, port)
        self._recheck_s = recheck_s
        self._lock = threading.Lock()
        self._checked_at = float("-inf")
        self._up = True

    @property
    def label(self) -> str:
        return f"{self.address[0]}:{self.address[1]}"

    def up(self) -> bool:
        with self._lock:
            now = time.monotonic()
            if now - self._checked_at < self._recheck_s:
                return self._up
            self._checked_at = now
            was = self._up
            self._up = _accepts(self.address)
            if was and not self._up:
                log.warning(
                    "OTLP endpoint %s is not reachable: telemetry sent there is dropped "
                    "until it answers (checked every %g s)",
                    self.label,
                    self._recheck_s,
                )
            elif self._up and not was:
                log.warning("OTLP endpoint %s answers again", self.label)
            return self._up


def _accepts(address: tuple[str, int]) -> bool:
    try:
        with socket.create_connection(address, timeout=CONNECT_TIMEOUT_S):
            return True
    except OSError:
        return False


class ReachableSpanExporter(SpanExporter):
    def __init__(self, inner: SpanExporter, reach: Reachability) -> None:
        self.inner = inner
        self.reach = reach

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if not self.reach.up():
            return SpanExportResult.FAILURE
        return self.inner.export(spans)

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self.inner.force_flush(timeout_millis) if self.reach.up() else True


class ReachableMetricExporter(MetricExporter):
    def __init__(self, inner: MetricExporter, reach: Reachability) -> None:
        super().__init__(
            preferred_temporality=inner._preferred_temporality,
            preferred_aggregation=inner._preferred_aggregation,
        )
        self.inner = inner
        self.reach = reach

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> MetricExportResult:
        if not self.reach.up():
            return MetricExportResult.FAILURE
        return self.inner.export(metrics_data, timeout_millis=timeout_millis, **kwargs)

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return self.inner.force_flush(timeout_millis) if self.reach.up() else True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        self.inner.shutdown(timeout_millis=timeout_millis, **kwargs)


def quiet_exporter_logs() -> None:
    """The exporters' per-retry lines go; a failure that is not a refused connection
    still reaches the log at ERROR."""
    for name in EXPORTER_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)


def reachability_for(
    signal: str, protocol: str, env: Mapping[str, str] | None = None
) -> Reachability:
    host, port = endpoint_address(signal_endpoint(env or os.environ, signal), protocol)
    return Reachability(host, port)
