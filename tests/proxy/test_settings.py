from __future__ import annotations

import pytest

from proxy.errors import SettingsError
from proxy.settings import ProxySettings, Route, parse_listen


def test_plain_url_is_served_at_root() -> None:
    route = Route.parse("http://127.0.0.1:9101")
    assert (route.name, route.prefix, route.upstream) == (
        "127.0.0.1-9101",
        "/",
        "http://127.0.0.1:9101",
    )
    assert Route.parse("http://h:1", "oracle").name == "oracle"


@pytest.mark.parametrize("spec", ["oracle=http://h:1", "/oracle=http://h:1"])
def test_named_upstream_gets_a_prefix(spec: str) -> None:
    route = Route.parse(spec)
    assert (route.name, route.prefix) == ("oracle", "/oracle")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("ftp://h/", "http:// or https://"),
        ("http://h:1/?q=1", "query or fragment"),
        ("http://user:pw@h:1/", "credentials"),
        ("a/b=http://h:1", "one path segment"),
        ("http://h:99999/", "not a URL"),
    ],
)
def test_bad_upstreams_say_what_is_wrong(spec: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message) as info:
        Route.parse(spec)
    assert "pw" not in str(info.value)


def test_routes_must_be_distinct_and_present() -> None:
    with pytest.raises(SettingsError, match="at least one upstream"):
        ProxySettings()
    route = Route.parse("a=http://h:1")
    with pytest.raises(SettingsError, match="share a prefix"):
        ProxySettings(routes=(route, Route(name="b", prefix="/a", upstream="http://h:2")))


def test_longest_prefix_wins_on_segment_boundaries() -> None:
    settings = ProxySettings(
        routes=(
            Route(name="root", prefix="/", upstream="http://h:1"),
            Route(name="a", prefix="/a", upstream="http://h:2"),
        )
    )
    assert settings.route_for("/a/x") == (settings.routes[1], "/x")
    assert settings.route_for("/a") == (settings.routes[1], "")
    assert settings.route_for("/ab") == (settings.routes[0], "/ab")


@pytest.mark.parametrize(
    ("value", "expected"),
    [("127.0.0.1:9100", ("127.0.0.1", 9100)), (":0", ("127.0.0.1", 0)), ("[::1]:80", ("::1", 80))],
)
def test_parse_listen(value: str, expected: tuple[str, int]) -> None:
    assert parse_listen(value) == expected


@pytest.mark.parametrize("value", ["9100", "host:", "host:http", "h:70000"])
def test_parse_listen_rejects(value: str) -> None:
    with pytest.raises(SettingsError, match="--listen"):
        parse_listen(value)
