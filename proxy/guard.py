"""The telemetry boundary: every telemetry step runs through :func:`guarded`.

Reading a body, rewriting a card, starting or finishing spans: an exception in any of them
marks the exchange (``a2a.proxy.telemetry_error``, and the matching ``parse_error``) and
never reaches the traffic. The first failure of each kind is logged as one line, then one
in a thousand, so a hostile peer cannot fill the log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from proxy.exchange import Exchange

log = logging.getLogger("tau2observe.proxy")
T = TypeVar("T")
_failures: dict[str, int] = {}


def guarded(ex: Exchange, where: str, step: Callable[..., T], *args: Any) -> T | None:
    """Run one telemetry step; on an exception, mark ``ex`` and return None."""
    try:
        return step(*args)
    except Exception as exc:
        what = f"{where}: {type(exc).__name__}"
        if ex.telemetry_problem is None:
            ex.telemetry_problem = what
        if where == "request" and ex.request.parse_error is None:
            ex.request.parse_error = f"unreadable: {type(exc).__name__}"
        elif where in ("response", "stream") and ex.response.parse_error is None:
            ex.response.parse_error = f"unreadable: {type(exc).__name__}"
        seen = _failures.get(what, 0)
        _failures[what] = seen + 1
        if seen % 1000 == 0:
            log.warning(
                "telemetry could not read an exchange (%s, %d so far); the traffic was "
                "forwarded unchanged",
                what,
                seen + 1,
            )
            log.debug("telemetry failure", exc_info=True)
        return None
