"""A trivial A2A agent for benchmarks: canned JSON-RPC replies and timestamped SSE events.

Run as its own process (``python -m bench.upstream PORT``) so it does not share an event
loop with what is measured.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from aiohttp import web

CARD = {"name": "Bench", "url": "http://127.0.0.1/", "supportedInterfaces": []}


async def rpc(request: web.Request) -> web.Response:
    body = await request.json()
    params = body.get("params") or {}
    message = params.get("message") or {}
    reply = {
        "jsonrpc": "2.0",
        "id": body.get("id"),
        "result": {
            "message": {
                "messageId": "reply-" + str(message.get("messageId")),
                "contextId": message.get("contextId") or "ctx-bench",
                "role": "ROLE_AGENT",
                "parts": [
                    {
                        "text": '{"tool_call": {"name": "get_user_details", "arguments": {"user_id": "u1"}}}'
                    }
                ],
            }
        },
    }
    return web.Response(body=json.dumps(reply).encode(), content_type="application/json")


async def card(request: web.Request) -> web.Response:
    return web.json_response(CARD)


async def sse(request: web.Request) -> web.StreamResponse:
    """``count`` events ``gap_ms`` apart, each carrying the time it was written."""
    count = int(request.query.get("count", "100"))
    gap = float(request.query.get("gap_ms", "5")) / 1000
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    for seq in range(count):
        event = {
            "jsonrpc": "2.0",
            "id": 1,
            "result": {
                "statusUpdate": {
                    "taskId": "t",
                    "contextId": "c",
                    "status": {"state": "TASK_STATE_WORKING"},
                    "metadata": {"seq": seq, "sent_ns": time.time_ns()},
                }
            },
        }
        await response.write(f"data: {json.dumps(event)}\n\n".encode())
        await asyncio.sleep(gap)
    await response.write_eof()
    return response


def main() -> None:
    port = int(sys.argv[1])
    app = web.Application()
    app.router.add_post("/", rpc)
    app.router.add_get("/.well-known/agent-card.json", card)
    app.router.add_get("/sse", sse)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


if __name__ == "__main__":
    main()
