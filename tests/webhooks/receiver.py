"""The shop's backend, for the tests: a real aiohttp server on 127.0.0.1 that takes webhooks.

It checks every request's signature with :func:`webhooks.signature.verify` (as a
shop would), records what it received, and can be made to answer 500 (the first
N requests, or every event of some types or calls), to answer slowly, or be
down altogether (``stop()``, then ``start()`` again on the same port).
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from webhooks.signature import SIGNATURE_HEADER, verify


@dataclass(frozen=True, slots=True)
class Received:
    """One request as the receiver saw it."""

    id: str
    type: str
    call_id: str
    seq: int
    data: dict[str, Any]
    headers: dict[str, str]
    body: bytes
    answered: int


@dataclass
class Receiver:
    secret: str
    path: str = "/hooks/kotha"
    port: int = 0
    fail_first: int = 0
    """Answer 500 to this many requests more."""
    failing_types: set[str] = field(default_factory=set)
    failing_calls: set[str] = field(default_factory=set)
    delay_s: float = 0.0
    """Answer (the next requests) this much later."""
    requests: list[Received] = field(default_factory=list)
    """Every request whose signature held, in arrival order, whatever it was answered."""
    rejected: list[str] = field(default_factory=list)
    """Why requests failed verification."""
    _runner: web.AppRunner | None = None
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"

    @property
    def delivered(self) -> list[Received]:
        """What was taken (2xx), duplicates included, in arrival order."""
        return [r for r in self.requests if r.answered < 300]

    def deduplicated(self) -> list[Received]:
        """What the shop keeps after dropping duplicates by id: each event once."""
        seen: set[str] = set()
        kept = []
        for received in self.delivered:
            if received.id not in seen:
                seen.add(received.id)
                kept.append(received)
        return kept

    def of_call(self, call_id: str) -> list[int]:
        """The seqs of a call's events as kept, in the order they arrived."""
        return [r.seq for r in self.deduplicated() if r.call_id == call_id]

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post(self.path, self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        """Down: the port refuses connections until ``start()``."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Wait until ``count`` distinct events were taken; they are returned."""
        async with asyncio.timeout(timeout):
            while len(self.deduplicated()) < count:
                self._arrived.clear()
                await self._arrived.wait()
        return self.deduplicated()

    async def wait_for_requests(self, count: int, timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout):
            while len(self.requests) < count:
                self._arrived.clear()
                await self._arrived.wait()

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        try:
            verify(self.secret, body, request.headers.get(SIGNATURE_HEADER, ""), time.time())
        except ValueError as error:
            self.rejected.append(str(error))
            self._arrived.set()
            return web.Response(status=400, text=str(error))
        event = json.loads(body)
        status = 204
        if self.fail_first > 0:
            self.fail_first -= 1
            status = 500
        elif event["type"] in self.failing_types or event["call_id"] in self.failing_calls:
            status = 500
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        self.requests.append(
            Received(
                id=event["id"],
                type=event["type"],
                call_id=event["call_id"],
                seq=event["seq"],
                data=event["data"],
                headers=dict(request.headers),
                body=body,
                answered=status,
            )
        )
        self._arrived.set()
        return web.Response(status=status)
