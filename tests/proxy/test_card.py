from __future__ import annotations

import json
from typing import Any

import pytest

from proxy.card import CardRewriter, map_url, rewrite_card_value


@pytest.mark.parametrize(
    ("url", "upstream", "public", "expected"),
    [
        ("http://127.0.0.1:9001/", "http://127.0.0.1:9001", "http://p:9100", "http://p:9100/"),
        ("http://localhost:9001/", "http://127.0.0.1:9001", "http://p:9100/a", "http://p:9100/a/"),
        ("http://h:9001/a2a/v1", "http://h:9001/a2a", "http://p/x", "http://p/x/v1"),
        ("http://h:9001/a2a", "http://h:9001/a2a", "http://p/x", "http://p/x"),
        ("http://h:9001/a2a?t=1", "http://h:9001/a2a", "http://p/x", "http://p/x?t=1"),
        ("http://h:9002/", "http://h:9001", "http://p", None),  # other port
        ("http://other:9001/", "http://h:9001", "http://p", None),  # other host
        ("http://h:9001/elsewhere", "http://h:9001/a2a", "http://p", None),  # outside the base
        ("http://h:9001/a2aX", "http://h:9001/a2a", "http://p", None),  # prefix, not a segment
        ("127.0.0.1:50051", "http://127.0.0.1:9001", "http://p", None),  # gRPC host:port
        ("http://h:notaport/", "http://h:9001", "http://p", None),
    ],
)
def test_map_url(url: str, upstream: str, public: str, expected: str | None) -> None:
    assert map_url(url, upstream, public) == expected


def test_every_generation_of_endpoint_field_is_rewritten() -> None:
    card: dict[str, Any] = {
        "url": "http://a:1/",
        "additionalInterfaces": [{"url": "http://a:1/", "transport": "JSONRPC"}],
        "supportedInterfaces": [
            {"url": "http://a:1/", "protocolBinding": "JSONRPC"},
            {"url": "a:50051", "protocolBinding": "GRPC"},
        ],
    }
    rewritten, foreign = rewrite_card_value(card, "http://a:1", "http://proxy:2")
    assert rewritten == 3
    assert foreign == []
    assert card["url"] == "http://proxy:2/"
    assert card["supportedInterfaces"][1]["url"] == "a:50051"


def test_rewriter_caches_and_translates_etags() -> None:
    rewriter = CardRewriter(max_entries=2)
    body = json.dumps({"name": "x", "url": "http://a:1/"}).encode()
    first = rewriter.rewrite(body, "http://a:1", "http://p:2", '"up-1"')
    again = rewriter.rewrite(body, "http://a:1", "http://p:2", '"up-1"')
    assert first is again
    assert first is not None
    assert json.loads(first.body)["url"] == "http://p:2/"
    assert rewriter.upstream_etag(first.etag) == '"up-1"'
    other = rewriter.rewrite(body, "http://a:1", "http://elsewhere:3", None)
    assert other is not None
    assert other.etag != first.etag


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b"[" * 100_000])
def test_bodies_that_are_not_cards_are_left_alone(body: bytes) -> None:
    assert CardRewriter().rewrite(body, "http://a:1", "http://p:2", None) is None


def test_a_url_that_names_the_sidecar_already_is_not_foreign() -> None:
    card: dict[str, Any] = {"url": "http://proxy:2/", "supportedInterfaces": []}
    rewritten, foreign = rewrite_card_value(card, "http://a:1", "http://proxy:2")
    assert (rewritten, foreign) == (0, [])
    assert card["url"] == "http://proxy:2/"


def test_foreign_urls_are_rewritten_only_when_asked() -> None:
    def card() -> dict[str, Any]:
        return {
            "url": "https://agent.example.com/",
            "supportedInterfaces": [
                {"url": "https://agent.example.com/", "protocolBinding": "JSONRPC"},
                {"url": "agent.example.com:50051", "protocolBinding": "GRPC"},
            ],
        }

    left = card()
    assert rewrite_card_value(left, "http://a:1", "http://proxy:2") == (
        0,
        ["https://agent.example.com/", "https://agent.example.com/"],
    )
    assert left == card()
    moved = card()
    rewritten, foreign = rewrite_card_value(
        moved, "http://a:1", "http://proxy:2/route", rewrite_foreign=True
    )
    assert rewritten == 2
    assert len(foreign) == 2  # still reported: the agent advertises them
    assert moved["url"] == "http://proxy:2/route/"
    assert moved["supportedInterfaces"][0]["url"] == "http://proxy:2/route/"
    assert moved["supportedInterfaces"][1]["url"] == "agent.example.com:50051"


def test_foreign_urls_are_logged_once_per_route(caplog: pytest.LogCaptureFixture) -> None:
    rewriter = CardRewriter()
    for version in range(3):  # the card changes, the route stays
        body = json.dumps({"name": "x", "version": version, "url": "https://pub.example/"})
        rewriter.rewrite(body.encode(), "http://a:1", "http://p:2", None)
    rewriter.rewrite(
        json.dumps({"name": "y", "url": "https://pub.example/"}).encode(),
        "http://b:1",
        "http://p:2/b",
        None,
    )
    warnings = [r for r in caplog.records if r.name == "proxy.card"]
    assert [r.levelname for r in warnings] == ["WARNING", "WARNING"]
    assert "http://a:1" in warnings[0].getMessage()
    assert "https://pub.example/" in warnings[0].getMessage()
    assert "--rewrite-all-card-urls" in warnings[0].getMessage()
    assert "http://b:1" in warnings[1].getMessage()


def test_no_warning_when_every_url_is_rewritten(caplog: pytest.LogCaptureFixture) -> None:
    rewriter = CardRewriter(rewrite_foreign=True)
    result = rewriter.rewrite(b'{"url": "https://pub.example/"}', "http://a:1", "http://p:2", None)
    assert result is not None
    assert json.loads(result.body)["url"] == "http://p:2/"
    assert not [r for r in caplog.records if r.name == "proxy.card"]


def test_a_card_with_a_lone_surrogate_is_rewritten_to_the_same_json_value() -> None:
    """H-1: ``\\ud800`` is valid JSON with no UTF-8 form; the rewrite escapes it."""
    body = b'{"name": "odd \\ud800", "url": "http://127.0.0.1:9001/"}'
    card = CardRewriter().rewrite(body, "http://127.0.0.1:9001", "http://p:9100", None)
    assert card is not None
    assert json.loads(card.body) == {"name": "odd \ud800", "url": "http://p:9100/"}
    envelope = {"jsonrpc": "2.0", "id": 1, "result": json.loads(body)}
    extended = CardRewriter().rewrite_result(envelope, "http://127.0.0.1:9001", "http://p:9100")
    assert extended is not None
    assert json.loads(extended.body)["result"]["name"] == "odd \ud800"
