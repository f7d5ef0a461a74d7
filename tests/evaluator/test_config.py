import pytest

from evaluator.config import EvalConfig, default_results_path, mask_secrets
from proxy.errors import SettingsError, UsageError


def test_record_keeps_no_credentials() -> None:
    config = EvalConfig(
        domain="mock",
        agent_endpoint="http://127.0.0.1:9/",
        auth_token="tok-123",
        user="llm",
        user_llm="openai/gpt-4.1",
        user_llm_args={"temperature": 0, "api_key": "sk-abc", "extra": {"x_token": "t"}},
    )
    record = config.record()
    assert record["auth"] == "bearer"
    text = repr(record) + repr(config)
    for secret in ("tok-123", "sk-abc"):
        assert secret not in text
    assert record["user_llm_args"] == {
        "temperature": 0,
        "api_key": "***",
        "extra": {"x_token": "***"},
    }


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"agent_endpoint": "127.0.0.1:9"}, "--agent-a2a-endpoint"),
        ({"num_trials": 0}, "--num-trials"),
        ({"max_concurrency": 0}, "--max-concurrency"),
        ({"num_tasks": 0}, "--num-tasks"),
        ({"agent_timeout_s": 0}, "--agent-a2a-timeout"),
        ({"message_format": "xml"}, "--message-format"),
        ({"user": "llm"}, "--user-llm"),
        ({"proxy_mode": "url"}, "--proxy-url"),
    ],
)
def test_bad_settings_name_the_option(changes: dict[str, object], key: str) -> None:
    values: dict[str, object] = {"domain": "mock", "agent_endpoint": "http://127.0.0.1:9/"}
    values.update(changes)
    with pytest.raises(SettingsError, match=key) as caught:
        EvalConfig(**values)  # type: ignore[arg-type]
    assert isinstance(caught.value, UsageError)


def test_default_results_path_is_safe() -> None:
    path = default_results_path("airline", "my agent/v2", "20260101T000000Z")
    assert str(path) == "results/airline-my_agent_v2-20260101T000000Z.json"


def test_mask_secrets_leaves_other_values() -> None:
    assert mask_secrets({"temperature": 0.2, "Authorization": "Bearer x"}) == {
        "temperature": 0.2,
        "Authorization": "***",
    }


def test_agent_names_become_route_names() -> None:
    from evaluator.runner import route_name

    assert route_name("My Agent (v2)") == "My-Agent-v2"
    assert route_name("tau2observe-oracle") == "tau2observe-oracle"
    assert route_name("***") == "agent"
    assert len(route_name("x" * 100)) == 63


def test_a_bad_json_option_is_named_and_its_value_never_echoed() -> None:
    from evaluator.config import json_object_option
    from proxy.errors import UsageError

    with pytest.raises(UsageError, match="--llm-args: not JSON") as caught:
        json_object_option('{"api_key": "sk-SECRET-1"', "--llm-args")
    assert "sk-SECRET-1" not in str(caught.value)
    with pytest.raises(UsageError, match="--user-llm-args: must be a JSON object"):
        json_object_option('["sk-SECRET-2"]', "--user-llm-args")
    assert json_object_option('{"temperature": 0}', "--llm-args") == {"temperature": 0}
