"""HTTP facts, pure: which headers travel, schemes a card may carry, bounded inflation."""

from __future__ import annotations

import gzip

from multidict import CIMultiDict

from proxy import http


def test_hop_by_hop_recomputed_and_connection_named_headers_stay_behind() -> None:
    incoming = CIMultiDict(
        [
            ("Authorization", "Bearer x"),
            ("Connection", "keep-alive, X-Drop"),
            ("X-Drop", "1"),
            ("Expect", "100-continue"),
            ("Host", "proxy"),
            ("Content-Length", "3"),
            ("Transfer-Encoding", "chunked"),
            ("A2A-Version", "1.0"),
        ]
    )
    assert list(http.end_to_end(incoming).items()) == [
        ("Authorization", "Bearer x"),
        ("A2A-Version", "1.0"),
    ]


def test_expect_is_never_forwarded() -> None:
    """M-1: our server answered 100-continue already; an agent that never sends 100 would
    otherwise hold the forwarded request forever."""
    assert "expect" in http.RECOMPUTED


def test_a_card_scheme_comes_from_x_forwarded_proto_only_when_it_is_http() -> None:
    assert http.public_scheme("https", "http") == "https"
    assert http.public_scheme("HTTPS, http", "http") == "https"
    assert http.public_scheme("javascript", "http") == "http"
    assert http.public_scheme(None, "https") == "https"


def test_inflation_is_bounded() -> None:
    bomb = gzip.compress(b"0" * (4 * 1024 * 1024))
    assert http.decompressed(bomb, "gzip", 1024) is None
    assert http.decompressed(gzip.compress(b"{}"), "gzip", 1024) == b"{}"
    assert http.decompressed(b"x", "br", 1024) is None
    assert http.decompressed(b"not gzip", "gzip", 1024) is None


def test_body_presence_and_lengths() -> None:
    assert not http.may_have_body(204, "GET")
    assert not http.may_have_body(200, "HEAD")
    assert http.may_have_body(200, "POST")
    assert http.content_length({"Content-Length": "12"}) == 12
    assert http.content_length({"Content-Length": "-1"}) is None
    assert http.content_length({}) is None
