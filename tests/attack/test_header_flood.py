"""Requests aiohttp cannot parse do not fill the log.

Guards (hardening issue, item 11: "an 8 KB Range header logs tracebacks"): 300 requests
with a Range header over aiohttp's 8 KB line limit, from one address, are each answered
400, and the server's log grows by a few one-line warnings, never a traceback.
"""

from __future__ import annotations

import asyncio

from tests.attack.conftest import StartServer

REQUESTS = 300


async def _one(port: int, header: str) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=("127.0.0.2", 0))
    writer.write(f"GET /healthz HTTP/1.1\r\nHost: x\r\nRange: {header}\r\n\r\n".encode())
    await writer.drain()
    status = await reader.readline()
    writer.close()
    return status


async def test_unparseable_requests_are_refused_with_a_line_not_a_traceback(
    kotha: StartServer,
) -> None:
    server = await kotha()
    header = "bytes=" + ",".join(["0-1"] * 3000)  # ~12 KB
    before = server.log_size()
    statuses = [await _one(server.port, header) for _ in range(REQUESTS)]
    await asyncio.sleep(0.5)
    written = server.log_since(before)
    assert all(s.split()[1:2] == [b"400"] for s in statuses), set(statuses)
    assert "Traceback" not in written
    assert len(written.encode()) < 5_000, written[:2000]
    assert "refused a malformed HTTP request from 127.0.0.2" in written
