"""Agent-card rewriting: every endpoint URL in a card points at the sidecar.

A client that fetches the card through the proxy and then calls the ``url`` inside it
would otherwise bypass the proxy. All three generations' endpoint fields are rewritten:
``url`` (0.2/0.3), ``additionalInterfaces[].url`` (0.3) and ``supportedInterfaces[].url``
(1.0). A URL is ours to rewrite when it names the upstream (same port and base path; the
host may be any local alias of the upstream's). A URL that already names the sidecar is
fine. Anything else is a way around the proxy: it is left alone, reported on the span and
logged once per route, or, with ``rewrite_foreign`` (``--rewrite-all-card-urls``, for
agents whose card advertises a public address), pointed at the sidecar too.

The rewritten body gets a new strong ETag; :class:`CardRewriter` remembers the pairing
with the upstream's ETag so a conditional request (If-None-Match) can be translated and a
304 still works. Rewriting invalidates JWS ``signatures``; they are kept and flagged.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

log = logging.getLogger("proxy.card")

_LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "0.0.0.0", "::1", "[::1]", "::"})  # noqa: S104


@dataclass(frozen=True)
class RewrittenCard:
    body: bytes
    etag: str
    rewritten: int  # URLs pointed at the proxy
    foreign: tuple[str, ...]  # endpoint URLs left alone (a bypass risk)
    signed: bool  # the card carried signatures, which no longer verify


def rewrite_card_value(
    card: dict[str, Any], upstream_base: str, public_base: str, *, rewrite_foreign: bool = False
) -> tuple[int, list[str]]:
    """Rewrite endpoint URLs in a decoded card in place; returns (rewritten, foreign).

    ``foreign`` lists the URLs that name neither the upstream nor the sidecar; with
    ``rewrite_foreign`` they are pointed at the sidecar as well (and still listed).
    """
    rewritten = 0
    foreign: list[str] = []

    def fix(holder: dict[str, Any]) -> None:
        nonlocal rewritten
        url = holder.get("url")
        if not isinstance(url, str):
            return
        new = map_url(url, upstream_base, public_base)
        if new is None:
            binding = holder.get("protocolBinding") or holder.get("transport")
            if binding in ("GRPC", "grpc"):  # gRPC host:port is not ours to proxy
                return
            if map_url(url, public_base, public_base) is not None:
                return  # it names the sidecar already
            foreign.append(url)
            if rewrite_foreign and url.startswith(("http://", "https://")):
                holder["url"] = public_base.rstrip("/") + ("/" if url.endswith("/") else "")
                rewritten += 1
            return
        if new != url:
            holder["url"] = new
        rewritten += 1

    fix(card)
    for key in ("additionalInterfaces", "supportedInterfaces"):
        items = card.get(key)
        if isinstance(items, list):
            for item in items:
                if isinstance(item, dict):
                    fix(item)
    return rewritten, foreign


def map_url(url: str, upstream_base: str, public_base: str) -> str | None:
    """``url`` re-based from the upstream onto the proxy, or None if it is not the upstream's."""
    try:
        target, upstream = urlsplit(url), urlsplit(upstream_base)
        target_port, upstream_port = target.port, upstream.port
    except ValueError:
        return None
    if target.scheme not in ("http", "https"):
        return None
    default = {"http": 80, "https": 443}
    if (target_port or default[target.scheme]) != (upstream_port or default.get(upstream.scheme)):
        return None
    same_host = target.hostname == upstream.hostname or (
        target.hostname in _LOCAL_HOSTS and upstream.hostname in _LOCAL_HOSTS
    )
    base_path = upstream.path.rstrip("/")
    if not same_host or not (target.path == base_path or target.path.startswith(base_path + "/")):
        return None
    rest = target.path[len(base_path) :]
    public = public_base.rstrip("/")
    new = public + (rest or ("/" if url.endswith("/") or not base_path else ""))
    if target.query:
        new += "?" + target.query
    return new


def encode_card(card: Any) -> bytes:
    """The card as compact UTF-8 JSON. A lone surrogate (``"\\ud800"`` in the original, valid
    JSON) has no UTF-8 form, so such a card is written with ASCII escapes instead: the same
    JSON value either way."""
    try:
        return json.dumps(card, ensure_ascii=False, separators=(",", ":")).encode()
    except UnicodeEncodeError:
        return json.dumps(card, ensure_ascii=True, separators=(",", ":")).encode()


def strong_etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


class CardRewriter:
    """Rewrites card bodies, cached: the evaluator fetches the card on every turn."""

    def __init__(self, max_entries: int = 64, *, rewrite_foreign: bool = False) -> None:
        self.rewrite_foreign = rewrite_foreign
        self._warned: set[str] = set()  # routes (upstream bases) already warned about
        self._cache: OrderedDict[tuple[bytes, str, str], RewrittenCard] = OrderedDict()
        # our ETag -> the upstream's, for If-None-Match translation
        self._etags: OrderedDict[str, str] = OrderedDict()
        self._max = max_entries

    def rewrite(
        self, body: bytes, upstream_base: str, public_base: str, upstream_etag: str | None
    ) -> RewrittenCard | None:
        """The rewritten card, or None when the body is not a JSON object (forwarded as is)."""
        key = (hashlib.sha256(body).digest(), upstream_base, public_base)
        cached = self._cache.get(key)
        if cached is None:
            try:
                card = json.loads(body)
            except (ValueError, RecursionError):  # not JSON, or JSON Python cannot hold
                return None
            if not isinstance(card, dict):
                return None
            cached = self._rewrite_value(card, upstream_base, public_base)
            self._remember(self._cache, key, cached)
            self._warn_foreign(cached, upstream_base)
        else:
            self._cache.move_to_end(key)
        if upstream_etag:
            self._remember(self._etags, cached.etag, upstream_etag)
        return cached

    def rewrite_result(
        self, envelope: dict[str, Any], upstream_base: str, public_base: str
    ) -> RewrittenCard | None:
        """A JSON-RPC response whose ``result`` is an (extended) agent card."""
        result = envelope.get("result")
        if not isinstance(result, dict):
            return None
        rewritten, foreign = rewrite_card_value(
            result, upstream_base, public_base, rewrite_foreign=self.rewrite_foreign
        )
        body = encode_card(envelope)
        return RewrittenCard(
            body, strong_etag(body), rewritten, tuple(foreign), "signatures" in result
        )

    def upstream_etag(self, ours: str) -> str | None:
        return self._etags.get(ours)

    def _rewrite_value(
        self, card: dict[str, Any], upstream_base: str, public_base: str
    ) -> RewrittenCard:
        rewritten, foreign = rewrite_card_value(
            card, upstream_base, public_base, rewrite_foreign=self.rewrite_foreign
        )
        body = encode_card(card)
        return RewrittenCard(
            body, strong_etag(body), rewritten, tuple(foreign), "signatures" in card
        )

    def _warn_foreign(self, card: RewrittenCard, upstream_base: str) -> None:
        """Once per route: a card whose URLs lead clients around the sidecar."""
        if not card.foreign or self.rewrite_foreign or upstream_base in self._warned:
            return
        if len(self._warned) < 1024:  # one entry per route; a bound all the same
            self._warned.add(upstream_base)
        log.warning(
            "the agent card from %s names endpoint URL(s) that are neither that upstream nor "
            "the sidecar: %s. Clients that follow the card (the AgentBeats tutorial's "
            "evaluator does, on every message) bypass the sidecar; --rewrite-all-card-urls "
            "points them at the sidecar",
            upstream_base,
            ", ".join(card.foreign[:4]),
        )

    def _remember(self, table: OrderedDict[Any, Any], key: Any, value: Any) -> None:
        table[key] = value
        table.move_to_end(key)
        while len(table) > self._max:
            table.popitem(last=False)
