"""The sidecar's network side: the only module that moves bytes.

Requests are forwarded to the configured upstream of the matching route, never anywhere
else. Bodies pass unchanged; a copy (bounded by ``parse_max_bytes``) is read for
telemetry after the bytes have been written on. Server-sent event streams are relayed
chunk by chunk as they arrive. Agent cards are the one deliberate change: their
endpoint URLs are rewritten to point at the sidecar (:mod:`proxy.card`).

Telemetry never sits on the request path: spans are handed to batch processors, and a
failure to read a body marks the span and nothing else.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import time
import zlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy
from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import TracerProvider
from yarl import URL

from proxy import a2a
from proxy.card import CardRewriter, RewrittenCard
from proxy.errors import UpstreamError, UpstreamTimeout, UpstreamUnavailable
from proxy.exchange import Exchange, redact_text
from proxy.jsonrpc import (
    ResultView,
    load_json,
    read_request,
    read_response,
    read_rest_request,
    read_rest_response,
    read_result,
)
from proxy.recorder import Recorder, Turn, access_log
from proxy.settings import ProxySettings, Route
from proxy.sse import SseReader
from proxy.telemetry import Telemetry

log = logging.getLogger("tau2observe.proxy")

# RFC 9110 §7.6.1: meaningful only for one connection; everything else is end-to-end.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
# Headers the HTTP layers recompute for their own connection.
_RECOMPUTED = frozenset({"host", "content-length"})
_CLIENT_AUTO_HEADERS = ("Accept", "Accept-Encoding", "User-Agent", "Content-Type")
_INLINE_WRITE_MAX = 1024 * 1024

SETTINGS_KEY = web.AppKey("settings", ProxySettings)
RECORDER_KEY = web.AppKey("recorder", Recorder)


class Forwarder:
    """Handles every request of the sidecar's aiohttp application."""

    def __init__(self, settings: ProxySettings, recorder: Recorder) -> None:
        self._settings = settings
        self._recorder = recorder
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
        sweeper = asyncio.create_task(self._sweep_conversations(), name="conversation-sweeper")
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

    # --- the request path ------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.StreamResponse:
        start_ns = time.time_ns()
        raw = request.raw_path
        if not raw.startswith("/"):
            # Absolute-form targets would let a client choose the destination.
            return self._refuse(
                request, 400, "absolute-form request targets are not accepted by a reverse proxy"
            )
        path, _, query = raw.partition("?")
        match = self._settings.route_for(path)
        if match is None:
            return self._refuse(request, 404, f"no upstream agent is configured for {path!r}")
        route, relative = match
        ex = _new_exchange(request, route, path, relative, query, start_ns)

        try:
            prefix, complete = await _read_up_to(request.content, self._settings.parse_max_bytes)
        except (
            aiohttp.ClientConnectionResetError,
            ConnectionResetError,
            asyncio.IncompleteReadError,
        ):
            return _local_error(400, "the client closed the connection while sending the body")
        body = b"".join(prefix)
        ex.request_bytes = len(body)
        if complete:
            _read_request_body(ex, body)
        else:
            ex.request.parse_error = (
                f"too_large: body over {self._settings.parse_max_bytes} bytes not read"
            )

        turn = self._recorder.begin(ex, request.headers)
        try:
            return await self._forward(request, ex, turn, body, complete)
        except asyncio.CancelledError:
            # The client went away (handler cancellation): leaving the upstream call's
            # context manager closes that connection too, so the agent sees it.
            ex.client_disconnected = True
            raise
        finally:
            ex.end_ns = time.time_ns()
            self._recorder.finish(turn)

    async def _forward(
        self, request: web.Request, ex: Exchange, turn: Turn, body: bytes, complete: bool
    ) -> web.StreamResponse:
        assert self._session is not None
        route = ex.route
        url = route.upstream_base + ex.relative_path + (f"?{ex.query}" if ex.query else "")
        headers, translated_etag = self._upstream_headers(request.headers, turn, ex)
        data: bytes | io.BytesIO | AsyncIterator[bytes]
        if not complete:
            data = _body_stream(body, request, ex)
        elif len(body) > _INLINE_WRITE_MAX:
            data = io.BytesIO(body)  # written in chunks, so the loop is not held by one write
        else:
            data = body
        response: web.StreamResponse | None = None
        try:
            async with self._session.request(
                request.method,
                URL(url, encoded=True),
                headers=headers,
                data=data,
                allow_redirects=False,
                skip_auto_headers=_CLIENT_AUTO_HEADERS,
            ) as upstream:
                ex.status = upstream.status
                if _is_event_stream(upstream.headers):
                    ex.streaming = True
                    response = _stream_response(upstream)
                    await response.prepare(request)
                    await self._relay_stream(upstream, response, ex, turn)
                    turn.upstream_end_ns = time.time_ns()
                    await response.write_eof()
                    return response
                chunks, whole = await _read_up_to(upstream.content, self._settings.parse_max_bytes)
                turn.upstream_end_ns = time.time_ns() if whole else None
                payload = b"".join(chunks)
                if whole:
                    card = self._read_response_body(request, ex, upstream, payload)
                    if card is not None:
                        ex.response_bytes = len(card.body)
                        return _card_response(upstream, card)
                    if upstream.status == 304 and translated_etag:
                        response = _stream_response(upstream, etag=translated_etag)
                    else:
                        response = _stream_response(upstream, length=len(payload))
                    await response.prepare(request)
                    await response.write(payload)
                    ex.response_bytes = len(payload)
                    await response.write_eof()
                    return response
                # Larger than we read: relay the rest as it comes, unread.
                ex.response.parse_error = "too_large: response not read"
                response = _stream_response(upstream)
                await response.prepare(request)
                await response.write(payload)
                ex.response_bytes = len(payload)
                async for chunk in upstream.content.iter_any():
                    await response.write(chunk)
                    ex.response_bytes += len(chunk)
                turn.upstream_end_ns = time.time_ns()
                await response.write_eof()
                return response
        except (aiohttp.ClientConnectionResetError, ConnectionResetError) as exc:
            if (response is not None and response.prepared) or _client_gone(request):
                ex.client_disconnected = True
                return response or web.Response(status=499)
            return self._upstream_failed(request, ex, response, _upstream_error(exc, url))
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            return self._upstream_failed(request, ex, response, _upstream_error(exc, url))

    def _upstream_headers(
        self, incoming: CIMultiDictProxy[str], turn: Turn, ex: Exchange
    ) -> tuple[CIMultiDict[str], str | None]:
        headers = _end_to_end(incoming)
        for key in ("traceparent", "tracestate"):
            headers.popall(key, None)
        headers.update(turn.traceparent)
        translated: str | None = None
        if ex.binding == "card" and "If-None-Match" in headers:
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
        compressed = bool(upstream.headers.get("Content-Encoding", "identity") != "identity")
        if compressed:
            ex.response.parse_error = "compressed: stream relayed but not read"
        async for chunk in upstream.content.iter_any():
            await response.write(chunk)  # relay first; read the copy after
            ex.response_bytes += len(chunk)
            if compressed:
                continue
            at = time.time_ns()
            for event in reader.feed(chunk):
                view = _read_event(event.data, ex.binding) if event.data is not None else None
                if view is None:
                    view = ResultView(parse_error="too_large: event over the parse limit")
                ex.response.absorb(view)
                self._recorder.stream_event(turn, view, ex.stream_events, event.chars, at)
                ex.stream_events += 1
        ex.stream_comments = reader.comments

    def _read_response_body(
        self,
        request: web.Request,
        ex: Exchange,
        upstream: aiohttp.ClientResponse,
        payload: bytes,
    ) -> RewrittenCard | None:
        """Read a complete response for telemetry; returns a rewritten card to send instead."""
        if not payload:
            return None
        content_type = upstream.headers.get("Content-Type", "")
        if "json" not in content_type:
            return None
        encoding = upstream.headers.get("Content-Encoding", "identity").lower()
        plain = _decompressed(payload, encoding, self._settings.parse_max_bytes)
        if plain is None:
            ex.response.parse_error = f"compressed: {encoding} body not read"
            return None
        if ex.binding == "card":
            if upstream.status != 200 or encoding != "identity":
                return None
            card = self._cards.rewrite(
                payload,
                ex.route.upstream_base,
                self._public_base(request, ex.route),
                upstream.headers.get("ETag"),
            )
            if card is not None:
                _note_card(ex, card)
                ex.response.absorb(ResultView(kind="card"))
            return card
        if ex.binding == "rest":
            ex.response.absorb(read_rest_response(plain))
            return None
        view = read_response(plain)
        ex.response.absorb(view)
        if (
            ex.method_name in a2a.EXTENDED_CARD_METHODS
            and view.error_code is None
            and encoding == "identity"
        ):
            envelope, problem = load_json(payload)
            if problem is None and isinstance(envelope, dict):
                card = self._cards.rewrite_result(
                    envelope, ex.route.upstream_base, self._public_base(request, ex.route)
                )
                if card is not None:
                    _note_card(ex, card)
                return card
        return None

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
        scheme = request.headers.get("X-Forwarded-Proto", request.scheme).split(",")[0].strip()
        host = request.headers.get("X-Forwarded-Host", request.host).split(",")[0].strip()
        return f"{scheme}://{host}{suffix}"

    def _upstream_failed(
        self,
        request: web.Request,
        ex: Exchange,
        response: web.StreamResponse | None,
        error: UpstreamError,
    ) -> web.StreamResponse:
        ex.upstream_error = error.error_type
        ex.upstream_error_detail = str(error)
        log.warning("%s %s: %s", ex.route.name, ex.span_name, redact_text(str(error)))
        if response is not None and response.prepared:
            # Headers are gone: end the connection abruptly so the client sees a failure,
            # exactly as it would without the sidecar, instead of a clean but short body.
            if request.transport is not None:
                request.transport.abort()
            return response
        ex.status = error.http_status
        body = _error_body(ex, error)
        return web.Response(status=error.http_status, body=body, content_type="application/json")


# --- pure helpers of the I/O layer --------------------------------------------------------
def _new_exchange(
    request: web.Request, route: Route, path: str, relative: str, query: str, start_ns: int
) -> Exchange:
    method = request.method
    rest = a2a.rest_call(method, relative)
    if a2a.is_card_path(relative) and method in ("GET", "HEAD"):
        binding = "card"
    elif rest is not None:
        binding = "rest"
    elif method == "POST":
        binding = "jsonrpc"
    else:
        binding = "http"
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    version = request.headers.get("A2A-Version") or request.query.get("A2A-Version")
    ex = Exchange(
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
    )
    if rest is not None:
        ex.rest_method = rest.method
        ex.request.task_id = rest.task_id
    return ex


def _read_request_body(ex: Exchange, body: bytes) -> None:
    if ex.binding == "jsonrpc":
        ex.request = read_request(body)
    elif ex.binding == "rest" and body:
        task_id = ex.request.task_id
        ex.request = read_rest_request(body)
        ex.request.task_id = ex.request.task_id or task_id


def _read_event(data: str, binding: str) -> ResultView:
    if binding == "rest":
        value, problem = load_json(data.encode())
        return ResultView(parse_error=problem) if problem else read_result(value)
    return read_response(data.encode())


def _note_card(ex: Exchange, card: RewrittenCard) -> None:
    ex.card_rewritten = card.rewritten
    ex.card_foreign = card.foreign
    ex.card_signed = card.signed


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
        ex.request_bytes += len(chunk)
        yield chunk


def _end_to_end(headers: Mapping[str, str]) -> CIMultiDict[str]:
    """Copy headers minus hop-by-hop ones (and those named in Connection)."""
    named = {
        token.strip().lower()
        for value in getattr(headers, "getall", lambda *_: [])("Connection", [])
        for token in value.split(",")
    }
    out: CIMultiDict[str] = CIMultiDict()
    for key, value in headers.items():
        lower = key.lower()
        if lower in HOP_BY_HOP or lower in _RECOMPUTED or lower in named:
            continue
        out.add(key, value)
    return out


def _is_event_stream(headers: Mapping[str, str]) -> bool:
    return headers.get("Content-Type", "").split(";")[0].strip().lower() == "text/event-stream"


def _stream_response(
    upstream: aiohttp.ClientResponse, *, length: int | None = None, etag: str | None = None
) -> web.StreamResponse:
    response = web.StreamResponse(
        status=upstream.status, reason=upstream.reason, headers=_end_to_end(upstream.headers)
    )
    if length is not None and _may_have_body(upstream):
        response.content_length = length
    elif "Content-Length" in upstream.headers and not _may_have_body(upstream):
        response.headers["Content-Length"] = upstream.headers["Content-Length"]
    if etag is not None:
        response.headers["ETag"] = etag
    return response


def _may_have_body(upstream: aiohttp.ClientResponse) -> bool:
    return (
        upstream.status >= 200 and upstream.status not in (204, 304) and upstream.method != "HEAD"
    )


def _card_response(upstream: aiohttp.ClientResponse, card: RewrittenCard) -> web.Response:
    headers = _end_to_end(upstream.headers)
    headers["ETag"] = card.etag
    return web.Response(
        status=upstream.status, reason=upstream.reason, body=card.body, headers=headers
    )


def _decompressed(payload: bytes, encoding: str, limit: int) -> bytes | None:
    if encoding in ("identity", ""):
        return payload
    if encoding not in ("gzip", "deflate"):
        return None
    wbits = 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS
    try:
        inflater = zlib.decompressobj(wbits)
        plain = inflater.decompress(payload, limit)
    except zlib.error:
        return None
    return None if inflater.unconsumed_tail else plain


def _client_gone(request: web.Request) -> bool:
    return request.transport is None or request.transport.is_closing()


def _upstream_error(exc: BaseException, url: str) -> UpstreamError:
    where = URL(url).origin()
    if isinstance(exc, aiohttp.ClientConnectorError):
        return UpstreamUnavailable(
            f"cannot connect to upstream {where}: {exc.os_error.strerror or exc}"
        )
    if isinstance(exc, TimeoutError):
        return UpstreamTimeout(f"upstream {where} sent nothing in time ({type(exc).__name__})")
    if isinstance(
        exc, (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError, ConnectionResetError)
    ):
        error = UpstreamError(f"upstream {where} closed the connection mid-exchange: {exc}")
        error.error_type = "upstream_reset"
        return error
    return UpstreamError(f"upstream {where} failed: {type(exc).__name__}: {exc}")


def _error_body(ex: Exchange, error: UpstreamError) -> bytes:
    detail = {"error.type": error.error_type, "proxy": "tau2observe"}
    message = redact_text(str(error))
    if ex.binding == "jsonrpc":
        envelope: dict[str, Any] = {
            "jsonrpc": "2.0",
            "id": ex.request.id_value if ex.request.has_id else None,
            "error": {"code": -32603, "message": message, "data": detail},
        }
    else:
        envelope = {"error": {"code": error.http_status, "message": message, "data": detail}}
    return json.dumps(envelope).encode()


def _local_error(status: int, message: str) -> web.Response:
    body = {"error": {"code": status, "message": message, "data": {"proxy": "tau2observe"}}}
    return web.json_response(body, status=status)


# --- assembly ------------------------------------------------------------------------------
def create_app(
    settings: ProxySettings, tracer_provider: TracerProvider, meter_provider: MeterProvider
) -> web.Application:
    recorder = Recorder(settings, tracer_provider, meter_provider)
    forwarder = Forwarder(settings, recorder)
    app = web.Application(client_max_size=settings.parse_max_bytes)
    app[SETTINGS_KEY] = settings
    app[RECORDER_KEY] = recorder
    app.cleanup_ctx.append(forwarder.lifecycle)
    app.router.add_route("*", "/{tail:.*}", forwarder.handle)
    return app


@dataclass
class RunningProxy:
    """A sidecar serving on the caller's event loop."""

    settings: ProxySettings
    runner: web.AppRunner
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
        await self.runner.cleanup()


async def start_proxy(settings: ProxySettings, telemetry: Telemetry) -> RunningProxy:
    app = create_app(settings, telemetry.tracer_provider, telemetry.meter_provider)
    # handler_cancellation: a client that hangs up cancels its upstream call.
    runner = web.AppRunner(app, access_log=None, handle_signals=False, handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, settings.listen_host, settings.listen_port, reuse_address=True)
    await site.start()
    host, port = _bound_address(runner, settings)
    return RunningProxy(settings, runner, host, port)


def _bound_address(runner: web.AppRunner, settings: ProxySettings) -> tuple[str, int]:
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return settings.listen_host, int(address[1])
    return settings.listen_host, settings.listen_port
