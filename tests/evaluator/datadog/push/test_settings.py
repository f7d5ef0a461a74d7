"""PushSettings: where a push goes (site, host, base URL) and the service/env tags it adds."""

from __future__ import annotations

import pytest

from evaluator.datadog.push.settings import EVALUATOR_SERVICE, PushSettings
from proxy.errors import SettingsError
from tests.fakes.datadog_metrics_api import API_KEY


def test_site_gives_the_base_url_and_host_overrides_it() -> None:
    env = {"DD_API_KEY": API_KEY, "DD_SITE": "datadoghq.eu"}
    assert PushSettings.from_env(env).base_url == "https://api.datadoghq.eu"
    assert PushSettings.from_env({**env, "DD_HOST": "http://127.0.0.1:9/"}).base_url == (
        "http://127.0.0.1:9"
    )
    assert PushSettings.from_env({"DD_API_KEY": API_KEY}).base_url == "https://api.datadoghq.com"
    assert API_KEY not in repr(PushSettings.from_env(env))


def test_the_key_is_required_unless_a_dry_run_and_its_error_names_the_variable() -> None:
    with pytest.raises(SettingsError) as caught:
        PushSettings.from_env({"DD_API_KEY": "  "})
    assert caught.value.key == "DD_API_KEY"
    assert "--dry-run" in str(caught.value)
    assert PushSettings.from_env({}, require_key=False).api_key is None


def test_bad_site_or_host_names_the_variable_and_never_the_key() -> None:
    with pytest.raises(SettingsError) as caught:
        PushSettings.from_env({"DD_API_KEY": API_KEY, "DD_HOST": "api.datadoghq.com"})
    assert caught.value.key == "DD_HOST"
    assert API_KEY not in str(caught.value)


def test_env_tag_comes_from_the_option_then_dd_env_and_is_left_out_when_unset() -> None:
    env = {"DD_API_KEY": API_KEY, "DD_ENV": "staging"}
    assert PushSettings.from_env(env).env == "staging"
    assert PushSettings.from_env(env, env_name="ci").env == "ci"
    assert PushSettings.from_env({**env, "DD_ENV": " "}).env is None
    bare = PushSettings.from_env({"DD_API_KEY": API_KEY})
    assert bare.extra_tags() == (("service", EVALUATOR_SERVICE),)
    assert PushSettings.from_env(env).extra_tags() == (
        ("env", "staging"),
        ("service", EVALUATOR_SERVICE),
    )


def test_service_tag_follows_the_option_then_the_otel_variables_then_the_evaluator() -> None:
    env = {"DD_API_KEY": API_KEY}
    assert PushSettings.from_env(env).service == EVALUATOR_SERVICE == "tau2observe-evaluator"
    resource = {**env, "OTEL_RESOURCE_ATTRIBUTES": "team=a,service.name=from-resource"}
    assert PushSettings.from_env(resource).service == "from-resource"
    named = {**resource, "OTEL_SERVICE_NAME": "from-name"}
    assert PushSettings.from_env(named).service == "from-name"
    assert PushSettings.from_env(named, service="bench").service == "bench"


def test_an_empty_service_option_is_refused() -> None:
    with pytest.raises(SettingsError) as caught:
        PushSettings.from_env({"DD_API_KEY": API_KEY}, service=" ")
    assert caught.value.key == "--service"
