"""Datadog client plumbing, written once for every command that calls Datadog's API.

:func:`api_client` configures datadog-api-client (no retries of its own: callers retry,
bounded, with messages that say why); :func:`call` runs one request and turns the
client's exceptions into two of ours, :class:`Refused` (Datadog answered with an error
status) and :class:`Unreachable` (no answer); :func:`explain` words a refusal from a
table of status hints, so each command states what to check in one place.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

T = TypeVar("T")

SERVER_ERROR = "5xx"  # the hint for any status >= 500
OTHER = "other"  # the hint for any status without its own


class Refused(Exception):
    """Datadog answered with an error status; ``said`` is its own words, shortened."""

    def __init__(self, status: int, headers: Mapping[str, str], said: str) -> None:
        super().__init__(f"{status}: {said}")
        self.status = status
        self.headers = dict(headers)
        self.said = said


class Unreachable(Exception):
    """No answer from Datadog: a refused connection, DNS, TLS, a timeout."""


def api_client(
    base_url: str,
    keys: Mapping[str, str],
    *,
    timeout_s: tuple[float, float] | None = None,
) -> Any:
    """A datadog-api-client ``ApiClient`` for ``base_url`` with ``keys`` (the client's
    auth names, ``apiKeyAuth`` and ``appKeyAuth``); the caller closes it."""
    from datadog_api_client import ApiClient, Configuration

    configuration = Configuration(  # type: ignore[no-untyped-call]
        host=base_url,
        api_key=dict(keys),
        enable_retry=False,  # retried by the caller, bounded, with clear messages
        request_timeout=timeout_s,
    )
    return ApiClient(configuration)


def call(request: Callable[[], T]) -> T:
    """``request()``'s answer, or :class:`Refused` / :class:`Unreachable`."""
    from datadog_api_client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    try:
        return request()
    except ApiException as exc:
        if not exc.status:  # raised before any response, e.g. a TLS failure
            raise Unreachable(str(exc.reason)) from None
        raise Refused(int(exc.status), dict(exc.headers or {}), error_text(exc.body)) from None
    except HTTPError as exc:
        reason = getattr(exc, "reason", None)  # MaxRetryError: the connection error beneath
        raise Unreachable(
            f"{type(exc).__name__}: {reason if reason is not None else exc}"
        ) from None


def explain(hints: Mapping[int | str, str], status: int, **fields: object) -> str:
    """The hint for ``status`` (its own, else :data:`SERVER_ERROR` for 5xx, else
    :data:`OTHER`), formatted with ``status`` and ``fields``."""
    hint = hints.get(status)
    if hint is None and status >= 500:
        hint = hints.get(SERVER_ERROR)
    if hint is None:
        hint = hints[OTHER]
    return hint.format(status=status, **fields)


def error_text(body: Any) -> str:
    """Datadog's ``{"errors": [...]}`` as one line; any other body, shortened."""
    if isinstance(body, dict) and isinstance(body.get("errors"), list):
        return "; ".join(str(e) for e in body["errors"]) or "no details"
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    return str(body)[:300] if body else "no details"
