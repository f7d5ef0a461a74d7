"""A2A protocol facts, pure: names, versions, bindings, states."""

from __future__ import annotations

import pytest

from proxy import a2a


def test_both_generations_map_to_the_1_0_name() -> None:
    assert a2a.method_name("message/send") == "SendMessage"
    assert a2a.method_name("SendMessage") == "SendMessage"
    assert a2a.method_name("tasks/resubscribe") == "SubscribeToTask"
    assert a2a.method_name("x.ext/op") == a2a.OTHER
    assert a2a.method_style_version("message/send") == "0.3"
    assert a2a.method_style_version("GetTask") == "1.0"
    assert a2a.method_style_version("x.ext/op") is None


@pytest.mark.parametrize(
    ("sent", "tag"),
    [("1.0", "1.0"), ("0.3", "0.3"), ("0.3.0", "0.3"), (" 1.0 ", "1.0"), ("9.9", "_OTHER"),
     ("v" * 8000, "_OTHER"), ("", "_OTHER")],
)  # fmt: skip
def test_version_tags_are_a_closed_set(sent: str, tag: str) -> None:
    assert a2a.version_tag(sent) == tag


@pytest.mark.parametrize(
    ("method", "path", "binding", "rest_method"),
    [
        ("GET", "/.well-known/agent-card.json", "card", None),
        ("HEAD", "/.well-known/agent.json", "card", None),
        ("POST", "/.well-known/agent-card.json", "jsonrpc", None),
        ("POST", "/message:send", "rest", "SendMessage"),
        ("GET", "/v1/tasks/t-1", "rest", "GetTask"),
        ("POST", "/", "jsonrpc", None),
        ("GET", "/health", "http", None),
    ],
)
def test_binding_of_a_request(
    method: str, path: str, binding: str, rest_method: str | None
) -> None:
    found, rest = a2a.binding_of(method, path)
    assert found == binding
    if binding == "rest":
        assert rest is not None
        assert rest.method == rest_method


def test_states_and_error_names() -> None:
    assert a2a.normalise_state("completed") == "TASK_STATE_COMPLETED"
    assert a2a.normalise_state("TASK_STATE_WORKING") == "TASK_STATE_WORKING"
    assert a2a.normalise_state(5) is None
    assert a2a.error_name(-32001) == "TASK_NOT_FOUND"
    assert a2a.error_name(1) is None
