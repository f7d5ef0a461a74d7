from __future__ import annotations

import json

from proxy import a2a
from proxy.jsonrpc import read_request, read_response, read_result


def test_request_of_each_generation() -> None:
    v10 = read_request(
        json.dumps(
            {
                "jsonrpc": "2.0",
                "id": 5,
                "method": "SendMessage",
                "params": {
                    "message": {
                        "messageId": "m",
                        "contextId": "c",
                        "taskId": "t",
                        "parts": [{"text": "hi"}],
                        "referenceTaskIds": ["r"],
                    },
                    "tenant": "acme",
                },
            }
        ).encode()
    )
    assert (
        v10.wire_method,
        v10.request_id,
        v10.id_value,
        v10.context_id,
        v10.task_id,
        v10.message_id,
        v10.tenant,
        v10.text,
    ) == ("SendMessage", "5", 5, "c", "t", "m", "acme", "hi")
    assert v10.reference_task_ids == ("r",)
    v03 = read_request(b'{"jsonrpc":"2.0","id":"x","method":"tasks/get","params":{"id":"t9"}}')
    assert (v03.wire_method, v03.task_id) == ("tasks/get", "t9")
    assert (
        read_request(
            b'{"jsonrpc":"2.0","id":null,"method":"GetTask","params":{"name":"tasks/t1"}}'
        ).task_id
        == "t1"
    )


def test_notification_has_no_id() -> None:
    view = read_request(b'{"jsonrpc":"2.0","method":"x/y"}')
    assert view.is_notification
    assert view.request_id is None


def test_method_names_and_versions() -> None:
    assert a2a.method_name("message/stream") == "SendStreamingMessage"
    assert a2a.method_name("tasks/sendSubscribe") == "SendStreamingMessage"
    assert a2a.method_name("org.ext/act") == a2a.OTHER
    assert a2a.method_style_version("SendMessage") == "1.0"
    assert a2a.method_style_version("message/send") == "0.3"
    rest = a2a.rest_call("POST", "/v1/tasks/abc:cancel")
    assert rest is not None
    assert (rest.method, rest.task_id, rest.version) == (
        "CancelTask",
        "abc",
        "0.3",
    )
    assert a2a.rest_call("GET", "/tasks/abc") == a2a.RestCall("GetTask", "abc", None)


def test_results_of_each_generation() -> None:
    v03 = read_result(
        {
            "kind": "status-update",
            "taskId": "t",
            "contextId": "c",
            "status": {"state": "input-required"},
            "final": True,
        }
    )
    assert (v03.kind, v03.task_state, v03.final) == (
        "status-update",
        "TASK_STATE_INPUT_REQUIRED",
        True,
    )
    v10 = read_result(
        {
            "task": {
                "id": "t",
                "contextId": "c",
                "status": {
                    "state": "TASK_STATE_COMPLETED",
                    "message": {"role": "ROLE_AGENT", "parts": [{"text": "bye"}]},
                },
                "artifacts": [{"parts": [{"text": "art"}]}],
            }
        }
    )
    assert (v10.kind, v10.task_id, v10.context_id, v10.texts) == ("task", "t", "c", ["bye", "art"])
    user = read_result(
        {"message": {"messageId": "m", "role": "ROLE_USER", "parts": [{"text": "not the agent"}]}}
    )
    assert user.texts == []


def test_errors_of_each_generation() -> None:
    v10 = read_response(
        b'{"jsonrpc":"2.0","id":1,"error":{"code":-32001,"message":"Task not found","data":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"TASK_NOT_FOUND"}]}}'
    )
    assert (v10.error_code, v10.error_reason, v10.error_message) == (
        -32001,
        "TASK_NOT_FOUND",
        "Task not found",
    )
    v03 = read_response(
        b'{"jsonrpc":"2.0","id":1,"error":{"code":-32009,"data":null,"message":"no"}}'
    )
    assert (v03.error_code, v03.error_reason) == (-32009, "VERSION_NOT_SUPPORTED")


def test_bad_responses_say_why() -> None:
    assert (read_response(b"<html>").parse_error or "").startswith("invalid_json")
    assert (read_response(b'{"jsonrpc":"2.0"}').parse_error or "").startswith("not_jsonrpc")
    assert (read_response(b"\xff").parse_error or "").startswith("invalid_utf8")


# H-1: valid JSON that Python cannot hold, or shapes the reader did not expect, is a
# parse error, never an exception (an exception there used to replace the reply with 500).
def test_an_integer_of_5000_digits_is_too_large_not_an_exception() -> None:
    body = b'{"jsonrpc":"2.0","id":' + b"7" * 5000 + b',"method":"SendMessage"}'
    assert (read_request(body).parse_error or "").startswith("too_large")
    assert (read_response(b'{"result":{"n":' + b"7" * 5000 + b"}}").parse_error or "").startswith(
        "too_large"
    )


def test_arrays_nested_600_deep_are_read_without_recursion() -> None:
    view = read_response(b"[" * 600 + b"]" * 600)
    assert view.parse_error == "not_jsonrpc: response is not an object"


def test_artifacts_that_are_not_a_list_are_ignored() -> None:
    view = read_result({"kind": "task", "id": "t", "artifacts": 5})
    assert view.kind == "task"
    assert view.texts == []


def test_a_long_prompt_keeps_its_end() -> None:
    from proxy.jsonrpc import TEXT_LIMIT

    text = "s" * TEXT_LIMIT + " the question?"
    body = json.dumps(
        {"jsonrpc": "2.0", "id": 1, "method": "SendMessage",
         "params": {"message": {"parts": [{"text": text}]}}}
    ).encode()  # fmt: skip
    kept = read_request(body).text or ""
    assert kept.endswith(" the question?")
    assert len(kept) <= TEXT_LIMIT + 64
    assert "chars omitted" in kept
