"""The exchange record and what it yields, pure: no network, no OTel."""

from __future__ import annotations

import json

import pytest

from proxy import a2a
from proxy.errors import UpstreamUnavailable
from proxy.exchange import (
    ATTRIBUTE_LIMIT,
    Arrival,
    CardRewrite,
    Exchange,
    access_line,
    client_attributes,
    error_body,
    head_and_tail,
    parsed_before_writing,
    read_request_body,
    read_response_copy,
    server_attributes,
)
from proxy.jsonrpc import RequestView
from proxy.settings import Route

ROUTE = Route(name="agent", prefix="/", upstream="http://127.0.0.1:9")


def _exchange(**overrides: object) -> Exchange:
    values: dict[str, object] = {
        "route": ROUTE,
        "http_method": "POST",
        "path": "/",
        "relative_path": "/",
        "query": "",
        "scheme": "http",
        "client_address": "127.0.0.1",
        "server_address": "127.0.0.1",
        "server_port": 9100,
        "user_agent": None,
        "version_header": "1.0",
        "binding": "jsonrpc",
        "start_ns": 1_000_000,
    }
    values.update(overrides)
    return Exchange.begin(Arrival(**values))  # type: ignore[arg-type]


def test_head_and_tail_keeps_both_ends_and_says_what_is_left_out() -> None:
    text = "START " + "x" * 100 + " the question?"
    cut = head_and_tail(text, 20)
    assert cut.startswith("START xxxx")
    assert cut.endswith("question?")
    assert "[100 chars omitted]" in cut
    assert head_and_tail("short", 20) == "short"


def test_access_line_cannot_forge_a_second_line() -> None:
    """M-3: a newline in a client-chosen contextId stays inside one line."""
    ex = _exchange(query="token=abc&x=1")
    ex.request = RequestView(wire_method="SendMessage", context_id="x\n2026-01-01 INFO FORGED")
    ex.delivery.status = 200
    line = access_line(ex, 3_000_000)
    assert "\n" not in line
    assert "conversation=x\\x0a2026-01-01 INFO FORGED" in line
    assert "/?token=REDACTED&x=1" in line


def test_unknown_protocol_versions_become_other_as_a_tag_and_are_clipped_on_spans() -> None:
    """M-6: the client picks A2A-Version; metric tags must stay a small set."""
    assert _exchange(version_header="1.0").version_tag == "1.0"
    assert _exchange(version_header="0.3.0").version_tag == "0.3"
    assert _exchange(version_header=None).version_tag == "0.3"
    wild = _exchange(version_header="v" * 8000)
    assert wild.version_tag == a2a.OTHER
    attrs = server_attributes(wild, False, 100)
    assert len(attrs["a2a.protocol.version"]) <= 64


def test_every_string_attribute_is_clipped() -> None:
    ex = _exchange(user_agent="u" * 5000)
    ex.request = RequestView(
        wire_method="SendMessage", request_id="i" * 5000, batch_methods=("m" * 5000,)
    )
    ex.request.batch_size = 1
    attrs = server_attributes(ex, False, 100)
    assert all(len(v) <= ATTRIBUTE_LIMIT for v in attrs.values() if isinstance(v, str))
    assert all(len(m) <= ATTRIBUTE_LIMIT for m in attrs["a2a.proxy.batch.methods"])


def test_query_and_urls_on_spans_use_the_rule() -> None:
    ex = _exchange(query="X-Amz-Credential=AKIA&page=2")
    assert server_attributes(ex, False, 100)["url.query"] == "X-Amz-Credential=REDACTED&page=2"
    url = "http://u:pw@127.0.0.1:9/?code=abc"
    attrs = client_attributes(ex, "127.0.0.1", 9, url)
    assert attrs["url.full"] == "http://u:REDACTED@127.0.0.1:9/?code=REDACTED"


def test_foreign_card_urls_are_redacted() -> None:
    """L-4: a card's userinfo and query secrets do not reach the span."""
    ex = _exchange(binding="card")
    ex.card = CardRewrite(0, ("https://user:CARDPW@agent.example/?token=CARDQ",))
    [foreign] = server_attributes(ex, False, 100)["a2a.proxy.card.foreign_urls"]
    assert "CARDPW" not in foreign
    assert "CARDQ" not in foreign


def test_captured_content_is_scrubbed_then_capped() -> None:
    """M-4: credential-shaped fields in message text."""
    ex = _exchange()
    ex.request = RequestView(
        wire_method="SendMessage",
        text='use "token": "CANARY-1" and password: CANARY-2 ' + "pad " * 50 + "last words",
    )
    attrs = server_attributes(ex, True, 80)
    [message] = json.loads(attrs["gen_ai.input.messages"])
    content = message["parts"][0]["content"]
    assert "CANARY" not in content
    assert content.endswith("last words")


def test_telemetry_and_card_problems_are_on_the_span() -> None:
    ex = _exchange()
    ex.telemetry_problem = "response: RecursionError"
    ex.card_problem = "relayed untouched: card: UnicodeEncodeError"
    attrs = server_attributes(ex, False, 100)
    assert attrs["a2a.proxy.telemetry_error"] == "response: RecursionError"
    assert attrs["a2a.proxy.card.rewrite_error"].startswith("relayed untouched")


def test_error_body_echoes_the_id_and_names_no_address() -> None:
    """L-3: the client learns which route failed, not where the agent lives."""
    ex = _exchange()
    read_request_body(ex, b'{"jsonrpc":"2.0","id":"abc","method":"SendMessage"}')
    error = UpstreamUnavailable(
        "cannot connect to upstream http://10.0.0.7:9101: refused", "cannot connect to upstream"
    )
    body = json.loads(error_body(ex, error))
    assert body["id"] == "abc"
    assert body["error"]["code"] == -32603
    assert "10.0.0.7" not in json.dumps(body)
    rest = json.loads(error_body(_exchange(binding="rest"), error))
    assert rest["error"]["code"] == 502


@pytest.mark.parametrize(
    ("binding", "method", "status", "first"),
    [
        ("card", None, 200, True),
        ("card", None, 304, False),
        ("jsonrpc", "GetExtendedAgentCard", 200, True),
        ("jsonrpc", "SendMessage", 200, False),
        ("rest", None, 200, False),
    ],
)
def test_only_cards_are_read_before_writing(
    binding: str, method: str | None, status: int, first: bool
) -> None:
    ex = _exchange(binding=binding)
    if method:
        ex.request = RequestView(wire_method=method)
    assert parsed_before_writing(ex, status) is first


def test_response_copy_is_read_by_binding_and_compression() -> None:
    ex = _exchange()
    body = (
        b'{"jsonrpc":"2.0","id":1,"result":{"kind":"task","id":"t","status":{"state":"completed"}}}'
    )
    read_response_copy(ex, {"Content-Type": "application/json"}, body, 1 << 20)
    assert ex.response.task_state == "TASK_STATE_COMPLETED"
    zipped = _exchange()
    read_response_copy(
        zipped, {"Content-Type": "application/json", "Content-Encoding": "br"}, body, 1 << 20
    )
    assert zipped.response.parse_error == "compressed: br body not read"
    text = _exchange()
    read_response_copy(text, {"Content-Type": "text/plain"}, body, 1 << 20)
    assert text.response.result_kind is None
