"""The recorder, with no network: spans from exchanges, recorded after the request."""

from __future__ import annotations

import asyncio
import logging

import pytest

from proxy.jsonrpc import RequestView
from proxy.recorder import BoundedTag, Recorder
from proxy.settings import ProxySettings, Route
from tests.proxy.conftest import Recorded
from tests.proxy.test_exchange import _exchange

ROUTES = (Route(name="agent", prefix="/", upstream="http://127.0.0.1:9"),)


def _recorder(recorded: Recorded, **overrides: object) -> Recorder:
    settings = ProxySettings(routes=ROUTES, **overrides)  # type: ignore[arg-type]
    telemetry = recorded.telemetry
    return Recorder(settings, telemetry.tracer_provider, telemetry.meter_provider)


async def test_a_submitted_exchange_is_recorded_after_the_request(recorded: Recorded) -> None:
    recorder = _recorder(recorded)
    ex = _exchange()
    ex.request = RequestView(wire_method="SendMessage", request_id="1", context_id="c-1")
    turn = recorder.begin(ex, {})
    assert turn.traceparent["traceparent"].startswith("00-")
    ex.delivery.status, ex.delivery.end_ns = 200, 2_000_000
    recorder.submit(turn)
    assert recorded.spans() == []  # nothing recorded on the request path
    await asyncio.sleep(0)
    names = sorted((s.name, s.kind.name) for s in recorded.spans())
    assert names == [("SendMessage", "CLIENT"), ("SendMessage", "SERVER")]
    server = next(s for s in recorded.spans() if s.kind.name == "SERVER")
    assert (server.start_time, server.end_time) == (1_000_000, 2_000_000)
    assert (server.attributes or {})["gen_ai.conversation.id"] == "c-1"


async def test_deferred_reads_run_before_the_spans_are_finished(recorded: Recorded) -> None:
    recorder = _recorder(recorded)
    ex = _exchange()
    turn = recorder.begin(ex, {})

    def read() -> None:
        ex.response.task_state = "TASK_STATE_COMPLETED"

    def broken() -> None:
        raise RecursionError

    turn.deferred += [read, broken]
    recorder.submit(turn)
    await asyncio.sleep(0)
    [server] = recorded.server_spans()
    attrs = server.attributes or {}
    assert attrs["a2a.task.state"] == "TASK_STATE_COMPLETED"
    assert attrs["a2a.proxy.telemetry_error"] == "response: RecursionError"


async def test_a_full_queue_drops_and_counts(
    recorded: Recorded, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="tau2observe.proxy")
    recorder = _recorder(recorded, record_queue_max=2)
    for _ in range(5):
        recorder.submit(recorder.begin(_exchange(), {}))
    assert recorder.dropped == 3
    await asyncio.sleep(0)
    assert len(recorded.server_spans()) == 2
    assert sum("recording is behind" in r.getMessage() for r in caplog.records) == 1


async def test_a_batch_at_a_time_and_close_records_the_rest(recorded: Recorded) -> None:
    recorder = _recorder(recorded)
    for _ in range(70):
        recorder.submit(recorder.begin(_exchange(), {}))
    await asyncio.sleep(0)  # one loop turn: one batch of 8, then other callbacks run
    assert len(recorded.server_spans()) == 8
    recorder.close()
    assert len(recorded.server_spans()) == 70


async def test_without_consumers_nothing_is_built_but_the_access_log(
    recorded: Recorded, caplog: pytest.LogCaptureFixture
) -> None:
    settings = ProxySettings(routes=ROUTES)
    telemetry = recorded.telemetry
    quiet = Recorder(
        settings, telemetry.tracer_provider, telemetry.meter_provider, spans=False, metrics=False
    )
    assert not quiet.reads_responses  # the response copy would go nowhere: it is not read
    ex = _exchange()
    ex.request = RequestView(wire_method="SendMessage", request_id="1", context_id="c-1")
    turn = quiet.begin(ex, {})
    assert turn.traceparent == {}  # the client's context goes upstream as it came
    ex.delivery.status, ex.delivery.end_ns = 200, 2_000_000
    quiet.submit(turn)
    await asyncio.sleep(0)
    assert recorded.spans() == []
    assert recorded.metric_points("a2a.proxy.requests") == []

    logged = Recorder(
        ProxySettings(routes=ROUTES, access_log=True),
        telemetry.tracer_provider,
        telemetry.meter_provider,
        spans=False,
        metrics=False,
    )
    assert logged.reads_responses
    with caplog.at_level(logging.INFO, logger="tau2observe.proxy.access"):
        logged.finish(logged.begin(ex, {}))
    assert any("SendMessage -> 200" in r.getMessage() for r in caplog.records)


def test_tool_names_as_a_metric_tag_are_bounded_and_well_formed() -> None:
    names = BoundedTag(capacity=2)
    assert names.tag("book_flight") == "book_flight"
    assert names.tag("cancel") == "cancel"
    assert names.tag("third_tool") == BoundedTag.OTHER  # over the capacity
    assert names.tag("book_flight") == "book_flight"  # a kept name stays kept
    assert BoundedTag(8).tag("x" * 65) == BoundedTag.OTHER
    assert BoundedTag(8).tag("drop table;\n") == BoundedTag.OTHER
    assert BoundedTag(8).tag(None) == BoundedTag.UNKNOWN
