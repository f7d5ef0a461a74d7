"""The sidecar's network side: the only module that moves bytes.

Requests are forwarded to the configured upstream of the matching route, never anywhere
else. Bodies pass unchanged, and a response is written to the client as it arrives; a
copy (bounded by ``parse_max_bytes``) is read for telemetry after the bytes have been
written on. Server-sent event streams are relayed chunk by chunk as they arrive. Agent
cards are the one deliberate change: they are read before they are written, because
their endpoint URLs are rewritten to point at the sidecar (:mod:`proxy.card`).

Telemetry never sits on the request path and never fails it: spans are handed to batch
processors, and every telemetry step runs behind one guard (:mod:`proxy.guard`), so an
exception there marks the span (``a2a.proxy.telemetry_error``) and nothing else. Writes to
a client are bounded by ``client_write_timeout_s``; the relay reads from the agent only as
fast as the client takes the bytes, so memory per connection stays small.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy
from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import TracerProvider
from yarl import URL

from proxy import a2a, http
from proxy.card import CardRewriter, RewrittenCard
from proxy.connections import ConnectionGuard
from proxy.errors import ClientStalled, UpstreamError, UpstreamTimeout, UpstreamUnavailable
from proxy.exchange import (
    Arrival,
    CardRewrite,
    Exchange,
    error_body,
    local_error_body,
    parsed_before_writing,
    read_event,
    read_request_body,
    read_response_copy,
)
from proxy.guard import guarded
from proxy.jsonrpc import ResultView, load_json
from proxy.recorder import Recorder, Turn, access_log, untraced
from proxy.settings import ProxySettings, Route, open_file_limit
from proxy.sse import SseReader
from proxy.tasks import spawn
from proxy.telemetry import Telemetry

log = logging.getLogger("tau2observe.proxy")

_CLIENT_AUTO_HEADERS = ("Accept", "Accept-Encoding", "User-Agent", "Content-Type")
# A response up to this size is read whole before the first byte goes out: it is written
# with its length, and an agent that breaks inside it still gets a clean 502. Anything
# larger streams through (backpressure: we read as fast as the client takes it).
_BUFFER_MAX = 64 * 1024


class Forwarder:
    """Handles every request of the sidecar's aiohttp application."""

    def __init__(
        self, settings: ProxySettings, recorder: Recorder, guard: ConnectionGuard | None = None
    ) -> None:
        self._settings = settings
        self._recorder = recorder
        self._guard = guard
        self._cards = CardRewriter(rewrite_foreign=settings.rewrite_all_card_urls)
        self._session: aiohttp.ClientSession | None = None
        self._timeout = aiohttp.ClientTimeout(
            total=None,
            connect=settings.connect_timeout_s,
            sock_connect=settings.connect_timeout_s,
            sock_read=settings.read_timeout_s,
        )

    async def lifecycle(self, app: web.Application) -> AsyncIterator[None]:
        """aiohttp cleanup context: the upstream connection pool and the conversation sweeper."""
        self._session = aiohttp.ClientSession(
            auto_decompress=False,
            connector=aiohttp.TCPConnector(
                limit=0, ttl_dns_cache=300, keepalive_timeout=self._settings.upstream_keepalive_s
            ),
            cookie_jar=aiohttp.DummyCookieJar(),  # cookies belong to the client, not to us
            timeout=self._timeout,
        )
        sweeper = spawn(self._sweep_conversations(), name="conversation-sweeper")
        try:
            yield
        finally:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
            await self._session.close()
            self._recorder.close()

    async def _sweep_conversations(self) -> None:
        interval = min(self._settings.conversation_idle_s / 4, 30.0)
        while True:
            await asyncio.sleep(interval)
            self._recorder.conversations.sweep()

    # --- the request path: listener -> classify -> forward -> capture -> export ---------
    async def handle(self, request: web.Request) -> web.StreamResponse:
        if self._guard is not None:
            self._guard.request_started(request.transport)
        try:
            return await self._walk(request)
        finally:
            if self._guard is not None:
                self._guard.request_finished(request.transport)

    async def _walk(self, request: web.Request) -> web.StreamResponse:
        """One request, in order. A request refused before forwarding records nothing."""
        try:
            ex = self._classify(request, time.time_ns())
            body, complete = await self._receive(request, ex)
        except _Refused as refused:
            return self._refuse(request, refused.status, str(refused))
        turn = self._capture_request(ex, body, complete, request.headers)
        try:
            return await self._forward(request, ex, turn, body, complete)
        except asyncio.CancelledError:
            # The client went away (handler cancellation): leaving the upstream call's
            # context manager closes that connection too, so the agent sees it.
            ex.delivery.client_disconnected = True
            raise
        finally:
            ex.delivery.end_ns = time.time_ns()
            self._recorder.submit(turn)  # export: spans, metrics, log, after this request

    def _classify(self, request: web.Request, start_ns: int) -> Exchange:
        """The route, binding and version of a request, from its line and headers."""
        raw = request.raw_path
        if not raw.startswith("/"):
            # Absolute-form targets would let a client choose the destination.
            raise _Refused(400, "absolute-form request targets are not accepted by a reverse proxy")
        path, _, query = raw.partition("?")
        match = self._settings.route_for(path)
        if match is None:
            raise _Refused(404, f"no upstream agent is configured for {path!r}")
        route, relative = match
        return Exchange.begin(_arrival(request, route, path, relative, query, start_ns))

    async def _receive(self, request: web.Request, ex: Exchange) -> tuple[bytes, bool]:
        """The request body up to ``parse_max_bytes``, and whether that was all of it."""
        try:
            prefix, complete = await _read_up_to(request.content, self._settings.parse_max_bytes)
        except (
            aiohttp.ClientConnectionResetError,
            ConnectionResetError,
            asyncio.IncompleteReadError,
        ):
            raise _Refused(400, "the client closed the connection while sending the body") from None
        body = b"".join(prefix)
        ex.delivery.request_bytes = len(body)
        return body, complete

    def _capture_request(
        self, ex: Exchange, body: bytes, complete: bool, headers: CIMultiDictProxy[str]
    ) -> Turn:
        """Read the request copy and start the spans: the agent gets their traceparent."""
        if complete:
            guarded(ex, "request", read_request_body, ex, body)
        else:
            ex.request.parse_error = (
                f"too_large: body over {self._settings.parse_max_bytes} bytes not read"
            )
        return guarded(ex, "begin", self._recorder.begin, ex, headers) or untraced(ex)

    async def _forward(
        self, request: web.Request, ex: Exchange, turn: Turn, body: bytes, complete: bool
    ) -> web.StreamResponse:
        """The upstream's answer relayed in one of three ways; a failure becomes what the
        client would have seen without the sidecar."""
        assert self._session is not None
        arrival = ex.arrival
        url = arrival.route.upstream_base + arrival.relative_path
        if arrival.query:
            url += f"?{arrival.query}"
        headers, translated_etag = self._upstream_headers(request.headers, turn, ex)
        data: bytes | io.BytesIO | AsyncIterator[bytes]
        if not complete:
            data = _body_stream(body, request, ex)
        elif len(body) > self._settings.inline_body_bytes:
            data = io.BytesIO(body)  # written in chunks, so the loop is not held by one write
        else:
            data = body
        down = _Downstream(request)
        try:
            async with self._session.request(
                request.method,
                URL(url, encoded=True),
                headers=headers,
                data=data,
                allow_redirects=False,
                skip_auto_headers=_CLIENT_AUTO_HEADERS,
            ) as upstream:
                ex.delivery.status = upstream.status
                if http.is_event_stream(upstream.headers):
                    await self._relay_events(upstream, down, ex, turn)
                else:
                    card_first = parsed_before_writing(ex, upstream.status)
                    limit = self._settings.parse_max_bytes if card_first else _BUFFER_MAX
                    chunks, whole = await _read_up_to(upstream.content, limit)
                    if whole:
                        turn.upstream_end_ns = time.time_ns()
                        payload = b"".join(chunks)
                        card = (
                            self._read_card(request, ex, upstream, payload) if card_first else None
                        )
                        await self._relay_whole(
                            upstream, down, ex, turn, payload, card, translated_etag
                        )
                    else:
                        await self._relay_large(upstream, down, ex, turn, chunks)
        except ClientStalled as stalled:
            ex.delivery.client_stalled = True
            log.info("%s %s: %s", arrival.route.name, ex.span_name, stalled)
            if request.transport is not None:
                request.transport.abort()
        except (aiohttp.ClientConnectionResetError, ConnectionResetError) as exc:
            if (down.response is not None and down.response.prepared) or _client_gone(request):
                ex.delivery.client_disconnected = True
            else:
                self._upstream_failed(down, ex, _upstream_error(exc, url, arrival.route))
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            self._upstream_failed(down, ex, _upstream_error(exc, url, arrival.route))
        return down.response or web.Response(status=499)

    async def _relay_events(
        self, upstream: aiohttp.ClientResponse, down: _Downstream, ex: Exchange, turn: Turn
    ) -> None:
        """A server-sent event stream, chunk by chunk as it arrives."""
        ex.delivery.streaming = True
        response = await down.start(_stream_response(upstream))
        await self._relay_stream(upstream, response, ex, turn)
        turn.upstream_end_ns = time.time_ns()
        await response.write_eof()

    async def _relay_whole(
        self,
        upstream: aiohttp.ClientResponse,
        down: _Downstream,
        ex: Exchange,
        turn: Turn,
        payload: bytes,
        card: RewrittenCard | None,
        translated_etag: str | None,
    ) -> None:
        """A body read whole: written with its length (a rewritten card in its place);
        the copy is read after the request."""
        self._read_copy(turn, upstream, payload)
        if card is not None:
            ex.delivery.response_bytes = len(card.body)
            down.response = _card_response(upstream, card)
            return
        if upstream.status == 304 and translated_etag:
            response = await down.start(_stream_response(upstream, etag=translated_etag))
        else:
            response = await down.start(_stream_response(upstream, length=len(payload)))
        await self._write(response, payload)
        ex.delivery.response_bytes = len(payload)
        await response.write_eof()

    async def _relay_large(
        self,
        upstream: aiohttp.ClientResponse,
        down: _Downstream,
        ex: Exchange,
        turn: Turn,
        first: list[bytes],
    ) -> None:
        """A body over the buffer: relayed as it arrives, with backpressure."""
        length = http.content_length(upstream.headers)
        response = await down.start(_stream_response(upstream, length=length))
        copy = await self._relay_body(upstream, response, ex, first)
        turn.upstream_end_ns = time.time_ns()
        await response.write_eof()
        if copy is None:
            ex.response.parse_error = "too_large: response not read"
        else:
            self._read_copy(turn, upstream, copy)

    async def _write(self, response: web.StreamResponse, data: bytes) -> None:
        """Write to the client; a client that takes nothing for the write timeout is cut off
        (the write waits while the connection's buffer is full: that is the backpressure)."""
        try:
            async with asyncio.timeout(self._settings.client_write_timeout_s):
                await response.write(data)
        except TimeoutError:
            raise ClientStalled(
                f"the client took no bytes for {self._settings.client_write_timeout_s:g} s"
            ) from None

    async def _relay_body(
        self,
        upstream: aiohttp.ClientResponse,
        response: web.StreamResponse,
        ex: Exchange,
        first: list[bytes],
    ) -> bytes | None:
        """Relay a body as it arrives; returns the copy for telemetry, or None if it grew
        past ``parse_max_bytes`` (then it is dropped, and only the size is counted)."""
        limit = self._settings.parse_max_bytes
        copy: list[bytes] | None = [] if self._recorder.reads_responses else None
        kept = 0

        async def chunks() -> AsyncIterator[bytes]:
            for chunk in first:
                yield chunk
            async for chunk in upstream.content.iter_any():
                yield chunk

        async for chunk in chunks():
            await self._write(response, chunk)
            ex.delivery.response_bytes += len(chunk)
            if copy is not None:
                kept += len(chunk)
                if kept <= limit:
                    copy.append(chunk)
                else:
                    copy = None
        return b"".join(copy) if copy is not None else None

    def _read_copy(self, turn: Turn, upstream: aiohttp.ClientResponse, payload: bytes) -> None:
        """The response copy is read after the request, with the rest of the recording."""
        if not self._recorder.reads_responses:
            return
        limit = self._settings.parse_max_bytes
        headers = upstream.headers
        turn.deferred.append(lambda: read_response_copy(turn.exchange, headers, payload, limit))

    def _read_card(
        self,
        request: web.Request,
        ex: Exchange,
        upstream: aiohttp.ClientResponse,
        payload: bytes,
    ) -> RewrittenCard | None:
        """The card rewritten, or None: relay it as it is (and say why on the span)."""
        if not payload or not http.is_json(upstream.headers):
            return None
        if http.content_encoding(upstream.headers) != "identity":
            return None
        card = guarded(ex, "card", self._rewrite_card, request, ex, upstream, payload)
        if card is None and (ex.telemetry_problem or "").startswith("card"):
            ex.card_problem = f"relayed untouched: {ex.telemetry_problem}"
        return card

    def _rewrite_card(
        self, request: web.Request, ex: Exchange, upstream: aiohttp.ClientResponse, payload: bytes
    ) -> RewrittenCard | None:
        public = self._public_base(request, ex.arrival.route)
        if ex.arrival.binding == "card":
            card = self._cards.rewrite(
                payload, ex.arrival.route.upstream_base, public, upstream.headers.get("ETag")
            )
            if card is not None:
                ex.response.absorb(ResultView(kind="card"))
        else:
            envelope, problem = load_json(payload)
            if problem is not None or not isinstance(envelope, dict) or "error" in envelope:
                return None
            card = self._cards.rewrite_result(envelope, ex.arrival.route.upstream_base, public)
        if card is not None:
            ex.card = CardRewrite(card.rewritten, card.foreign, card.signed)
        return card

    def _upstream_headers(
        self, incoming: CIMultiDictProxy[str], turn: Turn, ex: Exchange
    ) -> tuple[CIMultiDict[str], str | None]:
        headers = http.end_to_end(incoming)
        if turn.traceparent:  # ours replaces the client's; without spans, the client's goes on
            for key in ("traceparent", "tracestate"):
                headers.popall(key, None)
            headers.update(turn.traceparent)
        translated: str | None = None
        if ex.arrival.binding == "card" and "If-None-Match" in headers:
            ours = headers["If-None-Match"]
            theirs = self._cards.upstream_etag(ours)
            if theirs is not None:
                headers["If-None-Match"] = theirs
                translated = ours
        return headers, translated

    async def _relay_stream(
        self,
        upstream: aiohttp.ClientResponse,
        response: web.StreamResponse,
        ex: Exchange,
        turn: Turn,
    ) -> None:
        reader = SseReader(self._settings.parse_max_bytes)
        compressed = http.content_encoding(upstream.headers) != "identity"
        if compressed:
            ex.response.parse_error = "compressed: stream relayed but not read"
        reading = self._recorder.reads_responses and not compressed
        async for chunk in upstream.content.iter_any():
            await self._write(response, chunk)  # relay first; read the copy after
            ex.delivery.response_bytes += len(chunk)
            if not reading or (ex.telemetry_problem or "").startswith("stream"):
                continue
            guarded(ex, "stream", self._read_chunk, reader, chunk, ex, turn)
        ex.delivery.stream_comments = reader.comments

    def _read_chunk(self, reader: SseReader, chunk: bytes, ex: Exchange, turn: Turn) -> None:
        at = time.time_ns()
        for event in reader.feed(chunk):
            view = read_event(event.data, ex.arrival.binding) if event.data is not None else None
            if view is None:
                view = ResultView(parse_error="too_large: event over the parse limit")
            ex.response.absorb(view)
            if ex.delivery.first_event_ns is None:
                ex.delivery.first_event_ns = at
            self._recorder.stream_event(turn, view, ex.delivery.stream_events, event.chars, at)
            ex.delivery.stream_events += 1

    def _refuse(self, request: web.Request, status: int, message: str) -> web.Response:
        """The sidecar's own answer to a request it will not forward."""
        if self._settings.access_log:
            path = request.raw_path.partition("?")[0]
            access_log.info("- %s %s -> %d: %s", request.method, path, status, message)
        return _local_error(status, message)

    def _public_base(self, request: web.Request, route: Route) -> str:
        """Where clients reach this route: configured, or as the client addressed us."""
        suffix = "" if route.prefix == "/" else route.prefix
        if self._settings.public_url:
            return self._settings.public_url.rstrip("/") + suffix
        scheme = http.public_scheme(request.headers.get("X-Forwarded-Proto"), request.scheme)
        host = request.headers.get("X-Forwarded-Host", request.host).split(",")[0].strip()
        return f"{scheme}://{host}{suffix}"

    def _upstream_failed(self, down: _Downstream, ex: Exchange, error: UpstreamError) -> None:
        ex.delivery.upstream_error = error.error_type
        ex.delivery.upstream_error_detail = str(error)
        log.warning("%s %s: %s", ex.arrival.route.name, ex.span_name, error)
        if down.response is not None and down.response.prepared:
            # Headers are gone: end the connection abruptly so the client sees a failure,
            # exactly as it would without the sidecar, instead of a clean but short body.
            if down.request.transport is not None:
                down.request.transport.abort()
            return
        ex.delivery.status = error.http_status
        down.response = web.Response(
            status=error.http_status, body=error_body(ex, error), content_type="application/json"
        )


class _Refused(Exception):
    """A request the sidecar answers itself, without forwarding: status and reason."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(slots=True)
class _Downstream:
    """The client's side of one exchange: the response, once there is one."""

    request: web.Request
    response: web.StreamResponse | None = None

    async def start(self, response: web.StreamResponse) -> web.StreamResponse:
        """Send ``response``'s status and headers; from here a failure can only cut it."""
        self.response = response
        await response.prepare(self.request)
        return response


# --- small I/O helpers --------------------------------------------------------------------
def _arrival(
    request: web.Request, route: Route, path: str, relative: str, query: str, start_ns: int
) -> Arrival:
    method = request.method
    binding, rest = a2a.binding_of(method, relative)
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    version = request.headers.get("A2A-Version") or request.query.get("A2A-Version")
    return Arrival(
        route=route,
        http_method=method,
        path=path,
        relative_path=relative,
        query=query,
        scheme=request.scheme,
        client_address=request.remote,
        server_address=str(sockname[0]) if sockname else "",
        server_port=int(sockname[1]) if sockname else 0,
        user_agent=request.headers.get("User-Agent"),
        version_header=version if version else (rest.version if rest else None),
        binding=binding,
        start_ns=start_ns,
        rest_method=rest.method if rest else None,
        rest_task_id=rest.task_id if rest else None,
    )


async def _read_up_to(content: aiohttp.StreamReader, limit: int) -> tuple[list[bytes], bool]:
    """Read until EOF or just past ``limit`` bytes; says whether the body was complete."""
    chunks: list[bytes] = []
    size = 0
    while size <= limit:
        chunk = await content.readany()
        if not chunk:
            return chunks, True
        chunks.append(chunk)
        size += len(chunk)
    return chunks, content.at_eof()


async def _body_stream(prefix: bytes, request: web.Request, ex: Exchange) -> AsyncIterator[bytes]:
    """A request body larger than we read: what we have, then the rest as it arrives."""
    yield prefix
    async for chunk in request.content.iter_any():
        ex.delivery.request_bytes += len(chunk)
        yield chunk


def _stream_response(
    upstream: aiohttp.ClientResponse, *, length: int | None = None, etag: str | None = None
) -> web.StreamResponse:
    response = web.StreamResponse(
        status=upstream.status, reason=upstream.reason, headers=http.end_to_end(upstream.headers)
    )
    has_body = http.may_have_body(upstream.status, upstream.method)
    if length is not None and has_body:
        response.content_length = length
    elif "Content-Length" in upstream.headers and not has_body:
        response.headers["Content-Length"] = upstream.headers["Content-Length"]
    if etag is not None:
        response.headers["ETag"] = etag
    return response


def _card_response(upstream: aiohttp.ClientResponse, card: RewrittenCard) -> web.Response:
    headers = http.end_to_end(upstream.headers)
    headers["ETag"] = card.etag
    return web.Response(
        status=upstream.status, reason=upstream.reason, body=card.body, headers=headers
    )


def _client_gone(request: web.Request) -> bool:
    return request.transport is None or request.transport.is_closing()


def _upstream_error(exc: BaseException, url: str, route: Route) -> UpstreamError:
    """The detail (address and cause) for spans and logs; the public text names the route."""
    where = URL(url).origin()
    agent = f"upstream agent {route.name!r}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return UpstreamUnavailable(
            f"cannot connect to upstream {where}: {exc.os_error.strerror or exc}",
            f"cannot connect to {agent}",
        )
    if isinstance(exc, TimeoutError):
        return UpstreamTimeout(
            f"upstream {where} sent nothing in time ({type(exc).__name__})",
            f"{agent} sent nothing in time",
        )
    if isinstance(
        exc, (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError, ConnectionResetError)
    ):
        error = UpstreamError(
            f"upstream {where} closed the connection mid-exchange: {exc}",
            f"{agent} closed the connection mid-exchange",
        )
        error.error_type = "upstream_reset"
        return error
    return UpstreamError(f"upstream {where} failed: {type(exc).__name__}: {exc}", f"{agent} failed")


def _local_error(status: int, message: str) -> web.Response:
    return web.Response(
        status=status, body=local_error_body(status, message), content_type="application/json"
    )


# --- assembly ------------------------------------------------------------------------------
def create_app(
    settings: ProxySettings,
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    guard: ConnectionGuard | None = None,
    *,
    spans: bool = True,
    metrics: bool = True,
) -> web.Application:
    """The sidecar's application; ``spans``/``metrics`` say whether anything consumes them."""
    recorder = Recorder(settings, tracer_provider, meter_provider, spans=spans, metrics=metrics)
    forwarder = Forwarder(settings, recorder, guard)
    app = web.Application(client_max_size=settings.parse_max_bytes)
    app.cleanup_ctx.append(forwarder.lifecycle)
    app.router.add_route("*", "/{tail:.*}", forwarder.handle)
    return app


@dataclass
class RunningProxy:
    """A sidecar serving on the caller's event loop."""

    settings: ProxySettings
    runner: web.AppRunner
    server: asyncio.AbstractServer
    guard: ConnectionGuard
    host: str
    port: int

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def url_for(self, route_name: str) -> str:
        for route in self.settings.routes:
            if route.name == route_name:
                return self.base_url + (route.prefix.rstrip("/") + "/")
        raise KeyError(
            f"no route named {route_name!r}; have {[r.name for r in self.settings.routes]}"
        )

    async def stop(self) -> None:
        self.server.close()
        await self.runner.cleanup()


async def start_proxy(settings: ProxySettings, telemetry: Telemetry) -> RunningProxy:
    guard = ConnectionGuard(
        settings.connection_cap, settings.client_header_timeout_s, open_file_limit()
    )
    app = create_app(
        settings,
        telemetry.tracer_provider,
        telemetry.meter_provider,
        guard,
        spans=telemetry.records_spans,
        metrics=telemetry.records_metrics,
    )
    # handler_cancellation: a client that hangs up cancels its upstream call.
    # keepalive_timeout: aiohttp closes a connection idle between requests after this.
    runner = web.AppRunner(
        app,
        access_log=None,
        handle_signals=False,
        handler_cancellation=True,
        keepalive_timeout=settings.client_idle_timeout_s,
        shutdown_timeout=settings.shutdown_grace_s,  # then handlers in flight are cancelled
    )
    await runner.setup()
    assert runner.server is not None
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        guard.protocol_factory(runner.server),
        settings.listen_host,
        settings.listen_port,
        reuse_address=True,
        reuse_port=settings.reuse_port or None,
    )
    port = settings.listen_port
    for sock in server.sockets:
        port = int(sock.getsockname()[1])
        break
    return RunningProxy(settings, runner, server, guard, settings.listen_host, port)
