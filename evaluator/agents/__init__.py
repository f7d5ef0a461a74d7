"""Sample purple agents under test: ``llm``, ``oracle``, ``flawed`` and ``noop``.

Each is a real A2A server. Start one in-process with::

    async with serve_in_background(AgentSettings(kind="oracle")) as running:
        running.url  # http://127.0.0.1:<free port>/

or ``serve_in_thread`` from synchronous code. The wire formats they read and write are
described in :mod:`evaluator.agents.wire`. Heavy imports (a2a-sdk, uvicorn, tau2) happen
when these names are first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from evaluator.agents.server import (
        AgentSettings,
        RunningAgent,
        build_agent,
        build_agent_app,
        serve_forever,
        serve_in_background,
        serve_in_thread,
    )

__all__ = [
    "AgentSettings",
    "RunningAgent",
    "build_agent",
    "build_agent_app",
    "serve_forever",
    "serve_in_background",
    "serve_in_thread",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from evaluator.agents import server

        return getattr(server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
