"""The connection guard with a stand-in transport: the cap and the header deadline."""

from __future__ import annotations

import asyncio
import logging

import pytest

from proxy.connections import HEADER_TIMEOUT, OVER_CAPACITY, ConnectionGuard


class FakeTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written = b""
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += bytes(data)

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed


class FakeProtocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.received = b""

    def data_received(self, data: bytes) -> None:
        self.received += data


async def test_over_the_cap_a_connection_gets_503_and_never_reaches_aiohttp() -> None:
    guard = ConnectionGuard(cap=1, header_timeout_s=60)
    inner: list[FakeProtocol] = []

    def make() -> FakeProtocol:
        inner.append(FakeProtocol())
        return inner[-1]

    factory = guard.protocol_factory(make)
    first, second = FakeTransport(), FakeTransport()
    factory().connection_made(first)
    refused = factory()
    refused.connection_made(second)
    refused.data_received(b"GET / HTTP/1.1\r\n")
    assert second.written == OVER_CAPACITY
    assert second.is_closing()
    assert len(inner) == 1
    assert (len(guard), guard.refused) == (1, 1)


async def test_the_header_deadline_runs_until_a_request_starts_and_rearms_at_the_next_byte() -> (
    None
):
    guard = ConnectionGuard(cap=10, header_timeout_s=0.05)
    factory = guard.protocol_factory(FakeProtocol)
    transport = FakeTransport()
    protocol = factory()
    protocol.connection_made(transport)
    guard.request_started(transport)  # a head arrived in time
    await asyncio.sleep(0.1)
    assert not transport.is_closing()
    guard.request_finished(transport)
    await asyncio.sleep(0.1)  # idle between requests: aiohttp's keep-alive timer's job
    assert not transport.is_closing()
    protocol.data_received(b"GET /")  # a new head starts, and never ends
    await asyncio.sleep(0.1)
    assert transport.written == HEADER_TIMEOUT
    assert transport.is_closing()
    assert guard.timed_out == 1
    protocol.connection_lost(None)
    assert len(guard) == 0


async def test_near_the_descriptor_limit_one_warning_per_episode(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Past the open-file limit the kernel leaves new connections unanswered, silently;
    the guard says so first (a cap above the default allows this)."""
    caplog.set_level(logging.WARNING, logger="tau2observe.proxy")
    guard = ConnectionGuard(cap=100, header_timeout_s=60, fd_limit=64 + 2 * 8)  # room for 8
    factory = guard.protocol_factory(FakeProtocol)
    protocols = []
    for _ in range(12):
        protocol, transport = factory(), FakeTransport()
        protocol.connection_made(transport)
        protocols.append(protocol)
    warnings = [r for r in caplog.records if "near the open-file limit" in r.getMessage()]
    assert len(warnings) == 1
    for protocol in protocols:
        protocol.connection_lost(None)
