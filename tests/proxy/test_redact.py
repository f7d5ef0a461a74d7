"""The redaction rule, pure: query names, URLs, free text, and the logging filter."""

from __future__ import annotations

import io
import logging
import sys

import pytest
from aiohttp.http_exceptions import BadHttpMessage, LineTooLong

from proxy.redact import (
    DEFAULT,
    REDACTED,
    RedactingFilter,
    Redactor,
    install_log_redaction,
    printable,
)

# The probe's K2 query: nine secrets under names the old list missed or mis-split.
K2 = (
    "t%6Fken=QENC-1&code=QCODE-2&jwt=QJWT-3&pwd=QPWD-4&credential=QCRED-5"
    "&x=1;api_key=QSEMI-6&access_token=QAT-7&API_KEY=QUP-8&X-Amz-Credential=QAMZ-9"
)


def test_every_secret_of_the_probe_query_is_redacted_and_names_are_kept() -> None:
    redacted = DEFAULT.query(K2)
    for canary in ("QENC", "QCODE", "QJWT", "QPWD", "QCRED", "QSEMI", "QAT", "QUP", "QAMZ"):
        assert canary not in redacted
    assert redacted == (
        "t%6Fken=REDACTED&code=REDACTED&jwt=REDACTED&pwd=REDACTED&credential=REDACTED"
        "&x=1;api_key=REDACTED&access_token=REDACTED&API_KEY=REDACTED"
        "&X-Amz-Credential=REDACTED"
    )


@pytest.mark.parametrize(
    "name",
    [
        "t%256Fken",  # encoded twice
        "Password",
        "passwd",
        "client_secret",
        "X-Amz-Signature",
        "sig",
        "oauth_code",
        "SESSIONID",
        "auth",
        "id%5Ftoken",
        "jwt+token",
    ],
)
def test_secret_names_in_any_spelling(name: str) -> None:
    assert DEFAULT.query(f"{name}=S3CR3T&page=2") == f"{name}={REDACTED}&page=2"


def test_ordinary_parameters_and_bare_names_stay() -> None:
    assert DEFAULT.query("page=2&sort=asc;lang=en&token") == "page=2&sort=asc;lang=en&token"


def test_a_jwt_is_redacted_whatever_its_name() -> None:
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"
    assert DEFAULT.query(f"state={jwt}") == f"state={REDACTED}"


def test_users_add_words_to_the_rule() -> None:
    rule = Redactor.with_names(["Tenant", " "])
    assert rule.query("tenant_id=acme&page=1") == f"tenant_id={REDACTED}&page=1"
    assert DEFAULT.query("tenant_id=acme") == "tenant_id=acme"
    assert "tenant" in rule.words
    assert "token" in rule.words


def test_urls_lose_userinfo_passwords_and_secret_query_values() -> None:
    url = "https://user:CARDPW@agent.example:8443/a2a?token=CARDQ&v=1"
    assert (
        DEFAULT.url(url) == f"https://user:{REDACTED}@agent.example:8443/a2a?token={REDACTED}&v=1"
    )
    assert DEFAULT.url("http://h/p") == "http://h/p"


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ('please use "token": "CANARY-TEXT-111" now', "CANARY-TEXT-111"),
        ("and password: CANARY-PW-999", "CANARY-PW-999"),
        ("password=CANARY-REPLY-PW", "CANARY-REPLY-PW"),
        ("Authorization: Bearer CANARY-AUTH-123", "CANARY-AUTH-123"),
        ("api_key=CANARY-KEY-456 and more", "CANARY-KEY-456"),
        ("key sk-abcdefghijklmnop", "sk-abcdefghijklmnop"),
        ("{'client_secret': 'CANARY-PY'}", "CANARY-PY"),
        ("Cookie: session=CANARY-COOKIE", "CANARY-COOKIE"),
        ("Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA=="),
    ],
)
def test_credential_shapes_in_text_are_scrubbed(text: str, secret: str) -> None:
    scrubbed = DEFAULT.text(text)
    assert secret not in scrubbed
    assert REDACTED in scrubbed


def test_plain_words_survive_the_text_scrubber() -> None:
    text = "Book flight HAT001 for Mia Li; her zip is 02134."
    assert DEFAULT.text(text) == text


def test_json_stays_json_after_scrubbing() -> None:
    assert DEFAULT.text('{"token": "abc", "n": 1}') == '{"token": "REDACTED", "n": 1}'


def test_control_characters_are_escaped() -> None:
    assert printable("a\nb\r\x1bc\u2028d") == r"a\x0ab\x0d\x1bc\x2028d"


def _record(name: str, msg: str, exc: BaseException | None = None) -> logging.LogRecord:
    exc_info = (type(exc), exc, None) if exc is not None else None
    return logging.LogRecord(name, logging.ERROR, __file__, 1, msg, (), exc_info)


def _formatted(record: logging.LogRecord) -> str:
    assert RedactingFilter().filter(record)
    return logging.Formatter("%(levelname)s %(name)s: %(message)s").format(record)


def test_aiohttps_report_of_a_malformed_header_quotes_nothing() -> None:
    """C-1: aiohttp logs the offending header line, credential and all, at ERROR."""
    bad = BadHttpMessage("Invalid header value char", headers=None)
    bad.message = "Invalid header value char: b'Authorization: Bearer CANARY-MAL-AUTH-1\\x01'"
    long = LineTooLong(b"Bearer CANARY-LONG-AUTH-4ttttt", 8190)
    for exc in (bad, long):
        line = _formatted(_record("aiohttp.server", "Error handling request from %s", exc))
        assert "CANARY" not in line
        assert "\n" not in line  # one line, no traceback
        assert line.startswith("WARNING aiohttp.server: refused a malformed request with 400")


def test_any_record_is_scrubbed_and_stays_one_line() -> None:
    try:
        raise ValueError("upstream said Authorization: Bearer CANARY-TB-1")
    except ValueError:
        record = logging.LogRecord(
            "x", logging.ERROR, __file__, 1, "got %s", ("token=CANARY-ARG\nFORGED",), sys.exc_info()
        )
    text = _formatted(record)
    assert "CANARY" not in text
    assert text.splitlines()[0] == "ERROR x: got token=REDACTED\\x0aFORGED"
    assert "Traceback" in text  # the traceback stays, scrubbed


def test_install_puts_one_filter_on_each_root_handler_and_updates_it() -> None:
    root = logging.getLogger("tau2observe-test-root")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root.addHandler(handler)
    try:
        install_log_redaction(root=root)
        install_log_redaction(Redactor.with_names(["tenant"]), root=root)
        filters = [f for f in handler.filters if isinstance(f, RedactingFilter)]
        assert len(filters) == 1
        root.warning("tenant=acme token=abc")
        assert stream.getvalue().strip() == "tenant=REDACTED token=REDACTED"
    finally:
        root.removeHandler(handler)


def test_short_words_are_secret_only_as_whole_segments() -> None:
    """``sid`` and ``sig`` inside a word (the sidecar, a design) are not credentials: a
    substring rule blanked out half of the sidecar's own log lines."""
    rule = Redactor()
    assert rule.text("routed by the sidecar: http://a:1/") == "routed by the sidecar: http://a:1/"
    assert rule.text("design: plain") == "design: plain"
    assert rule.text("sid=abc123 url_sig: xyz") == "sid=REDACTED url_sig: REDACTED"
    assert rule.is_secret_name("PHPSESSID")
    assert not rule.is_secret_name("sidecar")
