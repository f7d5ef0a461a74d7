"""The Python ceiling: a bare aiohttp reverse proxy that parses nothing and records nothing.

``python -m bench.forwarder PORT UPSTREAM``. The same stack as the sidecar (aiohttp server
and client, uvloop where installed) doing only what any forwarder must: copy the request
upstream, relay the response as it arrives, drop hop-by-hop headers. The sidecar's figures
are reported as ratios to this one, so what our parsing and telemetry cost is separated
from what Python and aiohttp cost.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Callable

import aiohttp
from aiohttp import web

from proxy.http import end_to_end

_SKIP_AUTO = ("Accept", "Accept-Encoding", "User-Agent", "Content-Type")
SESSION = web.AppKey("session", aiohttp.ClientSession)


def make_app(upstream: str) -> web.Application:
    async def session(app: web.Application) -> AsyncIterator[None]:
        app[SESSION] = aiohttp.ClientSession(
            auto_decompress=False,
            connector=aiohttp.TCPConnector(limit=0, keepalive_timeout=1.5),
        )
        yield
        await app[SESSION].close()

    async def forward(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        async with request.app[SESSION].request(
            request.method,
            upstream + request.raw_path,
            headers=end_to_end(request.headers),
            data=body,
            allow_redirects=False,
            skip_auto_headers=_SKIP_AUTO,
        ) as reply:
            response = web.StreamResponse(
                status=reply.status, reason=reply.reason, headers=end_to_end(reply.headers)
            )
            if reply.content_length is not None:
                response.content_length = reply.content_length
            await response.prepare(request)
            async for chunk in reply.content.iter_any():
                await response.write(chunk)
            await response.write_eof()
            return response

    app = web.Application(client_max_size=1 << 30)
    app.cleanup_ctx.append(session)
    app.router.add_route("*", "/{tail:.*}", forward)
    return app


def main() -> None:
    port, upstream = int(sys.argv[1]), sys.argv[2].rstrip("/")
    loop_factory: Callable[[], asyncio.AbstractEventLoop] = asyncio.new_event_loop
    with contextlib.suppress(ImportError):  # uvloop comes with the sidecar, as there
        import uvloop

        loop_factory = uvloop.new_event_loop
    asyncio.set_event_loop(loop_factory())
    web.run_app(make_app(upstream), host="127.0.0.1", port=port, access_log=None, print=None)


if __name__ == "__main__":
    main()
