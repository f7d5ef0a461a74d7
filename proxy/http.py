"""HTTP facts the sidecar decides by, as pure functions over headers and bytes.

Which headers belong to one connection only, whether a response is an event stream or
may carry a body, where a client says it reached us, and how to inflate a copy of a
compressed body for reading (bounded, so a gzip bomb costs nothing).
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping

from multidict import CIMultiDict

# RFC 9110 §7.6.1: meaningful only for one connection; everything else is end-to-end.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
# Headers the HTTP layers recompute for their own connection. ``Expect: 100-continue``
# was answered by our own server before the handler ran, and the body is already here:
# forwarding it would make the upstream call wait for a ``100`` some agents never send.
RECOMPUTED = frozenset({"host", "content-length", "expect"})
_SCHEMES = ("http", "https")


def end_to_end(headers: Mapping[str, str]) -> CIMultiDict[str]:
    """Copy headers minus hop-by-hop ones (and those named in Connection)."""
    named = {
        token.strip().lower()
        for value in getattr(headers, "getall", lambda *_: [])("Connection", [])
        for token in value.split(",")
    }
    out: CIMultiDict[str] = CIMultiDict()
    for key, value in headers.items():
        lower = key.lower()
        if lower in HOP_BY_HOP or lower in RECOMPUTED or lower in named:
            continue
        out.add(key, value)
    return out


def is_event_stream(headers: Mapping[str, str]) -> bool:
    return headers.get("Content-Type", "").split(";")[0].strip().lower() == "text/event-stream"


def is_json(headers: Mapping[str, str]) -> bool:
    return "json" in headers.get("Content-Type", "")


def content_encoding(headers: Mapping[str, str]) -> str:
    return headers.get("Content-Encoding", "identity").strip().lower() or "identity"


def may_have_body(status: int, request_method: str) -> bool:
    return status >= 200 and status not in (204, 304) and request_method != "HEAD"


def content_length(headers: Mapping[str, str]) -> int | None:
    value = headers.get("Content-Length", "")
    return int(value) if value.isdigit() else None


def public_scheme(forwarded: str | None, own: str) -> str:
    """The scheme a client reached us by: ``X-Forwarded-Proto`` when it is http or https,
    else the connection's own (a client must not make a card say ``javascript:``)."""
    if forwarded:
        first = forwarded.split(",")[0].strip().lower()
        if first in _SCHEMES:
            return first
    return own


def decompressed(payload: bytes, encoding: str, limit: int) -> bytes | None:
    """``payload`` inflated to at most ``limit`` bytes, or None (unknown coding, corrupt, or
    larger than ``limit``)."""
    if encoding in ("identity", ""):
        return payload
    if encoding not in ("gzip", "deflate"):
        return None
    wbits = 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS
    try:
        inflater = zlib.decompressobj(wbits)
        plain = inflater.decompress(payload, limit)
    except zlib.error:
        return None
    return None if inflater.unconsumed_tail else plain
