"""python-socketio's server with the edge rules of a server on the open internet.

What a client may hold and send before and after it signs in:

- websockets only: engine.io long-polling (a session per HTTP request, held in
  memory, answered late) is refused before engine.io sees the request;
- new sockets per address are rate limited, and one address may hold only so
  many at once (a proxy's clients are told apart by ``X-Forwarded-For``);
- a socket must sign in (socket.io CONNECT with a token) within a few seconds;
- pages must come from an origin the operator named, never "whatever the Host
  header says" (DNS rebinding);
- no binary packets (kotha has no binary events, and python-socketio would
  buffer the attachments a header announces before anything can refuse them),
  no malformed packets, no events before signing in, and no flood beyond a
  hard ceiling above the per-socket rate the hub answers with ``rate_limited``.

A refused socket is closed at once, told why if it had signed in (``refused``),
and logged once per connection (and at most a few times a minute per address),
so no client can fill the log.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import engineio
import socketio
from aiohttp import web

from node.config import Config, origin_of
from node.events import NAMESPACE, ServerEvent
from node.limits import RateLimiter, Tally
from node.tasks import TaskSet

from .fanout import Fanout
from .remote import client_address

logger = logging.getLogger(__name__)

# engine.io closes a connection that sends a bigger message (LiveKit does the
# same with a 1009 close); SDP with screen share stays well below this.
MAX_SOCKET_MESSAGE = 256 * 1024
# Handlers of one socket running at once; a browser has a handful in flight.
MAX_IN_FLIGHT = 32
# socket.io packet types (the first character of a text packet).
_CONNECT, _DISCONNECT, _EVENT, _ACK = "0", "1", "2", "3"
_LOOPBACK_NAMES = frozenset({"localhost"})


def refusal_body(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


class _EngineServer(engineio.AsyncServer):
    """engine.io with a gate in front of every HTTP request it would handle."""

    gate: SocketServer

    async def handle_request(self, *args: Any, **kwargs: Any) -> Any:
        request: web.Request = args[0]
        refused = self.gate.check_request(request)
        if refused is not None:
            return refused
        try:
            return await super().handle_request(*args, **kwargs)
        except Exception as exc:
            # engine.io lets a malformed websocket frame escape its handler;
            # aiohttp would log a traceback per connection.
            self.gate.log_refusal(self.gate.address_of(request), f"broken frame ({exc!r:.80})")
            return web.Response(status=400)


class SocketServer(socketio.AsyncServer):
    """The server behind ``/socket.io/``: socket.io over websockets, with kotha's limits."""

    def __init__(self, config: Config) -> None:
        super().__init__(
            async_mode="aiohttp",
            transports=["websocket"],
            cors_allowed_origins=origin_check(config),
            max_http_buffer_size=MAX_SOCKET_MESSAGE,
            # A phone that changes networks leaves a dead socket behind; notice it in
            # about 15 s rather than engine.io's default 45 s, well inside rejoin_grace_s.
            ping_interval=10,
            ping_timeout=5,
            logger=False,
            engineio_logger=False,
            # Many nodes: an emit reaches the sockets of every node (signaling/fanout.py).
            client_manager=(
                Fanout(config.redis_url, prefix=config.redis_prefix) if config.redis_url else None
            ),
        )
        self.eio.gate = self
        self.config = config
        self._proxies = config.proxy_networks
        per_min = config.socket_connects_per_address_per_min
        self._connects = RateLimiter(per_min / 60, max(1.0, per_min / 4))
        self._held = Tally(config.max_connections_per_address)
        self._ceiling = RateLimiter(config.socket_rate_per_s * 5, config.socket_rate_burst * 2)
        self._log_budget = RateLimiter(0.1, 5)
        self._addresses: dict[str, str] = {}  # engine.io sid -> client address
        self._in_flight: dict[str, int] = {}
        self._refused: set[str] = set()
        self._sign_in: dict[str, asyncio.TimerHandle] = {}
        self._tasks = TaskSet("SocketServer")
        self._closed = False

    def _engineio_server_class(self) -> type[engineio.AsyncServer]:
        return _EngineServer

    # -- before engine.io ----------------------------------------------------

    def address_of(self, request: web.Request) -> str:
        return client_address(request.remote, request.headers.get("X-Forwarded-For"), self._proxies)

    def check_request(self, request: web.Request) -> web.Response | None:
        """A refusal for an HTTP request engine.io should not see, or None."""
        query = request.query
        if query.get("transport") != "websocket":
            return web.json_response(
                refusal_body(
                    "websocket_only",
                    "this server takes socket.io over websockets only; "
                    "connect with transports: ['websocket']",
                ),
                status=400,
            )
        if "sid" in query:
            return None  # engine.io refuses an unknown session by itself
        address = self.address_of(request)
        if not self._connects.take(address):
            wait = self._connects.retry_after_s(address)
            return web.json_response(
                refusal_body(
                    "rate_limited",
                    f"too many new connections from your address; try again in {wait:.0f} s",
                ),
                status=429,
                headers={"Retry-After": str(max(1, round(wait)))},
            )
        if self._held.count(address) >= self._held.limit:
            return web.json_response(
                refusal_body(
                    "too_many_connections",
                    "your address already holds as many connections as one may; "
                    "close some tabs or try again later",
                ),
                status=429,
                headers={"Retry-After": "10"},
            )
        return None

    # -- engine.io sessions ---------------------------------------------------

    async def _handle_eio_connect(self, eio_sid: str, environ: dict[str, Any]) -> Any:
        request = environ.get("aiohttp.request")
        address = self.address_of(request) if request is not None else "unknown"
        if not self._held.acquire(address):
            return False  # raced past check_request: refused like engine.io refuses
        self._addresses[eio_sid] = address
        environ["kotha.address"] = address
        self._sign_in[eio_sid] = asyncio.get_running_loop().call_later(
            self.config.socket_sign_in_timeout_s, self._sign_in_deadline, eio_sid
        )
        return await super()._handle_eio_connect(eio_sid, environ)

    async def _handle_eio_disconnect(self, eio_sid: str, reason: Any) -> None:
        try:
            await super()._handle_eio_disconnect(eio_sid, reason)
        finally:
            address = self._addresses.pop(eio_sid, None)
            if address is not None:
                self._held.release(address)
            timer = self._sign_in.pop(eio_sid, None)
            if timer is not None:
                timer.cancel()
            self._in_flight.pop(eio_sid, None)
            self._refused.discard(eio_sid)

    async def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        if eio_sid in self._refused:
            return  # frames that were on their way when the socket was refused
        refusal = self._precheck(eio_sid, data)
        if refusal is not None:
            await self.refuse(eio_sid, *refusal)
            return
        self._in_flight[eio_sid] = self._in_flight.get(eio_sid, 0) + 1
        try:
            await super()._handle_eio_message(eio_sid, data)
        except Exception:
            # The hub answers every event itself, so what escapes is python-socketio
            # failing to read the packet (bad JSON, no event name, ...).
            await self.refuse(eio_sid, "malformed", "a message could not be read; reconnect")
        finally:
            if eio_sid in self._in_flight:
                self._in_flight[eio_sid] -= 1

    def _precheck(self, eio_sid: str, data: Any) -> tuple[str, str] | None:
        if not isinstance(data, str) or data[:1] in ("5", "6"):
            return "binary_refused", "this server takes no binary messages"
        if not self._ceiling.take(eio_sid):
            return "flood", "far too many messages; the connection is closed"
        if self._in_flight.get(eio_sid, 0) >= MAX_IN_FLIGHT:
            return "flood", "too many messages waiting for an answer; the connection is closed"
        kind = data[:1]
        if kind not in (_CONNECT, _DISCONNECT) and not self._signed_in(eio_sid):
            return "not_signed_in", "sign in (connect with a token) before sending events"
        if kind not in (_CONNECT, _DISCONNECT, _EVENT, _ACK):
            return "malformed", "a message could not be read; reconnect"
        return None

    def _signed_in(self, eio_sid: str) -> bool:
        return bool(self.manager.sid_from_eio_sid(eio_sid, NAMESPACE))

    def _sign_in_deadline(self, eio_sid: str) -> None:
        self._sign_in.pop(eio_sid, None)
        if eio_sid in self._addresses and not self._signed_in(eio_sid):
            self._tasks.spawn(
                self.refuse(eio_sid, "sign_in_timeout", "the socket did not sign in in time"),
                "refuse",
            )

    async def refuse(self, eio_sid: str, code: str, message: str) -> None:
        """Close one engine.io session for breaking the rules: told once, logged once."""
        if eio_sid in self._refused or eio_sid not in self._addresses:
            return
        self._refused.add(eio_sid)
        self.log_refusal(self._addresses[eio_sid], message)
        sid = self.manager.sid_from_eio_sid(eio_sid, NAMESPACE)
        if sid is not None:
            await self.emit(
                ServerEvent.REFUSED.value,
                refusal_body(code, message)["error"],
                to=sid,
                namespace=NAMESPACE,
            )
        # Not engine.io's disconnect(): it waits until the client has read what is
        # queued, and a hostile client need never read.
        socket = self.eio.sockets.get(eio_sid)
        if socket is not None:
            await _close_now(socket)

    async def end_socket(self, sid: str, namespace: str) -> None:
        """Close a signed-in socket now (its session ended); what it was told goes out first."""
        eio_sid = self.manager.eio_sid_from_sid(sid, namespace)
        socket = self.eio.sockets.get(eio_sid) if eio_sid is not None else None
        if socket is not None and eio_sid not in self._refused:
            self._refused.add(eio_sid)
            await _close_now(socket)

    def log_refusal(self, address: str, message: str) -> None:
        if self._log_budget.take(address):
            logger.warning("refused a socket from %s: %s", address, message)

    async def close(self) -> None:
        """Close every socket at once (the server is stopping); safe to call twice."""
        if self._closed:
            return
        self._closed = True
        for timer in self._sign_in.values():
            timer.cancel()
        self._sign_in.clear()
        for eio_sid, socket in list(self.eio.sockets.items()):
            if eio_sid not in self._refused:
                self._refused.add(eio_sid)
                await _close_now(socket)
        await self.eio.shutdown()
        await self._tasks.close()
        if isinstance(self.manager, Fanout):
            await self.manager.close()

    def start_fanout(self) -> None:
        """Listen for the other nodes' emits from the start, not from the first socket."""
        if not getattr(self, "manager_initialized", False):
            self.manager_initialized = True
            self.manager.initialize()

    @property
    def clustered(self) -> bool:
        """Whether emits also reach sockets on other nodes."""
        return isinstance(self.manager, Fanout)


async def _close_now(socket: Any) -> None:
    """Close an engine.io socket at once: its disconnect handlers run, what is queued
    (the ``refused`` event, engine.io's CLOSE) goes out, then the websocket closes
    whether or not the client reads it."""
    await socket.close(wait=False)
    socket.queue.put_nowait(None)  # ends engine.io's writer, which closes the websocket


def origin_check(config: Config) -> Callable[[str, dict[str, Any]], bool]:
    """Which page origins may open a socket.

    Named origins (``public_url``'s and ``allowed_origins``) always; and the
    server's own address when a page is loaded from an IP address or
    ``localhost`` (a laptop, a LAN): such an origin cannot be taken over by DNS
    rebinding, unlike a host name the Host header merely repeats.
    """
    named = {origin_of(o) for o in config.allowed_origins}
    if config.public_url:
        named.add(origin_of(config.public_url))

    def allowed(origin: str, environ: dict[str, Any]) -> bool:
        canonical = origin_of(origin or "")
        if canonical in named:
            return True
        host = urlsplit(canonical).hostname or ""
        if not _is_literal(host):
            return False
        scheme = environ.get("wsgi.url_scheme", "http")
        return canonical == origin_of(f"{scheme}://{environ.get('HTTP_HOST', '')}")

    return allowed


def _is_literal(host: str) -> bool:
    if host in _LOOPBACK_NAMES:
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
