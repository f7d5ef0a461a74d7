"""When LLM Observability is on, and what a bad setting says."""

from __future__ import annotations

import pytest

from evaluator.datadog.llmobs.settings import LLMObsSettings
from proxy.errors import SettingsError

KEY = "0123456789abcdef0123456789abcdef"


def test_off_unless_the_flag_or_the_variable_asks() -> None:
    assert LLMObsSettings.from_env(False, "app", {"DD_API_KEY": KEY}) is None
    assert LLMObsSettings.from_env(False, "app", {"DD_LLMOBS_ENABLED": "0"}) is None
    on = LLMObsSettings.from_env(False, "app", {"DD_LLMOBS_ENABLED": "1", "DD_API_KEY": KEY})
    assert on is not None
    assert (on.ml_app, on.site, on.override_origin, on.capture_content) == (
        "app",
        "datadoghq.com",
        None,
        False,
    )


def test_the_variables_fill_in_site_ml_app_origin_and_content_capture() -> None:
    settings = LLMObsSettings.from_env(
        True,
        "app",
        {
            "DD_API_KEY": KEY,
            "DD_SITE": "datadoghq.eu",
            "DD_LLMOBS_ML_APP": "tau2-bench",
            "DD_LLMOBS_OVERRIDE_ORIGIN": "http://127.0.0.1:9",
            "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "true",
        },
    )
    assert settings is not None
    assert settings.site == "datadoghq.eu"
    assert settings.ml_app == "tau2-bench"
    assert settings.override_origin == "http://127.0.0.1:9"
    assert settings.content.enabled
    assert KEY not in repr(settings)


def test_a_missing_key_is_named() -> None:
    with pytest.raises(SettingsError, match="DD_API_KEY"):
        LLMObsSettings.from_env(True, "app", {})


def test_a_malformed_key_is_refused_without_being_shown() -> None:
    with pytest.raises(SettingsError, match="32 hex") as caught:
        LLMObsSettings.from_env(True, "app", {"DD_API_KEY": "not-a-real-key-but-secret"})
    assert "not-a-real-key-but-secret" not in str(caught.value)


@pytest.mark.parametrize("ml_app", ["Tau2", "tau2__bench", "tau2_", "tau 2", "x" * 194])
def test_ml_app_follows_datadogs_rules(ml_app: str) -> None:
    with pytest.raises(SettingsError, match="DD_LLMOBS_ML_APP"):
        LLMObsSettings(api_key=KEY, ml_app=ml_app)


def test_site_and_origin_are_checked() -> None:
    with pytest.raises(SettingsError, match="DD_SITE"):
        LLMObsSettings(api_key=KEY, ml_app="app", site="https://datadoghq.com")
    with pytest.raises(SettingsError, match="DD_LLMOBS_OVERRIDE_ORIGIN"):
        LLMObsSettings(api_key=KEY, ml_app="app", override_origin="127.0.0.1:8080")
