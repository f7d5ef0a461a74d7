"""Is an LLM configured? Checked offline, before anything runs."""

from __future__ import annotations

import pytest

from evaluator.llm_check import check_llm, missing_credentials
from proxy.errors import UsageError


def test_a_provider_key_missing_from_the_environment_is_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert missing_credentials("openai/gpt-4.1", {}) == ["OPENAI_API_KEY"]
    with pytest.raises(UsageError, match=r"--model openai/gpt-4\.1: not configured: set "
                       r"OPENAI_API_KEY .* in --llm-args"):  # fmt: skip
        check_llm("openai/gpt-4.1", {}, option="--model")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    check_llm("openai/gpt-4.1", {}, option="--model")


@pytest.mark.parametrize(
    "args",
    [{"api_key": "k"}, {"api_base": "http://127.0.0.1:8000/v1"}, {"mock_response": "hi"}],
)
def test_arguments_that_configure_the_model_themselves_count(
    args: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert missing_credentials("openai/gpt-4.1", args) == []


def test_no_model_and_an_unknown_provider_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="--user-llm: a litellm model name is needed"):
        check_llm(None, {}, option="--user-llm")
    with pytest.raises(UsageError, match="does not know this model's provider"):
        check_llm("nosuchprovider-xyz/model", {}, option="--user-llm")
