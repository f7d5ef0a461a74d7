"""The client plumbing every Datadog command shares: ``call`` turns the client's failures
into Refused (with Datadog's status, headers and words) or Unreachable; ``explain`` words a
refusal from a table of hints; ``error_text`` makes Datadog's error bodies one line."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from datadog_api_client.exceptions import ApiException
from datadog_api_client.v1.api.dashboards_api import DashboardsApi

from evaluator.datadog import api
from tests.fakes.datadog_api import API_KEY, APP_KEY, FakeDatadog

HINTS: dict[int | str, str] = {
    404: "{what}: no such thing ({status})",
    503: "{what}: maintenance ({status})",
    api.SERVER_ERROR: "{what}: Datadog failed ({status})",
    api.OTHER: "{what}: refused ({status})",
}


# --- explain -------------------------------------------------------------------------------


def test_explain_picks_the_statuss_own_hint_first() -> None:
    assert api.explain(HINTS, 404, what="get") == "get: no such thing (404)"
    assert api.explain(HINTS, 503, what="get") == "get: maintenance (503)"


def test_explain_falls_back_to_the_server_error_hint_for_5xx_then_to_other() -> None:
    assert api.explain(HINTS, 500, what="get") == "get: Datadog failed (500)"
    assert api.explain(HINTS, 599, what="get") == "get: Datadog failed (599)"
    assert api.explain(HINTS, 499, what="get") == "get: refused (499)"
    assert api.explain(HINTS, 400, what="get") == "get: refused (400)"
    without_5xx: dict[int | str, str] = {api.OTHER: "{status} {what}"}
    assert api.explain(without_5xx, 502, what="put") == "502 put"


# --- error_text ----------------------------------------------------------------------------


def test_error_text_joins_datadogs_errors_list() -> None:
    assert api.error_text({"errors": ["Forbidden", "bad key"]}) == "Forbidden; bad key"
    assert api.error_text({"errors": []}) == "no details"


@pytest.mark.parametrize(
    ("body", "text"),
    [
        (b"<html>bad gateway</html>", "<html>bad gateway</html>"),
        (b"caf\xe9", "caf\ufffd"),  # not UTF-8: replaced, never raised
        ({"message": "no errors key"}, "{'message': 'no errors key'}"),
        (None, "no details"),
        (b"", "no details"),
        ("", "no details"),
    ],
)
def test_error_text_of_other_bodies(body: Any, text: str) -> None:
    assert api.error_text(body) == text


def test_error_text_shortens_a_long_body() -> None:
    assert api.error_text("x" * 5000) == "x" * 300


# --- call ----------------------------------------------------------------------------------


def test_call_returns_the_answer() -> None:
    assert api.call(lambda: 42) == 42


def test_call_refused_by_the_stand_in_carries_status_headers_and_datadogs_words() -> None:
    with FakeDatadog() as fake:
        fake.fail_next("GET", "/api/v1/dashboard", 429, "Too many requests", "slow down")
        client = api.api_client(fake.url, {"apiKeyAuth": API_KEY, "appKeyAuth": APP_KEY})
        try:
            dashboards = DashboardsApi(client)  # type: ignore[no-untyped-call]
            with pytest.raises(api.Refused) as caught:
                api.call(lambda: dashboards.get_dashboard("abc-def-ghi"))
            found = api.call(lambda: dashboards.list_dashboards())
        finally:
            client.close()
    refused = caught.value
    assert refused.status == 429
    assert refused.said == "Too many requests; slow down"
    assert refused.headers["Content-Type"] == "application/json"
    assert str(refused) == "429: Too many requests; slow down"
    assert found.dashboards == []  # the same client works once Datadog answers
    assert [r.headers["dd-api-key"] for r in fake.requests] == [API_KEY, API_KEY]


def test_call_refused_for_a_wrong_key_by_the_stand_in() -> None:
    with FakeDatadog() as fake:
        client = api.api_client(fake.url, {"apiKeyAuth": "0" * 32, "appKeyAuth": APP_KEY})
        try:
            dashboards = DashboardsApi(client)  # type: ignore[no-untyped-call]
            with pytest.raises(api.Refused) as caught:
                api.call(lambda: dashboards.list_dashboards())
        finally:
            client.close()
    assert (caught.value.status, caught.value.said) == (403, "Forbidden")


def test_call_turns_a_real_api_exception_into_refused() -> None:
    response = SimpleNamespace(
        status=502, reason="Bad Gateway", data=b"<html>upstream</html>", headers={"X-Y": "z"}
    )

    def request() -> None:
        raise ApiException(http_resp=response)  # type: ignore[no-untyped-call]

    with pytest.raises(api.Refused) as caught:
        api.call(request)
    assert caught.value.status == 502
    assert caught.value.headers == {"X-Y": "z"}
    assert caught.value.said == "<html>upstream</html>"


def test_call_an_api_exception_without_a_status_is_unreachable() -> None:
    def request() -> None:
        raise ApiException(reason="TLS handshake failed")  # type: ignore[no-untyped-call]

    with pytest.raises(api.Unreachable, match="TLS handshake failed"):
        api.call(request)


def test_call_to_a_closed_loopback_port_is_unreachable() -> None:
    with FakeDatadog() as gone:
        url = gone.url  # a port that was just closed
    client = api.api_client(url, {"apiKeyAuth": API_KEY, "appKeyAuth": APP_KEY}, timeout_s=(2, 2))
    try:
        dashboards = DashboardsApi(client)  # type: ignore[no-untyped-call]
        with pytest.raises(api.Unreachable) as caught:
            api.call(lambda: dashboards.list_dashboards())
    finally:
        client.close()
    assert str(caught.value).startswith("MaxRetryError: ")  # urllib3's, with its reason
    assert "refused" in str(caught.value).lower()
