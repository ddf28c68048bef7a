"""A user-space network impairment for tests: a UDP relay that drops, delays and jitters.

These machines have no netem, so a test that needs a bad network puts this
relay between a real aiortc client peer and the server::

    async with impaired_customer(server) as (pair, link):
        link.upstream.loss = 0.05        # the customer's uplink loses 5 %
        link.downstream.delay_ms = 100   # and the server's packets arrive 100 ms late
        ...
        applied = link.upstream.rtp_stream(ssrc).applied_loss

How it is wired. The relay listens on 127.0.0.1 with a *client-facing*
socket and forwards each datagram to the server's real ICE candidate from a
separate *server-facing* socket; what the server sends back goes to the last
client address seen. The client's :class:`~media.client_peer.ClientPeer`
takes two SDP filters (:meth:`ImpairedLink.rewrite_offer`,
:meth:`ImpairedLink.rewrite_answer`): the server's offer then names only the
relay's client-facing address as its candidate, and the client's answer names
only the relay's server-facing address, so neither side can reach the other
around the relay (ICE would happily pick a direct pair). The server sends
every candidate in the offer SDP and trickles none; the Python client trickles
none either, so rewriting the two descriptions covers every candidate.

What each direction (``upstream``: client to server, ``downstream``: server
to client) does to a datagram, in order:

1. ``loss``: dropped with this probability (independent, Bernoulli).
2. ``delay_ms``: held this long.
3. ``jitter_ms``: held an extra time drawn from an exponential distribution
   with mean ``jitter_ms`` (queueing delay has such a tail). For i.i.d.
   exponential delays ``E|X1 - X2|`` equals the mean, so on packets spaced
   wider than the extra delays the RFC 3550 jitter a receiver measures tends
   to ``jitter_ms``.
4. Order is kept unless ``reorder`` is set: a packet never leaves before the
   one that arrived ahead of it, so one drawn a short delay behind one drawn a
   long delay waits for it, and the two arrive together. With 20 ms audio
   packets and ``jitter_ms=30`` that holding happens often, and the jitter a
   receiver sees is lower than ``jitter_ms`` (about 21 ms; 29 ms at 60). That
   is why the relay reports what it *actually applied*, per RTP stream.
   In order, no network can give packets sent T apart more than about 2T of
   RFC 3550 jitter for long (arrivals never go backwards, so D >= -T, and D
   averages 0, so the mean of |D| is at most 2T): 40 ms for 20 ms audio, which
   ``jitter_ms=100`` approaches (33 ms). Set ``reorder`` for more.

Every datagram is impaired alike (STUN, DTLS, RTP, RTCP): it is a network.
Packets are told apart by their first byte (RFC 7983: 0-3 STUN, 20-63 DTLS,
128-191 RTP or RTCP) and, within RTP/RTCP, by the second byte (RFC 5761:
192-223 is RTCP). SRTP keeps the RTP header in clear, so the relay reads the
SSRC, sequence number and timestamp of each media packet and records, per SSRC:
packets received, dropped and forwarded, the loss it applied, and the RFC 3550
interarrival jitter that its own delays add: the estimator
``J += (|D| - J) / 16`` run over ``D`` = the difference between the delays
actually applied to two consecutive forwarded packets (measured with ``time.perf_counter()`` from
the datagram's callback to its ``sendto``, so timer lateness counts), in ms.
Like aiortc's receiver, it updates ``J`` only on in-order packets whose RTP
timestamp differs from the previous one. A receiver's jitter is that plus
whatever jitter the sender's own pacing has.

Delays are scheduled without blocking: one delay queue (a heap on departure
time) and one ``loop.call_at`` timer per direction, on whatever event loop runs
the test. asyncio's timers fire up to ~1 ms late (epoll rounds its timeout up
to whole ms); uvloop rounds each delay to whole ms and its clock ticks in ms,
so a packet that is due within 0.5 ms is sent rather than spin. Random draws
come from ``random.Random`` instances seeded from ``seed``: one pair (loss,
delay) per direction for non-RTP packets and one pair per RTP stream, numbered
in order of appearance, and every packet draws from both whatever the settings,
so a stream's decisions depend only on the seed and its packet count.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import random
import statistics
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from media.source import SourceKind
from tests.conftest import Pair, Server, connect_call

Address = tuple[str, int]

# A timer may fire this early (uvloop rounds delays to whole milliseconds): send, don't spin.
_EARLY_S = 0.0005


class PacketKind(StrEnum):
    STUN = "stun"
    DTLS = "dtls"
    RTP = "rtp"
    RTCP = "rtcp"
    OTHER = "other"


def classify(data: bytes) -> PacketKind:
    """What a datagram of a WebRTC 5-tuple carries (RFC 7983, RFC 5761)."""
    if not data:
        return PacketKind.OTHER
    first = data[0]
    if first <= 3:
        return PacketKind.STUN
    if 20 <= first <= 63:
        return PacketKind.DTLS
    if 128 <= first <= 191:
        if len(data) >= 2 and 192 <= data[1] <= 223:
            return PacketKind.RTCP
        return PacketKind.RTP if len(data) >= 12 else PacketKind.OTHER
    return PacketKind.OTHER


@dataclass
class Impairment:
    """What one direction of the link does to packets; fields may change at any time.

    ``loss`` is a probability (0..1); ``delay_ms`` a fixed added delay;
    ``jitter_ms`` the mean of an exponentially distributed extra delay per
    packet; ``reorder`` lets a packet overtake an earlier one (off: order kept).
    """

    loss: float = 0.0
    delay_ms: float = 0.0
    jitter_ms: float = 0.0
    reorder: bool = False

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "loss" and not 0.0 <= value <= 1.0:
            raise ValueError(f"loss is a probability, 0..1: {value}")
        if name in ("delay_ms", "jitter_ms") and value < 0:
            raise ValueError(f"{name} cannot be negative: {value}")
        super().__setattr__(name, value)


@dataclass(frozen=True)
class Counts:
    """Packets of an RTP stream over a window: what the relay received, dropped, forwarded."""

    received: int
    dropped: int
    forwarded: int

    @property
    def applied_loss(self) -> float:
        return self.dropped / self.received if self.received else 0.0


@dataclass
class RtpStream:
    """What the relay did to one SSRC in one direction (so far)."""

    ssrc: int
    payload_type: int
    received: int = 0
    dropped: int = 0
    forwarded: int = 0
    # RFC 3550 estimate, in ms, over the delays actually applied to forwarded packets.
    applied_jitter_ms: float = 0.0
    last_delay_ms: float = 0.0
    max_delay_ms: float = 0.0
    total_delay_ms: float = 0.0
    # The delays of the last packets forwarded, for a median that one stall of the test's own
    # event loop (hundreds of ms on a loaded machine) cannot drag the way it drags the mean.
    recent_delays_ms: deque[float] = field(default_factory=lambda: deque(maxlen=500), repr=False)
    _last_seq: int | None = field(default=None, repr=False)
    _last_timestamp: int | None = field(default=None, repr=False)
    _last_jitter_delay_ms: float | None = field(default=None, repr=False)

    @property
    def applied_loss(self) -> float:
        """Share of this stream's packets dropped so far (0..1)."""
        return self.dropped / self.received if self.received else 0.0

    @property
    def mean_delay_ms(self) -> float:
        return self.total_delay_ms / self.forwarded if self.forwarded else 0.0

    @property
    def median_delay_ms(self) -> float:
        return statistics.median(self.recent_delays_ms) if self.recent_delays_ms else 0.0

    def copy(self) -> RtpStream:
        return replace(self, recent_delays_ms=deque(self.recent_delays_ms, maxlen=500))

    def since(self, earlier: RtpStream | None) -> Counts:
        """Counts between ``earlier`` (a :meth:`copy`) and now."""
        base = earlier or RtpStream(self.ssrc, self.payload_type)
        return Counts(
            self.received - base.received,
            self.dropped - base.dropped,
            self.forwarded - base.forwarded,
        )

    def _forwarded(self, seq: int, timestamp: int, delay_ms: float) -> None:
        self.forwarded += 1
        self.last_delay_ms = delay_ms
        self.total_delay_ms += delay_ms
        self.recent_delays_ms.append(delay_ms)
        self.max_delay_ms = max(self.max_delay_ms, delay_ms)
        in_order = self._last_seq is None or 0 < (seq - self._last_seq) % 65536 < 32768
        if not in_order:
            return
        self._last_seq = seq
        if self._last_jitter_delay_ms is not None and timestamp != self._last_timestamp:
            d = delay_ms - self._last_jitter_delay_ms
            self.applied_jitter_ms += (abs(d) - self.applied_jitter_ms) / 16
        self._last_jitter_delay_ms = delay_ms
        self._last_timestamp = timestamp


class _Setting:
    """A field of :class:`Impairment`, read and written through a :class:`LinkDirection`."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: LinkDirection | None, objtype: type | None = None) -> Any:
        if obj is None:
            return self
        return getattr(obj.impairment, self.name)

    def __set__(self, obj: LinkDirection, value: Any) -> None:
        setattr(obj.impairment, self.name, value)


@dataclass(order=True)
class _Queued:
    due: float
    order: int
    arrived: float = field(compare=False)
    data: bytes = field(compare=False)
    stream: RtpStream | None = field(compare=False)


class LinkDirection:
    """One direction of an :class:`ImpairedLink`: its settings and what it did.

    ``loss``, ``delay_ms``, ``jitter_ms`` and ``reorder`` read and write
    :attr:`impairment`. Counters: ``received`` = ``dropped`` + ``forwarded``
    + ``unroutable`` (nowhere to send yet) + :attr:`queued`.
    """

    loss = _Setting()
    delay_ms = _Setting()
    jitter_ms = _Setting()
    reorder = _Setting()

    def __init__(
        self,
        name: str,
        impairment: Impairment,
        seed: int,
        send: Callable[[bytes], bool],
    ) -> None:
        self.name = name
        self.impairment = impairment
        self.received = 0
        self.dropped = 0
        self.forwarded = 0
        self.unroutable = 0
        self.kinds: Counter[PacketKind] = Counter()
        self.streams: dict[int, RtpStream] = {}
        self._seed = seed
        self._send = send
        self._rngs: dict[int | None, tuple[random.Random, random.Random]] = {
            None: self._rng_pair("other")
        }
        self._queue: list[_Queued] = []
        self._order = itertools.count()
        self._last_due = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._timer_due = 0.0
        self._loop = asyncio.get_running_loop()

    @property
    def queued(self) -> int:
        return len(self._queue)

    def set(self, impairment: Impairment) -> None:
        """Apply all four settings at once."""
        self.impairment = replace(impairment)

    def rtp_stream(self, ssrc: int) -> RtpStream:
        """The record of one SSRC (KeyError if the relay never saw it)."""
        return self.streams[ssrc]

    def snapshot(self) -> dict[int, RtpStream]:
        """Copies of every stream record, to compare with later ones (:meth:`RtpStream.since`)."""
        return {ssrc: stream.copy() for ssrc, stream in self.streams.items()}

    def push(self, data: bytes) -> None:
        """Take one datagram: drop it, send it now, or queue it."""
        now = self._loop.time()
        arrived = time.perf_counter()
        kind = classify(data)
        self.received += 1
        self.kinds[kind] += 1
        stream = self._stream(data) if kind is PacketKind.RTP else None
        loss_rng, delay_rng = self._rngs[stream.ssrc if stream else None]
        # Both draws every time: a stream's decisions never depend on the settings.
        lost = loss_rng.random() < self.impairment.loss
        extra = delay_rng.expovariate(1.0) * self.impairment.jitter_ms
        if stream is not None:
            stream.received += 1
        if lost:
            self.dropped += 1
            if stream is not None:
                stream.dropped += 1
            return
        due = now + (self.impairment.delay_ms + extra) / 1000
        if not self.impairment.reorder:
            due = max(due, self._last_due)
        self._last_due = max(self._last_due, due)
        item = _Queued(due, next(self._order), arrived, data, stream)
        if due <= now and not self._queue:
            self._deliver(item)
            return
        heapq.heappush(self._queue, item)
        self._arm()

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._queue.clear()

    def _rng_pair(self, name: str) -> tuple[random.Random, random.Random]:
        prefix = f"{self._seed}:{self.name}:{name}"
        return random.Random(f"{prefix}:loss"), random.Random(f"{prefix}:delay")

    def _stream(self, data: bytes) -> RtpStream:
        ssrc = int.from_bytes(data[8:12], "big")
        stream = self.streams.get(ssrc)
        if stream is None:
            stream = self.streams[ssrc] = RtpStream(ssrc, data[1] & 0x7F)
            self._rngs[ssrc] = self._rng_pair(f"rtp{len(self.streams)}")
        return stream

    def _arm(self) -> None:
        head = self._queue[0].due
        if self._timer is not None:
            if self._timer_due == head:
                return
            self._timer.cancel()
        self._timer = self._loop.call_at(head, self._flush)
        self._timer_due = head

    def _flush(self) -> None:
        self._timer = None
        limit = self._loop.time() + _EARLY_S
        while self._queue and self._queue[0].due <= limit:
            self._deliver(heapq.heappop(self._queue))
        if self._queue:
            self._arm()

    def _deliver(self, item: _Queued) -> None:
        if not self._send(item.data):
            self.unroutable += 1
            return
        self.forwarded += 1
        if item.stream is not None:
            data = item.data
            delay_ms = (time.perf_counter() - item.arrived) * 1000
            item.stream._forwarded(
                int.from_bytes(data[2:4], "big"), int.from_bytes(data[4:8], "big"), delay_ms
            )


class _Socket(asyncio.DatagramProtocol):
    def __init__(self, on_datagram: Callable[[bytes, Address], None]) -> None:
        self.on_datagram = on_datagram

    def datagram_received(self, data: bytes, addr: Address) -> None:
        self.on_datagram(data, addr)


class ImpairedLink:
    """A UDP relay between one client peer and the server, impairing both directions.

    Args:
        upstream: what happens to client-to-server packets (default: nothing).
        downstream: what happens to server-to-client packets.
        seed: seeds every random draw, so a run can be repeated.
        host: the address both sockets bind to.

    Start it (``await link.start()`` or ``async with link``) before the client
    joins, and give the client :meth:`client_options`.
    """

    def __init__(
        self,
        *,
        upstream: Impairment | None = None,
        downstream: Impairment | None = None,
        seed: int = 0,
        host: str = "127.0.0.1",
    ) -> None:
        self._initial = (replace(upstream or Impairment()), replace(downstream or Impairment()))
        self.seed = seed
        self.host = host
        self.target: Address | None = None  # the server's candidate
        self.client: Address | None = None  # the client, as last seen (or as it announced)
        self._client_side: asyncio.DatagramTransport | None = None
        self._server_side: asyncio.DatagramTransport | None = None
        self._upstream: LinkDirection | None = None
        self._downstream: LinkDirection | None = None

    @property
    def upstream(self) -> LinkDirection:
        """Client to server."""
        assert self._upstream is not None, "start() the link first"
        return self._upstream

    @property
    def downstream(self) -> LinkDirection:
        """Server to client."""
        assert self._downstream is not None, "start() the link first"
        return self._downstream

    @property
    def client_facing(self) -> Address:
        """Where the client sends (the candidate the rewritten offer names)."""
        assert self._client_side is not None, "start() the link first"
        return self._client_side.get_extra_info("sockname")[:2]

    @property
    def server_facing(self) -> Address:
        """Where the server sees the client (the candidate the rewritten answer names)."""
        assert self._server_side is not None, "start() the link first"
        return self._server_side.get_extra_info("sockname")[:2]

    async def start(self) -> ImpairedLink:
        loop = asyncio.get_running_loop()
        self._upstream = LinkDirection("upstream", self._initial[0], self.seed, self._to_server)
        self._downstream = LinkDirection("downstream", self._initial[1], self.seed, self._to_client)
        self._client_side, _ = await loop.create_datagram_endpoint(
            lambda: _Socket(self._from_client), local_addr=(self.host, 0)
        )
        self._server_side, _ = await loop.create_datagram_endpoint(
            lambda: _Socket(self._from_server), local_addr=(self.host, 0)
        )
        return self

    async def close(self) -> None:
        for direction in (self._upstream, self._downstream):
            if direction is not None:
                direction.close()
        for transport in (self._client_side, self._server_side):
            if transport is not None:
                transport.close()
        self._client_side = self._server_side = None
        await asyncio.sleep(0)  # let the transports finish closing

    async def __aenter__(self) -> ImpairedLink:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for :class:`client.participant.KothaClient` that route it here."""
        return {"offer_filter": self.rewrite_offer, "answer_filter": self.rewrite_answer}

    def rewrite_offer(self, sdp: str) -> str:
        """The server's offer with one candidate, the relay's client-facing address.

        The relay forwards to the offer's first UDP candidate of component 1
        (a later offer on a fresh server peer moves it); every other candidate
        is dropped, so the client cannot reach the server around the relay.
        """
        candidates = [_Candidate.parse(line) for line in sdp.splitlines()]
        usable = [c for c in candidates if c is not None and c.udp and c.component == 1]
        if not usable:
            raise ValueError("the offer has no UDP candidate to relay to (trickled ones?)")
        self.target = usable[0].address
        return _rewrite(sdp, self.target, self.client_facing)

    def rewrite_answer(self, sdp: str) -> str:
        """The client's answer with one candidate, the relay's server-facing address.

        The relay sends server-to-client packets to the client's first
        candidate until the client's own packets show where it is.
        """
        candidates = [_Candidate.parse(line) for line in sdp.splitlines()]
        usable = [c for c in candidates if c is not None and c.udp and c.component == 1]
        if not usable:
            raise ValueError("the answer has no UDP candidate")
        if self.client is None:
            self.client = usable[0].address
        return _rewrite(sdp, usable[0].address, self.server_facing)

    def _from_client(self, data: bytes, addr: Address) -> None:
        self.client = addr
        self.upstream.push(data)

    def _from_server(self, data: bytes, addr: Address) -> None:
        self.downstream.push(data)

    def _to_server(self, data: bytes) -> bool:
        if self._server_side is None or self.target is None:
            return False
        self._server_side.sendto(data, self.target)
        return True

    def _to_client(self, data: bytes) -> bool:
        if self._client_side is None or self.client is None:
            return False
        self._client_side.sendto(data, self.client)
        return True


@dataclass(frozen=True)
class _Candidate:
    """The parts of an ``a=candidate:`` line the rewrite needs."""

    component: int
    udp: bool
    address: Address

    @classmethod
    def parse(cls, line: str) -> _Candidate | None:
        if not line.startswith("a=candidate:"):
            return None
        parts = line.split()
        # a=candidate:foundation component transport priority address port typ type ...
        return cls(int(parts[1]), parts[2].lower() == "udp", (parts[4], int(parts[5])))


def _rewrite(sdp: str, keep: Address, relay: Address) -> str:
    """Candidates of ``keep`` point at ``relay``; all other candidates go.

    The ``c=`` and ``m=`` lines that name ``keep`` (the default candidate)
    follow, so the description stays consistent.
    """
    lines: list[str] = []
    for line in sdp.split("\r\n"):
        candidate = _Candidate.parse(line)
        parts = line.split()
        if candidate is not None:
            if candidate.address != keep or not candidate.udp or candidate.component != 1:
                continue
            parts[4], parts[5] = relay[0], str(relay[1])
            lines.append(" ".join(parts))
        elif line == f"c=IN IP4 {keep[0]}":
            lines.append(f"c=IN IP4 {relay[0]}")
        elif line.startswith("m=") and parts[1] == str(keep[1]):
            parts[1] = str(relay[1])
            lines.append(" ".join(parts))
        else:
            lines.append(line)
    return "\r\n".join(lines)


@dataclass
class ImpairedCall:
    """A call whose customer (and, if asked, agent) reaches the server through relays."""

    pair: Pair
    customer: ImpairedLink
    agent: ImpairedLink | None


@asynccontextmanager
async def impaired_call(
    server: Server,
    *,
    customer: ImpairedLink | None = None,
    agent: ImpairedLink | None = None,
    customer_sources: dict[SourceKind, Any] | None = None,
    agent_sources: dict[SourceKind, Any] | None = None,
    customer_options: dict[str, Any] | None = None,
    agent_options: dict[str, Any] | None = None,
    media: str = "audio",
) -> AsyncIterator[ImpairedCall]:
    """:func:`tests.conftest.connect_call` with the customer behind ``customer``
    (a clean link if not given) and the agent behind ``agent`` (direct if not
    given). The links are closed on the way out; the clients stay for the
    ``server`` fixture to close.
    """
    customer_link = customer or ImpairedLink()
    links = [customer_link] + ([agent] if agent is not None else [])
    try:
        for link in links:
            await link.start()
        pair = await connect_call(
            server,
            media=media,
            customer_sources=customer_sources,
            agent_sources=agent_sources,
            customer_options={**(customer_options or {}), **customer_link.client_options()},
            agent_options={**(agent_options or {}), **(agent.client_options() if agent else {})},
        )
        yield ImpairedCall(pair, customer_link, agent)
    finally:
        for link in links:
            await link.close()


@asynccontextmanager
async def impaired_customer(
    server: Server, link: ImpairedLink | None = None, **kwargs: Any
) -> AsyncIterator[tuple[Pair, ImpairedLink]]:
    """A call whose customer is behind ``link`` (a clean one if not given): ``(pair, link)``.

    ``kwargs`` go to :func:`impaired_call` (sources, options, media).
    """
    async with impaired_call(server, customer=link, **kwargs) as call:
        yield call.pair, call.customer
