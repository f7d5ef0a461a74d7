"""What the sidecar never writes down: one redaction rule for spans, logs and content.

The rule, applied to a *name* (a query parameter, a JSON field, a ``key: value`` label):
percent-decode it (twice over, so ``t%256Fken`` is caught too), lower-case it, and treat
it as secret when it contains any of :data:`SECRET_WORDS` anywhere, e.g. ``access_token``,
``X-Amz-Credential``, ``client_secret``, ``oauth_code``, ``PWD``, or one of the short
:data:`SECRET_SEGMENTS` as a whole segment (``sid``, ``url_sig``; not ``sidecar`` or
``design``, which a substring rule would blank out of every log line). Users add words with
``--redact-name``. Query strings split on ``&`` and ``;``; a secret parameter keeps its
name and loses its value (``api_key=REDACTED``). Over-redaction (``monkey=`` contains
``key``) is the accepted price of a rule that never misses a variant.

Free text (message content, log lines) is scrubbed for credential shapes: ``Bearer``
and ``Basic`` credentials, ``sk-`` keys, JWTs, and ``name: value`` / ``name=value`` /
``"name": "value"`` pairs whose name the rule calls secret.

Pure functions and one ``logging.Filter``; nothing here touches the network.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from urllib.parse import unquote_plus, urlsplit, urlunsplit

REDACTED = "REDACTED"
ATTRIBUTE_LIMIT = 1024  # longest attribute value we write (Datadog keeps 256 chars in tags)

SECRET_WORDS: tuple[str, ...] = (
    "token",
    "key",
    "secret",
    "password",
    "passwd",
    "pwd",
    "auth",  # authorization, oauth, auth_token
    "credential",
    "signature",
    "session",
    "sessid",  # PHPSESSID
    "cookie",
    "code",  # OAuth authorization codes
    "jwt",
    "bearer",
)
# Too short to match inside a word: secret only as a whole segment of the name.
SECRET_SEGMENTS: tuple[str, ...] = ("sid", "sig")

_QUERY_SEPARATOR = re.compile(r"([&;])")
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
_CREDENTIAL_SHAPES = (
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]{4,}"), rf"\1 {REDACTED}"),
    (re.compile(r"\b(Basic)\s+[A-Za-z0-9+/]{8,}={0,2}"), rf"\1 {REDACTED}"),
    (re.compile(r"\bsk-[A-Za-z0-9_-]{8,}"), REDACTED),
    (_JWT, REDACTED),
)
# A ``name: value``, ``name=value`` or ``"name": "value"`` pair. The name starts at a token
# boundary (the lookbehind), so the scan stays linear; whether it is secret is decided
# per match, by the rule.
_PAIR = re.compile(
    r"(?P<name>(?P<quote>[\"']?)(?<![A-Za-z0-9_.\-])[A-Za-z0-9_.\-]+(?P=quote))"
    r"(?P<sep>\s*[:=]\s*)"
    r"(?P<value>\"(?:[^\"\\]|\\.)*\"|'[^']*'|[^\s,;&}\]\"']+)"
)
# Control characters (and Unicode line breaks) that would let a value forge a log line.
_CONTROL = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")


def clip(value: str, limit: int = ATTRIBUTE_LIMIT) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def printable(text: str) -> str:
    """``text`` with control characters escaped (``\\n`` -> ``\\x0a``): one log line stays one."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


@dataclass(frozen=True)
class Redactor:
    """The redaction rule, with the words users added (``--redact-name``)."""

    extra_words: tuple[str, ...] = ()

    @classmethod
    def with_names(cls, names: Iterable[str]) -> Redactor:
        words = tuple(dict.fromkeys(n.strip().lower() for n in names if n.strip()))
        return cls(words)

    @property
    def words(self) -> tuple[str, ...]:
        return SECRET_WORDS + tuple(w for w in self.extra_words if w not in SECRET_WORDS)

    @cached_property
    def _name_pattern(self) -> re.Pattern[str]:
        segments = [rf"(?<![a-z0-9]){re.escape(w)}(?![a-z0-9])" for w in SECRET_SEGMENTS]
        return re.compile("|".join([*(re.escape(w) for w in self.words), *segments]))

    # --- names -----------------------------------------------------------------------
    def is_secret_name(self, name: str) -> bool:
        decoded = name
        for _ in range(2):
            decoded = unquote_plus(decoded)
        return self._name_pattern.search(decoded.lower()) is not None

    # --- queries and URLs --------------------------------------------------------------
    def query(self, query: str, limit: int = ATTRIBUTE_LIMIT) -> str:
        """A query string with the values of secret parameters (and JWT values) redacted."""
        pieces = _QUERY_SEPARATOR.split(query)
        for i in range(0, len(pieces), 2):
            name, eq, value = pieces[i].partition("=")
            if eq and (self.is_secret_name(name) or _JWT.search(unquote_plus(value))):
                pieces[i] = f"{name}={REDACTED}"
        return clip("".join(pieces), limit)

    def url(self, url: str) -> str:
        """A URL without a password in its userinfo and with its query redacted."""
        try:
            parts = urlsplit(url)
        except ValueError:
            return clip(self.text(url))
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, _, hostport = netloc.rpartition("@")
            user = userinfo.partition(":")[0]
            secret = f"{user}:{REDACTED}" if ":" in userinfo else REDACTED
            netloc = f"{secret}@{hostport}"
        query = self.query(parts.query) if parts.query else ""
        return clip(urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment)))

    # --- free text -----------------------------------------------------------------
    def text(self, text: str) -> str:
        """Credential shapes and secret ``name: value`` pairs replaced by ``REDACTED``."""
        lower = text.lower()
        # Cheap scans first: most text holds no secret word at all, and the pair pattern
        # is the costly one (it tries a name at every position).
        if "bearer" in lower or "basic" in lower or "sk-" in lower or "eyj" in lower:
            for pattern, replacement in _CREDENTIAL_SHAPES:
                text = pattern.sub(replacement, text)
        if self._name_pattern.search(lower) is None:
            return text
        return _PAIR.sub(self._redact_pair, text)

    def _redact_pair(self, match: re.Match[str]) -> str:
        if self._name_pattern.search(match.group("name").lower()) is None:
            return match.group(0)
        value = match.group("value")
        quote = value[0] if value[:1] in ('"', "'") else ""
        return f"{match.group('name')}{match.group('sep')}{quote}{REDACTED}{quote}"


DEFAULT = Redactor()


# --- logging ---------------------------------------------------------------------------
class RedactingFilter(logging.Filter):
    """Every record a handler writes, scrubbed: message and traceback through the rule,
    control characters escaped, and aiohttp's report of a malformed request (which quotes
    the offending header line, credentials included) replaced by one line that quotes
    nothing from the request."""

    def __init__(self, redactor: Redactor = DEFAULT) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "aiohttp.server" and _is_bad_request(record):
            _summarise_bad_request(record)
            return True
        message = printable(self.redactor.text(record.getMessage()))
        record.msg, record.args = message, None
        if record.exc_info and record.exc_info[1] is not None:
            formatted = logging.Formatter().formatException(record.exc_info)
            record.exc_text = self.redactor.text(formatted)
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = self.redactor.text(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redactor.text(record.stack_info)
        return True


def _is_bad_request(record: logging.LogRecord) -> bool:
    exc = record.exc_info[1] if record.exc_info else None
    if exc is None:
        return False
    from aiohttp.http_exceptions import HttpProcessingError

    return isinstance(exc, HttpProcessingError)


def _summarise_bad_request(record: logging.LogRecord) -> None:
    assert record.exc_info is not None
    exc = record.exc_info[1]
    status = getattr(exc, "code", 400)
    record.msg = "refused a malformed request with %s (%s); its bytes are not logged"
    record.args = (status, type(exc).__name__)
    record.exc_info = None
    record.exc_text = None
    record.levelno, record.levelname = logging.WARNING, "WARNING"


def install_log_redaction(redactor: Redactor = DEFAULT, root: logging.Logger | None = None) -> None:
    """Put the filter on every handler of the root logger (once; a second call updates the
    rule). Entry points call this after configuring logging."""
    root = root or logging.getLogger()
    for handler in root.handlers:
        existing = [f for f in handler.filters if isinstance(f, RedactingFilter)]
        if existing:
            for f in existing:
                f.redactor = redactor
        else:
            handler.addFilter(RedactingFilter(redactor))
