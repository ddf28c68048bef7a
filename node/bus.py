"""The nodes' bus: requests to one node and news to all, over Redis pub/sub, in msgpack.

A call's media lives on one node (its owner, ``CallValue.media_node``). A message for that
call that reaches another node (the customer's socket landed there) is relayed to the owner
as a *request* and answered with a *reply*; what one node changed in the registry goes to
every node as *news*, so their views of calls, agents and the queue follow within a round
trip. This is how LiveKit relays signalling to a room's node.

Every envelope carries its sender, the sender's epoch (one per process, so a restarted node
starts its count afresh) and a sequence number per channel. A receiver notices a number
skipped (a message lost: pub/sub drops what arrives while a subscriber reconnects) and a
number seen before (a message repeated), drops the repeat and counts both. A request not
answered in ``timeout_s`` is sent again with the same id; the owner runs a request once and
answers a repeat from the replies it keeps. A node that never answers is a
:class:`BusError`: the caller's refusal is "busy, try again", as for the registry.

Keys: ``{prefix}bus:{node_id}`` (requests and replies for one node) and ``{prefix}bus:all``
(news). Nothing on a media path sends on the bus.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import msgpack
from redis.asyncio import Redis
from redis.exceptions import RedisError

from callcenter.registry import RegistryError

logger = logging.getLogger(__name__)

Body = dict[str, Any]
RequestHandler = Callable[[str, Body], Awaitable[Body]]
NewsHandler = Callable[[str, Body], Awaitable[None]]

# Replies kept to answer a repeated request without running it twice.
KEPT_REPLIES = 1024
# How long a send may take before the bus gives up on it.
SEND_TIMEOUT_S = 2.0
MAX_RECONNECT_S = 2.0


class BusError(RegistryError):
    """Another node did not answer (or the bus cannot be reached)."""


@dataclass(slots=True)
class BusStats:
    """What the bus carried, for ``/metrics`` and the operators."""

    sent: int = 0
    received: int = 0
    repeats: int = 0
    """Messages seen twice and dropped."""
    lost: int = 0
    """Sequence numbers skipped: messages that never arrived."""
    retries: int = 0
    timeouts: int = 0


class Sequences:
    """Each sender's last sequence number on each channel: what was lost, what repeated."""

    def __init__(self, stats: BusStats) -> None:
        self._stats = stats
        self._last: dict[tuple[str, str], tuple[str, int]] = {}

    def fresh(self, channel: str, sender: str, epoch: str, seq: int) -> bool:
        """Whether this message is new (True), or a repeat to drop (False)."""
        key = (channel, sender)
        last = self._last.get(key)
        if last is None or last[0] != epoch:
            self._last[key] = (epoch, seq)
            return True
        if seq <= last[1]:
            self._stats.repeats += 1
            return False
        if seq > last[1] + 1:
            missed = seq - last[1] - 1
            self._stats.lost += missed
            logger.warning(
                "%d message(s) from node %s on %s never arrived (numbers %d to %d); "
                "a caller waiting on one retries",
                missed,
                sender,
                channel,
                last[1] + 1,
                seq - 1,
            )
        self._last[key] = (epoch, seq)
        return True


class NodeBus:
    """This node's end of the bus: it answers requests for its calls and hears news.

    Args:
        redis: a client for the call centre's Redis (the bus keeps its own subscription).
        prefix: the keys' prefix, as the registry's.
        node_id: this node.
        on_request: runs a request from another node, returns the reply's body.
        on_news: hears another node's news.
    """

    def __init__(
        self,
        redis: Redis,
        *,
        prefix: str,
        node_id: str,
        on_request: RequestHandler,
        on_news: NewsHandler,
        timeout_s: float = 3.0,
        attempts: int = 2,
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        self.node_id = node_id
        self._on_request = on_request
        self._on_news = on_news
        self._timeout_s = timeout_s
        self._attempts = attempts
        self.epoch = secrets.token_hex(4)
        self.stats = BusStats()
        self._sequences = Sequences(self.stats)
        self._next_seq: dict[str, int] = {}
        self._next_id = 0
        self._waiting: dict[int, asyncio.Future[Body]] = {}
        self._replies: OrderedDict[tuple[str, str, int], asyncio.Future[Body]] = OrderedDict()
        self._handlers: set[asyncio.Task[None]] = set()
        self.subscribed = asyncio.Event()

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> NodeBus:
        redis = Redis.from_url(url, socket_connect_timeout=SEND_TIMEOUT_S)
        return cls(redis, **kwargs)

    def channel(self, node_id: str) -> str:
        return f"{self._prefix}bus:{node_id}"

    @property
    def news_channel(self) -> str:
        return f"{self._prefix}bus:all"

    # -- sending -------------------------------------------------------------

    async def request(self, node_id: str, body: Body) -> Body:
        """Send ``body`` to ``node_id`` and return its reply (sent again once if unanswered)."""
        self._next_id += 1
        request_id = self._next_id
        future: asyncio.Future[Body] = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = future
        try:
            for attempt in range(self._attempts):
                if attempt:
                    self.stats.retries += 1
                await self._send(self.channel(node_id), "req", body, request_id)
                try:
                    reply = await asyncio.wait_for(asyncio.shield(future), self._timeout_s)
                except TimeoutError:
                    continue
                if "bus_error" in reply:
                    raise BusError(f"node {node_id}: {reply['bus_error']}")
                return reply
            self.stats.timeouts += 1
            waited = self._timeout_s * self._attempts
            raise BusError(f"node {node_id} did not answer within {waited:.1f} s")
        finally:
            self._waiting.pop(request_id, None)

    async def news(self, body: Body) -> None:
        """Tell every other node; a bus out of reach is logged by the caller's outage."""
        await self._send(self.news_channel, "news", body, 0)

    async def _send(self, channel: str, kind: str, body: Body, request_id: int) -> None:
        seq = self._next_seq.get(channel, 0) + 1
        self._next_seq[channel] = seq
        envelope = {
            "f": self.node_id,
            "e": self.epoch,
            "s": seq,
            "k": kind,
            "i": request_id,
            "b": body,
        }
        try:
            async with asyncio.timeout(SEND_TIMEOUT_S):
                await self._redis.publish(channel, msgpack.packb(envelope, use_bin_type=True))
        except (RedisError, OSError, TimeoutError) as exc:
            raise BusError(
                f"the node bus cannot reach Redis: {exc or type(exc).__name__}"
            ) from None
        self.stats.sent += 1

    # -- receiving -----------------------------------------------------------

    async def run(self) -> None:
        """Listen until cancelled, subscribing again (at most every 2 s) after an outage."""
        wait = 0.1
        while True:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel(self.node_id), self.news_channel)
                self.subscribed.set()
                wait = 0.1
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is not None and message.get("type") == "message":
                        self._received(message["channel"], message["data"])
            except (RedisError, OSError) as exc:
                self.subscribed.clear()
                logger.debug("node bus: %s; subscribing again in %.1f s", exc, wait)
                await asyncio.sleep(wait)
                wait = min(MAX_RECONNECT_S, wait * 2)
            finally:
                with contextlib.suppress(RedisError, OSError, RuntimeError):
                    await pubsub.aclose()

    def _received(self, channel: bytes | str, raw: bytes) -> None:
        try:
            envelope = msgpack.unpackb(raw, raw=False)
            sender, epoch, seq = str(envelope["f"]), str(envelope["e"]), int(envelope["s"])
            kind, request_id, body = envelope["k"], int(envelope["i"]), envelope["b"]
            if not isinstance(body, dict):
                raise TypeError("body is not a map")
        except (ValueError, KeyError, TypeError, msgpack.UnpackException) as exc:
            logger.warning("node bus: a message that is not kotha's was dropped (%s)", exc)
            return
        if sender == self.node_id and epoch == self.epoch:
            return  # this node's own news
        name = channel.decode() if isinstance(channel, bytes) else channel
        if not self._sequences.fresh(name, sender, epoch, seq):
            return
        self.stats.received += 1
        if kind == "rep":
            future = self._waiting.get(request_id)
            if future is not None and not future.done():
                future.set_result(body)
        elif kind == "req":
            self._spawn(self._answer(sender, epoch, request_id, body))
        elif kind == "news":
            self._spawn(self._hear(sender, body))

    def _spawn(self, work: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(work)
        self._handlers.add(task)
        task.add_done_callback(self._handlers.discard)

    async def _answer(self, sender: str, epoch: str, request_id: int, body: Body) -> None:
        key = (sender, epoch, request_id)
        future = self._replies.get(key)
        if future is None:  # a first request: run it; a repeat waits for the same reply
            future = asyncio.get_running_loop().create_future()
            self._replies[key] = future
            while len(self._replies) > KEPT_REPLIES:
                self._replies.popitem(last=False)
            try:
                future.set_result(await self._on_request(sender, body))
            except Exception:
                logger.exception("node bus: a request from node %s failed", sender)
                future.set_result({"bus_error": "the request failed on its node"})
        reply = await asyncio.shield(future)
        try:
            await self._send(self.channel(sender), "rep", reply, request_id)
        except BusError as exc:
            logger.warning("node bus: the reply to node %s was not sent: %s", sender, exc)

    async def _hear(self, sender: str, body: Body) -> None:
        try:
            await self._on_news(sender, body)
        except Exception:
            logger.exception("node bus: news from node %s could not be applied", sender)

    async def close(self) -> None:
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        with contextlib.suppress(RedisError, OSError):
            await self._redis.aclose()


__all__ = ["BusError", "BusStats", "NodeBus", "Sequences"]
