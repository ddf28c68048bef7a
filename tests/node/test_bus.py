"""Nodes talk over a bus in Redis: a request to one node, news to all of them.

Guards (issue 15): a node asks another node for something and gets its answer; what a node
tells everyone reaches the others but not itself; a message that arrives twice is run once
and counted as a repeat; a message that never arrives is counted as lost; a retried request
is answered from the reply the node kept, without running it again; a node that never
answers, a request that fails on its node, and bytes that are not kotha's each end in words
(a :class:`BusError` or a warning) while the bus keeps working.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import msgpack
import pytest
from redis.asyncio import Redis
from redis.asyncio.client import PubSub

from node.bus import BusError, BusStats, NodeBus, Sequences
from tests.redis_server import RedisServer

Body = dict[str, Any]
Answer = Callable[[str, Body], Awaitable[Body]]

WAIT_S = 5.0  # what a test waits for a message to go through a local Redis


@dataclass
class Node:
    """One node's bus and what its handlers were given."""

    bus: NodeBus
    requests: list[tuple[str, Body]] = field(default_factory=list)
    news: asyncio.Queue[tuple[str, Body]] = field(default_factory=asyncio.Queue)

    async def next_news(self) -> tuple[str, Body]:
        return await asyncio.wait_for(self.news.get(), WAIT_S)


NodeFactory = Callable[..., Awaitable[Node]]


@pytest.fixture
def prefix() -> str:
    """Each test's keys and channels apart from every other test's."""
    return f"bustest:{secrets.token_hex(4)}:"


@pytest.fixture
async def raw(redis_server: RedisServer) -> AsyncIterator[Redis]:
    """A plain Redis client, to publish on the bus by hand as another program could."""
    redis = Redis.from_url(redis_server.url)
    yield redis
    await redis.aclose()


@pytest.fixture
async def start_node(redis_server: RedisServer, prefix: str) -> AsyncIterator[NodeFactory]:
    """Starts a node's bus, listening and subscribed; stops each one at the end."""
    running: list[tuple[NodeBus, asyncio.Task[None]]] = []

    async def start(node_id: str, answer: Answer | None = None, **options: Any) -> Node:
        node: Node

        async def on_request(sender: str, body: Body) -> Body:
            node.requests.append((sender, body))
            if answer is not None:
                return await answer(sender, body)
            return {"answered_by": node_id, "you_said": body}

        async def on_news(sender: str, body: Body) -> None:
            node.news.put_nowait((sender, body))

        bus = NodeBus.from_url(
            redis_server.url,
            prefix=prefix,
            node_id=node_id,
            on_request=on_request,
            on_news=on_news,
            **options,
        )
        node = Node(bus)
        task = asyncio.create_task(bus.run())
        running.append((bus, task))
        await asyncio.wait_for(bus.subscribed.wait(), WAIT_S)
        return node

    yield start
    for bus, task in running:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await bus.close()


def envelope(
    *,
    sender: str = "node-x",
    epoch: str = "epoch-x",
    seq: int,
    kind: str = "req",
    request_id: int = 0,
    body: Body | None = None,
) -> bytes:
    """An envelope as a node sends it, in msgpack."""
    packed: bytes = msgpack.packb(
        {"f": sender, "e": epoch, "s": seq, "k": kind, "i": request_id, "b": body or {}},
        use_bin_type=True,
    )
    return packed


async def listen(raw: Redis, channel: str) -> PubSub:
    """A raw subscription to ``channel``, confirmed by Redis before it is returned."""
    pubsub = raw.pubsub()
    await pubsub.subscribe(channel)
    deadline = time.monotonic() + WAIT_S
    while True:
        message = await pubsub.get_message(timeout=0.5)
        if message is not None and message["type"] == "subscribe":
            return pubsub
        assert time.monotonic() < deadline, f"waited {WAIT_S} s to subscribe to {channel}"


async def next_message(pubsub: PubSub) -> dict[str, Any]:
    """The next envelope published on a raw subscription, unpacked."""
    deadline = time.monotonic() + WAIT_S
    while True:
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.5)
        if message is not None and message["type"] == "message":
            unpacked: dict[str, Any] = msgpack.unpackb(message["data"], raw=False)
            return unpacked
        assert time.monotonic() < deadline, f"waited {WAIT_S} s for a message"


# -- sequences, on their own --------------------------------------------------------------


def test_sequences_tell_fresh_messages_from_lost_and_repeated_ones() -> None:
    """A receiver keeps each sender's last number per channel: one more is fresh, one seen
    before is a repeat to drop, a jump counts the numbers skipped as lost (the message that
    jumped is still fresh), a restarted sender (a new epoch) starts afresh, and each channel
    is counted on its own."""
    stats = BusStats()
    sequences = Sequences(stats)

    assert [sequences.fresh("bus:b", "node-a", "one", seq) for seq in (1, 2, 3)] == [True] * 3
    assert (stats.repeats, stats.lost) == (0, 0)

    assert sequences.fresh("bus:b", "node-a", "one", 3) is False
    assert sequences.fresh("bus:b", "node-a", "one", 2) is False
    assert stats.repeats == 2

    assert sequences.fresh("bus:b", "node-a", "one", 7) is True  # 4, 5 and 6 never came
    assert stats.lost == 3
    assert sequences.fresh("bus:b", "node-a", "one", 8) is True
    assert sequences.fresh("bus:b", "node-a", "one", 10) is True  # 9 never came
    assert stats.lost == 4

    # node-a restarted: its count starts again at 1, which is neither a repeat nor a loss.
    assert sequences.fresh("bus:b", "node-a", "two", 1) is True
    assert sequences.fresh("bus:b", "node-a", "two", 2) is True
    assert (stats.repeats, stats.lost) == (2, 4)

    # The news channel has its own count: its first number is fresh, its repeat is a repeat.
    assert sequences.fresh("bus:all", "node-a", "two", 1) is True
    assert sequences.fresh("bus:all", "node-a", "two", 1) is False
    assert sequences.fresh("bus:all", "node-a", "two", 2) is True
    assert (stats.repeats, stats.lost) == (3, 4)
    # ... and another sender on the same channel has its own count too.
    assert sequences.fresh("bus:b", "node-c", "three", 5) is True
    assert sequences.fresh("bus:b", "node-a", "two", 3) is True
    assert (stats.repeats, stats.lost) == (3, 4)


# -- two nodes on one Redis ---------------------------------------------------------------


async def test_a_node_asks_another_and_gets_its_answer(start_node: NodeFactory) -> None:
    """Node A asks node B; B's handler hears that A asked, and A gets what B answered."""
    node_a = await start_node("node-a")
    node_b = await start_node("node-b")

    reply = await node_a.bus.request("node-b", {"call_id": "c-1", "what": "mute"})

    assert reply == {"answered_by": "node-b", "you_said": {"call_id": "c-1", "what": "mute"}}
    assert node_b.requests == [("node-a", {"call_id": "c-1", "what": "mute"})]
    assert node_a.requests == []
    assert (node_a.bus.stats.sent, node_a.bus.stats.received) == (1, 1)
    assert (node_b.bus.stats.sent, node_b.bus.stats.received) == (1, 1)
    assert node_a.bus.stats.retries == node_a.bus.stats.timeouts == 0


async def test_news_reaches_the_other_nodes_but_not_its_sender(start_node: NodeFactory) -> None:
    """What node A tells everyone reaches node B; A does not hear its own news back."""
    node_a = await start_node("node-a")
    node_b = await start_node("node-b")

    await node_a.bus.news({"agent": "rahim", "state": "available"})
    assert await node_b.next_news() == ("node-a", {"agent": "rahim", "state": "available"})

    # B's answer is published after A's news on the same channel, so by the time A hears
    # B, A has already seen (and dropped) its own.
    await node_b.bus.news({"agent": "nusrat", "state": "away"})
    assert await node_a.next_news() == ("node-b", {"agent": "nusrat", "state": "away"})
    assert node_a.news.empty()
    assert node_b.news.empty()
    assert node_a.bus.stats.received == 1


# -- repeats, losses, retries -------------------------------------------------------------


async def test_a_repeated_request_runs_once_and_a_retry_gets_the_kept_reply(
    start_node: NodeFactory, raw: Redis, prefix: str
) -> None:
    """Node-x's request reaches node B twice (the same bytes): B runs it once and drops the
    repeat. Node-x, having heard nothing, sends it again with a new number and the same id:
    B answers from the reply it kept, without running the request a second time."""
    node_b = await start_node("node-b")
    replies = await listen(raw, f"{prefix}bus:node-x")
    try:
        request = envelope(seq=1, request_id=7, body={"call_id": "c-1", "what": "hold"})
        await raw.publish(f"{prefix}bus:node-b", request)
        await raw.publish(f"{prefix}bus:node-b", request)

        first = await next_message(replies)
        assert (first["f"], first["k"], first["i"], first["s"]) == ("node-b", "rep", 7, 1)
        assert first["b"]["you_said"] == {"call_id": "c-1", "what": "hold"}

        retry = envelope(seq=2, request_id=7, body={"call_id": "c-1", "what": "hold"})
        await raw.publish(f"{prefix}bus:node-b", retry)
        second = await next_message(replies)
        assert (second["k"], second["i"], second["s"]) == ("rep", 7, 2)
        assert second["b"] == first["b"]

        # A new request is run; no third reply to the old one came before its answer.
        await raw.publish(
            f"{prefix}bus:node-b", envelope(seq=3, request_id=8, body={"what": "resume"})
        )
        third = await next_message(replies)
        assert (third["i"], third["s"], third["b"]["you_said"]) == (8, 3, {"what": "resume"})
    finally:
        await replies.aclose()

    assert node_b.requests == [
        ("node-x", {"call_id": "c-1", "what": "hold"}),
        ("node-x", {"what": "resume"}),
    ]
    assert node_b.bus.stats.repeats == 1
    assert node_b.bus.stats.lost == 0
    assert node_b.bus.stats.received == 3


async def test_a_gap_in_the_numbers_counts_the_messages_lost(
    start_node: NodeFactory, raw: Redis, prefix: str
) -> None:
    """Node-x's news numbered 1 and then 4 reaches node B: B hears both and counts 2 and 3
    as lost (pub/sub dropped them, for instance while B was subscribing again)."""
    node_b = await start_node("node-b")

    await raw.publish(f"{prefix}bus:all", envelope(seq=1, kind="news", body={"n": 1}))
    await raw.publish(f"{prefix}bus:all", envelope(seq=4, kind="news", body={"n": 4}))

    assert await node_b.next_news() == ("node-x", {"n": 1})
    assert await node_b.next_news() == ("node-x", {"n": 4})
    assert node_b.bus.stats.lost == 2
    assert node_b.bus.stats.repeats == 0


# -- what goes wrong, in words ------------------------------------------------------------


async def test_a_node_that_never_answers_is_a_bus_error_naming_it(
    start_node: NodeFactory,
) -> None:
    """Node A asks a node nobody runs: A sends the request again once, then gives up with a
    BusError that names the node, and counts one retry and one timeout."""
    node_a = await start_node("node-a", timeout_s=0.3, attempts=2)

    started = time.monotonic()
    with pytest.raises(BusError, match="node-gone") as refused:
        await node_a.bus.request("node-gone", {"what": "mute"})
    waited = time.monotonic() - started

    assert "did not answer" in str(refused.value)
    assert node_a.bus.stats.retries == 1
    assert node_a.bus.stats.timeouts == 1
    assert node_a.bus.stats.sent == 2
    assert 0.5 <= waited < 3.0


async def test_a_request_that_fails_on_its_node_is_refused_and_the_node_keeps_answering(
    start_node: NodeFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """Node B's handler fails on one request: node A gets a BusError saying so (not a
    timeout), B logs what failed, and B's next request is answered as usual."""
    caplog.set_level(logging.WARNING, logger="node.bus")

    async def answer(sender: str, body: Body) -> Body:
        if body.get("boom"):
            raise RuntimeError("the call is gone")
        return {"ok": True, "for": sender}

    node_a = await start_node("node-a")
    node_b = await start_node("node-b", answer=answer)

    with pytest.raises(BusError, match="node-b: the request failed on its node"):
        await node_a.bus.request("node-b", {"boom": True})
    assert node_a.bus.stats.timeouts == 0
    assert any(
        "a request from node node-a failed" in record.getMessage() and record.exc_info
        for record in caplog.records
    )

    assert await node_a.bus.request("node-b", {"what": "mute"}) == {"ok": True, "for": "node-a"}
    assert [body for _, body in node_b.requests] == [{"boom": True}, {"what": "mute"}]


async def test_bytes_that_are_not_kothas_are_dropped_with_a_warning(
    start_node: NodeFactory, raw: Redis, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Something else publishes on node B's channel: bytes that are not msgpack, a map that
    lacks an envelope's fields, a list, a body that is not a map. B drops each with a
    warning, runs nothing, and answers node A's next request as usual."""
    caplog.set_level(logging.WARNING, logger="node.bus")
    node_a = await start_node("node-a")
    node_b = await start_node("node-b")
    channel = f"{prefix}bus:node-b"

    await raw.publish(channel, b"\xc1 this is not msgpack")
    await raw.publish(channel, msgpack.packb({"f": "node-x", "s": 1}, use_bin_type=True))
    await raw.publish(channel, msgpack.packb([1, 2, 3], use_bin_type=True))
    await raw.publish(
        channel,
        msgpack.packb(
            {"f": "node-x", "e": "e", "s": 1, "k": "req", "i": 1, "b": "hold"}, use_bin_type=True
        ),
    )

    # Published after the garbage on the same channel, so B has read the garbage first.
    reply = await node_a.bus.request("node-b", {"what": "mute"})

    assert reply == {"answered_by": "node-b", "you_said": {"what": "mute"}}
    assert node_b.requests == [("node-a", {"what": "mute"})]
    dropped = [
        record
        for record in caplog.records
        if record.levelno == logging.WARNING and "is not kotha's was dropped" in record.getMessage()
    ]
    assert len(dropped) == 4
    assert node_b.bus.stats.received == 1
    assert (node_b.bus.stats.repeats, node_b.bus.stats.lost) == (0, 0)
