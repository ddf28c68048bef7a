"""What an attacker writes on the wire: raw HTTP/1.1, WebSocket frames, engine.io and socket.io.

A real client library hides what the attacks are about (a handshake answered
with 429, a frame cut off, a websocket that never signs in), so the attacker
speaks the protocols itself over asyncio streams, bound to a source address of
its choosing (127.0.0.2 and up: the server limits per address).

Every answer is reduced to an :class:`Outcome`: accepted, or refused with a
kind (``http_429:rate_limited``, ``connect_error:too_many_sockets``,
``closed``...) and whether the refusal was *clear*: an HTTP error with a JSON
body ``{"error": {"code", "message"}}``, or a socket.io ``connect_error`` whose
data has a code and a message. A connection cut without a word is not clear.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

NAMESPACE = "/call"
HEAD_LIMIT = 64 * 1024


@dataclass(frozen=True, slots=True)
class Endpoint:
    """The server's host and port, and the local address the attacker sends from."""

    host: str
    port: int
    source: str

    @classmethod
    def of(cls, url: str, source: str) -> Endpoint:
        parts = urlsplit(url)
        return cls(parts.hostname or "127.0.0.1", parts.port or 80, source)

    async def open(self, timeout: float = 5.0) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.wait_for(
            asyncio.open_connection(self.host, self.port, local_addr=(self.source, 0)),
            timeout,
        )


@dataclass(slots=True)
class Outcome:
    """What became of one attempt."""

    accepted: bool
    kind: str = "accepted"
    message: str = ""
    clear: bool = True
    retry_after: str | None = None


@dataclass(slots=True)
class HttpAnswer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def outcome(self) -> Outcome:
        """A refusal read from an error reply (the caller decides what success is)."""
        data = self.json
        error = data.get("error") if isinstance(data, dict) else None
        if isinstance(error, dict) and error.get("code") and error.get("message"):
            return Outcome(
                False,
                f"http_{self.status}:{error['code']}",
                str(error["message"]),
                clear=True,
                retry_after=self.headers.get("retry-after"),
            )
        return Outcome(
            False,
            f"http_{self.status}",
            self.body[:200].decode("utf-8", "replace"),
            clear=False,
            retry_after=self.headers.get("retry-after"),
        )


def failure(exc: BaseException) -> Outcome:
    """A connection that ended without an answer: never a clear refusal."""
    if isinstance(exc, asyncio.IncompleteReadError | ConnectionResetError | BrokenPipeError):
        return Outcome(False, "closed", type(exc).__name__, clear=False)
    if isinstance(exc, TimeoutError):
        return Outcome(False, "timeout", "no answer", clear=False)
    return Outcome(False, f"error:{type(exc).__name__}", str(exc)[:200], clear=False)


# -- HTTP/1.1 -------------------------------------------------------------


def request_head(method: str, path: str, host: str, headers: dict[str, str] | None = None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def read_head(reader: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
    """The status and headers of a reply (header names lower-cased)."""
    head = await reader.readuntil(b"\r\n\r\n")
    if len(head) > HEAD_LIMIT:
        raise ValueError("reply head too long")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return status, headers


async def read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    if "content-length" in headers:
        return await reader.readexactly(int(headers["content-length"]))
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                return body
            body += await reader.readexactly(size)
            await reader.readexactly(2)
    return await reader.read(HEAD_LIMIT)


async def read_answer(reader: asyncio.StreamReader) -> HttpAnswer:
    status, headers = await read_head(reader)
    return HttpAnswer(status, headers, await read_body(reader, headers))


async def http_request(
    endpoint: Endpoint,
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    timeout: float = 10.0,
) -> HttpAnswer:
    """One request on a connection of its own."""
    reader, writer = await endpoint.open(timeout)
    try:
        all_headers = {"Connection": "close", **(headers or {})}
        if body or method in ("POST", "PUT"):
            all_headers["Content-Length"] = str(len(body))
        writer.write(request_head(method, path, f"{endpoint.host}:{endpoint.port}", all_headers))
        writer.write(body)
        await writer.drain()
        return await asyncio.wait_for(read_answer(reader), timeout)
    finally:
        writer.close()


async def guest_token(endpoint: Endpoint, name: str = "Mallory") -> str:
    """A customer token for a new guest call (``POST /api/guest``), as the page gets one."""
    body = json.dumps({"name": name, "language": "bn"}).encode()
    answer = await http_request(
        endpoint, "POST", "/api/guest", headers={"Content-Type": "application/json"}, body=body
    )
    if answer.status != 201:
        raise RuntimeError(f"POST /api/guest: {answer.status} {answer.body[:200]!r}")
    return str(answer.json["token"])


# -- WebSocket (RFC 6455) ----------------------------------------------------

OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x1, 0x2, 0x8, 0x9, 0xA
SOCKET_PATH = "/socket.io/?EIO=4&transport=websocket"


def frame(opcode: int, payload: bytes) -> bytes:
    """A client frame. The mask is all zeros: the frame is well-formed, and masking
    250 KiB frames in Python would cost the attacker more than the server."""
    size = len(payload)
    if size < 126:
        head = bytes([0x80 | opcode, 0x80 | size])
    elif size < 65536:
        head = bytes([0x80 | opcode, 0x80 | 126]) + size.to_bytes(2, "big")
    else:
        head = bytes([0x80 | opcode, 0x80 | 127]) + size.to_bytes(8, "big")
    return head + b"\0\0\0\0" + payload


@dataclass(slots=True)
class Message:
    opcode: int
    data: bytes

    @property
    def text(self) -> str:
        return self.data.decode("utf-8", "replace")


class WebSocket:
    """An open client websocket: frames out, messages in, and when the server closed it."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.opened_at = time.monotonic()
        self.closed_at: float | None = None  # when the server closed it (or it broke)
        self.close_code: int | None = None
        self._closed = asyncio.Event()
        self._reading = False  # a task is in receive(): wait_closed() waits for it

    @property
    def open(self) -> bool:
        return self.closed_at is None

    def _mark_closed(self) -> None:
        if self.closed_at is None:
            self.closed_at = time.monotonic()
        self._closed.set()

    def write(self, opcode: int, payload: bytes) -> None:
        self.writer.write(frame(opcode, payload))

    async def send(self, opcode: int, payload: bytes) -> None:
        try:
            self.writer.write(frame(opcode, payload))
            await self.writer.drain()
        except (ConnectionError, RuntimeError):
            self._mark_closed()
            raise

    async def send_text(self, text: str) -> None:
        await self.send(OP_TEXT, text.encode())

    async def receive(self) -> Message | None:
        """The next data message; None once the server has closed the connection."""
        if self.closed_at is not None:
            return None
        self._reading = True
        try:
            while True:
                first, second = await self.reader.readexactly(2)
                size = second & 0x7F
                if size == 126:
                    size = int.from_bytes(await self.reader.readexactly(2), "big")
                elif size == 127:
                    size = int.from_bytes(await self.reader.readexactly(8), "big")
                if second & 0x80:
                    await self.reader.readexactly(4)  # servers do not mask; skip if one does
                data = await self.reader.readexactly(size)
                opcode = first & 0x0F
                if opcode == OP_CLOSE:
                    self.close_code = int.from_bytes(data[:2], "big") if len(data) >= 2 else None
                    self._mark_closed()
                    return None
                if opcode == OP_PING:
                    with contextlib.suppress(ConnectionError, RuntimeError):
                        self.write(OP_PONG, data)
                    continue
                if opcode in (OP_TEXT, OP_BINARY):
                    return Message(opcode, data)
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            self._mark_closed()
            return None
        finally:
            self._reading = False

    async def wait_closed(self, timeout: float) -> bool:
        """Read (and drop) messages until the server closes; True if it did within ``timeout``."""
        try:
            async with asyncio.timeout(timeout):
                if self._reading:  # another task reads (SocketIo.listen)
                    await self._closed.wait()
                while await self.receive() is not None:
                    pass
        except TimeoutError:
            return False
        return True

    def abort(self) -> None:
        """Drop the connection at once, as a phone that loses its network (no close frame)."""
        transport = self.writer.transport
        with contextlib.suppress(Exception):
            transport.abort()
        self._mark_closed()


async def websocket_connect(
    endpoint: Endpoint, path: str = SOCKET_PATH, *, timeout: float = 5.0
) -> WebSocket | HttpAnswer:
    """The upgrade handshake: an open :class:`WebSocket`, or the server's HTTP answer."""
    reader, writer = await endpoint.open(timeout)
    key = base64.b64encode(os.urandom(16)).decode()
    headers = {
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": key,
        "Sec-WebSocket-Version": "13",
    }
    try:
        writer.write(request_head("GET", path, f"{endpoint.host}:{endpoint.port}", headers))
        await writer.drain()
        status, reply_headers = await asyncio.wait_for(read_head(reader), timeout)
        if status == 101:
            return WebSocket(reader, writer)
        body = await asyncio.wait_for(read_body(reader, reply_headers), timeout)
    except BaseException:
        writer.close()
        raise
    writer.close()
    return HttpAnswer(status, reply_headers, body)


# -- engine.io and socket.io over a websocket --------------------------------


@dataclass(slots=True)
class SocketPacket:
    """One socket.io packet inside an engine.io message."""

    type: int
    namespace: str
    id: int | None
    data: Any

    @classmethod
    def parse(cls, text: str) -> SocketPacket | None:
        """``4<type>[<n>-][/nsp,][id][json]`` (engine.io ``4`` is a message), else None."""
        if len(text) < 2 or text[0] != "4" or not text[1].isdigit():
            return None
        rest = text[2:]
        dash = rest.find("-")
        if dash > 0 and rest[:dash].isdigit():
            rest = rest[dash + 1 :]
        namespace = "/"
        if rest.startswith("/"):
            namespace, _, rest = rest.partition(",")
        digits = 0
        while digits < len(rest) and rest[digits].isdigit():
            digits += 1
        packet_id = int(rest[:digits]) if digits else None
        try:
            data = json.loads(rest[digits:]) if rest[digits:] else None
        except ValueError:
            data = rest[digits:]
        return cls(int(text[1]), namespace, packet_id, data)


@dataclass
class SocketIo:
    """A websocket that speaks engine.io v4 and socket.io v5 to the ``/call`` namespace."""

    ws: WebSocket
    events: list[tuple[str, Any]] = field(default_factory=list)
    _acks: dict[int, asyncio.Future[Any]] = field(default_factory=dict)
    _next_id: int = 1
    _reader: asyncio.Task[None] | None = None

    async def open(self, timeout: float = 5.0) -> None:
        """Read engine.io's open packet (``0{"sid": ...}``)."""
        message = await asyncio.wait_for(self.ws.receive(), timeout)
        if message is None or not message.text.startswith("0"):
            raise ConnectionResetError("no engine.io open packet")

    async def sign_in(self, token: str, timeout: float = 10.0) -> Outcome:
        """socket.io CONNECT to ``/call`` with the token; accepted, or the connect_error."""
        await self.ws.send_text(f"40{NAMESPACE}," + json.dumps({"token": token}))
        async with asyncio.timeout(timeout):
            while True:
                message = await self.ws.receive()
                if message is None:
                    return Outcome(False, "closed", "closed before signing in", clear=False)
                if message.text == "2":
                    await self.ws.send_text("3")
                    continue
                packet = SocketPacket.parse(message.text)
                if packet is None or packet.namespace != NAMESPACE:
                    continue
                if packet.type == 0:
                    return Outcome(True)
                if packet.type == 4:
                    return connect_error(packet.data)

    def listen(self) -> None:
        """Read in the background: answer pings, keep events, resolve acks."""
        self._reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        while (message := await self.ws.receive()) is not None:
            text = message.text
            if text == "2":
                with contextlib.suppress(ConnectionError, RuntimeError):
                    self.ws.write(OP_TEXT, b"3")
                continue
            packet = SocketPacket.parse(text)
            if packet is None:
                continue
            if packet.type == 2 and isinstance(packet.data, list) and packet.data:
                self.events.append((str(packet.data[0]), packet.data[1:]))
            elif packet.type in (1, 4):  # DISCONNECT / CONNECT_ERROR from the server
                self.events.append((f"packet_{packet.type}", packet.data))
            elif packet.type == 3 and packet.id in self._acks:
                future = self._acks.pop(packet.id)
                if not future.done():
                    future.set_result(packet.data[0] if packet.data else None)
        for future in self._acks.values():
            if not future.done():
                future.set_exception(ConnectionResetError("socket closed"))
        self._acks.clear()

    async def call(self, event: str, payload: Any, timeout: float = 15.0) -> Any:
        """Send an event and wait for its ack (needs :meth:`listen`)."""
        packet_id = self._next_id
        self._next_id += 1
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._acks[packet_id] = future
        await self.ws.send_text(f"42{NAMESPACE},{packet_id}" + json.dumps([event, payload]))
        return await asyncio.wait_for(future, timeout)

    async def close(self) -> None:
        self.ws.abort()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader


def connect_error(data: Any) -> Outcome:
    """A socket.io connect_error: ``{"message", "data": {"code", "message"}}``."""
    inner = data.get("data") if isinstance(data, dict) else None
    if isinstance(inner, dict) and inner.get("code") and inner.get("message"):
        return Outcome(False, f"connect_error:{inner['code']}", str(inner["message"]))
    message = data.get("message", "") if isinstance(data, dict) else str(data)
    return Outcome(False, "connect_error", str(message)[:200], clear=False)


async def socket_connect(
    endpoint: Endpoint, token: str | None, *, timeout: float = 10.0
) -> tuple[SocketIo | None, Outcome]:
    """A websocket, engine.io open and (with a token) a signed-in ``/call`` socket."""
    try:
        opened = await websocket_connect(endpoint, timeout=timeout)
        if isinstance(opened, HttpAnswer):
            return None, opened.outcome()
        sio = SocketIo(opened)
        await sio.open(timeout)
        if token is None:
            return sio, Outcome(True)
        outcome = await sio.sign_in(token, timeout)
    except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
        return None, failure(exc)
    if not outcome.accepted:
        await sio.close()
        return None, outcome
    return sio, outcome
