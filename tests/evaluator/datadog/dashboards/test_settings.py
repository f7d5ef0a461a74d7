from __future__ import annotations

import pytest

from evaluator.datadog.dashboards.settings import DatadogSettings, case_project_from_env
from proxy.errors import SettingsError

KEYS = {"DD_API_KEY": "a" * 32, "DD_APP_KEY": "b" * 40}


def test_site_gives_the_api_base_url() -> None:
    settings = DatadogSettings.from_env({**KEYS, "DD_SITE": "datadoghq.eu"})
    assert settings.base_url == "https://api.datadoghq.eu"
    assert settings.scope == "datadoghq.eu"
    assert DatadogSettings.from_env(KEYS).base_url == "https://api.datadoghq.com"


def test_host_overrides_the_site() -> None:
    settings = DatadogSettings.from_env({**KEYS, "DD_HOST": "http://127.0.0.1:8080/"})
    assert settings.base_url == "http://127.0.0.1:8080"
    assert settings.scope == "http://127.0.0.1:8080"


def test_keys_never_show_in_repr() -> None:
    assert "a" * 32 not in repr(DatadogSettings.from_env(KEYS))


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DD_APP_KEY": "x"}, "DD_API_KEY='': not set"),
        ({**KEYS, "DD_SITE": "https://datadoghq.com"}, "DD_SITE='https://datadoghq.com'"),
        (
            {**KEYS, "DD_HOST": "api.datadoghq.com"},
            "DD_HOST='api.datadoghq.com': expected a base URL",
        ),
    ],
)
def test_bad_settings_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message.replace("(", r"\(")):
        DatadogSettings.from_env(env)


def test_case_project_handle() -> None:
    assert case_project_from_env({}) is None
    assert case_project_from_env({"TAU2OBSERVE_CASE_PROJECT": "@case-evals"}) == "evals"
    with pytest.raises(SettingsError, match="TAU2OBSERVE_CASE_PROJECT"):
        case_project_from_env({"TAU2OBSERVE_CASE_PROJECT": "a b"})
