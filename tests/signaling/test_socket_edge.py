"""The socket edge, spoken to in raw engine.io frames as an attacker would.

Guards (the hardening issue's items 1, 2, 8 and 11):
- long-polling is refused in words before a session exists;
- a page from another origin (DNS rebinding: its Host header says what it likes)
  cannot open a socket; the server's own address and named origins can;
- new sockets per address are rate limited, and held sockets per address bounded;
- a socket that never signs in is closed; so is one that sends events first;
- one sign-in holds at most ``max_sockets_per_token`` sockets;
- a binary packet, or a malformed one, closes the socket at once, logged once;
- an event whose name is not a string is answered, with no traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

import aiohttp
import pytest

from callcenter.identity import Role
from signaling.keys import SOCKETIO
from tests.conftest import Server, ServerFactory, connect_refusal

Frames = list[str]


class RawSocket:
    """An engine.io websocket spoken to frame by frame."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, session: aiohttp.ClientSession):
        self.ws = ws
        self.session = session

    async def send(self, frame: str | bytes) -> None:
        if isinstance(frame, bytes):
            await self.ws.send_bytes(frame)
        else:
            await self.ws.send_str(frame)

    async def sign_in(self, token: str) -> str:
        await self.send("40/call," + json.dumps({"token": token}))
        return await self.next_frame(lambda f: f.startswith("40/call") or f.startswith("44"))

    async def next_frame(self, match: Any = lambda _: True, timeout: float = 5.0) -> str:
        async with asyncio.timeout(timeout):
            async for message in self.ws:
                if message.type is aiohttp.WSMsgType.TEXT and match(message.data):
                    return str(message.data)
        raise ConnectionError("closed")

    async def frames_until_closed(self, timeout: float = 5.0) -> Frames:
        """Everything the server sends until it closes the socket."""
        frames: Frames = []
        async with asyncio.timeout(timeout):
            async for message in self.ws:
                if message.type is aiohttp.WSMsgType.TEXT:
                    frames.append(str(message.data))
        return frames

    async def close(self) -> None:
        await self.ws.close()
        await self.session.close()


async def open_raw(
    server: Server, *, origin: str | None = None, transport: str = "websocket"
) -> RawSocket:
    session = aiohttp.ClientSession()
    headers = {"Origin": origin} if origin else {}
    if origin and "evil" in origin:
        # DNS rebinding: the attacker's name resolves to this server, so the
        # browser's Host header names it too, and matches the Origin.
        headers["Host"] = origin.split("://", 1)[1]
    url = server.url + f"/socket.io/?EIO=4&transport={transport}"
    try:
        ws = await session.ws_connect(url, headers=headers)
    except BaseException:
        await session.close()
        raise
    raw = RawSocket(ws, session)
    assert (await raw.next_frame()).startswith("0{")  # engine.io OPEN
    return raw


async def test_long_polling_is_refused_before_a_session_exists(server: Server) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.get(server.url + "/socket.io/?EIO=4&transport=polling") as response,
    ):
        body = await response.json()
    assert response.status == 400
    assert body["error"]["code"] == "websocket_only"
    assert server.app[SOCKETIO].eio.sockets == {}


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        pytest.param(None, True, id="no-origin-a-script"),
        pytest.param("SELF", True, id="the-servers-own-address"),
        pytest.param("http://evil.example:8080", False, id="dns-rebinding-host"),
        pytest.param("http://localhost.evil.example", False, id="lookalike"),
        pytest.param("https://support.shop.example", True, id="public-url"),
        pytest.param("https://partner.example", True, id="allowed-origin"),
    ],
)
async def test_only_pages_from_named_or_literal_origins_open_sockets(
    start_server: ServerFactory, origin: str | None, allowed: bool
) -> None:
    server = await start_server(
        public_url="https://support.shop.example",
        allowed_origins=["https://partner.example"],
    )
    if origin == "SELF":
        origin = server.url
    if allowed:
        raw = await open_raw(server, origin=origin)
        await raw.close()
    else:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await open_raw(server, origin=origin)
        assert refused.value.status == 400


async def test_new_sockets_from_one_address_are_rate_limited(
    start_server: ServerFactory,
) -> None:
    server = await start_server(socket_connects_per_address_per_min=8.0)  # a burst of 2
    opened = [await open_raw(server), await open_raw(server)]
    async with aiohttp.ClientSession() as session:
        url = server.url + "/socket.io/?EIO=4&transport=websocket"
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await session.ws_connect(url)
    assert refused.value.status == 429
    assert refused.value.headers["Retry-After"]
    for raw in opened:
        await raw.close()


async def test_one_address_holds_only_so_many_sockets(start_server: ServerFactory) -> None:
    server = await start_server(max_connections_per_address=3)
    held = [await open_raw(server) for _ in range(3)]
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await open_raw(server)
    assert refused.value.status == 429
    await held.pop().close()
    await asyncio.sleep(0.2)
    held.append(await open_raw(server))  # room again once one closed
    for raw in held:
        await raw.close()


async def test_a_socket_that_never_signs_in_is_closed(start_server: ServerFactory) -> None:
    server = await start_server(socket_sign_in_timeout_s=1.0)
    raw = await open_raw(server)
    await raw.frames_until_closed(timeout=4)
    await raw.close()


async def test_events_before_signing_in_close_the_socket(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    raw = await open_raw(server)
    for _ in range(200):
        await raw.send('42/call,1["get_state",{}]')
    await raw.frames_until_closed()
    await raw.close()
    refusals = [r for r in caplog.records if "refused a socket" in r.getMessage()]
    assert len(refusals) == 1


async def test_one_sign_in_holds_only_so_many_sockets(start_server: ServerFactory) -> None:
    server = await start_server(max_sockets_per_token=2)
    token = server.token(Role.AGENT, "Rahim")
    clients = [server.client(token) for _ in range(2)]
    for client in clients:
        await client.connect()
    refused = await connect_refusal(server, {"token": token})
    assert refused["code"] == "too_many_sockets"
    await clients[0].close()
    await asyncio.sleep(0.2)
    await server.client(token).connect()  # a closed tab frees its place


async def test_a_binary_packet_closes_the_socket_before_anything_is_buffered(
    server: Server,
) -> None:
    raw = await open_raw(server)
    await raw.sign_in(server.token(Role.AGENT, "Rahim"))
    await raw.send('51000000-/call,["get_state",{"_placeholder":true,"num":0}]')
    for _ in range(20):
        try:
            await raw.send(b"\x00" * 250_000)
        except ConnectionError:
            break
    frames = await raw.frames_until_closed()
    await raw.close()
    refused = [json.loads(f[len("42/call,") :]) for f in frames if f.startswith("42/call,")]
    assert [
        "refused",
        {"code": "binary_refused", "message": "this server takes no binary messages"},
    ] in refused
    assert server.app[SOCKETIO]._binary_packet == {}  # nothing was buffered


@pytest.mark.parametrize(
    "frame",
    [
        pytest.param('42/call,1["get_state",{', id="truncated-json"),
        pytest.param("4x", id="unknown-packet-type"),
        pytest.param("42/call,1[5,{}]", id="event-name-a-number"),
        pytest.param("42/call,1[]", id="no-event-name"),
    ],
)
async def test_malformed_packets_are_refused_without_a_traceback(
    server: Server, frame: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    raw = await open_raw(server)
    await raw.sign_in(server.token(Role.AGENT, "Rahim"))
    for _ in range(50):
        await raw.send(frame)
    with contextlib.suppress(TimeoutError):  # a readable packet may be answered, not closed
        await raw.frames_until_closed(timeout=3)
    await raw.close()
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


async def test_the_server_still_serves_after_the_refusals(server: Server) -> None:
    raw = await open_raw(server)
    await raw.send("4x")
    await raw.frames_until_closed()
    await raw.close()
    client = server.client(server.token(Role.AGENT, "Rahim"))
    await client.connect()
    await client.request("get_state")
