"""Which Datadog API a command talks to: DD_SITE gives https://api.<site>, DD_HOST
overrides it; a bad value is refused naming the variable and the value, never a key."""

from __future__ import annotations

import pytest

from evaluator.datadog.site import DEFAULT_SITE, DatadogSite
from proxy.errors import SettingsError

KEY = "0123456789abcdef0123456789abcdef"


def test_the_default_site_is_datadoghq_com() -> None:
    site = DatadogSite.from_env({})
    assert site == DatadogSite(DEFAULT_SITE, None)
    assert site.base_url == "https://api.datadoghq.com"
    assert DatadogSite.from_env({"DD_SITE": "  ", "DD_HOST": ""}).base_url == (
        "https://api.datadoghq.com"
    )


@pytest.mark.parametrize(
    ("site", "base_url"),
    [
        ("datadoghq.eu", "https://api.datadoghq.eu"),
        ("us5.datadoghq.com", "https://api.us5.datadoghq.com"),
        ("ap1.datadoghq.com", "https://api.ap1.datadoghq.com"),
        ("ddog-gov.com", "https://api.ddog-gov.com"),
    ],
)
def test_dd_site_gives_the_api_base_url(site: str, base_url: str) -> None:
    assert DatadogSite.from_env({"DD_SITE": site}).base_url == base_url


def test_dd_host_overrides_the_site_without_a_trailing_slash() -> None:
    found = DatadogSite.from_env({"DD_SITE": "datadoghq.eu", "DD_HOST": "http://127.0.0.1:9/"})
    assert found.site == "datadoghq.eu"
    assert found.host == "http://127.0.0.1:9"
    assert found.base_url == "http://127.0.0.1:9"


@pytest.mark.parametrize(
    "site",
    ["not a site", "https://datadoghq.eu", "datadoghq", "DATADOGHQ.EU", "api.datadoghq.com/"],
)
def test_a_bad_site_names_dd_site_and_the_value(site: str) -> None:
    with pytest.raises(SettingsError) as caught:
        DatadogSite.from_env({"DD_SITE": site, "DD_API_KEY": KEY})
    assert caught.value.key == "DD_SITE"
    assert caught.value.value == site
    assert "DD_SITE" in str(caught.value)
    assert KEY not in str(caught.value)


@pytest.mark.parametrize("host", ["api.datadoghq.com", "ftp://x", "https://", "http:///path"])
def test_a_bad_host_names_dd_host_and_the_value(host: str) -> None:
    with pytest.raises(SettingsError) as caught:
        DatadogSite.from_env({"DD_HOST": host, "DD_API_KEY": KEY, "DD_APP_KEY": KEY})
    assert caught.value.key == "DD_HOST"
    assert host in str(caught.value)
    assert "base URL" in str(caught.value)
    assert KEY not in str(caught.value)
