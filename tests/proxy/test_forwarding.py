"""Transparency and faults, with raw HTTP against a programmable upstream."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import io
import json
import logging
from typing import Any

import aiohttp
import pytest
from opentelemetry.trace import StatusCode

from proxy.server import start_proxy
from proxy.settings import ProxySettings, Route
from proxy.telemetry import TelemetrySettings, build_telemetry
from tests.proxy.conftest import ProxyFactory, RawUpstream, Recorded
from tests.proxy.peers import CANCELLED, STARTED, free_port


def _attrs(span: Any) -> dict[str, Any]:
    return dict(span.attributes or {})


def _session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(auto_decompress=False)


async def test_end_to_end_headers_pass_and_hop_by_hop_do_not(
    raw: RawUpstream, start: ProxyFactory
) -> None:
    proxy = await start(raw.url)
    sent = {
        "Authorization": "Bearer sk-test-credential-0001",
        "A2A-Version": "1.0",
        "A2A-Extensions": "https://example.com/ext/v1",
        "X-A2A-Extensions": "https://example.com/ext/v1",
        "Accept": "text/event-stream",
        "Cache-Control": "no-store",
        "X-Custom": "kept",
        "Connection": "keep-alive, X-Hop",
        "X-Hop": "dropped because Connection names it",
        "Keep-Alive": "timeout=5",
        "Proxy-Authorization": "Basic cHJveHk=",
        "TE": "trailers",
    }
    async with _session() as http:
        response = await http.post(
            proxy.base_url + "/mirror/a%2Fb/c?x=1&y=%20z", data=b"payload", headers=sent
        )
        echoed = await response.json()
    received = {k.lower(): v for k, v in echoed["headers"]}
    for key in (
        "authorization",
        "a2a-version",
        "a2a-extensions",
        "x-a2a-extensions",
        "accept",
        "cache-control",
        "x-custom",
    ):
        assert received[key] == sent[next(k for k in sent if k.lower() == key)]
    for key in ("x-hop", "keep-alive", "proxy-authorization", "te"):
        assert key not in received
    # Path and query arrive as the client encoded them.
    assert echoed["path"] == "/mirror/a%2Fb/c?x=1&y=%20z"
    assert bytes.fromhex(echoed["body_hex"]) == b"payload"
    # Response headers pass back, repeated ones included.
    assert response.headers.getall("Set-Cookie") == ["a=1", "b=2"]
    assert response.headers["X-Mirror"] == "1"


async def test_status_codes_pass_through(raw: RawUpstream, start: ProxyFactory) -> None:
    proxy = await start(raw.url)
    async with _session() as http:
        for status in (201, 204, 400, 404, 418, 500, 503):
            response = await http.get(f"{proxy.base_url}/mirror?status={status}")
            assert response.status == status
            await response.read()


async def test_traceparent_is_continued_and_sent_upstream(
    raw: RawUpstream, start: ProxyFactory, recorded: Recorded
) -> None:
    proxy = await start(raw.url)
    trace_id = "0af7651916cd43dd8448eb211c80319c"
    parent_id = "b7ad6b7169203331"
    async with _session() as http:
        response = await http.post(
            proxy.base_url + "/mirror",
            json={"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": {}},
            headers={"traceparent": f"00-{trace_id}-{parent_id}-01"},
        )
        upstream_saw = (await response.json())["traceparent"]
    [server] = recorded.server_spans()
    assert format(server.context.trace_id, "032x") == trace_id
    assert server.parent is not None
    assert format(server.parent.span_id, "016x") == parent_id
    client = next(
        s for s in recorded.spans() if s.parent and s.parent.span_id == server.context.span_id
    )
    assert upstream_saw == f"00-{trace_id}-{format(client.context.span_id, '016x')}-01"


async def test_traceparent_goes_upstream_without_one_from_the_client(
    raw: RawUpstream, start: ProxyFactory, recorded: Recorded
) -> None:
    proxy = await start(raw.url)
    async with _session() as http:
        response = await http.get(proxy.base_url + "/mirror")
        upstream_saw = (await response.json())["traceparent"]
    [server] = recorded.server_spans()
    assert upstream_saw.split("-")[1] == format(server.context.trace_id, "032x")


async def test_without_span_consumers_the_trace_context_passes_unchanged(
    raw: RawUpstream, caplog: pytest.LogCaptureFixture
) -> None:
    """No span processor: no span is built, and the agent sees the client's context as it
    came (or none), as through any proxy that records nothing. The access log still runs."""
    telemetry = build_telemetry(TelemetrySettings(service_name="no-consumers"))
    assert not telemetry.records_spans
    assert not telemetry.records_metrics
    settings = ProxySettings(
        listen_port=0,
        routes=(Route(name="agent", prefix="/", upstream=raw.url),),
        access_log=True,
    )
    proxy = await start_proxy(settings, telemetry)
    sent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    try:
        with caplog.at_level(logging.INFO, logger="tau2observe.proxy.access"):
            async with _session() as http:
                with_context = await http.post(
                    proxy.base_url + "/mirror",
                    json={"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": {}},
                    headers={"traceparent": sent, "tracestate": "vendor=1"},
                )
                mirrored = await with_context.json()
                without = await http.get(proxy.base_url + "/mirror")
                mirrored_bare = await without.json()
            # the access log is written after the request
            await _until(
                lambda: any("SendMessage -> 200" in r.getMessage() for r in caplog.records)
            )
    finally:
        await proxy.stop()
        telemetry.shutdown()
    assert (mirrored["traceparent"], mirrored["tracestate"]) == (sent, "vendor=1")
    assert mirrored_bare["traceparent"] is None
    assert any("SendMessage -> 200" in r.getMessage() for r in caplog.records)


async def test_agent_card_urls_all_point_at_proxy(
    raw: RawUpstream, start: ProxyFactory, recorded: Recorded
) -> None:
    proxy = await start(routes=(Route(name="raw", prefix="/raw", upstream=raw.url),))
    public = proxy.url_for("raw").rstrip("/")
    async with _session() as http:
        for path in ("/.well-known/agent-card.json", "/.well-known/agent.json"):
            response = await http.get(public + path)
            body = await response.read()
            card = json.loads(body)
            assert card["url"] == f"{public}/a2a/v1"
            assert card["additionalInterfaces"][0]["url"] == f"{public}/a2a/v1"
            assert card["additionalInterfaces"][1]["url"] == "https://elsewhere.example/a2a"
            assert card["additionalInterfaces"][2]["url"] == "127.0.0.1:50051"
            assert card["supportedInterfaces"][0]["url"] == f"{public}/a2a/v1"  # localhost alias
            assert int(response.headers["Content-Length"]) == len(body)
            assert response.headers["Cache-Control"] == "max-age=60"
            etag = response.headers["ETag"]
            assert etag != '"upstream-v1"'
            again = await http.get(public + path, headers={"If-None-Match": etag})
            assert again.status == 304
            assert again.headers["ETag"] == etag
    span = next(s for s in recorded.server_spans() if s.name == "GetAgentCard")
    attrs = _attrs(span)
    assert attrs["a2a.proxy.card.rewritten_urls"] == 3
    assert attrs["a2a.proxy.card.foreign_urls"] == ("https://elsewhere.example/a2a",)
    assert attrs["a2a.proxy.card.signature_invalidated"] is True


async def test_extended_card_over_jsonrpc_is_rewritten(
    raw: RawUpstream, start: ProxyFactory
) -> None:
    proxy = await start(raw.url)
    async with _session() as http:
        response = await http.post(
            proxy.base_url + "/extended",
            json={"jsonrpc": "2.0", "id": 3, "method": "GetExtendedAgentCard"},
            headers={"A2A-Version": "1.0"},
        )
        body = await response.json()
    assert body["id"] == 3
    assert body["result"]["url"] == proxy.base_url + "/"
    assert body["result"]["supportedInterfaces"][0]["url"] == proxy.base_url + "/"


async def test_sse_is_relayed_byte_for_byte(
    raw: RawUpstream, start: ProxyFactory, recorded: Recorded
) -> None:
    proxy = await start(raw.url)
    async with _session() as http:
        direct = await (await http.post(raw.url + "/sse?count=5")).read()
        response = await http.post(
            proxy.base_url + "/sse?count=5",
            json={"jsonrpc": "2.0", "id": 1, "method": "SendStreamingMessage"},
        )
        proxied = await response.read()
        assert response.headers["X-Accel-Buffering"] == "no"
    assert proxied == direct
    assert b": ping" in proxied
    assert b"\r\n\r\n" in proxied
    [server] = recorded.server_spans()
    attrs = _attrs(server)
    assert attrs["a2a.proxy.sse.event_count"] == 5
    assert attrs["a2a.proxy.sse.comment_count"] == 1
    assert attrs["a2a.task.state"] == "TASK_STATE_COMPLETED"
    assert attrs["gen_ai.conversation.id"] == "c-sse"


async def test_sse_events_are_relayed_as_they_arrive(raw: RawUpstream, start: ProxyFactory) -> None:
    """The upstream holds its second event until the client has the first: a buffering
    proxy would never deliver the first, and the test would fail on the wait."""
    proxy = await start(raw.url)
    gate = raw.gate("relay")
    async with _session() as http:
        response = await http.get(proxy.base_url + "/sse-gated?key=relay")
        first = await asyncio.wait_for(response.content.readuntil(b"\n\n"), timeout=10)
        assert b"TASK_STATE_WORKING" in first
        assert not gate.is_set()
        gate.set()
        rest = await response.read()
    assert b"TASK_STATE_COMPLETED" in rest


async def test_stream_events_on_span_are_bounded(
    raw: RawUpstream, start: ProxyFactory, recorded: Recorded
) -> None:
    proxy = await start(raw.url, stream_events_head=4, stream_events_tail=3)
    async with _session() as http:
        await (await http.post(proxy.base_url + "/sse?count=50")).read()
    client = next(s for s in recorded.spans() if s.kind.name == "CLIENT")
    seqs = [e.attributes["a2a.stream.event.seq"] for e in client.events if e.attributes]
    assert seqs == [0, 1, 2, 3, 47, 48, 49]
    assert _attrs(client)["a2a.proxy.sse.events_dropped"] == 43


async def test_error_inside_stream_marks_span(
    raw: RawUpstream, start: ProxyFactory, recorded: Recorded
) -> None:
    proxy = await start(raw.url)
    async with _session() as http:
        await (
            await http.post(
                proxy.base_url + "/sse-error",
                json={"jsonrpc": "2.0", "id": 5, "method": "SubscribeToTask"},
            )
        ).read()
    [server] = recorded.server_spans()
    assert _attrs(server)["error.type"] == "-32001"
    assert _attrs(server)["a2a.proxy.error.reason"] == "TASK_NOT_FOUND"
    assert server.status.status_code is StatusCode.ERROR


async def test_gzip_response_is_forwarded_compressed_and_read(
    raw: RawUpstream, start: ProxyFactory, recorded: Recorded
) -> None:
    proxy = await start(raw.url)
    async with _session() as http:
        response = await http.post(
            proxy.base_url + "/gzip", json={"jsonrpc": "2.0", "id": 9, "method": "SendMessage"}
        )
        body = await response.read()
    assert response.headers["Content-Encoding"] == "gzip"
    assert json.loads(gzip.decompress(body))["id"] == 9
    assert _attrs(recorded.server_spans()[0])["gen_ai.conversation.id"] == "c-gz"


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b'{"jsonrpc": "2.0", "method": "SendMessage", ', "invalid_json"),
        (b'{"jsonrpc": "2.0", "method": "\xff\xfe"}', "invalid_utf8"),
        (b"[" * 200_000 + b"]" * 200_000, "too_deep"),
        (b'{"hello": "world"}', "not_jsonrpc"),
    ],
)
async def test_unreadable_bodies_are_forwarded_untouched(
    raw: RawUpstream, start: ProxyFactory, recorded: Recorded, body: bytes, problem: str
) -> None:
    proxy = await start(raw.url)
    async with _session() as http:
        response = await http.post(proxy.base_url + "/mirror", data=body)
        echoed = await response.json()
    assert echoed["body_sha256"] == hashlib.sha256(body).hexdigest()
    [server] = recorded.server_spans()
    assert _attrs(server)["a2a.proxy.request.parse_error"].startswith(problem)
    assert server.status.status_code is not StatusCode.ERROR


async def test_body_of_tens_of_megabytes_is_streamed_both_ways(
    raw: RawUpstream, start: ProxyFactory, recorded: Recorded
) -> None:
    proxy = await start(raw.url)
    body = (
        b'{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"file":"'
        + b"A" * (24 * 1024 * 1024)
        + b'"}}'
    )
    async with _session() as http:
        response = await http.post(proxy.base_url + "/mirror", data=io.BytesIO(body))
        echoed = await response.json()
        big = await (await http.get(proxy.base_url + "/big?mb=20")).read()
    assert echoed["body_length"] == len(body)
    assert echoed["body_sha256"] == hashlib.sha256(body).hexdigest()
    assert len(big) == 20 * 1024 * 1024
    spans = recorded.server_spans()
    assert _attrs(spans[0])["a2a.proxy.request.parse_error"].startswith("too_large")
    assert _attrs(spans[0])["http.request.body.size"] == len(body)
    assert _attrs(spans[1])["http.response.body.size"] == len(big)


async def test_refused_upstream_gives_502_echoing_the_id(
    start: ProxyFactory, recorded: Recorded
) -> None:
    proxy = await start(f"http://127.0.0.1:{free_port()}")
    async with _session() as http:
        response = await http.post(
            proxy.base_url + "/", json={"jsonrpc": "2.0", "id": "abc", "method": "SendMessage"}
        )
        body = await response.json()
    assert response.status == 502
    assert body["id"] == "abc"
    assert body["error"]["code"] == -32603
    assert "cannot connect to upstream" in body["error"]["message"]
    [server] = recorded.server_spans()
    assert _attrs(server)["error.type"] == "upstream_unavailable"
    assert server.status.status_code is StatusCode.ERROR


async def test_stalled_upstream_gives_504_and_proxy_keeps_serving(
    raw: RawUpstream, start: ProxyFactory, recorded: Recorded
) -> None:
    proxy = await start(raw.url, read_timeout_s=0.2)
    async with _session() as http:
        response = await http.post(
            proxy.base_url + "/stall", json={"jsonrpc": "2.0", "id": 4, "method": "SendMessage"}
        )
        body = await response.json()
        assert response.status == 504
        assert body["id"] == 4
        ok = await http.get(proxy.base_url + "/mirror")
        assert ok.status == 200
        await ok.read()
    stalled = next(s for s in recorded.server_spans() if s.name == "SendMessage")
    assert _attrs(stalled)["error.type"] == "upstream_timeout"


async def test_reset_before_response_gives_502(
    raw: RawUpstream, start: ProxyFactory, recorded: Recorded
) -> None:
    proxy = await start(raw.url)
    async with _session() as http:
        response = await http.post(
            proxy.base_url + "/reset-before-response",
            json={"jsonrpc": "2.0", "id": 2, "method": "SendMessage"},
        )
        assert response.status == 502
        assert (await response.json())["id"] == 2
    assert _attrs(recorded.server_spans()[0])["error.type"] == "upstream_reset"


async def test_reset_mid_body_before_headers_were_sent_gives_502(
    raw: RawUpstream, start: ProxyFactory, recorded: Recorded
) -> None:
    """A buffered JSON response is read whole before the client sees a byte, so a reset
    can still be answered cleanly."""
    proxy = await start(raw.url)
    async with _session() as http:
        response = await http.post(
            proxy.base_url + "/reset-mid-body",
            json={"jsonrpc": "2.0", "id": 6, "method": "SendMessage"},
        )
        assert response.status == 502
        body = await response.json()
    assert body["id"] == 6
    assert "closed the connection mid-exchange" in body["error"]["message"]
    assert _attrs(recorded.server_spans()[0])["error.type"] == "upstream_reset"


async def test_reset_mid_stream_reaches_the_client_as_a_failure(
    raw: RawUpstream, start: ProxyFactory, recorded: Recorded
) -> None:
    """Once stream headers are relayed, the client must see the break, not a clean end."""
    proxy = await start(raw.url)
    async with _session() as http:
        response = await http.post(
            proxy.base_url + "/reset-mid-stream",
            json={"jsonrpc": "2.0", "id": 1, "method": "SendStreamingMessage"},
        )
        assert response.status == 200
        with pytest.raises(aiohttp.ClientPayloadError):
            await response.read()
        ok = await http.get(proxy.base_url + "/mirror")
        assert ok.status == 200
        await ok.read()
    broken = recorded.server_spans()[0]
    assert _attrs(broken)["error.type"] == "upstream_reset"
    assert broken.status.status_code is StatusCode.ERROR


async def test_absolute_form_and_unrouted_requests_are_refused(
    raw: RawUpstream, start: ProxyFactory
) -> None:
    proxy = await start(routes=(Route(name="raw", prefix="/raw", upstream=raw.url),))
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.write(
        b"GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n"
    )
    await writer.drain()
    reply = await reader.read()
    writer.close()
    assert reply.startswith(b"HTTP/1.1 400")
    async with _session() as http:
        response = await http.get(proxy.base_url + "/elsewhere/x")
        assert response.status == 404
        assert "no upstream agent" in (await response.json())["error"]["message"]
        response = await http.get(proxy.base_url + "/rawx/mirror")
        assert response.status == 404


async def test_several_upstreams_by_prefix(
    raw: RawUpstream, agent_url: str, start: ProxyFactory, recorded: Recorded
) -> None:
    proxy = await start(
        routes=(
            Route(name="raw", prefix="/raw", upstream=raw.url),
            Route(name="echo", prefix="/echo", upstream=agent_url),
        )
    )
    async with _session() as http:
        mirrored = await (await http.get(proxy.url_for("raw") + "mirror/x")).json()
        card = await (await http.get(proxy.url_for("echo") + ".well-known/agent-card.json")).json()
    assert mirrored["path"] == "/mirror/x"
    assert card["name"] == "Echo"
    assert card["supportedInterfaces"][0]["url"] == proxy.url_for("echo")
    names = {_attrs(s)["gen_ai.agent.name"] for s in recorded.server_spans()}
    assert names == {"raw", "echo"}


async def test_notifications_and_batches_are_forwarded(
    raw: RawUpstream, start: ProxyFactory, recorded: Recorded
) -> None:
    proxy = await start(raw.url)
    batch = [
        {"jsonrpc": "2.0", "id": 1, "method": "GetTask", "params": {"id": "t"}},
        {"jsonrpc": "2.0", "method": "org.example/notify"},
    ]
    async with _session() as http:
        echoed = await (await http.post(proxy.base_url + "/mirror", json=batch)).json()
        await (await http.post(proxy.base_url + "/mirror", json=batch[1])).read()
    assert json.loads(bytes.fromhex(echoed["body_hex"])) == batch
    first, second = recorded.server_spans()
    assert _attrs(first)["jsonrpc.batch.size"] == 2
    assert _attrs(first)["a2a.proxy.batch.methods"] == ("GetTask", "org.example/notify")
    assert second.name == "org.example/notify"
    assert _attrs(second)["a2a.method.name"] == "_OTHER"
    assert "jsonrpc.request.id" not in _attrs(second)


async def test_credentials_never_reach_spans_or_logs(
    raw: RawUpstream, start: ProxyFactory, recorded: Recorded, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "sk-live-0123456789abcdefSECRET"
    proxy = await start(raw.url, capture_content=True)
    dead = await start(f"http://127.0.0.1:{free_port()}")
    headers = {
        "Authorization": f"Bearer {secret}",
        "X-Api-Key": secret,
        "Cookie": f"session={secret}",
    }
    message = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "SendMessage",
        "params": {
            "message": {
                "messageId": "m",
                "role": "ROLE_USER",
                "parts": [{"text": f"my key is Bearer {secret}"}],
            }
        },
    }
    async with _session() as http:
        for base in (proxy.base_url, dead.base_url):
            response = await http.post(
                f"{base}/mirror?api_key={secret}&x=1", json=message, headers=headers
            )
            await response.read()
    recorded.telemetry.force_flush()
    dumped = "".join(span.to_json() for span in recorded.spans())
    assert "/mirror" in dumped
    assert "api_key=REDACTED" in dumped
    assert secret not in dumped
    assert secret not in caplog.text


async def test_client_hanging_up_cancels_the_upstream_call(
    raw: RawUpstream, start: ProxyFactory, recorded: Recorded
) -> None:
    proxy = await start(raw.url)
    _reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    body = b'{"jsonrpc":"2.0","id":1,"method":"SendMessage"}'
    writer.write(
        b"POST /stall?hangup HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )
    await writer.drain()
    await _until(lambda: "/stall?hangup" in raw.app[STARTED])
    writer.close()
    await _until(lambda: "/stall?hangup" in raw.app[CANCELLED] and bool(recorded.server_spans()))
    assert "/stall?hangup" in raw.app[CANCELLED]
    [server] = recorded.server_spans()
    assert _attrs(server)["error.type"] == "client_disconnect"


async def test_stopping_cuts_requests_in_flight_after_the_grace(
    raw: RawUpstream, start: ProxyFactory, recorded: Recorded
) -> None:
    """A stop waits --shutdown-grace for requests in flight, then cuts them (and the
    agent's call with them), instead of waiting for a silent agent."""
    proxy = await start(raw.url, shutdown_grace_s=0.2)
    async with _session() as http:
        pending = asyncio.ensure_future(
            http.post(proxy.base_url + "/stall?stop", json={"jsonrpc": "2.0", "id": 1})
        )
        await _until(lambda: "/stall?stop" in raw.app[STARTED])
        await asyncio.wait_for(proxy.stop(), timeout=10)  # the stall itself lasts 30 s
        with pytest.raises(aiohttp.ClientError):
            await pending
    await _until(lambda: "/stall?stop" in raw.app[CANCELLED])
    [server] = recorded.server_spans()
    assert _attrs(server)["error.type"] == "client_disconnect"


async def _until(condition: Any, attempts: int = 500) -> None:
    """Wait for something that happens in another task (bounded; not a timing check)."""
    for _ in range(attempts):
        if condition():
            return
        await asyncio.sleep(0.02)


async def test_idle_upstream_connections_are_closed_before_servers_close_them(
    raw: RawUpstream, start: ProxyFactory
) -> None:
    """Reusing a connection the agent is closing fails the request; the sidecar drops idle
    ones first (servers close theirs after 2-5 s)."""
    proxy = await start(raw.url, upstream_keepalive_s=0.3)
    async with _session() as http:

        async def upstream_port() -> int:
            response = await http.get(proxy.base_url + "/mirror")
            port: int = (await response.json())["peer_port"]
            return port

        first = await upstream_port()
        assert await upstream_port() == first  # reused while fresh
        await asyncio.sleep(0.6)
        assert await upstream_port() != first  # idle past the keep-alive: a new connection


async def test_access_log_is_one_line_per_exchange_without_credentials(
    raw: RawUpstream, start: ProxyFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="tau2observe.proxy.access")
    quiet = await start(raw.url)
    proxy = await start(raw.url, access_log=True)
    secret = "sk-access-log-0123456789"
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "SendMessage",
        "params": {"message": {"contextId": "ctx-log"}},
    }
    async with _session() as http:
        for base in (quiet.base_url, proxy.base_url):
            response = await http.post(
                f"{base}/mirror?token={secret}",
                json=body,
                headers={"Authorization": f"Bearer {secret}"},
            )
            await response.read()
    lines = [r.getMessage() for r in caplog.records if r.name == "tau2observe.proxy.access"]
    assert len(lines) == 1  # only the sidecar with --access-log logs
    [line] = lines
    assert line.startswith("agent POST /mirror?token=REDACTED SendMessage -> 200 in ")
    assert "conversation=ctx-log" in line
    assert secret not in caplog.text


async def test_access_log_shows_what_the_sidecar_refused(
    raw: RawUpstream, start: ProxyFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="tau2observe.proxy.access")
    proxy = await start(
        routes=(Route(name="raw", prefix="/raw", upstream=raw.url),), access_log=True
    )
    async with _session() as http:
        await (await http.get(proxy.base_url + "/elsewhere?key=sk-hidden-value")).read()
    [line] = [r.getMessage() for r in caplog.records if r.name == "tau2observe.proxy.access"]
    assert line == "- GET /elsewhere -> 404: no upstream agent is configured for '/elsewhere'"


async def test_rewrite_all_card_urls_points_foreign_urls_at_the_sidecar(
    raw: RawUpstream, start: ProxyFactory, recorded: Recorded
) -> None:
    proxy = await start(
        routes=(Route(name="raw", prefix="/raw", upstream=raw.url),), rewrite_all_card_urls=True
    )
    public = proxy.url_for("raw").rstrip("/")
    async with _session() as http:
        card = await (await http.get(public + "/.well-known/agent-card.json")).json()
    assert card["additionalInterfaces"][1]["url"] == public
    assert card["additionalInterfaces"][2]["url"] == "127.0.0.1:50051"  # gRPC is left alone
    span = next(s for s in recorded.server_spans() if s.name == "GetAgentCard")
    assert _attrs(span)["a2a.proxy.card.rewritten_urls"] == 4
