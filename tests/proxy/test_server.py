"""The sidecar's server under the security probe's attacks (issue 16; probe ids in brackets),
each against a real server on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import signal
import socket
import sys
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

import proxy.card
from tests.proxy.conftest import ProxyFactory, RawUpstream, Recorded
from tests.proxy.peers import free_port

CANARIES = ("QENC", "QCODE", "QJWT", "QPWD", "QCRED", "QSEMI", "QAT", "QUP", "QAMZ")
K2 = (
    "t%6Fken=QENC-1&code=QCODE-2&jwt=QJWT-3&pwd=QPWD-4&credential=QCRED-5"
    "&x=1;api_key=QSEMI-6&access_token=QAT-7&API_KEY=QUP-8&X-Amz-Credential=QAMZ-9"
)


def _attrs(span: Any) -> dict[str, Any]:
    return dict(span.attributes or {})


async def _raw(port: int, data: bytes, *, read: bool = True, wait: float = 5) -> bytes:
    """Send bytes on a fresh connection; everything the sidecar answers until it closes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), wait) if read else b""
    finally:
        writer.close()


async def _until(condition: Callable[[], Any], seconds: float = 10) -> None:
    for _ in range(int(seconds / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met in time")


def _message(text: str = "hi", context_id: str = "c-1", rid: Any = 1) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": rid,
        "method": "SendMessage",
        "params": {
            "message": {
                "messageId": "m",
                "role": "ROLE_USER",
                "contextId": context_id,
                "parts": [{"text": text}],
            }
        },
    }


# --- C-1, C-2, M-3: credentials and forged lines in the process's own stderr ----------------
async def test_stderr_never_shows_a_credential_or_a_forged_line(raw: RawUpstream) -> None:
    """K8, K9: aiohttp quotes a malformed or oversized header line at ERROR; K2: query
    secrets in the access log; K4: a newline in contextId. Run as an operator runs it."""
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "proxy", "--listen", f"127.0.0.1:{port}",
        "--upstream", raw.url, "--access-log",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(200):
                try:
                    ok = await http.post(f"http://127.0.0.1:{port}/mirror", json=_message())
                    await ok.read()
                    break
                except aiohttp.ClientConnectorError:
                    await asyncio.sleep(0.05)
            forged = _message(context_id="x\n2026-01-01 00:00:00,000 INFO    FORGED-LINE")
            response = await http.post(f"http://127.0.0.1:{port}/mirror?{K2}", json=forged)
            await response.read()
        head = b"GET /mirror HTTP/1.1\r\nHost: x\r\n"
        malformed = await _raw(port, head + b"Authorization: Bearer CANARY-MAL-1\x01\r\n\r\n")
        long_auth = b"Authorization: Bearer CANARY-LONG-2" + b"t" * 9000
        oversized = await _raw(port, head + long_auth + b"\r\n\r\n")
        long_cookie = b"Cookie: s=CANARY-LONG-3" + b"c" * 9000
        cookie = await _raw(port, head + long_cookie + b"\r\n\r\n")
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(process.communicate(), timeout=30)
    assert malformed.startswith(b"HTTP/1.0 400")
    assert oversized.startswith(b"HTTP/1.0 400")
    assert cookie.startswith(b"HTTP/1.0 400")
    stderr = err.decode()
    for canary in ("CANARY-MAL-1", "CANARY-LONG-2", "CANARY-LONG-3", *CANARIES):
        assert canary not in stderr
    assert stderr.count("refused a malformed request with 400") == 3
    assert "Traceback" not in stderr
    assert not any(line.startswith("2026-01-01") for line in stderr.splitlines())
    assert "conversation=x\\x0a2026-01-01" in stderr


async def test_query_secrets_never_reach_spans(
    raw: RawUpstream, start: ProxyFactory, recorded: Recorded
) -> None:
    """K2, on spans: url.query (SERVER) and url.full (CLIENT)."""
    proxy = await start(raw.url)
    async with aiohttp.ClientSession() as http:
        response = await http.post(f"{proxy.base_url}/mirror?{K2}", json=_message())
        assert response.status == 200
        await response.read()
    dumped = "".join(span.to_json() for span in recorded.spans())
    assert "X-Amz-Credential=REDACTED" in dumped
    for canary in CANARIES:
        assert canary not in dumped


async def test_user_added_names_are_redacted(
    raw: RawUpstream, start: ProxyFactory, recorded: Recorded
) -> None:
    proxy = await start(raw.url, redact_names=("tenant",))
    async with aiohttp.ClientSession() as http:
        response = await http.post(f"{proxy.base_url}/mirror?tenant_id=ACME-7", json=_message())
        await response.read()
    [server] = recorded.server_spans()
    assert _attrs(server)["url.query"] == "tenant_id=REDACTED"


async def test_captured_content_is_scrubbed_both_ways(
    raw: RawUpstream, start: ProxyFactory, recorded: Recorded
) -> None:
    """K6, K7: credential-shaped fields in message text, in the request and the reply."""
    proxy = await start(raw.url, capture_content=True)
    text = 'please use "token": "CANARY-TEXT-111" and password: CANARY-PW-999'
    reply = {
        "jsonrpc": "2.0",
        "id": 1,
        "result": {
            "kind": "message",
            "messageId": "r",
            "role": "agent",
            "parts": [{"text": '"token": "CANARY-REPLY-777", password=CANARY-REPLY-PW'}],
        },
    }
    async with aiohttp.ClientSession() as http:
        response = await http.post(f"{proxy.base_url}/mirror", json=_message(text))
        await response.read()
        bounced = await http.post(f"{proxy.base_url}/bounce", json=reply)
        await bounced.read()
    dumped = "".join(span.to_json() for span in recorded.spans())
    assert "gen_ai.input.messages" in dumped
    assert "gen_ai.output.messages" in dumped
    assert "CANARY" not in dumped


# --- H-1: valid traffic is never broken by telemetry ---------------------------------------
HUGE_INT = b"7" * 5000
ODD_REPLIES = {
    "U8: 5000-digit integer": b'{"jsonrpc":"2.0","id":1,"result":{"n":' + HUGE_INT + b"}}",
    "U9: arrays 600 deep": b"[" * 600 + b"]" * 600,
    "U10: artifacts 5": (
        b'{"jsonrpc":"2.0","id":1,"result":{"kind":"task","id":"t","contextId":"c",'
        b'"status":{"state":"completed"},"artifacts":5}}'
    ),
    "U16: tool call 700 lists deep": json.dumps(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "result": {
                "kind": "message",
                "messageId": "r",
                "role": "agent",
                "parts": [{"text": "[" * 700 + '{"tool_call": {"name": "x"}}' + "]" * 700}],
            },
        }
    ).encode(),
}


@pytest.mark.parametrize("name", list(ODD_REPLIES))
async def test_odd_but_valid_json_passes_untouched_and_is_recorded(
    name: str, raw: RawUpstream, start: ProxyFactory, recorded: Recorded
) -> None:
    """A SendMessage whose reply is the odd body: the client gets the agent's bytes, and
    the exchange is recorded (the tool lens runs over message replies too)."""
    proxy = await start(raw.url)
    body = ODD_REPLIES[name]
    request = {**_message(), "reply": body.decode()}
    async with aiohttp.ClientSession() as http:
        response = await http.post(
            f"{proxy.base_url}/bounce", json=request, headers={"X-Reply-Member": "1"}
        )
        assert response.status == 200
        assert await response.read() == body
    [server] = recorded.server_spans()
    assert _attrs(server)["http.response.status_code"] == 200
    assert _attrs(server)["a2a.method.name"] == "SendMessage"


async def test_a_request_id_of_5000_digits_is_forwarded(
    raw: RawUpstream, start: ProxyFactory, recorded: Recorded
) -> None:
    """U14: the request used to be dropped with a 500, unforwarded and unrecorded."""
    proxy = await start(raw.url)
    body = b'{"jsonrpc":"2.0","id":' + HUGE_INT + b',"method":"SendMessage"}'
    async with aiohttp.ClientSession() as http:
        response = await http.post(f"{proxy.base_url}/mirror", data=body)
        assert response.status == 200
        mirrored = await response.json()
    assert bytes.fromhex(mirrored["body_hex"]) == body
    [server] = recorded.server_spans()
    assert _attrs(server)["a2a.proxy.request.parse_error"].startswith("too_large")


async def test_a_stream_keeps_its_events_after_one_telemetry_cannot_read(
    raw: RawUpstream, start: ProxyFactory, recorded: Recorded
) -> None:
    """U13: an unreadable event used to cut the stream and lose the final event."""
    proxy = await start(raw.url)
    events = [
        b'data: {"jsonrpc":"2.0","id":1,"result":{"statusUpdate":{"taskId":"t","status":'
        b'{"state":"TASK_STATE_WORKING"}}}}',
        b'data: {"jsonrpc":"2.0","id":1,"result":{"n":' + HUGE_INT + b"}}",
        b'data: {"jsonrpc":"2.0","id":1,"result":{"statusUpdate":{"taskId":"t","status":'
        b'{"state":"TASK_STATE_COMPLETED"},"final":true}}}',
    ]
    stream = b"\n\n".join(events) + b"\n\n"
    async with aiohttp.ClientSession() as http:
        response = await http.post(
            f"{proxy.base_url}/bounce", data=stream, headers={"X-Reply-Type": "text/event-stream"}
        )
        assert await response.read() == stream
    [server] = recorded.server_spans()
    attrs = _attrs(server)
    assert attrs["a2a.proxy.sse.event_count"] == 3
    assert attrs["a2a.proxy.response.parse_error"].startswith("too_large")


async def test_a_card_with_a_lone_surrogate_is_rewritten(
    raw: RawUpstream, start: ProxyFactory
) -> None:
    """U12 (and U11 over JSON-RPC): the card used to become a 500."""
    proxy = await start(raw.url)
    envelope = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "GetExtendedAgentCard",
        "result": {"name": "odd \ud800", "url": raw.url + "/"},
    }
    async with aiohttp.ClientSession() as http:
        response = await http.get(f"{proxy.base_url}/odd/.well-known/agent-card.json")
        assert response.status == 200
        card = json.loads(await response.read())
        extended = await http.post(
            f"{proxy.base_url}/bounce", data=json.dumps(envelope, ensure_ascii=True)
        )
        assert extended.status == 200
        result = json.loads(await extended.read())["result"]
    assert card["name"] == "odd \ud800"
    assert card["url"].startswith(proxy.base_url)
    assert result["name"] == "odd \ud800"
    assert result["url"] == proxy.base_url + "/"


async def test_a_card_that_cannot_be_rewritten_is_relayed_untouched_and_says_so(
    raw: RawUpstream,
    start: ProxyFactory,
    recorded: Recorded,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*_: Any, **__: Any) -> None:
        raise RuntimeError("rewriter bug")

    proxy = await start(raw.url)
    async with aiohttp.ClientSession() as http:
        direct = await (await http.get(f"{raw.url}/.well-known/agent-card.json")).read()
        monkeypatch.setattr(proxy_card_rewriter(), "rewrite", broken)
        response = await http.get(f"{proxy.base_url}/.well-known/agent-card.json")
        assert response.status == 200
        assert await response.read() == direct
    [server] = recorded.server_spans()
    assert _attrs(server)["a2a.proxy.card.rewrite_error"] == "relayed untouched: card: RuntimeError"
    assert _attrs(server)["a2a.proxy.telemetry_error"] == "card: RuntimeError"


def proxy_card_rewriter() -> type[proxy.card.CardRewriter]:
    return proxy.card.CardRewriter


# --- H-2: a client that stops reading ---------------------------------------------------
async def test_a_client_that_stops_reading_is_cut_off_holding_little(
    raw: RawUpstream, start: ProxyFactory, recorded: Recorded
) -> None:
    """B7: the reply is relayed only as fast as the client takes it, and a client that takes
    nothing for the write timeout is disconnected (it used to pin 8 MiB and more, forever)."""
    proxy = await start(raw.url, client_write_timeout_s=0.5)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", proxy.port))
    sock.sendall(b"GET /big?mb=20 HTTP/1.1\r\nHost: x\r\n\r\n")
    try:
        await _until(lambda: recorded.server_spans(), seconds=15)
    finally:
        sock.close()
    [server] = recorded.server_spans()
    attrs = _attrs(server)
    assert attrs["error.type"] == "client_write_timeout"
    # What left the sidecar is what the kernel's buffers took, far below the 20 MiB reply.
    assert attrs["http.response.body.size"] < 8 * 1024 * 1024


# --- H-3: idle and slow connections, and the connection cap ----------------------------------
async def test_a_connection_that_sends_nothing_gets_408_and_is_closed(
    raw: RawUpstream, start: ProxyFactory
) -> None:
    """C5: kept for an hour before."""
    proxy = await start(raw.url, client_header_timeout_s=0.3)
    answer = await _raw(proxy.port, b"", wait=3)
    assert answer.startswith(b"HTTP/1.1 408 Request Timeout")


async def test_a_request_head_sent_a_byte_at_a_time_gets_408(
    raw: RawUpstream, start: ProxyFactory
) -> None:
    """B5: a head dripped slowly used to be served whenever it completed."""
    proxy = await start(raw.url, client_header_timeout_s=0.4)
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    answer = b""
    try:
        for byte in b"GET /mirror HTTP/1.1\r\nHost: x\r\n":
            writer.write(bytes([byte]))
            with contextlib.suppress(TimeoutError):
                answer = await asyncio.wait_for(reader.read(100), 0.05)
            if answer:
                break
    finally:
        writer.close()
    assert answer.startswith(b"HTTP/1.1 408")


async def test_kept_alive_connections_serve_later_requests_then_close_when_idle(
    raw: RawUpstream, start: ProxyFactory
) -> None:
    proxy = await start(raw.url, client_header_timeout_s=0.3, client_idle_timeout_s=1.0)
    request = b"GET /mirror HTTP/1.1\r\nHost: x\r\n\r\n"
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    try:
        for _ in range(2):  # the pause is longer than the header deadline, shorter than idle
            writer.write(request)
            await writer.drain()
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 3)
            assert head.startswith(b"HTTP/1.1 200")
            length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
            await asyncio.sleep(0.5)
        assert await asyncio.wait_for(reader.read(), 3) == b""  # closed by the idle timeout
    finally:
        writer.close()


async def test_connections_over_the_cap_get_503_and_one_log_line(
    raw: RawUpstream, start: ProxyFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """C6: 1,100 idle connections used to make the sidecar stop serving, silently."""
    caplog.set_level(logging.WARNING, logger="tau2observe.proxy")
    proxy = await start(raw.url, max_connections=2)
    held = [await asyncio.open_connection("127.0.0.1", proxy.port) for _ in range(2)]
    await _until(lambda: len(proxy.guard) == 2)
    refused = [await _raw(proxy.port, b"GET /mirror HTTP/1.1\r\nHost: x\r\n\r\n") for _ in range(3)]
    assert all(r.startswith(b"HTTP/1.1 503 Service Unavailable") for r in refused)
    for _, writer in held:
        writer.close()
    await _until(lambda: len(proxy.guard) == 0)
    async with aiohttp.ClientSession() as http:
        assert (await http.get(f"{proxy.base_url}/mirror")).status == 200
    limit_lines = [r for r in caplog.records if "connection limit reached" in r.getMessage()]
    assert len(limit_lines) == 1


async def test_the_default_cap_stays_under_the_descriptor_limit() -> None:
    import resource

    from proxy.settings import ProxySettings, Route

    settings = ProxySettings(routes=(Route("a", "/", "http://127.0.0.1:9"),))
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert 0 < settings.connection_cap < soft


# --- M-1, M-2, M-6, L-1, L-3 -------------------------------------------------------------------
async def test_expect_100_continue_is_not_forwarded(raw: RawUpstream, start: ProxyFactory) -> None:
    """F27: an agent that never answers 100 would hold the forwarded request forever."""
    proxy = await start(raw.url)
    async with aiohttp.ClientSession() as http:
        response = await http.post(f"{proxy.base_url}/mirror", json=_message(), expect100=True)
        mirrored = await response.json()
    assert response.status == 200
    assert "expect" not in {k.lower() for k, _ in mirrored["headers"]}
    assert mirrored["body_length"] > 0


async def test_bodies_over_the_parse_limit_are_forwarded_unread(
    raw: RawUpstream, start: ProxyFactory, recorded: Recorded
) -> None:
    """B10: parsing 7 MiB bodies on the event loop stalled every other request."""
    proxy = await start(raw.url)
    body = json.dumps(_message("x" * (2 * 1024 * 1024))).encode()
    async with aiohttp.ClientSession() as http:
        response = await http.post(f"{proxy.base_url}/mirror", data=io.BytesIO(body))
        assert (await response.json())["body_length"] == len(body)
    [server] = recorded.server_spans()
    assert _attrs(server)["a2a.proxy.request.parse_error"].startswith("too_large")


async def test_made_up_protocol_versions_share_one_metric_series(
    raw: RawUpstream, start: ProxyFactory, recorded: Recorded
) -> None:
    """T2, H8: one client filled the SDK's 2,000-series limit with A2A-Version values."""
    proxy = await start(raw.url)
    async with aiohttp.ClientSession() as http:
        for i in range(5):
            response = await http.post(
                f"{proxy.base_url}/mirror", json=_message(), headers={"A2A-Version": f"v{i}" * 900}
            )
            await response.read()
    points = recorded.metric_points("a2a.proxy.requests")
    assert {p.attributes["a2a.protocol.version"] for p in points} == {"_OTHER"}
    assert all(len(_attrs(s)["a2a.protocol.version"]) <= 64 for s in recorded.server_spans())


async def test_a_card_never_gets_a_scheme_other_than_http_or_https(
    raw: RawUpstream, start: ProxyFactory
) -> None:
    """R14: X-Forwarded-Proto: javascript used to reach the card's URLs."""
    proxy = await start(raw.url)
    async with aiohttp.ClientSession() as http:
        response = await http.get(
            f"{proxy.base_url}/.well-known/agent-card.json",
            headers={"X-Forwarded-Proto": "javascript"},
        )
        card = await response.json()
    assert card["url"].startswith("http://")


async def test_error_bodies_do_not_disclose_the_agents_address(
    start: ProxyFactory, recorded: Recorded
) -> None:
    """K5: the 502 body named the internal address and aiohttp's exception text."""
    port = free_port()
    proxy = await start(f"http://127.0.0.1:{port}")
    async with aiohttp.ClientSession() as http:
        response = await http.post(f"{proxy.base_url}/", json=_message())
        text = await response.text()
    assert response.status == 502
    assert str(port) not in text
    assert "Connect call failed" not in text
    [server] = recorded.server_spans()
    assert str(port) in _attrs(server)["a2a.proxy.error.message"]  # operators still see it


async def test_a_request_telemetry_cannot_read_is_forwarded_and_its_stream_still_read(
    raw: RawUpstream, start: ProxyFactory, recorded: Recorded, monkeypatch: pytest.MonkeyPatch
) -> None:
    """U14's shape: an exception while reading the request for telemetry (here forced)
    marks the span; the request is forwarded and the reply's events are still counted."""
    import proxy.server

    def broken(*_: Any) -> None:
        raise RuntimeError("reader bug")

    monkeypatch.setattr(proxy.server, "read_request_body", broken)
    proxy_ = await start(raw.url)
    async with aiohttp.ClientSession() as http:
        response = await http.post(f"{proxy_.base_url}/sse", json=_message())
        assert response.status == 200
        assert (await response.read()).count(b"data:") == 6  # 3 events, 2 data lines each
    [server] = recorded.server_spans()
    attrs = _attrs(server)
    assert attrs["a2a.proxy.telemetry_error"] == "request: RuntimeError"
    assert attrs["a2a.proxy.request.parse_error"] == "unreadable: RuntimeError"
    assert attrs["a2a.proxy.sse.event_count"] == 3
