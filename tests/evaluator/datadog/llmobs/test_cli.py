"""cli: the ``--llmobs`` option and ``DD_LLMOBS_ENABLED``, and the errors before anything starts."""

from __future__ import annotations

import argparse

import pytest

from evaluator.datadog.llmobs.cli import DEFAULT_ML_APP, add_option, start_from_args
from proxy.errors import SettingsError
from tests.evaluator.datadog.llmobs.conftest import TracedRun, traced_run

KEY = "0123456789abcdef0123456789abcdef"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DD_LLMOBS_ENABLED", "DD_API_KEY", "DD_SITE", "DD_LLMOBS_ML_APP",
                 "DD_LLMOBS_OVERRIDE_ORIGIN"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)


def parser() -> argparse.ArgumentParser:
    found = argparse.ArgumentParser()
    add_option(found.add_argument_group("telemetry"))
    return found


def test_the_option_is_off_unless_given() -> None:
    assert parser().parse_args([]).llmobs is False
    assert parser().parse_args(["--llmobs"]).llmobs is True
    assert "DD_LLMOBS_ENABLED" in parser().format_help()


def test_nothing_starts_without_the_option_or_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DD_API_KEY", KEY)
    monkeypatch.setenv("DD_LLMOBS_ENABLED", "0")
    assert start_from_args(parser().parse_args([]), DEFAULT_ML_APP) is None
    assert start_from_args(argparse.Namespace(), DEFAULT_ML_APP) is None  # a command without it


def test_the_variable_alone_asks_and_then_a_key_is_needed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DD_LLMOBS_ENABLED", "true")
    with pytest.raises(SettingsError) as caught:
        start_from_args(parser().parse_args([]), DEFAULT_ML_APP)
    assert caught.value.key == "DD_API_KEY"
    assert "--llmobs" in str(caught.value)


def test_a_bad_key_or_ml_app_is_named_before_anything_starts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DD_API_KEY", "not-a-key-but-a-secret")
    with pytest.raises(SettingsError) as caught:
        start_from_args(parser().parse_args(["--llmobs"]), DEFAULT_ML_APP)
    assert caught.value.key == "DD_API_KEY"
    assert "not-a-key-but-a-secret" not in str(caught.value)
    monkeypatch.setenv("DD_API_KEY", KEY)
    with pytest.raises(SettingsError) as bad_app:
        start_from_args(parser().parse_args(["--llmobs"]), "Tau2 Observe")
    assert bad_app.value.key == "DD_LLMOBS_ML_APP"


def test_the_option_starts_llm_observability_with_the_commands_ml_app(traced: TracedRun) -> None:
    assert traced.report["started"]
    assert traced.report["ml_app"] == "tau2-unit"  # the command's default, no DD_LLMOBS_ML_APP


def test_in_a_process_without_the_option_ddtrace_stays_off() -> None:
    report, _ = traced_run(DD_API_KEY=KEY, DD_LLMOBS_ENABLED="no")
    assert report == {"started": False}
